"""The `crmo-extract` command: a thin layer over the library (pipeline.runner, pipeline.validate, ...).

Errors reach the user as one line with a suggested fix, never a traceback.
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer

from . import __version__

app = typer.Typer(
    name="crmo-extract",
    help="Extract cohort, lesion and treatment-response figures from CRMO/CNO papers (PDF or text) "
         "into validated JSON records, studies.csv and a meta-analysis table (outcomes.csv).\n\n"
         "Example: crmo-extract run corpus --out outputs",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _fail(message: str, hint: str | None = None, code: int = 2) -> None:
    typer.echo(f"error: {message}" + (f" ({hint})" if hint else ""), err=True)
    raise typer.Exit(code)


def _version(value: bool):
    if value:
        typer.echo(f"crmo-extract {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                                 help="Show the version and exit.")):
    pass


@app.command()
def run(
    input_dir: Path = typer.Argument(Path("corpus"), help="Folder of papers (*.txt, *.pdf)."),
    out: Path = typer.Option(Path("outputs"), "--out", "-o", help="Output folder."),
    jobs: int = typer.Option(os.cpu_count() or 1, "--jobs", "-j", min=1,
                             help="Papers extracted at once, each in its own worker process; 1 runs in this process."),
    force: bool = typer.Option(False, "--force", help="Extract every paper again, even those unchanged since the last run."),
    time_limit: float = typer.Option(120.0, "--time-limit", min=0.001,
                                     help="Seconds one paper may take before it is reported failed (with --jobs 2 or more)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only failures and the summary."),
):
    """Extract every paper in INPUT_DIR and write records, tables and a run report to OUT.

    Writes OUT/records/<study_id>.json (one per paper, valid against schemas/record.schema.json),
    OUT/studies.csv, OUT/outcomes.csv and OUT/run_report.json, then pools outcomes.csv as
    `crmo-extract meta` does. A paper that cannot be read is reported on stderr and in the run
    report; the others are still written.

    Papers unchanged since the last run into OUT (same bytes, same pipeline version and rules) are
    not extracted again: their records are kept. --force extracts everything.

    Exit status: 0 all papers succeeded, 1 some failed, 2 usage error.

    Example: crmo-extract run corpus --out outputs --jobs 4
    """
    from .runner import BatchSettings, list_papers, pooling_stale, run as run_batch

    if not input_dir.is_dir():
        _fail(f"input folder not found: {input_dir}", "give a folder of .txt or .pdf papers")
    if not list_papers(input_dir):
        _fail(f"no .txt or .pdf files in {input_dir}", "check the folder")
    out.mkdir(parents=True, exist_ok=True)
    settings = BatchSettings(jobs=jobs, time_limit=time_limit, force=force)

    if quiet or not sys.stderr.isatty():
        report = run_batch(input_dir, out, on_result=_log_lines(quiet), settings=settings)
    else:
        with _progress_bar() as on_result:
            report = run_batch(input_dir, out, on_result=on_result, settings=settings)
    t = report.totals
    typer.echo(f"{t['ok']} of {t['papers']} papers ok, {t['failed']} failed ({t['cached']} unchanged, not "
               f"extracted again), in {t['seconds']:.1f} s; outputs in {out}/")
    # Pool again only when a table or a labels.csv changed: an unchanged re-run stays free of scipy
    # and matplotlib.
    if pooling_stale(out, input_dir):
        from .meta import run_meta

        typer.echo(f"meta-analysis: {run_meta(out, input_dir=input_dir).message}")
    raise typer.Exit(1 if report.failed else 0)


def _paper_line(result, i: int, total: int) -> str:
    """One paper as one line: `[12/1000] study_id: ok (0.03 s)`."""
    if result.status != "ok":
        return f"[{i}/{total}] {result.file}: failed: {result.reason}" + (" (cached; --force retries)" if result.cached else "")
    return f"[{i}/{total}] {result.study_id}: ok " + ("(unchanged)" if result.cached else f"({result.seconds:.2f} s)")


def _log_lines(quiet: bool):
    """Plain lines on stderr, for logs and pipes: every paper, or only failures when quiet."""
    def on_result(result, i, total):
        if result.status != "ok" or not quiet:
            typer.echo(_paper_line(result, i, total), err=True)
    return on_result


@contextmanager
def _progress_bar():
    """A progress bar (count, rate, ETA) on a terminal; failures are printed above it."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    console = Console(stderr=True)
    columns = (TextColumn("extracting"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]} papers/s"), TimeElapsedColumn(), TextColumn("ETA"),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("papers", total=None, rate="-")
        started = time.monotonic()

        def on_result(result, i, total):
            if result.status != "ok":
                console.print(_paper_line(result, i, total), markup=False, highlight=False)
            rate = i / max(time.monotonic() - started, 1e-9)
            progress.update(task, completed=i, total=total, rate=f"{rate:.1f}")

        yield on_result


