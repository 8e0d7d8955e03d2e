"""Records on disk -> studies.csv and outcomes.csv (the meta-analysis table).

Tables are built from the record files, not from memory, so a merge after curation and a fresh run
produce the same tables, and memory stays flat however many papers there are.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from .fields import DESCRIBED_STATS, OUTCOME_COLUMNS, SITE_PREFIX, STUDY_COLUMNS
from .records import usable
from .stats import proportion_ci
from .validate import record_issues

def iter_records(records_dir: Path, skipped: list[tuple[Path, str]] | None = None,
                 trusted: dict[str, list[int]] | None = None) -> Iterator[tuple[Path, dict]]:
    """Valid records under `records_dir`. A broken hand edit (invalid JSON, schema errors) must not
    stop the tables nor put "eight" in a count column: it is left out, and added to `skipped` with
    the reason (`validate` gives the details).

    `trusted` maps a record's file name to its [size, mtime_ns] when the pipeline wrote it, valid
    (`Cache.record_stamps`); a record still as written is not validated again, which is most of
    the cost of the tables after a large run.
    """
    trusted = trusted or {}
    for path in sorted(Path(records_dir).glob("*.json")):
        try:
            stamp = trusted.get(path.name) and _stamp(path)
            record = json.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            reason = f"not valid JSON: {exc}"
        else:
            issues = [] if stamp and stamp == trusted[path.name] else record_issues(record, path.name)
            if not issues:
                yield path, record
                continue
            reason = f"fails the schema: {issues[0].path}: {issues[0].message}"
        if skipped is not None:
            skipped.append((path, reason))


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def _conflict_key(name: str) -> str:
    base, _, part = name.rpartition("_")
    return base if base in DESCRIBED_STATS and part in ("stat", "value", "min", "max", "unit") else name


def study_row(record: dict) -> dict:
    figures = record.get("figures", {})
    row = {"study_id": record["study_id"], "source_file": record.get("source_file")}
    for name, fig in figures.items():
        if usable(fig):
            row[name] = fig.get("value")
    # A described statistic in conflict is one conflict, not five (stat, value, min, max, unit).
    row["n_conflicts"] = len({_conflict_key(name) for name, f in figures.items() if f.get("status") == "conflict"})
    row["n_conflicts"] += sum(1 for o in record.get("outcomes", []) for k in ("n_responded", "n_treated")
                              if o.get(k) and o[k].get("status") == "conflict")
    return row


def _confidence(figure: dict) -> float:
    # A curated value is a person's: it counts as certain, whatever confidence the machine gave it,
    # so pooling never drops it for low confidence.
    if figure.get("status") == "curated":
        return 1.0
    return figure.get("confidence", 0.0)


def outcome_rows(record: dict) -> Iterator[dict]:
    for o in record.get("outcomes", []):
        resp, treat = o.get("n_responded"), o.get("n_treated")
        x = resp["value"] if usable(resp) else None
        n = treat["value"] if usable(treat) else None
        figs = [f for f in (resp, treat) if f]
        statuses = [f.get("status") for f in figs]
        status = next((s for s in ("rejected", "conflict", "curated", "derived") if s in statuses), "extracted")
        row = {"study_id": record["study_id"], "drug": o["drug"], "agent": o.get("agent"), "outcome": o["outcome"],
               "n_responded": x, "n_treated": n, "proportion": None, "ci_low": None, "ci_high": None,
               "status": status, "confidence": round(min((_confidence(f) for f in figs), default=0), 3)}
        if x is not None and n and 0 <= x <= n:
            row["proportion"], row["ci_low"], row["ci_high"] = (round(v, 4) for v in proportion_ci(x, n))
        yield row


def build_tables(records: Iterable[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    studies, outcomes = [], []
    for record in records:
        studies.append(study_row(record))
        outcomes.extend(outcome_rows(record))
    sites = sorted({k for row in studies for k in row if k.startswith(SITE_PREFIX)})
    study_frame = pd.DataFrame(studies, columns=STUDY_COLUMNS + sites)
    count_cols = [c for c in study_frame.columns if c.startswith(("n_", SITE_PREFIX))]
    study_frame[count_cols] = study_frame[count_cols].astype("Int64")
    outcome_frame = pd.DataFrame(outcomes, columns=OUTCOME_COLUMNS)
    outcome_frame[["n_responded", "n_treated"]] = outcome_frame[["n_responded", "n_treated"]].astype("Int64")
    return study_frame, outcome_frame


def write_tables(out_dir: Path, skipped: list[tuple[Path, str]] | None = None,
                 trusted: dict[str, list[int]] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`skipped` collects the record files left out, `trusted` names records known valid (see iter_records)."""
    from .store import atomic_write_csv

    out_dir = Path(out_dir)
    studies, outcomes = build_tables(rec for _, rec in iter_records(out_dir / "records", skipped, trusted))
    atomic_write_csv(out_dir / "studies.csv", studies)
    atomic_write_csv(out_dir / "outcomes.csv", outcomes)
    return studies, outcomes
