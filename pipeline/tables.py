"""Records on disk -> studies.csv and outcomes.csv (the meta-analysis table).

Tables are built from the record files, not from memory, so a merge after curation and a fresh run
produce the same tables, and memory stays flat however many papers there are.
"""
from __future__ import annotations

import json
from pathlib import Path, PurePath
from typing import Iterable, Iterator

import pandas as pd

from .fields import DESCRIBED_STATS, OUTCOME_COLUMNS, SITE_PREFIX, STUDY_COLUMNS
from .records import HUMAN_STATUSES, usable
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


def _flag(figure: dict) -> str | None:
    """What a reviewer must know about a figure's table value: derived, conflict, curated or
    rejected, and low confidence when a machine figure is left out of the tables for it."""
    status = figure.get("status")
    words = [status] if status in ("derived", "conflict", "curated", "rejected") else []
    if status not in HUMAN_STATUSES and not usable(figure):
        words.append("low confidence")
    return ", ".join(words) or None


def study_flags(figures: dict) -> str:
    """`field: flag` for every figure not simply extracted with confidence, `; `-separated. The
    parts of a described statistic (age_onset_stat, _value, ...) that share a flag are named once
    (`age_onset: conflict`)."""
    flags = {name: _flag(fig) for name, fig in figures.items() if isinstance(fig, dict)}
    out, done = [], set()
    for name, flag in flags.items():
        key = _conflict_key(name)
        if flag is None or name in done:
            continue
        parts = [n for n in flags if _conflict_key(n) == key]
        if key != name and all(flags[n] == flag for n in parts):
            out.append(f"{key}: {flag}")
            done.update(parts)
        else:
            out.append(f"{name}: {flag}")
    return "; ".join(out)


def study_row(record: dict) -> dict:
    figures = record.get("figures", {})
    # Relative to the input folder (which holds the papers side by side), so the table reads the
    # same wherever the papers were when they were extracted.
    source = record.get("source_file")
    row = {"study_id": record["study_id"], "source_file": PurePath(source).name if source else source}
    for name, fig in figures.items():
        if usable(fig):
            row[name] = fig.get("value")
    # A described statistic in conflict is one conflict, not five (stat, value, min, max, unit).
    row["n_conflicts"] = len({_conflict_key(name) for name, f in figures.items() if f.get("status") == "conflict"})
    row["n_conflicts"] += sum(1 for o in record.get("outcomes", []) for k in ("n_responded", "n_treated")
                              if o.get(k) and o[k].get("status") == "conflict")
    row["flags"] = study_flags(figures)
    citation = record.get("citation") or {}
    row["first_author"], row["year"] = citation.get("first_author"), citation.get("year")
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
    return (_typed(pd.DataFrame(studies, columns=STUDY_COLUMNS + sites)),
            _typed(pd.DataFrame(outcomes, columns=OUTCOME_COLUMNS)))


def count_columns(columns: Iterable[str]) -> list[str]:
    """The whole-number columns of studies.csv and outcomes.csv: counts, bone sites and the year."""
    return [c for c in columns if c.startswith(("n_", SITE_PREFIX)) or c == "year"]


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for column in count_columns(frame.columns):
        counts = pd.to_numeric(frame[column], errors="coerce")
        # Nullable integers: 8, not 8.0, beside empty cells (a column a hand-made CSV holds 8.5
        # in stays as it is).
        if (counts.dropna() % 1 == 0).all():
            frame[column] = counts.astype("Int64")
    return frame


def read_table(path: Path) -> pd.DataFrame:
    """studies.csv or outcomes.csv as written: counts as nullable integers (pandas alone reads a
    count column with an empty cell as floats, 8.0), identifiers and words as text."""
    text = {c: str for c in ("study_id", "source_file", "flags", "first_author", "drug", "agent", "outcome", "status")}
    return _typed(pd.read_csv(path, dtype=text))


def write_tables(out_dir: Path, skipped: list[tuple[Path, str]] | None = None,
                 trusted: dict[str, list[int]] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`skipped` collects the record files left out, `trusted` names records known valid (see iter_records)."""
    from .store import atomic_write_csv

    out_dir = Path(out_dir)
    studies, outcomes = build_tables(rec for _, rec in iter_records(out_dir / "records", skipped, trusted))
    atomic_write_csv(out_dir / "studies.csv", studies)
    atomic_write_csv(out_dir / "outcomes.csv", outcomes)
    return studies, outcomes


def rebuild(out_dir: Path, skipped: list[tuple[Path, str]] | None = None, input_dir: Path | None = None):
    """Records on disk -> studies.csv and outcomes.csv -> the pooled outputs that depend on them
    (pipeline.meta.run_meta): what `crmo-extract merge` does, callable after any curator's edit.
    Returns (studies, outcomes, MetaResult)."""
    from .meta import run_meta

    studies, outcomes = write_tables(out_dir, skipped)
    return studies, outcomes, run_meta(out_dir, input_dir=input_dir)
