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
from .core.names import shown

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


# Exit statuses beyond 0 (all well), 1 (some papers failed) and 2 (usage error).
EXIT_KEPT_INVALID = 3   # every paper read, but some records were kept because they are not valid
EXIT_OUTPUT = 4         # the output folder is in use by another process, or cannot be written


@app.command()
def run(
    input_dir: Path = typer.Argument(Path("corpus"), help="Folder of papers (*.txt, *.pdf)."),
    out: Path = typer.Option(Path("outputs"), "--out", "-o", help="Output folder."),
    jobs: int = typer.Option(os.cpu_count() or 1, "--jobs", "-j", min=1,
                             help="Papers extracted at once, each in its own worker process; 1 runs in this process."),
    force: bool = typer.Option(False, "--force", help="Extract every paper again, even those unchanged since the last run."),
    time_limit: float = typer.Option(120.0, "--time-limit", min=0.001,
                                     help="Seconds one paper may take before it is reported failed."),
    max_mb: float = typer.Option(None, "--max-mb", min=0.001, show_default=False,
                                 help="Text files larger than this many megabytes, and PDFs larger than ten times "
                                      "this, are failed unread (default: 10)."),
    keep_orphans: bool = typer.Option(False, "--keep-orphans",
                                      help="Keep records whose paper is no longer in INPUT_DIR in the tables."),
    wait: float = typer.Option(0.0, "--wait", min=0.0,
                               help="Seconds to wait for another run or save using OUT to finish (default: refuse at once)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only failures and the summary."),
):
    """Extract every paper in INPUT_DIR and write records, tables and a run report to OUT.

    Writes OUT/records/<study_id>.json (one per paper, valid against schemas/record.schema.json),
    OUT/studies.csv, OUT/outcomes.csv and OUT/run_report.json, then pools outcomes.csv as
    `crmo-extract meta` does. A paper that cannot be read is reported on stderr and in the run
    report; the others are still written. Entries that are not papers (folders or FIFOs named
    *.pdf, links out of INPUT_DIR, copies of another paper) are reported as skipped.

    Papers unchanged since the last run into OUT (same bytes, same pipeline version and rules) are
    not extracted again: their records are kept. --force extracts everything. Records whose paper
    is gone are reported as orphaned and left out of the tables (never deleted).

    Exit status: 0 all papers succeeded, 1 some failed, 2 usage error, 3 some records were kept
    as they are because they are not valid (fix them: crmo-extract validate), 4 OUT is in use by
    another process or cannot be written.

    Example: crmo-extract run corpus --out outputs --jobs 4
    """
    from .batch.runner import BatchSettings
    from .batch.runner import run as run_batch

    if not input_dir.is_dir():
        _fail(f"input folder not found: {shown(input_dir)}", "give a folder of .txt or .pdf papers")
    if not any(os.path.splitext(name)[1].lower() in (".txt", ".pdf") for name in os.listdir(input_dir)):
        _fail(f"no .txt or .pdf files in {shown(input_dir)}", "check the folder")
    settings = BatchSettings(jobs=jobs, time_limit=time_limit, force=force, keep_orphans=keep_orphans, wait=wait,
                             **({"max_mb": max_mb} if max_mb is not None else {}))
    with _output_lock(out, "crmo-extract run", wait):
        if quiet or not sys.stderr.isatty():
            report = run_batch(input_dir, out, on_result=_log_lines(quiet), settings=settings, locked=True)
        else:
            with _progress_bar() as on_result:
                report = run_batch(input_dir, out, on_result=on_result, settings=settings, locked=True)
        _print_run_summary(report, out)
        # Pooled again only when the tables changed since: an unchanged re-run stays free of scipy
        # and matplotlib.
        message = _pool_if_stale(out, input_dir)
        if message:
            typer.echo(f"meta-analysis: {message}")
    if report.failed:
        raise typer.Exit(1)
    raise typer.Exit(EXIT_KEPT_INVALID if report.kept_invalid else 0)


def _print_run_summary(report, out: Path) -> None:
    t = report.totals
    skipped = f", {t['skipped']} skipped" if t["skipped"] else ""
    typer.echo(f"{t['ok']} of {t['papers']} papers ok, {t['failed']} failed{skipped} ({t['cached']} unchanged, not "
               f"extracted again), in {t['seconds']:.1f} s; outputs in {shown(out)}/")
    for orphan in report.orphaned:
        where = "kept in the tables (--keep-orphans)" if orphan["in_tables"] else "left out of the tables"
        typer.echo(f"{shown(out)}/{orphan['record']}: orphaned, {where}: {orphan['reason']}", err=True)
    for left in report.left_out_of_tables:
        rows = ("its rows are from its last valid version, marked in record_issue" if left["rows"] != "none"
                else "no valid version of it is in the tables")
        typer.echo(f"{shown(out)}/{left['record']}: not usable: {left['reason']}; {rows}", err=True)
    if report.kept_invalid:
        typer.echo(f"{len(report.kept_invalid)} record(s) kept as they are because they are not valid: "
                   f"{', '.join(report.kept_invalid)} (see `crmo-extract validate {shown(out)}/records`)")
    if report.write_error:
        typer.echo(f"warning: {report.write_error} (this run's report; the other outputs are up to date)", err=True)


