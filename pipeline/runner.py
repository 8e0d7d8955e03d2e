"""The batch: a folder of papers -> records, tables and a run report.

`process_file` is a pure function from one paper to its record (no output folder, no global
state), so any executor can map it; `run` streams papers through it and writes each record as
soon as it is made.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from . import __version__
from .checks import run_checks
from .curate import merge_with_file, write_merged
from .extract import extract_all
from .paper import document_to_paper
from .read import SUFFIXES, ReadError, read_document
from .record import build_record, schema_ref_for
from .store import atomic_write_json, atomic_write_text
from .tables import write_tables
from .validate import record_issues


@dataclass
class Result:
    """What processing one paper gave: a record, or the one-line reason it failed."""
    file: str
    study_id: str
    status: str                       # ok | failed
    reason: str | None = None
    seconds: float = 0.0
    record: dict | None = None
    kept_text: str | None = None      # the text evidence offsets point into, when not the file itself
    curation: dict = field(default_factory=dict)  # what write_result did with the record file, for the run report


def list_papers(input_dir: Path) -> list[Path]:
    return sorted(p for p in Path(input_dir).iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def process_file(path: Path) -> Result:
    """One paper -> its record. Never raises for a bad paper: the reason goes into the Result."""
    path = Path(path)
    started = time.perf_counter()
    result = Result(str(path), path.stem, "failed")
    try:
        document = read_document(path)
        paper = document_to_paper(document)
        figures, outcomes, percents = extract_all(paper)
        checks = run_checks(figures, outcomes, percents)
        is_pdf = path.suffix.lower() == ".pdf"
        record = build_record(document.study_id, str(path), figures, outcomes, checks,
                              text_file=f"text/{document.study_id}.txt" if is_pdf else None)
        issues = record_issues(record, file=path.name)
        if issues:
            # A bug in the rules, not in the paper; never write an invalid record as if valid.
            result.reason = f"record fails the schema: {issues[0].path}: {issues[0].message}"
        else:
            result.status, result.record = "ok", record
            result.kept_text = document.text if is_pdf else None
    except ReadError as exc:
        result.reason = str(exc)
    except Exception as exc:  # one paper must never bring the batch down
        result.reason = f"internal error: {type(exc).__name__}: {exc}"
    result.seconds = round(time.perf_counter() - started, 3)
    return result


@dataclass
class RunReport:
    input_dir: str
    out_dir: str
    pipeline_version: str = __version__
    files: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(1 for f in self.files if f["status"] != "ok")


def write_result(out_dir: Path, result: Result) -> None:
    """Write the record, merged with the one on disk: a curator's figures are never overwritten, and
    a file that fails validation after a hand edit is left byte for byte (see pipeline/curate.py)."""
    if result.record is None:
        return
    path = Path(out_dir) / "records" / f"{result.study_id}.json"
    result.record["$schema"] = schema_ref_for(path)
    merged = merge_with_file(path, result.record)
    # The kept text goes with the record: a kept record's evidence points into the old text.
    if result.kept_text is not None and merged.record is not None:
        atomic_write_text(Path(out_dir) / "text" / f"{result.study_id}.txt", result.kept_text)
    write_merged(path, merged)
    result.curation = merged.report()


def run(input_dir: Path, out_dir: Path, on_result: Callable[[Result, int, int], None] | None = None) -> RunReport:
    """Extract every paper in `input_dir`, write records, tables and run_report.json to `out_dir`."""
    input_dir, out_dir = Path(input_dir), Path(out_dir)
    papers = list_papers(input_dir)
    report = RunReport(str(input_dir), str(out_dir))
    started = time.perf_counter()
    for i, path in enumerate(papers, 1):
        result = process_file(path)
        write_result(out_dir, result)
        report.files.append({"file": result.file, "study_id": result.study_id, "status": result.status,
                             "reason": result.reason, "seconds": result.seconds, **result.curation})
        if on_result:
            on_result(result, i, len(papers))
    write_tables(out_dir)
    report.totals = {"papers": len(papers), "ok": len(papers) - report.failed, "failed": report.failed,
                     "seconds": round(time.perf_counter() - started, 3)}
    atomic_write_json(out_dir / "run_report.json", asdict(report))
    return report
