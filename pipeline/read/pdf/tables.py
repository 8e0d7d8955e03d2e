"""Tables in a PDF -> rows in the form the extractors read from a text file's flattened tables.

A text file's table is a caption line ("Table II. Bones involved ..."), then one line per row,
its cells joined by a space ("Femur 10 (66.7)", "Pamidronate 11 8 (72.7)"). A PDF sets the same
table in many ways, and each is brought back to that form:

- ruled tables (a grid of rules): pdfplumber's table finder;
- unruled tables, or tables with rules above and below only: runs of lines whose words leave the
  same white bands between cells (`aligned_tables`); a cell that wraps onto a second line stays in
  its row (the lines of one row are closer than the gap between rows);
- tables set as text, one short line per row after a caption: after a "Table N" caption, each line
  broken on purpose (the next word would have fitted) is a row, a line broken because the next
  word did not fit goes on in the next line, and a row broken across a column or a page goes on
  in the next column; this goes on until running prose (a paragraph of full lines) resumes;
- rows run together into one paragraph ("... Femur 14 (53.8) Tibia 13 (50.0) ..."): cut where a
  value is followed by a capitalised word (`split_rows`).
"""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterator

from ...core import vocab
from .geometry import Line, Row, Table, Word, bands_between, covered, is_value, looks_tabular, white_bands
from .layout import Segment
from .settings import PdfSettings


@lru_cache(maxsize=1)
def caption_pattern() -> re.Pattern:
    """The caption of a table, as the sections stage recognises it in a text file."""
    return re.compile(vocab.load("sections.json")["table_caption"])


# --- ruled tables ---------------------------------------------------------------------------

def ruled_tables(page: Any, settings: PdfSettings) -> list[Table]:
    # find_tables is costly; a ruled table needs at least two rules each way.
    if len(page.horizontal_edges) < 2 or len(page.vertical_edges) < 2:
        return []
    tables = []
    for table in page.find_tables():
        rows = []
        for cells in table.extract(x_tolerance=settings.x_tolerance):
            present = [c for c in cells if c and c.strip()]
            text = " ".join(" ".join(c.split()) for c in present)
            if text:
                rows.append(Row(text, max(c.count("\n") + 1 for c in present)))
        ncols = max((len(r.cells) for r in table.rows), default=0)
        # A single framed box (sidebar, page border) is prose, not a table.
        if len(rows) >= 2 and ncols >= 2:
            x0, top, x1, bottom = (float(v) for v in table.bbox)
            tables.append(Table(x0, top, x1, bottom, rows))
    return tables


# --- unruled tables: white bands between cells ----------------------------------------------

def _cell_count(line: Line, gap: float) -> int:
    return 1 + sum(1 for a, b in zip(line.words, line.words[1:]) if b.x0 - a.x1 >= gap)


def aligned_tables(segment: Segment, settings: PdfSettings) -> None:
    """Replace the lines of a segment that form an unruled table by a Table: the lines between two
    horizontal rules with a white band between cells, and runs of lines with cells that leave
    the same white bands."""
    gap = settings.min_cell_gap
    items = segment.items
    bounded = _ruled_regions(segment, settings)
    out: list[Line | Table] = []
    i = 0
    while i < len(items):
        item = items[i]
        if i in bounded:
            end, table = bounded[i]
            out.append(table)
            i = end
            continue
        if not isinstance(item, Line) or _cell_count(item, gap) < 2:
            out.append(item)
            i += 1
            continue
        run = [item]
        spans = covered(run)
        j = i + 1
        while j < len(items) and isinstance(items[j], Line) and j not in bounded:
            nxt = items[j]
            if nxt.top - run[-1].bottom > 2.5 * max(nxt.height, run[-1].height):
                break
            grown = covered([nxt], spans)
            if not bands_between(grown, gap):
                break
            run.append(nxt)
            spans = grown
            j += 1
        found = _aligned_table(run, settings, bounded=False)
        if found is None:
            out.append(item)
            i += 1
        else:
            table, used = found
            out.append(table)
            i += used
    segment.items = out


