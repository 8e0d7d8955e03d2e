"""Paper -> figures: the study-level and treatment figures a paper states about its own cohort.

`extract(paper)` runs the study-level rules (`study.py`, `described.py`) on the engine
(`engine.py`): the cohort size first, since percentages and "all of the patients" are read
against it, then every other field; complements (one sex from the other, unifocal from
multifocal) are derived last, with both statements as evidence.
"""
from __future__ import annotations

from ..core.model import Figure
from ..nlp.paper import Paper
from .described import DESCRIBED, resolve_described
from .engine import Context, resolve
from .study import STUDY


def extract(paper: Paper) -> tuple[dict[str, Figure], Context]:
    ctx = Context.of(paper)
    cohort = list(STUDY.rules["cohort_size"](ctx))
    if cohort:
        ctx.n, ctx.n_spans = cohort[0].value, cohort[0].spans[:1]
    candidates = cohort + STUDY.run(ctx, skip=("cohort_size",))
    figures = {str(k): f for k, f in resolve(paper, [c for c in candidates if c.key.field not in DESCRIBED]).items()}
    figures.update(resolve_described(paper, [c for c in candidates if c.key.field in DESCRIBED]))
    # Counts printed with their percentage ("Male gender 8 (53.4)"), for the consistency check.
    ctx.percents = sorted({(str(c.key), c.value, c.extra["pct"]) for c in candidates
                           if c.extra.get("pct") is not None and str(c.key) in figures
                           and figures[str(c.key)].value == c.value})
    _complements(figures, ctx)
    return figures, ctx


def _complements(figures: dict[str, Figure], ctx: Context) -> None:
    """One of two complementary counts from the other and the cohort size, when only one is stated
    and its printed percentage, if any, fits the cohort size."""
    n = figures.get("n_patients")
    if not n:
        return
    from .quantities import counts_for_percent
    misprinted = {f for f, count, pct in ctx.percents if count not in counts_for_percent(pct, n.value, slack=1.0)}
    for have, want in (("n_male", "n_female"), ("n_female", "n_male"), ("n_multifocal", "n_unifocal"),
                       ("n_unifocal", "n_multifocal")):
        # A count of a subgroup (confidence below 0.7) is no complement's evidence: "Of these 30, 12 were girls".
        # A weak statement of the other count (a subgroup's, another group's) gives way to the complement.
        weak = want in figures and figures[want].confidence < 0.7 and figures[want].status != "conflict"
        if have in figures and (want not in figures or weak) and have not in misprinted and figures[have].confidence >= 0.7 \
                and 0 <= n.value - figures[have].value <= n.value:
            figures[want] = Figure(n.value - figures[have].value, figures[have].evidence + n.evidence,
                                   f"{want}_complement", min(n.confidence, figures[have].confidence) * 0.9, "derived")


def extract_all(paper: Paper):
    """(figures, outcome rows, printed percentages) for the paper; the runner's one call."""
    from .treatments import extract_outcomes

    figures, ctx = extract(paper)
    return figures, extract_outcomes(paper, ctx), ctx.percents
