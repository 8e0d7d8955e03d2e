"""Two curators' record sets -> where they disagree, field by field (dual extraction).

Two figures agree when they put the same value in the tables (curated always, rejected never,
others when confident), so a figure one curator rejected and the other left out agree, and a figure
both kept at 8 agrees whatever its status. Outcome figures are matched by drug and outcome.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.model import usable
from ..core.names import shown
from .curate import labelled_figures
from .file import RecordFileError, read_record
from .validate import record_issues

COLUMNS = ["study_id", "field", "value_a", "value_b", "status_a", "status_b"]
RECORD = "(record)"  # the field name of a study that only one set has


@dataclass(frozen=True)
class Disagreement:
    study_id: str
    field: str
    value_a: Any
    value_b: Any
    status_a: str | None
    status_b: str | None


class RecordSetError(Exception):
    """A record set that cannot be compared: no such folder, no records, or a record failing validation."""


def read_record_set(folder: Path) -> dict[str, dict]:
    """study_id -> record for every record file in `folder`; a file that fails validation stops the
    comparison (its values cannot be trusted), with the problem in the message."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RecordSetError(f"not a folder: {folder}")
    records = {}
    for path in sorted(folder.glob("*.json")):
        try:
            record, _ = read_record(path)
        except (OSError, RecordFileError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise RecordSetError(f"{shown(path)}: not a readable JSON record: {reason}") from None
        issues = record_issues(record, shown(path))
        if issues:
            raise RecordSetError(f"{shown(path)}: fails the schema: {issues[0].path}: {issues[0].message}")
        records[path.stem] = record
    if not records:
        raise RecordSetError(f"no record files (*.json) in {folder}")
    return records


def _table_value(figure: dict | None) -> Any:
    return figure.get("value") if usable(figure) else None


def compare_records(study_id: str, a: dict, b: dict) -> list[Disagreement]:
    """Two records of one study -> the figures whose table values differ, in A's order, then B's extras."""
    figs_a, figs_b = dict(labelled_figures(a)), dict(labelled_figures(b))
    out = []
    for label in list(figs_a) + [k for k in figs_b if k not in figs_a]:
        fa, fb = figs_a.get(label), figs_b.get(label)
        va, vb = _table_value(fa), _table_value(fb)
        if va != vb:
            out.append(Disagreement(study_id, label, va, vb, fa and fa.get("status"), fb and fb.get("status")))
    return out


def compare_sets(a: dict[str, dict], b: dict[str, dict]) -> list[Disagreement]:
    """Two record sets (study_id -> record) -> every disagreement, study by study."""
    out = []
    for study_id in sorted(set(a) | set(b)):
        if study_id not in a or study_id not in b:
            out.append(Disagreement(study_id, RECORD, "present" if study_id in a else "missing",
                                    "present" if study_id in b else "missing", None, None))
            continue
        out += compare_records(study_id, a[study_id], b[study_id])
    return out


def agreement(a: dict, b: dict) -> tuple[int, list[Disagreement]]:
    """Two records of one study (a paper read from its PDF and from its text) -> how many figures
    reach the tables in either, and the disagreements among them; agreement is the share of those
    figures that are not disagreements."""
    figs_a, figs_b = dict(labelled_figures(a)), dict(labelled_figures(b))
    shown = sum(1 for label in set(figs_a) | set(figs_b)
                if _table_value(figs_a.get(label)) is not None or _table_value(figs_b.get(label)) is not None)
    return shown, compare_records(a.get("study_id", ""), a, b)