def _ruled_regions(segment: Segment, settings: PdfSettings) -> dict[int, tuple[int, Table]]:
    """Tables between two horizontal rules across the segment: first item index -> (end, table).

    A region is a table only if a white band runs between its cells and it has a column of
    values (`looks_tabular`); a boxed paragraph is prose. A header set between rules of its own
    (above, below it, and below the table) is taken with the table under it.
    """
    width = segment.right - segment.left
    ys = sorted(y for x0, x1, y in segment.rules
                if x0 >= segment.left - 10 and x1 <= segment.right + 10 and x1 - x0 >= 0.4 * width)
    items = segment.items
    regions: list[list[int]] = []
    for y0, y1 in zip(ys, ys[1:]):
        inside = [k for k, item in enumerate(items) if y0 < (item.top + item.bottom) / 2 < y1]
        if (inside and inside[-1] - inside[0] + 1 == len(inside) and all(isinstance(items[k], Line) for k in inside)
                and not (regions and regions[-1] and regions[-1][-1] >= inside[0])):
            regions.append(inside)
        else:
            regions.append([])
    found: dict[int, tuple[int, Table]] = {}
    k = 0
    while k < len(regions):
        inside = regions[k]
        made = _aligned_table([items[i] for i in inside], settings, bounded=True) if inside else None
        below = regions[k + 1] if k + 1 < len(regions) else []
        if inside and below and len(inside) <= 3:
            with_header = _aligned_table([items[i] for i in inside + below], settings, bounded=True)
            if with_header and (made is None or len(made[0].rows) <= 1):
                made, inside = with_header, inside + below
                k += 1
        if made:
            found[inside[0]] = (inside[-1] + 1, made[0])
        k += 1
    return found


def _row_break(lines: list[Line], first_end: float, continuation: float) -> float:
    """The gap below which two lines of a table are one row (a wrapped cell) rather than two.

    Two lines that both have a label and a value are two rows, so the gap between such lines is
    the table's gap between rows; a wrapped cell's lines are closer than that (rows set with
    padding), or as close (rows set without: then each line is a row). A table with a single line
    of values is one row.
    """
    label = [any((w.x0 + w.x1) / 2 < first_end for w in ln.words) for ln in lines]
    value = [any((w.x0 + w.x1) / 2 > first_end for w in ln.words) for ln in lines]
    if sum(value) <= 1:
        return float("inf")
    gaps = [b.top - a.bottom for a, b in zip(lines, lines[1:])]
    between = [g for k, g in enumerate(gaps) if label[k] and value[k] and label[k + 1] and value[k + 1]]
    return continuation * (statistics.median(between) if between else max(gaps))


