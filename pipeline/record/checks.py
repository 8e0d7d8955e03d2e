"""Figures -> consistency checks: arithmetic a curator expects to hold between figures, and the
bounds a figure must lie within to be believed (pipeline/data/plausibility.json).

Checks act on figures, whatever rule produced them. A failed arithmetic check does not change a
value; it lowers the confidence of the figures involved and is listed in the record so the curator
looks at them. A figure outside its bounds keeps its value too, but drops below the tables'
confidence threshold: it waits for a person's word. The one value a check removes is a number JSON
has no way to write (infinite, not a number).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

from ..core.fields import DESCRIBED_STATS
from ..core.model import Figure, OutcomeRow
from ..core.settings import Settings
from ..core.vocab import load

PENALTY = 0.25
# Failed checks of these kinds put a figure out of the tables until a person curates it; the other
# (arithmetic) checks lower its confidence by PENALTY.
BOUND_CHECKS = frozenset({"within_bounds", "not_above", "range_order", "count_within_cohort",
                          "percent_at_most_100", "names_disease", "not_negative", "exact_number"})
# Bounds no note excuses: `validate` reports them as errors of the record itself (pipeline/record/validate.py).
HARD_CHECKS = frozenset({"not_negative", "exact_number"})
_PARTS = ("value", "min", "max")
_YEARS = {"years": 1.0, "months": 1 / 12}


@dataclass(frozen=True)
class Bound(Settings):
    key_word = "key"

    min: float | None = None
    max: float | None = None
    unit: str | None = None   # "years": an age or a time, compared in years
    why: str = ""


@dataclass(frozen=True)
class Plausibility(Settings):
    """pipeline/data/plausibility.json; its `_doc` says what each key means."""

    key_word = "plausibility setting"

    low_confidence: float
    smallest: float
    largest_exact_integer: int
    percent_max: float
    ranges: dict[str, Bound]
    not_above: tuple[tuple[str, str, str], ...]
    disease_terms: tuple[str, ...]

    @classmethod
    def from_dict(cls, values: dict, source: str | None = None) -> Plausibility:
        where = cls._where(source)
        data = cls.known_values(values, where)
        data["ranges"] = {name: Bound.from_dict(spec, f"{where}: range {name!r}")
                          for name, spec in data.get("ranges", {}).items()}
        data["not_above"] = tuple(tuple(pair) for pair in data.get("not_above", ()))
        data["disease_terms"] = tuple(data.get("disease_terms", ()))
        return cls.build(data, where)

    @property
    def disease_pattern(self) -> re.Pattern:
        return _disease_pattern(self.disease_terms)


@lru_cache(maxsize=1)
def plausibility() -> Plausibility:
    return Plausibility.from_dict(load("plausibility.json"), source="pipeline/data/plausibility.json")


@lru_cache(maxsize=4)
def _disease_pattern(terms: tuple[str, ...]) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(map(re.escape, terms)) + r")\b", re.IGNORECASE)


def exact_number(value: Any) -> bool:
    """Is `value` a number JSON holds exactly (finite; an integer no larger than 2^53 - 1)?
    Not-a-number values (text, None) count as exact: the schema judges their type."""
    limit = plausibility().largest_exact_integer
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) <= limit
    if isinstance(value, float):
        return math.isfinite(value) and (not value.is_integer() or abs(value) <= limit)
    return True


def _writable(value: Any) -> bool:
    """Can JSON write it at all? (Strict JSON has no Infinity or NaN.)"""
    return not isinstance(value, float) or math.isfinite(value)


def _number(value: Any) -> bool:
    """A number the checks can compare (a very large integer can: it fails exact_number besides)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and _writable(value)


def _in_years(value: float, unit: Any) -> float | None:
    factor = _YEARS.get(unit)
    return value * factor if factor is not None else None


def _show(value: Any, unit: Any = None) -> str:
    return f"{value:g} {unit}" if isinstance(value, float) and unit else f"{value} {unit}" if unit else f"{value}"


