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
    OUT/studies.csv, OUT/outcomes.csv and OUT/run_report.json. A paper that cannot be read is
    reported on stderr and in the run report; the others are still written.

    Papers unchanged since the last run into OUT (same bytes, same pipeline version and rules) are
    not extracted again: their records are kept. --force extracts everything.

    Exit status: 0 all papers succeeded, 1 some failed, 2 usage error.

    Example: crmo-extract run corpus --out outputs --jobs 4
    """
    from .runner import BatchSettings, list_papers, run as run_batch

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