def _aligned_table(run: list[Line], settings: PdfSettings, bounded: bool) -> tuple[Table, int] | None:
    """The table a run of lines makes, and how many of the lines it takes; None if it is not one.

    A line goes on with the row above when the gap between them is a wrapped cell's (`_row_break`);
    each cell's words are read line by line, so a label set at the foot of its row and a value
    that wraps come out as "label value". Rows joined wrongly are cut again by `split_rows`, where
    a value is followed by a capitalised label.
    """
    gap = settings.min_cell_gap
    multi = [_cell_count(line, gap) >= 2 for line in run]
    if not bounded and sum(multi) < 2:
        return None
    bands = white_bands(run, gap)
    # Columns of prose a gutter was not found between are not a table.
    if not bands or not looks_tabular(run, gap):
        return None
    separators = [(a + b) / 2 for a, b in bands]
    first_end = separators[0]
    valued = [any((w.x0 + w.x1) / 2 > first_end for w in line.words) for line in run]
    end = max(k for k, v in enumerate(valued) if v) + 1 if not bounded else len(run)
    limit = _row_break(run[:end], first_end, settings.row_continuation)
    if not bounded:
        # Label-only lines after the last row of values belong to it only as its wrapped cell.
        while end < len(run) and run[end].top - run[end - 1].bottom < limit:
            end += 1
        run = run[:end]
        bands = white_bands(run, gap)
        separators = [(a + b) / 2 for a, b in bands]
    tight = [b.top - a.bottom < limit for a, b in zip(run, run[1:])]
    groups: list[list[Line]] = []
    for k, line in enumerate(run):
        if k > 0 and tight[k - 1]:
            groups[-1].append(line)
        else:
            groups.append([line])
    rows = []
    for group in groups:
        cells: list[list[str]] = [[] for _ in range(len(separators) + 1)]
        for line in group:
            for w in line.words:
                cells[sum(1 for s in separators if (w.x0 + w.x1) / 2 > s)].append(w.text)
        rows.append(Row(" ".join(" ".join(c) for c in cells if c), len(group)))
    table = Table(min(ln.x0 for ln in run), run[0].top, max(ln.x1 for ln in run), run[-1].bottom, rows)
    return table, len(run)


# --- rows run together ----------------------------------------------------------------------

def split_rows(text: str) -> list[str]:
    """Rows run together into one text -> the rows: cut after a value followed by a capitalised
    word ("... Femur 14 (53.8) Tibia 13 (50.0)"). A caption's number does not end a row."""
    tokens = text.split(" ")
    caption = caption_pattern().match(text)
    skip = len(caption.group(0).split()) - 1 if caption else -1
    rows, start = [], 0
    for k in range(1, len(tokens)):
        prev, word = tokens[k - 1], tokens[k]
        if k - 1 != skip and word[:1].isalpha() and word[:1].isupper() and is_value(prev):
            rows.append(" ".join(tokens[start:k]))
            start = k
    rows.append(" ".join(tokens[start:]))
    return [r for r in rows if r]


# --- the document: paragraphs, captions and rows --------------------------------------------

@dataclass
class Unit:
    """A piece of a page's text: a paragraph of prose lines, a caption, or a table row."""
    page: int
    kind: str              # "para" | "caption" | "row"
    lines: list[str]
    top: float
    bottom: float
    page_height: float
    table: int = -1        # rows of one Table (ruled, between rules, aligned) share a number
    overleaf: bool = False  # a paragraph that goes on from the foot of the page before


@dataclass
class _Para:
    lines: list[tuple[Line, Segment]]
    hard: list[bool] = field(default_factory=list)   # hard[k]: line k was broken on purpose
    overleaf: bool = False    # its first line goes on from the last line of the page before


_SENTENCE_END = re.compile(r"[a-z)\]%][.!?](?:\s|$)")


def document_units(segments: list[Segment], settings: PdfSettings) -> list[Unit]:
    """All pages' segments, in reading order -> units; a table goes on across columns and pages."""
    for seg in segments:
        aligned_tables(seg, settings)
    units: list[Unit] = []
    in_table = False
    table_rows_from = 0
    for number, block in enumerate(_blocks(segments, settings)):
        if isinstance(block, tuple):
            table, seg = block
            for row in table.rows:
                units += _rows(row.text, row.lines > 1, seg, table.top, table.bottom, number)
            in_table = False
            continue
        groups = _groups(block)
        k = 0
        if in_table and block.overleaf and units and units[-1].kind == "row":
            # A row broken at the foot of a page ends at the head of the next.
            units[-1].lines[0] += " " + _join(groups[0])
            k = 1
        if k == 0 and caption_pattern().match(block.lines[0][0].text):
            caption = _caption_units(groups[0])
            if caption:
                units += caption
                in_table, table_rows_from, k = True, len(units), 1
        if in_table:
            k = _text_rows(groups, k, units)
            if k < len(groups):
                in_table = False
                _unmark_trailing(units, table_rows_from)
        if k < len(groups):
            lines = [pair for g in groups[k:] for pair in g]
            units.append(_unit(lines[0][1], "para", [ln.text for ln, _ in lines], lines))
            units[-1].overleaf = block.overleaf and k == 0 and len(units) > 1 and units[-2].kind == "para"
    _captions_first(units)
    return units