def bound_checks(values: dict[str, Any], responses: Iterable[tuple[str, str, Any, Any]] = (),
                 bounds: Plausibility | None = None) -> list[dict]:
    """Figure values -> the plausibility checks they fail (only failures are listed: a record shows
    what a curator must look at, not every bound that holds)."""
    bounds = bounds or plausibility()
    checks = []

    def fail(name: str, message: str, fields: list[str]):
        checks.append({"check": name, "ok": False, "message": message, "fields": fields})

    counts = [(name, value) for name, value in values.items()]
    counts += [(f"outcomes.{drug}.{outcome}.{key}", value) for drug, outcome, responded, treated in responses
               for key, value in (("n_responded", responded), ("n_treated", treated))]
    for name, value in counts:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not exact_number(value):
            fail("exact_number", f"{name}: {value!r} is not a number JSON keeps exactly "
                                 f"(infinite, or beyond {bounds.largest_exact_integer})", [name])
        elif value < bounds.smallest:
            fail("not_negative", f"{name}: {_show(value)} is negative; counts, ages and times never are", [name])

    for name, bound in bounds.ranges.items():
        stat = name in DESCRIBED_STATS
        unit = values.get(f"{name}_unit") if stat else None
        for field in ([f"{name}_{part}" for part in _PARTS] if stat else [name]):
            value = values.get(field)
            if not _number(value) or value < bounds.smallest:
                continue
            low, high = bound.min, bound.max
            if bound.unit == "years" and high is not None:
                # Stated in months, or with no unit (read as months: the wider reading).
                high = high / _YEARS.get(unit, _YEARS["months"])
            if low is not None and bound.unit == "years" and unit in _YEARS:
                low = low / _YEARS[unit]
            if (low is not None and value < low) or (high is not None and value > high):
                limit = (f"at least {_show(bound.min, bound.unit)}" if low is not None and value < low
                         else f"at most {_show(bound.max, bound.unit)}")
                fail("within_bounds", f"{field}: {_show(value, unit)} is not {limit} ({bound.why})", [field])

    for name in DESCRIBED_STATS:
        lo, mid, hi = (values.get(f"{name}_{part}") for part in ("min", "value", "max"))
        if _number(lo) and _number(hi) and lo > hi:
            fail("range_order", f"{name}: the range {lo}-{hi} runs backwards", [f"{name}_min", f"{name}_max"])
        elif _number(mid) and ((_number(lo) and mid < lo) or (_number(hi) and mid > hi)):
            fail("range_order", f"{name}_value: {mid} lies outside its range {lo}-{hi}", [f"{name}_value"])

    for low, high, why in bounds.not_above:
        for part in _PARTS:
            if part == "value" and (values.get(f"{low}_stat") is None
                                    or values.get(f"{low}_stat") != values.get(f"{high}_stat")):
                continue
            a, b = values.get(f"{low}_{part}"), values.get(f"{high}_{part}")
            if not (_number(a) and _number(b)):
                continue
            a_years, b_years = _in_years(a, values.get(f"{low}_unit")), _in_years(b, values.get(f"{high}_unit"))
            if a_years is not None and b_years is not None and a_years > b_years + 1e-9:
                fail("not_above", f"{low}_{part} = {_show(a, values.get(f'{low}_unit'))} exceeds {high}_{part} = "
                                  f"{_show(b, values.get(f'{high}_unit'))} ({why})", [f"{low}_{part}"])

    n = values.get("n_patients")
    if _number(n):
        for name, value in values.items():
            if name.startswith(("n_", "site_")) and name != "n_patients" and _number(value) and value > n:
                fail("count_within_cohort", f"{name} = {value} exceeds n_patients = {n}", [name])
    return checks


