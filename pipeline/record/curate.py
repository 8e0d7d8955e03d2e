"""Curation: a curator's record on disk + a fresh extraction -> the record to write.

A re-run never overwrites a person's work: curated and rejected figures (study figures and outcome
figures) are kept as they are, a machine value that disagrees with one is kept beside it as its
`suggestion`, and every change a curator made since the last run is appended to `history`. A file
that fails validation after a hand edit is not touched at all.

`merge_records` is pure (no files, no clock); `merge_with_file` and `write_merged` do the reading and
the atomic write for `runner.write_result`. `record_to_gold` turns a curated record into the dev-set
gold format, so a folder of curated records can serve as gold for `evaluate`.
"""
from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from ..core.fields import DESCRIBED_STATS, SITE_PREFIX
from ..core.limits import limits
from ..core.model import HUMAN_STATUSES, usable
from ..core.names import shown
from .file import RecordFileError, parse_record, read_record_text, study_id_mismatch
from .store import create_if_absent, replace_if_unchanged
from .validate import record_issues

log = logging.getLogger(__name__)

OUTCOME_FIGURES = ("n_responded", "n_treated")


@dataclass
class MergeResult:
    record: dict | None                 # what to write; None: leave the file on disk as it is
    action: str                         # new | updated | kept
    reason: str | None = None           # why the file was kept
    invalid: bool = False               # kept because it is not a valid record of this study
    curation: list[dict] = field(default_factory=list)  # {field, status, curated, machine} where they disagree
    changes: list[dict] = field(default_factory=list)   # history entries added by this merge
    original: bytes | None = None       # the file as read, to notice an edit made during the run

    def report(self) -> dict:
        """The run report's view: what happened to the record file, and the disagreements."""
        out: dict = {"record": self.action}
        if self.reason:
            out["kept_reason"] = self.reason
        if self.invalid:
            out["invalid"] = True
        if self.curation:
            out["curation"] = self.curation
        if self.changes:
            out["history_added"] = [c["field"] for c in self.changes]
        return out


def is_human(figure) -> bool:
    return isinstance(figure, dict) and figure.get("status") in HUMAN_STATUSES


def outcome_label(row: dict, key: str) -> str:
    """The name of an outcome figure in history and reports, as in the record's checks."""
    return f"outcomes.{row.get('drug')}.{row.get('outcome')}.{key}"


def labelled_figures(record: dict) -> Iterator[tuple[str, dict]]:
    """(label, figure) for every figure of a record: study figures by name, outcome figures by label."""
    for name, fig in (record.get("figures") or {}).items():
        if fig:
            yield name, fig
    for row in record.get("outcomes") or []:
        for key in OUTCOME_FIGURES:
            if row.get(key):
                yield outcome_label(row, key), row[key]


def with_suggestion(human: dict, machine: dict | None) -> tuple[dict, dict | None]:
    """A person's figure, with the machine's figure as `suggestion` when their values differ; the
    disagreement for the run report, or None."""
    kept = {k: v for k, v in human.items() if k != "suggestion"}
    if machine is None or machine.get("value") is None or machine.get("value") == human.get("value"):
        return kept, None
    kept["suggestion"] = {k: v for k, v in machine.items() if k != "suggestion"}
    return kept, {"status": human.get("status"), "curated": human.get("value"), "machine": machine.get("value")}


def _merge_outcomes(existing_rows: list[dict], merged_rows: list[dict]) -> list[tuple[str, dict | None]]:
    """Put the person's outcome figures (and rows a curator added) into `merged_rows`, keyed by
    drug and outcome; the disagreements as (label, disagreement)."""
    by_key = {(row["drug"], row["outcome"]): row for row in merged_rows}
    found = []
    for row in existing_rows:
        if not any(is_human(row.get(key)) for key in OUTCOME_FIGURES):
            continue  # the machine's row: the new extraction replaces it
        target = by_key.get((row["drug"], row["outcome"]))
        if target is None:
            target = {"drug": row["drug"], "agent": row.get("agent"), "outcome": row["outcome"],
                      "n_responded": None, "n_treated": None}
            merged_rows.append(target)
            by_key[(row["drug"], row["outcome"])] = target
        target["agent"] = row.get("agent")  # a row a person curated keeps the person's agent
        for key in OUTCOME_FIGURES:
            if is_human(row.get(key)):
                target[key], disagreement = with_suggestion(row[key], target.get(key))
                found.append((outcome_label(row, key), disagreement))
    return found