def _caption_units(caption: list[tuple[Line, Segment]]) -> list[Unit]:
    """A caption as one line, and the rows run on after it in the same paragraph; nothing when
    the "caption" is a paragraph of prose that starts with "Table 2 shows ..."."""
    seg = caption[0][1]
    pieces = split_rows(_join(caption)) if len(caption) > 1 else [_join(caption)]
    if len(pieces) == 1 and len(caption) > 3:
        return []
    return [_unit(seg, "caption", [pieces[0]], caption), *(_row_unit(p, seg, caption) for p in pieces[1:])]


def _text_rows(groups: list[list[tuple[Line, Segment]]], k: int, units: list[Unit]) -> int:
    """A table set as text: rows from groups[k:] into `units`, until running prose resumes;
    returns the index of the first group that is prose (len(groups) when none is)."""
    while k < len(groups):
        group = groups[k]
        text = _join(group)
        pieces = split_rows(text) if len(group) > 1 else [text]
        # Two pieces are two rows when both end in a value; prose can have one value before a
        # capital ("... in 2012 Smith et al. reported").
        rows_like = len(pieces) >= 3 or (len(pieces) == 2 and all(map(_ends_in_value, pieces)))
        by_capitals = _rows_by_capitals(group) if len(pieces) == 1 and len(group) > 1 else None
        if by_capitals:
            pieces = by_capitals
        elif not rows_like and _is_prose(group, text):
            return k
        units += [_row_unit(p, group[0][1], group) for p in pieces]
        k += 1
    return k


def _blocks(segments: list[Segment], settings: PdfSettings) -> Iterator[_Para | tuple[Table, Segment]]:
    """Paragraphs (lines joined by vertical gaps and column flow, with their line breaks marked
    hard or soft) and tables, in reading order."""
    gaps = _paragraph_gaps(segments, settings)
    para: _Para | None = None
    for seg in segments:
        starts = not seg.flows
        for item in seg.items:
            if isinstance(item, Table):
                if para:
                    yield para
                para = None
                yield item, seg
                continue
            overleaf = False
            if para is not None:
                prev, prev_seg = para.lines[-1]
                same = prev_seg is seg
                if (same and item.top - prev.bottom > gaps[seg.page]) or (not same and starts):
                    # A page's text stays on its page; a row may go on overleaf.
                    overleaf = prev_seg.page != seg.page and not _hard_break(prev, item, prev_seg)
                    yield para
                    para = None
            if para is None:
                para = _Para([(item, seg)], overleaf=overleaf)
            else:
                prev, prev_seg = para.lines[-1]
                para.hard.append(_hard_break(prev, item, prev_seg))
                para.lines.append((item, seg))
            starts = False
    if para:
        yield para


def _paragraph_gaps(segments: list[Segment], settings: PdfSettings) -> dict[int, float]:
    heights: dict[int, list[float]] = {}
    for seg in segments:
        heights.setdefault(seg.page, []).extend(i.height for i in seg.items if isinstance(i, Line))
    return {page: (statistics.median(h) if h else 10.0) * settings.paragraph_gap for page, h in heights.items()}


def _hard_break(line: Line, nxt: Line, seg: Segment) -> bool:
    """Was `line` broken on purpose: would the next line's first word have fitted after it?"""
    if line.words[-1].text.endswith("-"):
        return False
    first: Word = nxt.words[0]
    space = 0.25 * line.height
    return line.x1 + space + (first.x1 - first.x0) < seg.right - 1.0


