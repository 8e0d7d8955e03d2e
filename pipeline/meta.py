"""Random-effects pooling of per-study response proportions (the meta-analysis table).

Every number in pooled.csv is meant to equal what R's metafor 3.8 prints for
`rma(measure=..., xi, ni, method=...)` followed by `predict(..., transf=...)`, so a reviewer
can re-run tests/r/pool.R on metafor.csv and get the same rows. That is why the zero-cell
correction, the PFT back-transform, the I² definition and the prediction interval below follow
metafor's defaults rather than a textbook variant.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
from scipy import optimize, special

from .fields import NOT_PATIENTS, OUTCOMES
from .labels import label_files, read_labels, study_labels
from .stats import CI_METHOD, proportion_ci
from .store import atomic_write, atomic_write_csv
from .tables import count_columns, read_table
from .vocab import drug_classes, drug_label

# The classes and outcomes of the output contract, from the vocabulary and fields, not copies.
DRUGS = drug_classes()
MEASURES = ("PLO", "PFT")
METHODS = ("DL", "REML")
POOLED_COLUMNS = [
    "drug", "outcome", "measure", "method", "k", "n_total",
    "pooled", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q",
]
EXCLUDED_COLUMNS = ["study_id", "drug", "agent", "outcome", "n_responded", "n_treated",
                    "status", "confidence", "reason"]
# study: the label a reader knows the study by (pipeline/labels.py), for metafor's slab argument.
METAFOR_COLUMNS = ["study", "drug", "outcome", "xi", "ni", "study_id", "year"]
SINGLE_STUDY = "only study left in its drug x outcome group: nothing to pool it with"
MEASURE_LABELS = {"PLO": "logit", "PFT": "Freeman-Tukey double arcsine"}


@dataclass(frozen=True)
class MetaSettings:
    """Knobs of the pooling step; build from a config dict with `MetaSettings.from_dict`."""

    min_confidence: float = 0.5
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

    @classmethod
    def from_dict(cls, values: dict) -> MetaSettings:
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = [key for key in values if key not in valid]
        if unknown:
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(str(key), valid, n=1)
                hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ValueError(
                f"unknown meta setting(s): {', '.join(hints)}; valid keys are: {', '.join(valid)}"
            )
        return cls(**values)


@dataclass
class MetaResult:
    pooled: pd.DataFrame
    excluded: pd.DataFrame
    groups_pooled: list[tuple[str, str]]
    plots: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    message: str = ""


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


# ---------------------------------------------------------------- input selection

def _select_rows(outcomes: pd.DataFrame, settings: MetaSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
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


def _read_outcomes(path: Path) -> pd.DataFrame:
    outcomes = read_table(path)
    missing = {"study_id", "drug", "agent", "outcome", "n_responded", "n_treated", "status",
               "confidence"} - set(outcomes.columns)
    if missing:
        raise ValueError(f"{path} lacks column(s): {', '.join(sorted(missing))}")
    return outcomes


def _group_key(drug: str, outcome: str) -> tuple[int, int]:
    return DRUGS.index(drug), OUTCOMES.index(outcome)


# ---------------------------------------------------------------- files

def _cells(column: pd.Series) -> list:
    """A column as xlsxwriter takes it: Python values, None (no cell) where a value is missing, and
    infinities as the text pandas' to_excel wrote for them, since xlsxwriter refuses them as numbers."""
    values = column.astype(object).where(column.notna(), None)
    if column.dtype.kind == "f":
        values = values.mask(np.isposinf(column), "inf").mask(np.isneginf(column), "-inf")
    return values.tolist()


# Number formats of the workbook's columns by name: proportions as percentages, counts as whole
# numbers, the rest with the digits they are read to; any other number column shows up to 3 decimals.
_PERCENT_COLUMNS = {"proportion", "ci_low", "ci_high", "pooled", "pi_low", "pi_high"}
_FORMATS = {"confidence": "0.00", "tau2": "0.0000", "i2": "0.0", "q": "0.00"}
_WHOLE_COLUMNS = {"k", "n_total", "xi", "ni"}
_MAX_WIDTH = 60