def _history_entries(history: list[dict], merged: dict, machine: dict[str, dict], edited_at: str) -> list[dict]:
    """A history entry for every human figure whose value, status or note differs from the last one
    recorded for it (a first curation always counts: its old value is the machine's)."""
    last = {entry.get("field"): entry for entry in history}
    entries = []
    for label, fig in labelled_figures(merged):
        if not is_human(fig):
            continue
        before = last.get(label)
        if before is not None and (before.get("new"), before.get("status"), before.get("note")) == (
                fig.get("value"), fig["status"], fig.get("note")):
            continue
        old = before["new"] if before is not None else (machine.get(label) or {}).get("value")
        entries.append({"field": label, "old": old, "new": fig.get("value"), "status": fig["status"],
                        "when": edited_at, "who": fig.get("curator"), "note": _history_note(fig.get("note"))})
    return entries


def curation_history(before: dict, after: dict, edited_at: str) -> list[dict]:
    """The history entries a curator's change from `before` to `after` (two versions of one record)
    adds: what a run adds when it finds the same change made by hand, so a save from the review
    page and a hand edit leave the same history."""
    return _history_entries(before.get("history") or [], after, dict(labelled_figures(before)), edited_at)


def _history_note(note):
    """A note as history keeps it: a long one cut (the whole note stays on the figure), so a huge
    note does not double the record at every change."""
    most = limits().history_note_max_chars
    if not isinstance(note, str) or len(note) <= most:
        return note
    return f"{note[:most]}... ({len(note):,} characters; the whole note is on the figure)"