def value_checks(values: dict[str, Any], responses: Iterable[tuple[str, str, Any, Any]] = ()) -> list[dict]:
    """Figure values -> the arithmetic checks between them, then the bounds they fail. `values` maps
    a field to its value (None when not stated); `responses` are (drug, outcome, responded, treated).
    Plain values, so the extraction (Figure objects) and `validate` (a curator's record) apply the
    same checks."""
    responses = list(responses)
    checks = []

    def check(name: str, ok: bool, message: str, fields: list[str]):
        checks.append({"check": name, "ok": ok, "message": message, "fields": fields})

    def number(name):
        value = values.get(name)
        return value if _number(value) else None

    n, m, f = number("n_patients"), number("n_male"), number("n_female")
    if None not in (n, m, f):
        check("sex_sum", m + f == n, f"n_male + n_female = {m} + {f} = {m + f}; n_patients = {n}",
              ["n_male", "n_female", "n_patients"])
    u, mu = number("n_unifocal"), number("n_multifocal")
    if None not in (n, u, mu):
        check("focality_sum", u + mu == n, f"n_unifocal + n_multifocal = {u} + {mu} = {u + mu}; n_patients = {n}",
              ["n_unifocal", "n_multifocal", "n_patients"])
    for drug, outcome, responded, treated in responses:
        responded = responded if _number(responded) else None
        treated = treated if _number(treated) else None
        if treated is not None and n is not None and treated > n:
            # Papers sometimes count treatment courses, not patients ("TNF-a (n:31)" in a cohort of 25).
            check("treated_within_cohort", False, f"{drug}/{outcome}: {treated} treated exceeds n_patients = {n}",
                  [f"outcomes.{drug}.{outcome}.n_treated"])
        if responded is not None and treated is not None:
            check("responders_within_treated", responded <= treated,
                  f"{drug}/{outcome}: {responded} responded of {treated} treated",
                  [f"outcomes.{drug}.{outcome}.n_responded", f"outcomes.{drug}.{outcome}.n_treated"])
    return checks + bound_checks(values, responses)


def run_checks(figures: dict[str, Figure], outcomes: list[OutcomeRow], percents: list[tuple[str, int, float]] = (),
               text: str | None = None) -> list[dict]:
    """`percents` are (field, count, stated percent) triples the rules saw printed together; `text`
    the paper's text, which must name the disease (plausibility.json's disease_terms)."""
    bounds = plausibility()
    # Every figure a check can name: study figures by field, outcome figures as outcomes.<drug>.<outcome>.<count>.
    named = dict(figures)
    for row in outcomes:
        for key in ("n_responded", "n_treated"):
            if getattr(row, key):
                named[f"outcomes.{row.drug}.{row.outcome}.{key}"] = getattr(row, key)

    checks = value_checks(
        {name: fig.value for name, fig in figures.items()},
        [(row.drug, row.outcome, row.n_responded.value if row.n_responded else None,
          row.n_treated.value if row.n_treated else None) for row in outcomes])
    n = figures["n_patients"].value if "n_patients" in figures else None
    for field, count, pct in percents:
        if not _number(pct) or not 0 <= pct <= bounds.percent_max:
            checks.append({"check": "percent_at_most_100", "ok": False,
                           "message": f"{field}: printed as {pct!r}%, not a share of the cohort", "fields": [field]})
        elif _number(n) and n > 0 and _number(count):
            from ..extract.quantities import counts_for_percent  # not at import: the extract package loads spaCy

            ok = count in counts_for_percent(pct, n, slack=1.0)
            checks.append({"check": "percent_matches_count", "ok": ok,
                           "message": f"{field}: {count} of {n} is {100 * count / n:.1f}%, printed {pct}%",
                           "fields": [field]})
    if text is not None and named and not bounds.disease_pattern.search(text):
        checks.append({"check": "names_disease", "ok": False,
                       "message": "the paper never names the disease (none of plausibility.json's disease_terms: "
                                  f"{', '.join(bounds.disease_terms[:4])}, ...): not a study of it, so none of its "
                                  "figures goes into the tables until curated", "fields": sorted(named)})

    for c in checks:
        if c["ok"]:
            continue
        for name in c["fields"]:
            fig = named.get(name)
            if fig is None:
                continue
            if c["check"] in BOUND_CHECKS:
                fig.confidence = min(fig.confidence, bounds.low_confidence)
            else:
                fig.confidence = max(0.0, fig.confidence - PENALTY)
            if not _writable(fig.value):
                fig.value = None  # JSON has no such number; the check's message and the evidence quote it
    for fig in named.values():
        for alt in fig.alternatives:
            if not _writable(alt.get("value")):
                alt["value"] = None
    return checks
