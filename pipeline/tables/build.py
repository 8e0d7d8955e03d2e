"""Records on disk -> studies.csv and outcomes.csv (the meta-analysis table).

Tables are built from the record files, not from memory, so a merge after curation and a fresh run
produce the same tables, and memory stays flat however many papers there are.
"""
from __future__ import annotations

from pathlib import Path, PurePath
from typing import Iterable, Iterator

import pandas as pd

from ..core.fields import (
    COUNT,
    DESCRIBED_STATS,
    NOT_PATIENTS,
    NUMBER,
    OUTCOME_COLUMNS,
    RECORD_ISSUE,
    SITE_PREFIX,
    STUDY_COLUMNS,
    kind,
)
from ..core.model import HUMAN_STATUSES, usable
from ..record.file import RecordFileError, read_record, study_id_mismatch
from ..record.validate import record_issues
from .stats import proportion_ci


def scan_records(records_dir: Path, trusted: dict[str, list[int]] | None = None,
                 include: set[str] | None = None) -> Iterator[tuple[Path, dict | None, str | None]]:
    """(path, record, None) for each valid record file, (path, None, reason) for each other one. A
    broken hand edit (invalid JSON, schema errors, another study's record under this one's name) must
    not stop the tables nor put "eight" in a count column: it comes with the reason (`validate`
    gives the details).

    `trusted` maps a record's file name to its [size, mtime_ns] when the pipeline wrote it, valid
    (`Cache.record_stamps`); a record still as written is not validated again, which is most of
    the cost of the tables after a large run. `include`: only these study ids (file stems).
    """
    trusted = trusted or {}
    for path in sorted(Path(records_dir).glob("*.json")):
        if include is not None and path.stem not in include:
            continue
        try:
            stamp = trusted.get(path.name) and _stamp(path)
            record, _ = read_record(path)
        except FileNotFoundError:
            continue  # removed since it was listed
        except OSError as exc:
            yield path, None, f"cannot read: {exc.strerror or exc}"
            continue
        except RecordFileError as exc:
            yield path, None, str(exc)
            continue
        if stamp and stamp == trusted[path.name]:
            yield path, record, None
            continue
        issues = record_issues(record, path.name)
        if issues:
            yield path, None, f"fails the schema: {issues[0].path}: {issues[0].message}"
        elif record["study_id"] != path.stem:
            yield path, None, study_id_mismatch(record["study_id"], path.stem)
        else:
            yield path, record, None


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


def _outcome_flags(record: dict, o: dict) -> str | None:
    """What a reviewer must know about an outcome row: its treated outnumber the cohort (treatment
    courses, lesions or episodes were counted), unless a curator has accepted n_treated."""
    treat = o.get("n_treated") or {}
    if treat.get("status") == "curated":
        return None
    name = f"outcomes.{o['drug']}.{o['outcome']}.n_treated"
    failed = [c for c in record.get("checks", []) if c["check"] == "treated_within_cohort" and not c["ok"]
              and name in c["fields"]]
    n = (record.get("figures", {}).get("n_patients") or {}).get("value")
    if not failed:
        return None
    return f"{NOT_PATIENTS} ({treat.get('value')} > {n} patients): courses, lesions or episodes, not patients?"


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
               "status": status, "confidence": round(min((_confidence(f) for f in figs), default=0), 3),
               "flags": _outcome_flags(record, o)}
        if x is not None and n and 0 <= x <= n:
            row["proportion"], row["ci_low"], row["ci_high"] = (round(v, 4) for v in proportion_ci(x, n))
        yield row


def build_tables(records: Iterable[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    studies, outcomes = [], []
    for record in records:
        studies.append(study_row(record))
        outcomes.extend(outcome_rows(record))
    return frames(studies, outcomes)


def frames(studies: list[dict], outcomes: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
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
                 trusted: dict[str, list[int]] | None = None, include: set[str] | None = None,
                 carried: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`skipped` collects the record files left out, `trusted` names records known valid, `include`
    the study ids to build the tables of (see scan_records).

    A study whose record cannot be used (a broken hand edit) keeps the rows it had in the tables
    being replaced, that is those of its last valid version, with the reason in `record_issue`;
    `carried` collects their study ids. A study that had no rows there is left out.
    """
    from ..record.store import atomic_write_csv

    out_dir = Path(out_dir)
    old_studies, old_outcomes = previous_rows(out_dir)
    studies, outcomes = [], []
    for path, record, reason in scan_records(out_dir / "records", trusted, include):
        if record is not None:
            studies.append(study_row(record))
            outcomes.extend(outcome_rows(record))
            continue
        if skipped is not None:
            skipped.append((path, reason))
        if path.stem in old_studies:
            studies.append({**old_studies[path.stem], RECORD_ISSUE: reason})
            outcomes.extend({**row, RECORD_ISSUE: reason} for row in old_outcomes.get(path.stem, []))
            if carried is not None:
                carried.append(path.stem)
    study_frame, outcome_frame = frames(studies, outcomes)
    atomic_write_csv(out_dir / "studies.csv", study_frame)
    atomic_write_csv(out_dir / "outcomes.csv", outcome_frame)
    return study_frame, outcome_frame


_OUTCOME_KINDS = {"n_responded": COUNT, "n_treated": COUNT, "proportion": NUMBER, "ci_low": NUMBER,
                  "ci_high": NUMBER, "confidence": NUMBER}


def previous_rows(out_dir: Path) -> tuple[dict[str, dict], dict[str, list[dict]]]:
    """The rows of the tables now in `out_dir`, by study id, typed as build_tables makes them
    ({} when there are none or they cannot be read)."""
    def read(name: str, kinds) -> list[dict]:
        try:
            frame = pd.read_csv(Path(out_dir) / name, dtype=str, keep_default_na=False)
        except (OSError, ValueError):
            return []
        return [{col: _cell(value, kinds(col)) for col, value in row.items()} for row in frame.to_dict("records")]

    studies = {row["study_id"]: row for row in read("studies.csv", lambda c: COUNT if c == "n_conflicts" else kind(c))
               if row.get("study_id")}
    outcomes: dict[str, list[dict]] = {}
    for row in read("outcomes.csv", _OUTCOME_KINDS.get):
        outcomes.setdefault(row.get("study_id"), []).append(row)
    return studies, outcomes


def _cell(value: str, kind_of: str | None):
    if value == "":
        return None
    try:
        if kind_of == COUNT:
            return int(value)
        if kind_of == NUMBER:
            return float(value)
    except ValueError:
        pass
    return value