@app.command()
def validate(
    paths: list[Path] = typer.Argument(None, help="Record files or folders of them (default: outputs/records)."),
):
    """Check records against the schema and their arithmetic; print each problem with file, line,
    column, JSON path and what is wrong.

    Errors: invalid JSON, schema errors (n_male: expected an integer, got 'eight'), numbers no
    record may hold (Infinity or NaN anywhere; a negative count, age or time the tables would use),
    and failed arithmetic (male + female = n, unifocal + multifocal = n, counts within the cohort,
    responders <= treated) or plausibility bounds (ages, follow-up, pipeline/data/plausibility.json)
    involving a curated figure. A failed check among machine figures only, or on a curated figure
    that carries a note, is a warning.

    Exit status: 0 no errors (warnings allowed), 1 some errors, 2 usage error.

    Example: crmo-extract validate outputs/records/003_c2fd9f538eddb657.json
    """
    from .validate import validate_paths

    paths = paths or [Path("outputs/records")]
    missing = [p for p in paths if not p.exists()]
    if missing:
        _fail(f"not found: {missing[0]}", "give record files or folders")
    issues, n_files = validate_paths(paths)
    for issue in issues:
        typer.echo(str(issue))
    errors = [i for i in issues if i.severity == "error"]
    bad = len({i.file for i in errors})
    summary = f"{n_files - bad} of {n_files} records valid"
    if issues:
        summary += f", {len(errors)} errors, {len(issues) - len(errors)} warnings"
    typer.echo(summary, err=True)
    raise typer.Exit(1 if errors else 0)


@app.command()
def merge(out: Path = typer.Option(Path("outputs"), "--out", "-o", help="Output folder holding records/.")):
    """Rebuild studies.csv and outcomes.csv from the records in OUT/records, without extracting,
    then everything that depends on them: the pooling, as `crmo-extract meta` does.

    Use it after curating: curated figures always go into the tables, rejected ones never, the
    others when their confidence is at least 0.5. A record that fails validation (invalid JSON,
    schema errors) is left out of the tables and named on stderr.

    Exit status: 0 tables written (even with records left out), 2 usage error.

    Example: crmo-extract merge --out outputs
    """
    from .tables import rebuild

    if not (out / "records").is_dir():
        _fail(f"no records folder in {out}", "run `crmo-extract run` first")
    skipped: list = []
    studies, outcomes, pooling = rebuild(out, skipped)
    for path, reason in skipped:
        typer.echo(f"{path}: left out of the tables: {reason} (see `crmo-extract validate {path}`)", err=True)
    typer.echo(f"{len(studies)} studies, {len(outcomes)} outcome rows written to {out}/")
    typer.echo(f"meta-analysis (run again, since it depends on the tables): {pooling.message}")


