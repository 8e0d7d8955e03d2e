"""Figures -> consistency checks: arithmetic a curator expects to hold between figures.

A failed check does not change a value; it lowers the confidence of the figures involved and is
listed in the record so the curator looks at them.
"""
from __future__ import annotations

from .numbers import counts_for_percent
from .records import Figure, OutcomeRow

PENALTY = 0.25


def _v(figures: dict[str, Figure], name: str):
    f = figures.get(name)
    return f.value if f is not None else None


def run_checks(figures: dict[str, Figure], outcomes: list[OutcomeRow], percents: list[tuple[str, int, float]] = ()) -> list[dict]:
    """`percents` are (field, count, stated percent) triples the rules saw printed together."""
    checks = []

    def check(name: str, ok: bool, message: str, fields: list[str]):
        checks.append({"check": name, "ok": ok, "message": message, "fields": fields})
        if not ok:
            for f in fields:
                if f in figures:
                    figures[f].confidence = max(0.0, figures[f].confidence - PENALTY)

    n, m, f = _v(figures, "n_patients"), _v(figures, "n_male"), _v(figures, "n_female")
    if None not in (n, m, f):
        check("sex_sum", m + f == n, f"n_male + n_female = {m} + {f} = {m + f}; n_patients = {n}",
              ["n_male", "n_female", "n_patients"])
    u, mu = _v(figures, "n_unifocal"), _v(figures, "n_multifocal")
    if n is not None and u is not None and mu is not None:
        check("focality_sum", u + mu == n, f"n_unifocal + n_multifocal = {u} + {mu} = {u + mu}; n_patients = {n}",
              ["n_unifocal", "n_multifocal", "n_patients"])
    for name in list(figures):
        if name.startswith(("n_", "site_")) and name != "n_patients" and n is not None:
            if figures[name].value is not None and figures[name].value > n:
                check("count_within_cohort", False, f"{name} = {figures[name].value} exceeds n_patients = {n}", [name])
    for row in outcomes:
        if row.n_responded and row.n_treated and row.n_responded.value is not None and row.n_treated.value is not None:
            ok = row.n_responded.value <= row.n_treated.value
            checks.append({"check": "responders_within_treated", "ok": ok,
                           "message": f"{row.drug}/{row.outcome}: {row.n_responded.value} responded of {row.n_treated.value} treated",
                           "fields": [f"outcomes.{row.drug}.{row.outcome}"]})
            if not ok:
                row.n_responded.confidence = max(0.0, row.n_responded.confidence - PENALTY)
    for field, count, pct in percents:
        if n:
            ok = count in counts_for_percent(pct, n, slack=1.0)
            check("percent_matches_count", ok, f"{field}: {count} of {n} is {100 * count / n:.1f}%, printed {pct}%", [field])
    return checks