def merge_records(existing: dict | None, new: dict, edited_at: str | None = None) -> MergeResult:
    """The record on disk (None when there is none) + a fresh extraction -> the record to write.

    `edited_at` is when `existing` was last saved (ISO 8601), the time given to the curator's
    changes found in it. An `existing` that fails the schema is kept untouched (record None).
    """
    if existing is None:
        return MergeResult(new, "new")
    issues = record_issues(existing)
    if issues:
        return MergeResult(None, "kept", f"fails the schema: {issues[0].path}: {issues[0].message}", invalid=True)
    if existing["study_id"] != new["study_id"]:
        return MergeResult(None, "kept", study_id_mismatch(existing["study_id"], new["study_id"]), invalid=True)
    merged = copy.deepcopy(new)
    disagreements = []
    for name, fig in existing["figures"].items():
        if is_human(fig):
            merged["figures"][name], disagreement = with_suggestion(fig, new["figures"].get(name))
            disagreements.append((name, disagreement))
    disagreements += _merge_outcomes(existing["outcomes"], merged["outcomes"])
    machine = dict(labelled_figures(new))
    changes = _history_entries(existing["history"], merged, machine, edited_at or _now())
    merged["history"] = existing["history"] + changes
    # Every record the pipeline writes is valid (the tables trust it without validating again), so
    # a merge is checked too: a curator's figure could fit the old record and not the new one.
    issues = record_issues(merged)
    if issues:
        return MergeResult(None, "kept", f"the merged record fails the schema: {issues[0].path}: {issues[0].message}",
                           invalid=True)
    curation = [{"field": label, **d} for label, d in disagreements if d is not None]
    return MergeResult(merged, "updated", curation=curation, changes=changes)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _saved_at(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")


def merge_with_file(path: Path, new: dict) -> MergeResult:
    """The record file at `path` (if any) + a fresh extraction -> what to write there. Reads only.

    A file that is not a valid record (not a regular file, too large, not JSON, failing the schema,
    another study's) is kept untouched. Any other error reading it (no permission, `records` not a
    folder) is the output folder's fault: raised, for the run to report against the paper without
    remembering it as the paper's failure."""
    path = Path(path)
    try:
        text = read_record_text(path)
    except FileNotFoundError:
        return merge_records(None, new)
    except RecordFileError as exc:
        return MergeResult(None, "kept", str(exc), invalid=True)
    original = text.encode("utf-8")
    try:
        existing = parse_record(text)
    except RecordFileError as exc:
        where = f" at line {exc.line} column {exc.column}" if exc.line else ""
        return MergeResult(None, "kept", f"{exc}{where}", invalid=True)
    result = merge_records(existing, new, _saved_at(path))
    result.original = original
    return result


def write_merged(path: Path, result: MergeResult) -> None:
    """Write the merged record atomically, unless it is to be kept or the file changed since it was
    read (a curator saving during the run: their save wins, the next run merges it); see
    store.replace_if_unchanged for how a save at any moment is never overwritten."""
    path = Path(path)
    if result.record is not None:
        # Flushed to disk before it replaces the old file only when it holds a person's work: a record
        # made by the machine alone is made again by the next run if a power cut damages it (store.py).
        text = json.dumps(result.record, indent=2, ensure_ascii=False) + "\n"
        durable = holds_human_work(result.record)
        if result.original is None:
            written = create_if_absent(path, text, durable)
        else:
            written = replace_if_unchanged(path, text, result.original, durable)
        if written:
            return
        result.record, result.action, result.reason = None, "kept", "changed on disk during the run (a save wins; the next run merges it)"
    name = shown(path)
    if result.invalid:
        log.warning("%s: kept untouched: %s (fix it: crmo-extract validate %s)", name, result.reason, name)
    else:
        log.warning("%s: kept untouched: %s", name, result.reason)


def holds_human_work(record: dict) -> bool:
    """Does the record hold a curator's figure or their history?"""
    return bool(record.get("history")) or any(is_human(fig) for _, fig in labelled_figures(record))


# ---- curated records as gold for `evaluate` -------------------------------------------------

# The gold format's scalar counts: what record_to_gold writes and evaluate scores.
GOLD_COUNTS = ("n_patients", "n_male", "n_female", "n_multifocal", "n_unifocal", "mean_lesions_per_patient",
               "n_relapse")


def _value(figure) -> object:
    return figure.get("value") if usable(figure) else None


def _described(figures: dict, name: str) -> dict | None:
    parts = {part: _value(figures.get(f"{name}_{part}")) for part in ("stat", "value", "min", "max", "unit")}
    return parts if any(v is not None for v in parts.values()) else None


def record_to_gold(record: dict) -> dict:
    """A (curated) record -> the dev-set gold format (/work/shared/dev/README.md): the values the
    tables would use (curated always, rejected never, others when confident), null where none.

    `outcome` keeps the record's words (clinical, mri), which evaluate reads as the dev gold's
    clinical_response / mri_response.
    """
    figures = record.get("figures") or {}
    gold: dict = {"source": record.get("source_file"), "study_id": record.get("study_id")}
    gold.update({name: _value(figures.get(name)) for name in GOLD_COUNTS})
    gold.update({name: _described(figures, name) for name in DESCRIBED_STATS})
    gold["sites"] = {name[len(SITE_PREFIX):]: _value(fig) for name, fig in figures.items()
                     if name.startswith(SITE_PREFIX) and _value(fig) is not None}
    gold["treatments"] = []
    for row in record.get("outcomes") or []:
        treated, responded = _value(row.get("n_treated")), _value(row.get("n_responded"))
        if treated is None and responded is None:
            continue
        gold["treatments"].append({"drug": row.get("drug"), "n_treated": treated, "n_responded": responded,
                                   "outcome": row.get("outcome"), "notes": None})
    return gold


def common_folder(files: list[str | None]) -> Path | None:
    """The one folder holding all these files (e.g. the papers of curated records), or None."""
    folders = {Path(f).parent for f in files if f}
    return folders.pop() if len(folders) == 1 else None