@app.command()
def meta(out: Path = typer.Option(Path("outputs"), "--out", "-o", help="Output folder holding outcomes.csv.")):
    """Pool OUT/outcomes.csv per drug class x outcome into a random-effects meta-analysis.

    For every group with two or more studies, writes four rows to OUT/pooled.csv (logit PLO and
    Freeman-Tukey PFT, each with DerSimonian-Laird and REML tau^2): pooled proportion, 95% CI and
    prediction interval, tau^2, I^2 and Q, as R's metafor computes them. Also writes
    forest_<drug>_<outcome>.png/.svg, meta_excluded.csv (every row not pooled, with the reason),
    metafor.csv (the counts, for tests/r/pool.R) and meta_table.xlsx. Studies are labelled from
    labels.csv (study_id, label, year) in OUT or the input folder, else by the first author and
    year the paper states, else by their id.

    Example: crmo-extract meta --out outputs
    """
    from .meta import run_meta

    if not (out / "outcomes.csv").is_file():
        _fail(f"no outcomes.csv in {out}", "run `crmo-extract run` or `crmo-extract merge` first")
    result = run_meta(out)
    typer.echo(f"{result.message}; outputs in {out}/")


@app.command()
def evaluate(
    gold_dir: Path = typer.Argument(..., help="Folder of papers (*.txt, *.pdf) with NAME.gold.json annotations, "
                                              "or a folder of curated records."),
    out: Path = typer.Option(Path("outputs/evaluation"), "--out", "-o", help="Where to write the records and the scores."),
    papers: Optional[Path] = typer.Option(None, "--papers", help="With curated records as gold: the folder of their papers "
                                                                "(default: the folder of their source_file)."),
):
    """Extract the papers in GOLD_DIR and score the figures against their hand annotations.

    Prints per-field precision, recall and F1, then every miss; writes OUT/evaluation.json.
    The annotation format is described in ../shared/dev/README.md. GOLD_DIR may instead hold
    curated records (NAME.json): their usable figures (curated always, rejected never) are the
    gold, and the papers they came from are extracted afresh into OUT.

    Example: crmo-extract evaluate ../shared/dev --out outputs/dev
    Example: crmo-extract evaluate curated/records --papers corpus --out outputs/eval-curated
    """
    import dataclasses

    from .curate import common_folder
    from .evaluate import evaluate_dir, format_report, gold_annotations, holds_records
    from .runner import run as run_batch
    from .store import atomic_write_json
    from .validate import validate_paths

    if not gold_dir.is_dir():
        _fail(f"gold folder not found: {gold_dir}", "give a folder of papers with .gold.json files, or of curated records")
    papers_dir = gold_dir
    if holds_records(gold_dir):
        errors = [i for i in validate_paths([gold_dir])[0] if i.severity == "error"]
        if errors:
            _fail(f"gold record fails validation: {errors[0]}", f"fix it first: crmo-extract validate {gold_dir}")
        if (out / "records").resolve() == gold_dir.resolve():
            _fail(f"--out {out} holds the gold records", "give another --out: a run there would merge into them")
        papers_dir = papers or common_folder([gold.get("source") for _, gold in gold_annotations(gold_dir)])
        if papers_dir is None or not papers_dir.is_dir():
            _fail(f"cannot find the papers of the records in {gold_dir}", "give --papers FOLDER")
    elif not list(gold_dir.glob("*.gold.json")):
        _fail(f"no *.gold.json files or records in {gold_dir}", "annotations are NAME.gold.json beside NAME.txt")
    run_batch(papers_dir, out)
    ev = evaluate_dir(gold_dir, out / "records")
    typer.echo(format_report(ev))
    atomic_write_json(out / "evaluation.json", {
        "per_field": {k: {**dataclasses.asdict(v), "precision": v.precision, "recall": v.recall, "f1": v.f1}
                      for k, v in sorted(ev.per_field.items())},
        "total": {**dataclasses.asdict(ev.total), "f1": ev.total.f1},
        "misses": ev.misses,
    })