def _pool_if_stale(out: Path, input_dir: Path | None = None) -> str | None:
    if not (out / "outcomes.csv").is_file():
        return None
    from .batch.runner import pool

    return pool(out, only_if_stale=True, input_dir=input_dir)


@contextmanager
def _output_lock(out: Path, holder: str, wait: float):
    """Hold OUT's lock, or end with one line naming whoever holds it (exit status 4)."""
    from .batch import lock
    from .batch.runner import OutputFolderError
    from .record.store import WriteError

    try:
        with lock.hold(out, holder, wait):
            yield
    except (lock.LockError, OutputFolderError, WriteError) as exc:
        _fail(str(exc), code=EXIT_OUTPUT)


def _paper_line(result, i: int, total: int) -> str:
    """One paper as one line: `[12/1000] study_id: ok (0.03 s)`."""
    if result.status != "ok":
        return (f"[{i}/{total}] {result.file}: {result.status}: {result.reason}"
                + (" (cached; --force retries)" if result.cached else ""))
    line = f"[{i}/{total}] {result.study_id}: ok " + ("(unchanged)" if result.cached else f"({result.seconds:.2f} s)")
    if result.renamed_from:
        line += f"; renamed from {result.renamed_from}"
    return line + "".join(f"; {note}" for note in result.notes)


def _log_lines(quiet: bool):
    """Plain lines on stderr, for logs and pipes: every paper, or only failures when quiet."""
    def on_result(result, i, total):
        if result.status == "failed" or not quiet:
            typer.echo(_paper_line(result, i, total), err=True)
    return on_result


@contextmanager
def _progress_bar():
    """A progress bar (count, rate, ETA) on a terminal; failures are printed above it."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    columns = (TextColumn("extracting"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]} papers/s"), TimeElapsedColumn(), TextColumn("ETA"),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("papers", total=None, rate="-")
        started = time.monotonic()

        def on_result(result, i, total):
            if result.status != "ok" or result.notes:
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
    from .record.validate import validate_paths

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
def merge(
    out: Path = typer.Option(Path("outputs"), "--out", "-o", help="Output folder holding records/."),
    keep_orphans: bool = typer.Option(False, "--keep-orphans",
                                      help="Also put in the tables the records the last run found orphaned."),
    wait: float = typer.Option(0.0, "--wait", min=0.0, help="Seconds to wait for another run or save using OUT to finish."),
):
    """Rebuild studies.csv and outcomes.csv from the records in OUT/records, without extracting,
    then pool them again (as `crmo-extract meta`) if they changed.

    Use it after curating: curated figures always go into the tables, rejected ones never, the
    others when their confidence is at least 0.5. A record that cannot be used (invalid JSON,
    schema errors, another study's record under this one's name) is named on stderr; its study
    keeps the rows of its last valid version, marked in the record_issue column. Records the last
    run found orphaned (their paper gone) are left out unless --keep-orphans.

    Exit status: 0 tables written, 2 usage error, 3 some records could not be used, 4 OUT is in
    use by another process or cannot be written.

    Example: crmo-extract merge --out outputs
    """
    from .batch.cache import Cache
    from .batch.runner import build_tables

    if not (out / "records").is_dir():
        _fail(f"no records folder in {shown(out)}", "run `crmo-extract run` first")
    with _output_lock(out, "crmo-extract merge", wait):
        last = Cache(out, rules="").study_ids
        include = None if keep_orphans or last is None else set(last)
        left_out, (n_studies, n_outcomes) = build_tables(out, include, force=True)
        for left in left_out:
            rows = ("its rows are from its last valid version, marked in record_issue" if left["rows"] != "none"
                    else "no valid version of it is in the tables")
            typer.echo(f"{shown(out)}/{left['record']}: left out of the tables: {left['reason']}; {rows} "
                       f"(see `crmo-extract validate {shown(out)}/{left['record']}`)", err=True)
        typer.echo(f"{n_studies} studies, {n_outcomes} outcome rows written to {shown(out)}/")
        message = _pool_if_stale(out)
        if message:
            typer.echo(f"meta-analysis: {message}")
    raise typer.Exit(EXIT_KEPT_INVALID if left_out else 0)


@app.command()
def meta(
    out: Path = typer.Option(Path("outputs"), "--out", "-o", help="Output folder holding outcomes.csv."),
    wait: float = typer.Option(0.0, "--wait", min=0.0, help="Seconds to wait for another run or save using OUT to finish."),
):
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
    from .batch.runner import pool

    if not (out / "outcomes.csv").is_file():
        _fail(f"no outcomes.csv in {shown(out)}", "run `crmo-extract run` or `crmo-extract merge` first")
    with _output_lock(out, "crmo-extract meta", wait):
        message = pool(out)
    typer.echo(f"{message}; outputs in {shown(out)}/")


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

    from .batch.runner import run as run_batch
    from .evaluate import evaluate_dir, format_report, gold_annotations, holds_records
    from .record.curate import common_folder
    from .record.store import atomic_write_json
    from .record.validate import validate_paths

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
    with _output_lock(out, "crmo-extract evaluate", 0.0):
        run_batch(papers_dir, out, locked=True)
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

    from .record.compare import COLUMNS, RecordSetError, compare_sets, read_record_set
    from .record.store import atomic_write_csv

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