def _number_format(name: str, column: pd.Series) -> str | None:
    if name in _PERCENT_COLUMNS:
        return "0.0%"
    if name in _FORMATS:
        return _FORMATS[name]
    if name in _WHOLE_COLUMNS or count_columns([name]) or column.dtype.kind in "iu":
        return "0"
    return "0.0##" if column.dtype.kind == "f" else None


def _shown_width(value, number_format: str | None) -> int:
    """About how many characters a cell shows."""
    if value is None:
        return 0
    if isinstance(value, str):
        return max((len(line) for line in value.splitlines()), default=0)
    if number_format == "0.0%":
        return len(f"{100 * value:.1f}%")
    if number_format == "0":
        return len(f"{value:.0f}")
    return len(f"{value:.4f}".rstrip("0"))


def _write_workbook(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    """One sheet per frame, formatted for reading: a bold header row that stays in view with the
    first column (frozen panes), filters on every column, number formats (proportions as
    percentages, counts as whole numbers) and widths that fit the values. The cells hold the values
    themselves (numbers as numbers, blanks for missing values), as pandas' to_excel wrote them;
    xlsxwriter directly takes half the time: to_excel formats and json-dumps a style for every cell
    (0.73 s -> 0.35 s on a thousand papers)."""
    def write(tmp: Path) -> None:
        # constant_memory streams each row to the file instead of holding the sheets in memory.
        with xlsxwriter.Workbook(str(tmp), {"constant_memory": True}) as book:
            header = book.add_format({"bold": True, "bottom": 1, "bg_color": "#eef2f7"})
            formats: dict[str, object] = {}
            for name, frame in sheets.items():
                sheet = book.add_worksheet(name)
                columns = [_cells(frame.iloc[:, i]) for i in range(frame.shape[1])]
                for c, (title, values) in enumerate(zip(frame.columns, columns)):
                    number_format = _number_format(str(title), frame.iloc[:, c])
                    if number_format and number_format not in formats:
                        formats[number_format] = book.add_format({"num_format": number_format})
                    # +3: the filter button beside the header.
                    width = max([len(str(title)) + 3] + [_shown_width(v, number_format) + 1 for v in values])
                    sheet.set_column(c, c, min(width, _MAX_WIDTH), formats.get(number_format))
                sheet.write_row(0, 0, list(frame.columns), header)
                sheet.freeze_panes(1, 1)
                if frame.shape[1]:
                    sheet.autofilter(0, 0, len(frame), frame.shape[1] - 1)
                for r, row in enumerate(zip(*columns), start=1):
                    if sheet.write_row(r, 0, row):
                        # write_row stops at the first cell xlsxwriter cuts or refuses (a string over
                        # Excel's 32,767 characters, a URL over 2,079): then cell by cell, as pandas did.
                        for c, value in enumerate(row):
                            sheet.write(r, c, value)

    atomic_write(path, write)


def _pct(p: float) -> str:
    return f"{100 * p:.0f}%"


def _fit(text, right: float, renderer) -> None:
    """Cut a Text (with an ellipsis) until it ends left of `right` (display coordinates): a long
    label or agent name must not run into the next column."""
    full = text.get_text()
    if text.get_window_extent(renderer).x1 <= right:
        return
    lo, hi = 0, len(full)
    while lo < hi:   # the longest prefix that fits
        mid = (lo + hi + 1) // 2
        text.set_text(full[:mid].rstrip() + "…")
        if text.get_window_extent(renderer).x1 <= right:
            lo = mid
        else:
            hi = mid - 1
    text.set_text(full[:lo].rstrip() + "…" if lo else "…")


def _forest_figure(group: pd.DataFrame, drug: str, outcome: str, row: dict, fit: PooledFit,
                   settings: MetaSettings):
    """The forest plot of one pooled group as a matplotlib Figure: per study its label, agent,
    events / n, proportion [CI] and weight, then the pooled diamond and, from three studies on, the
    prediction interval. `group` holds label, agent, n_responded and n_treated, in plot order."""
    # Imported here, not at the top: matplotlib costs more to import than all the pooling, and a run
    # whose groups exceed max_forest_studies draws no plot.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    k = len(group)
    pct = round(settings.level * 100)
    agents = [a.strip() if isinstance(a, str) else "" for a in group["agent"]]
    show_pi = k >= settings.min_prediction_studies and not math.isnan(row["pi_low"])
    cis = [proportion_ci(int(x), int(n), settings.level) for x, n in zip(group["n_responded"], group["n_treated"])]

    height = 1.6 + 0.34 * (k + 3)
    # A bare Figure draws with Agg without switching the process-wide pyplot backend.
    fig = Figure(figsize=(12.5, height))
    renderer = FigureCanvasAgg(fig).get_renderer()
    grid = fig.add_gridspec(1, 3, width_ratios=[4.6, 4.2, 2.8], wspace=0.02,
                            left=0.02, right=0.98, top=1 - 0.45 / height, bottom=0.95 / height)
    ax_left, ax, ax_right = (fig.add_subplot(grid[0, i]) for i in range(3))
    y_study = np.arange(k, 0, -1) + 2.0
    y_pooled, y_pi = 1.0, 0.25
    ylim = (-0.3, k + 3.6)
    for a in (ax_left, ax, ax_right):
        a.set_ylim(*ylim)
        a.set_yticks([])
    for a in (ax_left, ax_right):
        a.set_xlim(0, 1)
        a.axis("off")

    header_y = k + 3.1
    x_study, x_agent, x_events = 0.02, 0.50, 0.98
    events = [ax_left.text(x_events, header_y, "Events / n", weight="bold", va="center", ha="right")]
    studies = [ax_left.text(x_study, header_y, "Study", weight="bold", va="center")]
    agent_texts = [ax_left.text(x_agent, header_y, "Agent", weight="bold", va="center")] if any(agents) else []
    ax_right.text(0.05, header_y, f"Proportion [{pct}% CI]", weight="bold", va="center")
    ax_right.text(0.98, header_y, "Weight", weight="bold", va="center", ha="right")

    sizes = 30 + 250 * fit.weights / fit.weights.max()
    for y, label, agent, x, n, (p, lo, hi), size, w in zip(y_study, group["label"], agents, group["n_responded"],
                                                           group["n_treated"], cis, sizes, fit.weights):
        studies.append(ax_left.text(x_study, y, str(label), va="center"))
        if agent:
            agent_texts.append(ax_left.text(x_agent, y, agent, va="center", color="#333333"))
        events.append(ax_left.text(x_events, y, f"{int(x)} / {int(n)}", va="center", ha="right"))
        ax.plot([lo, hi], [y, y], color="black", lw=1.2)
        ax.scatter([p], [y], marker="s", s=size, color="#3b6ea8", zorder=3)
        ax_right.text(0.05, y, f"{_pct(p)} [{_pct(lo)}, {_pct(hi)}]", va="center")
        ax_right.text(0.98, y, f"{100 * w:.0f}%", va="center", ha="right")

    est, lo, hi = row["pooled"], row["ci_low"], row["ci_high"]
    ax.fill([lo, est, hi, est], [y_pooled, y_pooled + 0.3, y_pooled, y_pooled - 0.3],
            color="#c0392b", zorder=3)
    ax.axvline(est, color="#c0392b", lw=0.8, ls=":", ymin=0, ymax=(k + 2.6 - ylim[0]) / (ylim[1] - ylim[0]))
    pooled_label = ax_left.text(x_study, y_pooled, f"Random effects, {row['measure']} {row['method']}",
                                weight="bold", va="center")
    events.append(ax_left.text(x_events, y_pooled, f"{int(group['n_responded'].sum())} / {row['n_total']}",
                               weight="bold", va="center", ha="right"))
    ax_right.text(0.05, y_pooled, f"{_pct(est)} [{_pct(lo)}, {_pct(hi)}]", weight="bold", va="center")
    if show_pi:
        ax.plot([row["pi_low"], row["pi_high"]], [y_pi, y_pi], color="#c0392b", lw=2.5, solid_capstyle="butt")
        pi_label = ax_left.text(x_study, y_pi, f"{pct}% prediction interval", va="center", color="#c0392b")
        ax_right.text(0.05, y_pi, f"[{_pct(row['pi_low'])}, {_pct(row['pi_high'])}]", va="center",
                      color="#c0392b")
    else:
        pi_label = ax_left.text(x_study, y_pi, f"No prediction interval from fewer than "
                                f"{settings.min_prediction_studies} studies", va="center", color="#777777",
                                fontsize=9)

    # Columns end where the next begins: the widest events cell fixes where the agents must stop.
    to_display = ax_left.transAxes.transform
    gap = 8  # points of white between two columns
    events_left = min(t.get_window_extent(renderer).x0 for t in events) - gap
    agent_left = to_display((x_agent, 0))[0] - gap
    for t in agent_texts:
        _fit(t, events_left, renderer)
    for t in studies:
        _fit(t, agent_left if agent_texts else events_left, renderer)
    for t in (pooled_label, pi_label):
        _fit(t, events_left, renderer)

    ax.set_xlim(-0.02, 1.02)
    ax.set_xticks(np.linspace(0, 1, 6))
    ax.set_xticklabels([f"{v:.0%}" for v in np.linspace(0, 1, 6)])
    ax.set_xlabel("Proportion responding")
    ax.spines[["left", "right", "top"]].set_visible(False)
    ax.axhline(1.75, color="grey", lw=0.6)

    title = (f"{drug_label(drug)} — {'MRI' if outcome == 'mri' else 'clinical'} response "
             f"(k = {k}; random effects, {row['measure']} {row['method']})")
    fig.suptitle(title, x=0.02, ha="left", weight="bold", fontsize=13)
    fig.text(
        0.02, 0.18 / height,
        f"Heterogeneity ({row['method']}, {MEASURE_LABELS[row['measure']]} scale): "
        f"τ² = {fit.tau2:.3f}, I² = {fit.i2:.1f}%, Q = {fit.q:.2f} (df = {k - 1}), "
        f"{'p < 0.001' if fit.q_p < 0.001 else f'p = {fit.q_p:.3f}'}."
        f"   Study CIs: exact ({CI_METHOD}).",
        fontsize=9,
    )
    return fig


def _forest_plot(group: pd.DataFrame, drug: str, outcome: str, row: dict, fit: PooledFit,
                 settings: MetaSettings, stem: Path) -> list[Path]:
    fig = _forest_figure(group, drug, outcome, row, fit, settings)
    written = []
    for suffix in (".png", ".svg"):
        path = stem.with_suffix(suffix)
        atomic_write(path, lambda tmp, fmt=suffix[1:]: fig.savefig(tmp, format=fmt, dpi=150))
        written.append(path)
    return written


# ---------------------------------------------------------------- entry point

def run_meta(out_dir: Path, settings: MetaSettings | None = None, input_dir: Path | None = None) -> MetaResult:
    """Pool OUT_DIR/outcomes.csv per drug class x outcome and write the meta-analysis outputs.

    Writes pooled.csv, meta_excluded.csv, metafor.csv, meta_table.xlsx and one forest plot
    (PNG and SVG) per pooled group into `out_dir`. Studies are labelled as pipeline/labels.py says:
    labels.csv in `out_dir` or `input_dir` (default: the input folder of the last run), else the
    first author and year in OUT_DIR/studies.csv, else the study id.
    """
    settings = settings or MetaSettings()
    out_dir = Path(out_dir)
    outcomes = _read_outcomes(out_dir / "outcomes.csv")
    studies_path = out_dir / "studies.csv"
    studies = read_table(studies_path) if studies_path.exists() else pd.DataFrame()
    labels = read_labels(label_files(out_dir, input_dir))
    ids = [*studies.get("study_id", []), *outcomes["study_id"]]
    named = study_labels(ids, studies if not studies.empty else None, labels).set_index("study_id")

    included, excluded = _select_rows(outcomes, settings)
    included = included.join(named, on="study_id")
    groups = sorted(included.groupby(["drug", "outcome"]), key=lambda item: _group_key(*item[0]))

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
        plots += _forest_plot(g, drug, outcome, row, fit, settings, stem)
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
    _write_workbook(files[3], {
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
