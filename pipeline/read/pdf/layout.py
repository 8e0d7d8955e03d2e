"""Reading order: a page's words and tables -> segments of lines, each read top to bottom.

A segment is one column of one section of the page, or a full-width band (title, abstract, a
table spanning the columns). Columns are found from the words' positions (the vertical band the
fewest rows cross, with column text on both sides; not assumed to be the middle), and each column
is split again the same way until no gutter is left: two columns, three, a sidebar beside two.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Union

from .geometry import Line, Table, Word, cluster_lines, is_value, looks_tabular, quantile
from .settings import PdfSettings

Item = Union[Line, Table]


@dataclass
class Segment:
    page: int
    page_height: float
    items: list[Item]      # lines and tables, top to bottom
    left: float            # the column's text edges: a line that ends short of `right` was
    right: float           # broken on purpose (a table row), not because the next word did not fit
    flows: bool            # the text goes on from the previous segment (the next column of a section)
    rules: list[tuple[float, float, float]] = field(default_factory=list)   # the page's horizontal rules


def reading_order(words: list[Word], tables: list[Table], settings: PdfSettings, page: int,
                  page_height: float, rules: list[tuple[float, float, float]] | None = None) -> list[Segment]:
    rules = rules or []
    segments = _order(words, tables, rules, settings, page, page_height, 0, False)
    for seg in segments:
        seg.rules = rules
    return segments


def _order(words: list[Word], tables: list[Table], rules: list[tuple[float, float, float]], settings: PdfSettings,
           page: int, height: float, depth: int, flows: bool) -> list[Segment]:
    if not words and not tables:
        return []
    left = min([w.x0 for w in words] + [t.x0 for t in tables])
    right = max([w.x1 for w in words] + [t.x1 for t in tables])
    rows = cluster_lines(words)
    gutter = find_gutter(rows, settings, tables) if depth < settings.max_column_depth else None
    if gutter is None:
        items = sorted([*rows, *tables], key=lambda item: item.top)
        return [Segment(page, height, items, left, right, flows)]

    labels = _label_rows(rows, gutter, rules, settings)
    _absorb_short_column_runs(labels)
    units: list[tuple[float, str, Item]] = [(r.top, label, r) for r, label in zip(rows, labels)]
    for t in tables:
        wide = t.x0 < gutter - settings.min_gutter and t.x1 > gutter + settings.min_gutter
        units.append((t.top, "F" if wide else "C", t))
    units.sort(key=lambda u: u[0])

    segments: list[Segment] = []
    i = 0
    while i < len(units):
        kind = units[i][1]
        j = i
        while j < len(units) and units[j][1] == kind:
            j += 1
        items = [u[2] for u in units[i:j]]
        goes_on = flows if i == 0 else False
        if kind == "F":
            segments.append(Segment(page, height, items, left, right, goes_on))
        else:
            # Text flows from the foot of the left column to the head of the right one.
            sides = ([], []), ([], [])
            for item in items:
                if isinstance(item, Line):
                    for w in item.words:
                        sides[(w.x0 + w.x1) / 2 >= gutter][0].append(w)
                else:
                    sides[(item.x0 + item.x1) / 2 >= gutter][1].append(item)
            segments += _order(*sides[0], rules, settings, page, height, depth + 1, goes_on)
            segments += _order(*sides[1], rules, settings, page, height, depth + 1, True)
        i = j
    return segments


def find_gutter(rows: list[Line], settings: PdfSettings, tables: list[Table] = ()) -> float | None:
    """x of the gap between two columns, or None for a single column.

    The gutter is the vertical band that the fewest rows have a word over, with column text on
    both sides; it need not be at the middle, and the columns' baselines need not line up. A table
    counts as the rows it is high, so a column that holds mostly tables is still a column.
    """
    heights = [r.height for r in rows]
    line_height = statistics.median(heights) if heights else 10.0
    # Each row as its words' spans, with a weight: 1 for a text row, its height in rows for a table.
    spans: list[tuple[list[tuple[float, float]], int]] = [([(w.x0, w.x1) for w in r.words], 1) for r in rows]
    spans += [([(t.x0, t.x1)], max(1, round((t.bottom - t.top) / line_height))) for t in tables]
    total = sum(n for _, n in spans)
    if total < 6 or not rows:
        return None
    x_min = min(x0 for row, _ in spans for x0, _ in row)
    x_max = max(x1 for row, _ in spans for _, x1 in row)
    span = x_max - x_min
    if span <= 0:
        return None
    diff = [0] * (int(span) + 3)
    for row, n in spans:
        for x0, x1 in row:
            diff[int(x0 - x_min)] += n
            diff[int(x1 - x_min) + 1] -= n
    cover, running = [], 0
    for d in diff:
        running += d
        cover.append(running)
    lo, hi = int(0.1 * span), int(0.9 * span)
    least = min(cover[lo: hi + 1])
    if least > 0.5 * total:
        return None
    # Runs of bins near the least coverage (a few stray words, a long keyword line, may poke into
    # the gutter), widest first: the widest can be the gap between a table's labels and values.
    ceiling = least + max(2, 0.05 * total)
    runs: list[tuple[int, float]] = []
    i = lo
    while i <= hi:
        if cover[i] > ceiling:
            i += 1
            continue
        j = i
        while j <= hi and cover[j] <= ceiling:
            j += 1
        if j - i >= settings.min_gutter:
            runs.append((j - i, (i + j - 1) / 2))
        i = j
    for _, centre in sorted(runs, reverse=True)[:3]:
        if _is_gutter(x_min + centre, rows, spans, span, settings):
            return x_min + centre
    return None


def _is_gutter(gutter: float, rows: list[Line], spans: list[tuple[list[tuple[float, float]], int]], span: float,
               settings: PdfSettings) -> bool:
    """Column text on both sides of `gutter`: words, not a table's figures, in three rows or more
    on each side, each side's column wide enough."""
    apart = [r for r in rows if not any(w.x0 < gutter < w.x1 for w in r.words)]
    for side in (True, False):
        words = [w.text for r in apart for w in r.words if ((w.x0 + w.x1) / 2 < gutter) == side]
        if words and sum(map(is_value, words)) >= 0.6 * len(words):
            return False
    left_x0, left_x1, right_x0, right_x1 = [], [], [], []
    for row, n in spans:
        if any(x0 < gutter < x1 for x0, x1 in row):
            continue
        lw = [s for s in row if s[1] <= gutter]
        rw = [s for s in row if s[0] >= gutter]
        if lw:
            left_x0 += [lw[0][0]] * n
            left_x1 += [lw[-1][1]] * n
        if rw:
            right_x0 += [rw[0][0]] * n
            right_x1 += [rw[-1][1]] * n
    # Three rows make a column: a table's last rows at the head of the next column.
    if len(left_x0) < 3 or len(right_x0) < 3:
        return False
    # Column extents, not line lengths: a sidebar's lines are short but its column is not; a
    # table's number column is narrow in both.
    need = settings.min_column_fraction * span
    left_extent = quantile(left_x1, 0.9) - quantile(left_x0, 0.1)
    right_extent = quantile(right_x1, 0.9) - quantile(right_x0, 0.1)
    return left_extent >= need and right_extent >= need