@app.command()
def compare(
    dir_a: Path = typer.Argument(..., help="Curator A's records (a records/ folder)."),
    dir_b: Path = typer.Argument(..., help="Curator B's records."),
    csv: Optional[Path] = typer.Option(None, "--csv", help="Also write the disagreements to this CSV file."),
):
    """List, field by field, where two curators' record sets disagree (dual extraction).

    Two figures agree when they put the same value in the tables (curated always, rejected never,
    others when confident). Outcome figures are matched by drug and outcome
    (outcomes.<drug>.<outcome>.<n_responded|n_treated>); a study only one set has is listed as
    field (record). The CSV has columns study_id, field, value_a, value_b, status_a, status_b.

    Exit status: 0 the sets agree, 1 they disagree, 2 usage error (a folder missing, empty, or
    holding a record that fails validation).

    Example: crmo-extract compare curator_a/records curator_b/records --csv disagreements.csv
    """
    import dataclasses

    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from .compare import COLUMNS, RecordSetError, compare_sets, read_record_set
    from .store import atomic_write_csv

    try:
        found = compare_sets(read_record_set(dir_a), read_record_set(dir_b))
    except RecordSetError as exc:
        _fail(str(exc), "give two folders of valid records; `crmo-extract validate FOLDER` shows what is wrong")
    if csv is not None:
        # object dtype: counts stay 8, not 8.0, beside empty cells
        atomic_write_csv(csv, pd.DataFrame([dataclasses.asdict(d) for d in found], columns=COLUMNS, dtype=object))
    if not found:
        typer.echo(f"the record sets agree: {dir_a} and {dir_b}")
        raise typer.Exit(0)
    table = Table(title=f"{len(found)} disagreements between A = {dir_a} and B = {dir_b}")
    for column in ("study", "field", "value A", "value B", "status A", "status B"):
        table.add_column(column, overflow="fold")
    for d in found:
        table.add_row(*("" if v is None else str(v) for v in dataclasses.astuple(d)))
    Console().print(table)
    raise typer.Exit(1)


@app.command()
def review(
    out_dir: Path = typer.Argument(Path("outputs"), help="Output folder of a run (holding records/)."),
    curator: Optional[str] = typer.Option(None, "--curator", "-c",
                                          help="Your name or initials, written as `curator` and in `history` (default: your login name)."),
    port: int = typer.Option(8750, "--port", "-p", min=0, max=65535, help="Port to listen on (0: any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on: only the loopback address, unless --allow-remote (then the address others open)."),
    allow_remote: bool = typer.Option(False, "--allow-remote",
                                      help="Allow a --host other than the loopback address (the page has no login: anyone who reaches it can edit)."),
    papers: Optional[Path] = typer.Option(None, "--papers", help="Folder of the papers, if they moved since the run."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Print the address, do not open a browser."),
):
    """Open a local web page to check and correct the records of a run, figure by figure.

    The studies list shows how many figures of each study are extracted, derived, in conflict,
    low-confidence, curated or rejected, and how many are left to check. A study's page shows the
    paper's text with every figure's evidence highlighted; accept, edit, reject, pick a side of a
    conflict, restore the machine's value, add a figure by selecting its evidence, or note why.
    Each save is validated like `crmo-extract validate` (a refused edit says why and leaves the
    file as it was), written atomically with a `history` entry naming --curator, and followed by
    studies.csv / outcomes.csv and the pooling being rebuilt.

    Listens on 127.0.0.1 only; stop it with Ctrl-C.

    Example: crmo-extract review outputs --curator ab
    """
    from .review.server import RemoteRefused, ReviewServer
    from .review.session import ReviewSettings, default_curator

    if not (out_dir / "records").is_dir():
        _fail(f"no records folder in {out_dir}", "run `crmo-extract run` first, or give the output folder")
    if papers is not None and not papers.is_dir():
        _fail(f"papers folder not found: {papers}", "give the folder holding the papers")
    try:
        settings = ReviewSettings(out_dir, curator if curator is not None else default_curator(), papers)
        server = ReviewServer(settings, host, port, allow_remote)
    except (ValueError, RemoteRefused) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", "give another --port, or --port 0")
    if server.moved_from is not None:
        typer.echo(f"port {server.moved_from} is in use; listening on {server.port} instead", err=True)
    typer.echo(f"review page for {out_dir}: {server.url} (curator {settings.curator}; Ctrl-C to stop)")
    if not no_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.session.pooling.wait(60)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # one line, never a traceback
        typer.echo(f"error: {type(exc).__name__}: {exc} (re-run with a single paper to narrow it down)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