def _groups(para: _Para) -> list[list[tuple[Line, Segment]]]:
    """A paragraph's lines in runs ending at hard breaks: the rows of a table set as text."""
    groups = [[para.lines[0]]]
    for pair, hard in zip(para.lines[1:], para.hard):
        if hard:
            groups.append([pair])
        else:
            groups[-1].append(pair)
    return groups


def _join(group: list[tuple[Line, Segment]]) -> str:
    out = ""
    for line, _ in group:
        text = line.text
        out = text if not out else out + text if out.endswith("-") else f"{out} {text}"
    return out


def _rows_by_capitals(group: list[tuple[Line, Segment]]) -> list[str] | None:
    """Rows set as lines of text that fill the line, so that no break looks made on purpose: a
    line that starts with a capital starts a row, when the rows so made end with a value
    ("Median age at onset, years 9.0 (0.6-15.0) years" / "Median age at diagnosis, ...") or are
    one line (a label row)."""
    rows: list[list[tuple[Line, Segment]]] = []
    for pair in group:
        if not rows or pair[0].text[:1].isupper():
            rows.append([pair])
        else:
            rows[-1].append(pair)
    texts = [_join(r) for r in rows]
    valued = [_ends_in_value(t) for t in texts]
    # A label row ("Presenting symptoms, n (%)") has no value; a wrapped row always has one.
    if len(texts) > 1 and 2 * sum(valued) >= len(texts) and all(v or len(r) == 1 for v, r in zip(valued, rows)):
        return texts
    return None


def _ends_in_value(text: str) -> bool:
    tokens = text.split()
    return is_value(tokens[-1]) or (len(tokens) > 1 and is_value(tokens[-2]) and tokens[-1].isalpha()
                                    and tokens[-1].islower() and len(tokens[-1]) <= 6)


def _is_prose(group: list[tuple[Line, Segment]], text: str) -> bool:
    """Running prose rather than a row that wrapped: three full lines, or two with a full stop."""
    return len(group) >= 3 or (len(group) == 2 and bool(_SENTENCE_END.search(text)))


def _unit(seg: Segment, kind: str, lines: list[str], source: list[tuple[Line, Segment]]) -> Unit:
    return Unit(seg.page, kind, lines, min(ln.top for ln, _ in source), max(ln.bottom for ln, _ in source),
                seg.page_height)


def _row_unit(text: str, seg: Segment, source: list[tuple[Line, Segment]]) -> Unit:
    return _unit(seg, "row", [text], source)


def _rows(text: str, wrapped: bool, seg: Segment, top: float, bottom: float, table: int) -> list[Unit]:
    return [Unit(seg.page, "row", [p], top, bottom, seg.page_height, table)
            for p in (split_rows(text) if wrapped else [text])]


def _captions_first(units: list[Unit]) -> None:
    """A caption set below its table goes before the table's rows, as a text file has it: a
    caption right after a table that has none, on its page, and not right before another table."""
    k = 0
    while k < len(units):
        unit = units[k]
        before = units[k - 1] if k else None
        after = units[k + 1] if k + 1 < len(units) else None
        if (unit.kind == "caption" and before is not None and before.table >= 0 and before.page == unit.page
                and not (after is not None and after.table >= 0)):
            # The table's rows, with its header when rules set that apart as a table of its own.
            first = k - 1
            while first > 0 and units[first - 1].table >= 0 and units[first - 1].page == unit.page:
                first -= 1
            if first == 0 or units[first - 1].kind != "caption":
                units.insert(first, units.pop(k))
        k += 1


def _unmark_trailing(units: list[Unit], start: int) -> None:
    """Lines after a table's last row with a figure (a heading, a note) are prose, not rows."""
    last = max((k for k in range(start, len(units)) if units[k].kind == "row" and any(c.isdigit() for c in units[k].lines[0])),
               default=start - 1)
    for unit in units[last + 1:]:
        if unit.kind == "row":
            unit.kind = "para"