def _label_rows(rows: list[Line], gutter: float, rules: list[tuple[float, float, float]],
                settings: PdfSettings) -> list[str]:
    """Label each row full-width ("F") or in a column ("C").

    A row is full-width when a word crosses the gutter. Rows of a wide unruled table do not cross
    it (its column gap falls on the gutter), so a run of two or more rows is also full-width when
    each has wide gaps on both sides of the gutter, or when its right part does not start at the
    right column's left edge, and the run looks like a table (a column of values, not justified
    prose); unless rules that stay on one side of the gutter are set among them, or one side's
    table goes on above or below them in its column: then they are two tables side by side.
    """
    # The right column's left edge: where its lines of prose (four words or more) start; the
    # values of a wide table start further right.
    parts = [[w for w in r.words if w.x0 >= gutter] for r in rows if any(w.x1 <= gutter for w in r.words)]
    parts = [p for p in parts if p]
    starts = [round(p[0].x0) for p in parts if len(p) >= 4] or [round(p[0].x0) for p in parts]
    right_edge = max(set(starts), key=starts.count) if starts else gutter
    labels = []
    for row in rows:
        if any(w.x0 < gutter < w.x1 for w in row.words):
            labels.append("F")
            continue
        left = [w for w in row.words if w.x1 <= gutter]
        right = [w for w in row.words if w.x0 >= gutter]
        if left and right and (
            right[0].x0 - right_edge > 2 * settings.min_gutter
            or (_has_wide_gap(left, settings.min_gutter) and _has_wide_gap(right, settings.min_gutter))
        ):
            labels.append("T")
        else:
            labels.append("C")
    tableish = [label == "T" for label in labels]
    i = 0
    while i < len(labels):
        if not tableish[i]:
            i += 1
            continue
        j = i
        while j < len(labels) and tableish[j]:
            j += 1
        reach = 3 * max(r.height for r in rows[i:j])
        top, bottom = rows[i].top - reach, rows[j - 1].bottom + reach
        in_columns = any(top <= y <= bottom and (x1 < gutter or x0 > gutter) for x0, x1, y in rules)
        # ... or the run lies between two rules of a table on one side.
        for side in ([y for x0, x1, y in rules if x1 < gutter], [y for x0, x1, y in rules if x0 > gutter]):
            in_columns = in_columns or (any(y < rows[i].top for y in side) and any(y > rows[j - 1].bottom for y in side))
        # Unruled tables side by side: one of them goes on above or below the run, in its column
        # (unless a rule across the gutter, a wide table's, is set just above or below).
        near = 6 * max(r.height for r in rows[i:j])
        ruled_wide = any(rows[i].top - near <= y <= rows[j - 1].bottom + near and x0 < gutter < x1 for x0, x1, y in rules)
        for k in (i - 1, j):
            if 0 <= k < len(rows) and labels[k] == "C" and not ruled_wide:
                sides = ([w for w in rows[k].words if w.x1 <= gutter], [w for w in rows[k].words if w.x0 >= gutter])
                in_columns = in_columns or any(_has_wide_gap(side, settings.min_gutter) for side in sides)
        # A wide table has values right of the gutter; a table in the left column beside prose
        # in the right one (or two) does not.
        wide = (j - i > 1 and not in_columns and looks_tabular(rows[i:j], settings.min_cell_gap)
                and _figures_right(rows[i:j], gutter))
        labels[i:j] = ["F" if wide else "C"] * (j - i)
        i = j
    # A table across the page between rules across the gutter (or one and the page's edge), its
    # labels under the left column and its values under the right one.
    # The page's head and foot bound a table that goes on overleaf.
    wide = sorted(y for x0, x1, y in rules if x0 < gutter - settings.min_gutter and x1 > gutter + settings.min_gutter)
    if wide:
        wide = [float("-inf"), *wide, float("inf")]
    for y0, y1 in zip(wide, wide[1:]):
        inside = [k for k, r in enumerate(rows) if y0 < (r.top + r.bottom) / 2 < y1]
        # Open at the page's edge, the region must hold figures on the right (not references).
        closed = y0 > float("-inf") and y1 < float("inf")
        if inside and looks_tabular([rows[k] for k in inside], settings.min_cell_gap) and (
                closed or _figures_right([rows[k] for k in inside], gutter)):
            for k in inside:
                labels[k] = "F"
    return labels


def _figures_right(rows: list[Line], gutter: float) -> bool:
    """Are the words right of the gutter mostly figures (a wide table's values), not prose or
    references set in the right column?"""
    right = [w.text for r in rows for w in r.words if w.x0 >= gutter]
    return 2 * sum(1 for t in right if is_value(t) or any(c.isdigit() for c in t)) >= len(right)


def _has_wide_gap(words: list[Word], width: float) -> bool:
    return any(b.x0 - a.x1 >= width for a, b in zip(words, words[1:]))


def _absorb_short_column_runs(labels: list[str]) -> None:
    """Turn runs of < 3 column rows between full-width rows into full-width.

    A heading such as "Abstract" above a full-width abstract does not cross the gutter, but it
    belongs to the full-width flow, not to a column.
    """
    i = 0
    while i < len(labels):
        if labels[i] != "C":
            i += 1
            continue
        j = i
        while j < len(labels) and labels[j] == "C":
            j += 1
        bounded_above = i == 0 or labels[i - 1] == "F"
        bounded_below = j == len(labels) or labels[j] == "F"
        if j - i < 3 and bounded_above and bounded_below and (i > 0 or j < len(labels)):
            labels[i:j] = ["F"] * (j - i)
        i = j
