"""Figures -> consistency checks: arithmetic a curator expects to hold between figures.

A failed check does not change a value; it lowers the confidence of the figures involved and is
listed in the record so the curator looks at them.
"""
from __future__ import annotations

from typing import Any, Iterable

from .extract.quantities import counts_for_percent
from .records import Figure, OutcomeRow

PENALTY = 0.25


def value_checks(values: dict[str, Any], responses: Iterable[tuple[str, str, Any, Any]] = ()) -> list[dict]:
    """Figure values -> the arithmetic checks between them. `values` maps a field to its value (None
    when not stated); `responses` are (drug, outcome, responded, treated). Plain values, so the
    extraction (Figure objects) and `validate` (a curator's record) apply the same arithmetic."""
    checks = []

    def check(name: str, ok: bool, message: str, fields: list[str]):
        checks.append({"check": name, "ok": ok, "message": message, "fields": fields})

    n, m, f = values.get("n_patients"), values.get("n_male"), values.get("n_female")
    if None not in (n, m, f):
        check("sex_sum", m + f == n, f"n_male + n_female = {m} + {f} = {m + f}; n_patients = {n}",
              ["n_male", "n_female", "n_patients"])
    u, mu = values.get("n_unifocal"), values.get("n_multifocal")
    if n is not None and u is not None and mu is not None:
        check("focality_sum", u + mu == n, f"n_unifocal + n_multifocal = {u} + {mu} = {u + mu}; n_patients = {n}",
              ["n_unifocal", "n_multifocal", "n_patients"])
    for name, value in values.items():
        if name.startswith(("n_", "site_")) and name != "n_patients" and n is not None:
            if value is not None and value > n:
                check("count_within_cohort", False, f"{name} = {value} exceeds n_patients = {n}", [name])
    for drug, outcome, responded, treated in responses:
        if treated is not None and n is not None and treated > n:
            # Papers sometimes count treatment courses, not patients ("TNF-a (n:31)" in a cohort of 25).
            check("treated_within_cohort", False, f"{drug}/{outcome}: {treated} treated exceeds n_patients = {n}",
                  [f"outcomes.{drug}.{outcome}.n_treated"])
        if responded is not None and treated is not None:
            check("responders_within_treated", responded <= treated,
                  f"{drug}/{outcome}: {responded} responded of {treated} treated",
                  [f"outcomes.{drug}.{outcome}.n_responded", f"outcomes.{drug}.{outcome}.n_treated"])
    return checks


def run_checks(figures: dict[str, Figure], outcomes: list[OutcomeRow], percents: list[tuple[str, int, float]] = ()) -> list[dict]:
    """`percents` are (field, count, stated percent) triples the rules saw printed together."""
    # Every figure a check can name: study figures by field, outcome figures as outcomes.<drug>.<outcome>.<count>.
    named = dict(figures)
    for row in outcomes:
        for key in ("n_responded", "n_treated"):
            if getattr(row, key):
                named[f"outcomes.{row.drug}.{row.outcome}.{key}"] = getattr(row, key)

    def penalise(fields: list[str]):
        for name in fields:
            if name in named:
                named[name].confidence = max(0.0, named[name].confidence - PENALTY)

    checks = value_checks(
        {name: fig.value for name, fig in figures.items()},
        [(row.drug, row.outcome, row.n_responded.value if row.n_responded else None,
          row.n_treated.value if row.n_treated else None) for row in outcomes])
    n = figures["n_patients"].value if "n_patients" in figures else None
    for field, count, pct in percents:
        if n:
            ok = count in counts_for_percent(pct, n, slack=1.0)
            checks.append({"check": "percent_matches_count", "ok": ok,
                           "message": f"{field}: {count} of {n} is {100 * count / n:.1f}%, printed {pct}%",
                           "fields": [field]})
    for c in checks:
        if not c["ok"]:
            penalise(c["fields"])
    return checks
