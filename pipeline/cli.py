"""The `crmo-extract` command: a thin layer over the library (pipeline.runner, pipeline.validate, ...).

Errors reach the user as one line with a suggested fix, never a traceback.
"""
from __future__ import annotations

import sys
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
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only errors and the summary."),
):
    """Extract every paper in INPUT_DIR and write records, tables and a run report to OUT.

    Writes OUT/records/<study_id>.json (one per paper, valid against schemas/record.schema.json),
    OUT/studies.csv, OUT/outcomes.csv and OUT/run_report.json, then pools outcomes.csv as
    `crmo-extract meta` does. A paper that cannot be read is reported on stderr and in the run
    report; the others are still written.

    Exit status: 0 all papers succeeded, 1 some failed, 2 usage error.

    Example: crmo-extract run corpus --out outputs
    """
    from .meta import run_meta
    from .runner import list_papers, run as run_batch

    if not input_dir.is_dir():
        _fail(f"input folder not found: {input_dir}", "give a folder of .txt or .pdf papers")
    if not list_papers(input_dir):
        _fail(f"no .txt or .pdf files in {input_dir}", "check the folder")
    out.mkdir(parents=True, exist_ok=True)

    def on_result(result, i, total):
        if result.status != "ok":
            typer.echo(f"{result.file}: failed: {result.reason}", err=True)
        elif not quiet:
            typer.echo(f"[{i}/{total}] {result.study_id}: ok ({result.seconds:.2f} s)", err=True)

    report = run_batch(input_dir, out, on_result=on_result)
    t = report.totals
    typer.echo(f"{t['ok']} of {t['papers']} papers ok, {t['failed']} failed, in {t['seconds']:.1f} s; outputs in {out}/")
    if (out / "outcomes.csv").is_file():
        typer.echo(f"meta-analysis: {run_meta(out).message}")
    raise typer.Exit(1 if report.failed else 0)


@app.command()
def validate(
    paths: list[Path] = typer.Argument(None, help="Record files or folders of them (default: outputs/records)."),
):
    """Check records against the schema; print each error with file, line, column and JSON path.

    Exit status: 0 all records valid, 1 some are not, 2 usage error.

    Example: crmo-extract validate outputs/records
    """
    from .validate import validate_paths

    paths = paths or [Path("outputs/records")]
    missing = [p for p in paths if not p.exists()]
    if missing:
        _fail(f"not found: {missing[0]}", "give record files or folders")
    issues, n_files = validate_paths(paths)
    for issue in issues:
        typer.echo(str(issue))
    bad = len({i.file for i in issues})
    typer.echo(f"{n_files - bad} of {n_files} records valid" + (f", {len(issues)} errors" if issues else ""), err=True)
    raise typer.Exit(1 if issues else 0)


@app.command()
def merge(out: Path = typer.Option(Path("outputs"), "--out", "-o", help="Output folder holding records/.")):
    """Rebuild studies.csv and outcomes.csv from the records in OUT/records, without extracting.

    Example: crmo-extract merge --out outputs
    """
    from .tables import write_tables

    if not (out / "records").is_dir():
        _fail(f"no records folder in {out}", "run `crmo-extract run` first")
    studies, outcomes = write_tables(out)
    typer.echo(f"{len(studies)} studies, {len(outcomes)} outcome rows written to {out}/")


@app.command()
def meta(out: Path = typer.Option(Path("outputs"), "--out", "-o", help="Output folder holding outcomes.csv.")):
    """Pool OUT/outcomes.csv per drug class x outcome into a random-effects meta-analysis.

    For every group with two or more studies, writes four rows to OUT/pooled.csv (logit PLO and
    Freeman-Tukey PFT, each with DerSimonian-Laird and REML tau^2): pooled proportion, 95% CI and
    prediction interval, tau^2, I^2 and Q, as R's metafor computes them. Also writes
    forest_<drug>_<outcome>.png/.svg, meta_excluded.csv (conflict and low-confidence rows left
    out, with the reason), metafor.csv (the counts, for tests/r/pool.R) and meta_table.xlsx.

    Example: crmo-extract meta --out outputs
    """
    from .meta import run_meta

    if not (out / "outcomes.csv").is_file():
        _fail(f"no outcomes.csv in {out}", "run `crmo-extract run` or `crmo-extract merge` first")
    result = run_meta(out)
    typer.echo(f"{result.message}; outputs in {out}/")


@app.command()
def evaluate(
    gold_dir: Path = typer.Argument(..., help="Folder of papers (*.txt, *.pdf) with NAME.gold.json annotations."),
    out: Path = typer.Option(Path("outputs/evaluation"), "--out", "-o", help="Where to write the records and the scores."),
):
    """Extract the papers in GOLD_DIR and score the figures against their hand annotations.

    Prints per-field precision, recall and F1, then every miss; writes OUT/evaluation.json.
    The annotation format is described in ../shared/dev/README.md.

    Example: crmo-extract evaluate ../shared/dev --out outputs/dev
    """
    import dataclasses
    import json

    from .evaluate import evaluate_dir, format_report
    from .runner import run as run_batch
    from .store import atomic_write_json

    if not gold_dir.is_dir():
        _fail(f"gold folder not found: {gold_dir}", "give a folder of papers with .gold.json files")
    if not list(gold_dir.glob("*.gold.json")):
        _fail(f"no *.gold.json files in {gold_dir}", "annotations are NAME.gold.json beside NAME.txt")
    run_batch(gold_dir, out)
    ev = evaluate_dir(gold_dir, out / "records")
    typer.echo(format_report(ev))
    atomic_write_json(out / "evaluation.json", {
        "per_field": {k: {**dataclasses.asdict(v), "precision": v.precision, "recall": v.recall, "f1": v.f1}
                      for k, v in sorted(ev.per_field.items())},
        "total": {**dataclasses.asdict(ev.total), "f1": ev.total.f1},
        "misses": ev.misses,
    })


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
