"""Study ids -> the labels a reader knows studies by ("Webb 2017"), for forest plots, the workbook
and metafor.csv.

A label comes from, in this order: `labels.csv` (columns study_id, label, year; in the output
folder, else in the input folder named by run_report.json; the year is added to a label that
lacks it), the first author and year the paper states (studies.csv's first_author and year,
pipeline/extract/citation.py), the study id. Two studies with one label are told apart as a reader would:
"Smith 2019a", "Smith 2019b". The year also orders the forest plots (oldest first).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

LABELS_FILE = "labels.csv"
LABEL_COLUMNS = ("study_id", "label", "year")


@dataclass
class Labels:
    """study id -> (label, year); `problems` are one-line reasons a labels.csv was not (all) read."""
    by_study: dict[str, tuple[str | None, int | None]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def label_files(out_dir: Path, input_dir: Path | None = None) -> list[Path]:
    """The labels.csv files that apply, the input folder's first so the output folder's wins. The
    input folder is the one given, else the one the last run read (run_report.json)."""
    out_dir = Path(out_dir)
    if input_dir is None:
        try:
            input_dir = Path(json.loads((out_dir / "run_report.json").read_text("utf-8"))["input_dir"])
        except (OSError, ValueError, KeyError, TypeError):
            input_dir = None
    folders = [input_dir, out_dir] if input_dir is not None else [out_dir]
    found = []
    for folder in folders:
        path = folder / LABELS_FILE
        if path.is_file() and path.resolve() not in {p.resolve() for p in found}:
            found.append(path)
    return found


def read_labels(paths: list[Path]) -> Labels:
    """Every row of the given labels.csv files; a later file's row for a study replaces an earlier
    one's. A file that cannot be used is skipped, with the reason in `problems` (the plots then
    fall back to authors and ids: a typo in labels.csv never stops the pooling)."""
    labels = Labels()
    for path in paths:
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            labels.problems.append(f"{path}: not read: {exc} (it must be a CSV file with columns "
                                   f"{', '.join(LABEL_COLUMNS)})")
            continue
        missing = [c for c in ("study_id", "label") if c not in frame.columns]
        if missing:
            labels.problems.append(f"{path}: not read: no {' or '.join(missing)} column (its columns must be "
                                   f"{', '.join(LABEL_COLUMNS)})")
            continue
        labels.files.append(path)
        for line, row in enumerate(frame.itertuples(index=False), start=2):
            study, label = str(row.study_id).strip(), str(row.label).strip() or None
            year_text = str(getattr(row, "year", "") or "").strip()
            year = None
            if year_text:
                try:
                    year = int(float(year_text))
                except ValueError:
                    labels.problems.append(f"{path}:{line}: year {year_text!r} is not a year; left out")
            if study:
                labels.by_study[study] = (label, year)
    return labels


def study_labels(study_ids, studies: pd.DataFrame | None, labels: Labels) -> pd.DataFrame:
    """study_id, label, year for each id (in the order given): labels.csv, else first author and
    year from studies.csv, else the id; repeated labels get a, b, c."""
    cited: dict[str, tuple[str | None, int | None]] = {}
    if studies is not None and "study_id" in studies.columns:
        authors = studies["first_author"] if "first_author" in studies.columns else pd.Series(None, index=studies.index)
        years = studies["year"] if "year" in studies.columns else pd.Series(None, index=studies.index)
        for study, author, year in zip(studies["study_id"], authors, years):
            author = author if isinstance(author, str) and author.strip() else None
            year = None if pd.isna(year) else int(year)
            cited[str(study)] = (f"{author} {year}" if author and year else author, year)
    rows = []
    for study in dict.fromkeys(map(str, study_ids)):
        given_label, given_year = labels.by_study.get(study, (None, None))
        paper_label, paper_year = cited.get(study, (None, None))
        year = given_year if given_year is not None else paper_year
        label = given_label or paper_label or study
        if given_label and given_year is not None and str(given_year) not in given_label:
            label = f"{given_label} {given_year}"   # read as author and year, like the paper's own
        rows.append({"study_id": study, "label": label, "year": year})
    frame = pd.DataFrame(rows, columns=["study_id", "label", "year"])
    frame["year"] = frame["year"].astype("Int64")
    repeated = frame["label"].duplicated(keep=False)
    for _, group in frame[repeated].groupby("label", sort=False):
        for letter, idx in zip("abcdefghijklmnopqrstuvwxyz", group.sort_values("study_id").index):
            frame.at[idx, "label"] = f"{frame.at[idx, 'label']}{letter}"
    return frame
