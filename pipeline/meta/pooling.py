"""Random-effects pooling of per-study response proportions (the meta-analysis table).

Every number in pooled.csv is meant to equal what R's metafor 3.8 prints for
`rma(measure=..., xi, ni, method=...)` followed by `predict(..., transf=...)`, so a reviewer
can re-run tests/r/pool.R on metafor.csv and get the same rows. That is why the zero-cell
correction, the PFT back-transform, the I² definition and the prediction interval below follow
metafor's defaults rather than a textbook variant.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

MEASURES = ("PLO", "PFT")
METHODS = ("DL", "REML")
MEASURE_LABELS = {"PLO": "logit", "PFT": "Freeman-Tukey double arcsine"}


@dataclass(frozen=True)
class PooledFit:
    """One random-effects fit on the transformed scale (logit or double arcsine)."""

    estimate: float
    se: float
    tau2: float
    i2: float
    q: float
    q_p: float
    weights: np.ndarray



# ---------------------------------------------------------------- effect sizes (metafor's escalc)

def _escalc(measure: str, xi: np.ndarray, ni: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xi = xi.astype(float)
    ni = ni.astype(float)
    if measure == "PLO":
        # escalc(add=1/2, to="only0"): a study with 0 events or 0 non-events gets 1/2 added to
        # both cells, otherwise its logit and variance are infinite.
        mi = ni - xi
        zero_cell = (xi == 0) | (mi == 0)
        xi = np.where(zero_cell, xi + 0.5, xi)
        mi = np.where(zero_cell, mi + 0.5, mi)
        return np.log(xi / mi), 1.0 / xi + 1.0 / mi
    # PFT is finite at 0 and n, so metafor adds nothing.
    yi = 0.5 * (np.arcsin(np.sqrt(xi / (ni + 1))) + np.arcsin(np.sqrt((xi + 1) / (ni + 1))))
    return yi, 1.0 / (4 * ni + 2)


def _pft(p: float, n: float) -> float:
    x = p * n
    return 0.5 * (math.asin(math.sqrt(x / (n + 1))) + math.asin(math.sqrt((x + 1) / (n + 1))))


def _ipft_hm(values: np.ndarray, ni: np.ndarray) -> np.ndarray:
    """metafor's transf.ipft.hm: Miller's inverse of the double arcsine at the harmonic mean n."""
    nhm = 1.0 / np.mean(1.0 / ni)
    xi = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sin(2 * xi)
        zi = 0.5 * (1 - np.sign(np.cos(2 * xi)) * np.sqrt(1 - (s + (s - 1 / s) / nhm) ** 2))
    zi = np.where(xi > _pft(1.0, nhm), 1.0, zi)
    return np.where(xi < _pft(0.0, nhm), 0.0, zi)


# ---------------------------------------------------------------- tau² estimators

def _reml_tau2(yi: np.ndarray, vi: np.ndarray) -> float:
    """REML between-study variance, as metafor's `method="REML"`.

    metafor maximises the restricted likelihood by Fisher scoring from the Hedges estimate and falls
    back to 0 when the likelihood at 0 is higher; solving the score equation and keeping the better
    of root and boundary gives the same maximiser without depending on the starting point.
    """

    def fixed_part(tau2: float) -> tuple[np.ndarray, float]:
        w = 1.0 / (vi + tau2)
        return w, float(np.sum(w * yi) / np.sum(w))

    def score(tau2: float) -> float:
        w, mu = fixed_part(tau2)
        trace_p = w.sum() - (w**2).sum() / w.sum()
        return float(np.sum(w**2 * (yi - mu) ** 2) - trace_p)

    def loglik(tau2: float) -> float:
        w, mu = fixed_part(tau2)
        return float(-0.5 * (np.sum(np.log(vi + tau2)) + math.log(w.sum()) + np.sum(w * (yi - mu) ** 2)))

    if score(0.0) <= 0:
        return 0.0
    upper = max(float(np.var(yi)), float(vi.max()), 1e-8)
    while score(upper) > 0:
        upper *= 2
    root = optimize.brentq(score, 0.0, upper, xtol=1e-14, rtol=1e-14)
    return root if loglik(root) >= loglik(0.0) else 0.0


def _pool(yi: np.ndarray, vi: np.ndarray, method: str) -> PooledFit:
    # Cochran's Q and the DerSimonian-Laird tau² in closed form, not from statsmodels' combine_effects:
    # the same numbers, and one heavy dependency fewer (importing it cost more than all the pooling).
    # Q keeps statsmodels' algebra, sum(w·y²) - sum(w·y)²/sum(w), so pooled.csv stays bit for bit what
    # it was (the tests compare it with metafor); that form can round a hair below 0 when the studies
    # agree exactly, hence the clamp.
    k = len(yi)
    w_fe = 1.0 / vi
    w_fe_sum = w_fe.sum()
    q_raw = float((w_fe * yi**2).sum() - (w_fe * yi).sum() ** 2 / w_fe_sum)
    q = max(0.0, q_raw)
    c = float(w_fe_sum - (w_fe**2).sum() / w_fe_sum)
    # DL is negative when Q < k-1; metafor truncates it at 0.
    tau2 = max(0.0, (q_raw - (k - 1)) / c) if method == "DL" else _reml_tau2(yi, vi)
    w = 1.0 / (vi + tau2)
    estimate = float(np.sum(w * yi) / w.sum())
    # metafor's I² for random-effects fits: tau² over tau² plus the "typical" within-study variance,
    # so DL and REML rows of one group can differ in I² though they share Q.
    typical_v = (k - 1) / c
    i2 = 100.0 * tau2 / (typical_v + tau2)
    return PooledFit(
        estimate=estimate,
        se=math.sqrt(1.0 / w.sum()),
        tau2=tau2,
        i2=i2,
        q=q,
        q_p=float(special.chdtrc(k - 1, q)),
        weights=w / w.sum(),
    )


def pool_group(xi: np.ndarray, ni: np.ndarray, measure: str, method: str,
               level: float = 0.95) -> tuple[dict, PooledFit]:
    """Pool one drug x outcome group; returns the pooled.csv fields (proportion scale) and the fit."""
    xi = np.asarray(xi)
    ni = np.asarray(ni)
    yi, vi = _escalc(measure, xi, ni)
    fit = _pool(yi, vi, method)
    z = float(special.ndtri(0.5 + level / 2))
    pi_half = z * math.sqrt(fit.se**2 + fit.tau2)
    link = np.array([
        fit.estimate,
        fit.estimate - z * fit.se, fit.estimate + z * fit.se,
        fit.estimate - pi_half, fit.estimate + pi_half,
    ])
    back = special.expit(link) if measure == "PLO" else _ipft_hm(link, ni.astype(float))
    row = {
        "measure": measure, "method": method, "k": len(xi), "n_total": int(ni.sum()),
        "pooled": back[0], "ci_low": back[1], "ci_high": back[2],
        "pi_low": back[3], "pi_high": back[4],
        "tau2": fit.tau2, "i2": fit.i2, "q": fit.q,
    }
    return row, fit
