"""Forest plots of the pooled groups (forest_<drug>_<outcome>.png and .svg)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..core.vocab import drug_label
from ..record.store import atomic_write
from ..tables.stats import CI_METHOD, proportion_ci
from .pooling import MEASURE_LABELS, PooledFit

if TYPE_CHECKING:
    from .run import MetaSettings


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


def forest_figure(group: pd.DataFrame, drug: str, outcome: str, row: dict, fit: PooledFit,
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


def forest_plot(group: pd.DataFrame, drug: str, outcome: str, row: dict, fit: PooledFit,
                 settings: MetaSettings, stem: Path) -> list[Path]:
    fig = forest_figure(group, drug, outcome, row, fit, settings)
    written = []
    for suffix in (".png", ".svg"):
        path = stem.with_suffix(suffix)
        atomic_write(path, lambda tmp, fmt=suffix[1:]: fig.savefig(tmp, format=fmt, dpi=150))
        written.append(path)
    return written
