"""outcomes.csv and studies.csv -> the meta-analysis outputs: pooled.csv, meta_excluded.csv,
metafor.csv, meta_table.xlsx and the forest plots (`run_meta`).

The pooling itself is `pooling.py` (metafor's estimators), the choice of rows `selection.py`, the
workbook `exports.py`, the plots `plots.py`, the study labels `labels.py`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core.fields import OUTCOMES
from ..core.model import TABLE_CONFIDENCE
from ..core.settings import Settings
from ..record.store import atomic_write_csv
from ..tables.build import read_table
from .exports import write_workbook
from .labels import label_files, read_labels, study_labels
from .plots import forest_plot
from .pooling import MEASURES, METHODS, pool_group
from .selection import DRUGS, group_key, read_outcomes, select_rows

POOLED_COLUMNS = [
    "drug", "outcome", "measure", "method", "k", "n_total",
    "pooled", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q",
]
# study: the label a reader knows the study by (pipeline/meta/labels.py), for metafor's slab argument.
METAFOR_COLUMNS = ["study", "drug", "outcome", "xi", "ni", "study_id", "year"]


@dataclass(frozen=True)
class MetaSettings(Settings):
    """Knobs of the pooling step; build from a config dict with `MetaSettings.from_dict`."""

    key_word = "meta setting"

    min_confidence: float = TABLE_CONFIDENCE  # the tables' own threshold
    level: float = 0.95
    forest_measure: str = "PLO"
    forest_method: str = "REML"
    # A forest plot of more studies than this is unreadable and its figure grows with every row;
    # such groups are pooled and listed in pooled.csv and metafor.csv, without a plot.
    max_forest_studies: int = 40
    # A prediction interval rests on the estimate of tau²; from two studies that estimate is too
    # unstable to predict from (metafor prints one anyway): pooled.csv and the plots leave it out.
    min_prediction_studies: int = 3

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must lie in 0..1, got {self.min_confidence}")
        if not 0.0 < self.level < 1.0:
            raise ValueError(f"level must lie strictly between 0 and 1, got {self.level}")
        if self.forest_measure not in MEASURES:
            raise ValueError(f"forest_measure must be one of {MEASURES}, got {self.forest_measure!r}")
        if self.forest_method not in METHODS:
            raise ValueError(f"forest_method must be one of {METHODS}, got {self.forest_method!r}")


@dataclass
class MetaResult:
    pooled: pd.DataFrame
    excluded: pd.DataFrame
    groups_pooled: list[tuple[str, str]]
    plots: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    message: str = ""



# ---------------------------------------------------------------- entry point

def run_meta(out_dir: Path, settings: MetaSettings | None = None, input_dir: Path | None = None) -> MetaResult:
    """Pool OUT_DIR/outcomes.csv per drug class x outcome and write the meta-analysis outputs.

    Writes pooled.csv, meta_excluded.csv, metafor.csv, meta_table.xlsx and one forest plot
    (PNG and SVG) per pooled group into `out_dir`. Studies are labelled as pipeline/meta/labels.py says:
    labels.csv in `out_dir` or `input_dir` (default: the input folder of the last run), else the
    first author and year in OUT_DIR/studies.csv, else the study id.
    """
    settings = settings or MetaSettings()
    out_dir = Path(out_dir)
    outcomes = read_outcomes(out_dir / "outcomes.csv")
    studies_path = out_dir / "studies.csv"
    studies = read_table(studies_path) if studies_path.exists() else pd.DataFrame()
    labels = read_labels(label_files(out_dir, input_dir))
    ids = [*studies.get("study_id", []), *outcomes["study_id"]]
    named = study_labels(ids, studies if not studies.empty else None, labels).set_index("study_id")

    included, excluded = select_rows(outcomes, settings)
    included = included.join(named, on="study_id")
    groups = sorted(included.groupby(["drug", "outcome"]), key=lambda item: group_key(*item[0]))

    rows, plots, metafor_rows, too_big = [], [], [], []
    produced = set()
    for (drug, outcome), g in groups:
        # Oldest study first, as forest plots are read; studies with no year after, by label.
        g = g.sort_values(["year", "label", "study_id"], kind="stable", na_position="last")
        for label, study, year, x, n in zip(g["label"], g["study_id"], g["year"], g["n_responded"], g["n_treated"]):
            metafor_rows.append({"study": label, "drug": drug, "outcome": outcome, "xi": x, "ni": n,
                                 "study_id": study, "year": year})
        fits = {}
        for measure in MEASURES:
            for method in METHODS:
                row, fit = pool_group(g["n_responded"].to_numpy(), g["n_treated"].to_numpy(),
                                      measure, method, settings.level)
                if row["k"] < settings.min_prediction_studies:
                    row["pi_low"] = row["pi_high"] = math.nan
                rows.append({"drug": drug, "outcome": outcome, **row})
                fits[(measure, method)] = (row, fit)
        if len(g) > settings.max_forest_studies:
            too_big.append(f"{drug}/{outcome} ({len(g)} studies)")
            continue
        row, fit = fits[(settings.forest_measure, settings.forest_method)]
        stem = out_dir / f"forest_{drug}_{outcome}"
        plots += forest_plot(g, drug, outcome, row, fit, settings, stem)
        produced.add(stem.name)

    # Plots of groups that are no longer pooled would contradict pooled.csv.
    for drug in DRUGS:
        for outcome in OUTCOMES:
            stem = f"forest_{drug}_{outcome}"
            if stem not in produced:
                for suffix in (".png", ".svg"):
                    (out_dir / f"{stem}{suffix}").unlink(missing_ok=True)

    meta_status = pd.Series("pooled", index=outcomes.index, dtype=object)
    meta_status[excluded.index] = excluded["reason"]

    pooled = pd.DataFrame(rows, columns=POOLED_COLUMNS)
    excluded = excluded.reset_index(drop=True)
    files = [out_dir / name for name in
             ("pooled.csv", "meta_excluded.csv", "metafor.csv", "meta_table.xlsx")]
    atomic_write_csv(files[0], pooled)
    atomic_write_csv(files[1], excluded)
    metafor = pd.DataFrame(metafor_rows, columns=METAFOR_COLUMNS)
    metafor["year"] = metafor["year"].astype("Int64")
    atomic_write_csv(files[2], metafor)
    write_workbook(files[3], {
        "studies": _labelled(studies, named),
        "outcomes": _labelled(outcomes, named).assign(meta=meta_status),
        "pooled": pooled,
    })

    if groups:
        message = (f"pooled {len(groups)} group(s) from {len(metafor_rows)} study row(s); "
                   f"{len(excluded)} row(s) left out (see meta_excluded.csv)")
        if too_big:
            message += (f"; no forest plot for groups of more than {settings.max_forest_studies} studies: "
                        + ", ".join(too_big))
    else:
        message = ("no drug x outcome group has two or more studies: pooled.csv has only its "
                   f"header and no forest plots were drawn; {len(excluded)} row(s) left out")
    if labels.files:
        message += f"; studies labelled from {', '.join(map(str, labels.files))}"
    for problem in labels.problems:
        message += f"; {problem}"
    return MetaResult(pooled=pooled, excluded=excluded, groups_pooled=[k for k, _ in groups],
                      plots=plots, files=files + plots, message=message)


def _labelled(frame: pd.DataFrame, named: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the study's label beside its id (the workbook's studies and outcomes sheets)."""
    if "study_id" not in frame.columns:
        return frame
    out = frame.copy()
    out.insert(1, "label", out["study_id"].map(named["label"]))
    return out
