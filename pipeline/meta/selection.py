"""outcomes.csv -> the rows to pool and the rows left out, each with its reason (meta_excluded.csv)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..core.fields import NOT_PATIENTS, OUTCOMES
from ..core.vocab import drug_classes
from ..tables.build import read_table

if TYPE_CHECKING:
    from .run import MetaSettings

# The classes and outcomes of the output contract, from the vocabulary and fields, not copies.
DRUGS = drug_classes()
EXCLUDED_COLUMNS = ["study_id", "drug", "agent", "outcome", "n_responded", "n_treated",
                    "status", "confidence", "reason"]
SINGLE_STUDY = "only study left in its drug x outcome group: nothing to pool it with"


def select_rows(outcomes: pd.DataFrame, settings: MetaSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split outcomes.csv into the rows to pool and the rows left out, each with its reason."""
    df = outcomes.copy()
    # Plain floats (NaN, not pd.NA) so every comparison below yields a plain boolean mask.
    for column in ("n_responded", "n_treated", "confidence"):
        df[column] = pd.to_numeric(df[column], errors="coerce").astype("float64")
    status = df["status"].fillna("").astype(str).str.strip().str.lower()

    reasons = pd.Series("", index=df.index, dtype=object)

    def mark(mask: pd.Series, reason: str) -> None:
        reasons[mask & (reasons == "")] = reason

    mark(df["n_responded"].isna() | df["n_treated"].isna(), "n_responded or n_treated missing or not a number")
    mark(~df["drug"].isin(DRUGS), "unknown drug class")
    mark(~df["outcome"].isin(OUTCOMES), "unknown outcome")
    mark((df["n_treated"] <= 0) | (df["n_responded"] < 0) | (df["n_responded"] > df["n_treated"])
         | (df["n_responded"] % 1 != 0) | (df["n_treated"] % 1 != 0),
         "counts not 0 <= n_responded <= n_treated (whole numbers, n_treated > 0)")
    mark(status == "conflict", "status conflict")
    if "flags" in df:
        flagged = df["flags"].fillna("").astype(str)
        mark(flagged.str.startswith(NOT_PATIENTS), flagged.where(flagged != "", "")
             + "; left out until a curator accepts n_treated (status curated in the record)")
    mark(df["confidence"].isna(), "confidence missing")
    mark(df["confidence"] < settings.min_confidence, f"confidence below {settings.min_confidence:g}")

    # One row per study per group, so a study with several agents of one class is not counted
    # twice; the largest arm is kept (first in file order on a tie) rather than summing arms, which
    # could count a patient who switched agents twice.
    eligible = df[reasons == ""].sort_values("n_treated", ascending=False, kind="stable")
    duplicate = eligible.duplicated(["study_id", "drug", "outcome"], keep="first")
    for idx in eligible.index[duplicate]:
        kept = eligible.loc[~duplicate & (eligible["study_id"] == df.at[idx, "study_id"])
                            & (eligible["drug"] == df.at[idx, "drug"])
                            & (eligible["outcome"] == df.at[idx, "outcome"])].iloc[0]
        reasons[idx] = (f"same study in this group twice; kept the row with the largest n_treated "
                        f"(agent {kept['agent']}, n={int(kept['n_treated'])})")

    # A group left with one study has nothing to pool it with: listed like every row not pooled.
    eligible = df[reasons == ""]
    studies_in_group = eligible.groupby(["drug", "outcome"])["study_id"].transform("nunique")
    reasons[studies_in_group.index[studies_in_group < 2]] = SINGLE_STUDY

    included = df[reasons == ""].copy()
    included["n_responded"] = included["n_responded"].astype(int)
    included["n_treated"] = included["n_treated"].astype(int)
    excluded = outcomes.loc[reasons != "", [c for c in EXCLUDED_COLUMNS if c in outcomes]].copy()
    excluded["reason"] = reasons[reasons != ""]
    return included, excluded


def read_outcomes(path: Path) -> pd.DataFrame:
    outcomes = read_table(path)
    missing = {"study_id", "drug", "agent", "outcome", "n_responded", "n_treated", "status",
               "confidence"} - set(outcomes.columns)
    if missing:
        raise ValueError(f"{path} lacks column(s): {', '.join(sorted(missing))}")
    return outcomes


def group_key(drug: str, outcome: str) -> tuple[int, int]:
    return DRUGS.index(drug), OUTCOMES.index(outcome)
