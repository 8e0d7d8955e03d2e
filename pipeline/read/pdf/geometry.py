"""Words, lines and tables on a page, in PDF points (x to the right, top downwards)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

# A table cell's value: a count, a percentage, a range, a mean (SD), a dash for none, "(%)"
# closing a header. A value with a full stop ends a sentence ("... was 4 (IQR 2-6). Disease").
_VALUE = re.compile(r"^(?:[(\[]?[<>≤≥=~±+\-–−]?\d[\d.,:;/\-–−]*(?<!\.)%?[)\]]*[,;:]?|[-–—]|\(%\)|%|NA|N/A|NR|ND)$")


def is_value(token: str) -> bool:
    return bool(_VALUE.match(token))


class Word(NamedTuple):
    x0: float
    top: float
    x1: float
    bottom: float
    text: str


@dataclass
class Line:
    top: float
    bottom: float
    words: list[Word]

    @property
    def x0(self) -> float:
        return min(w.x0 for w in self.words)

    @property
    def x1(self) -> float:
        return max(w.x1 for w in self.words)

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass
class Row:
    """One table row as the text extractor reads it: its cells joined by a space."""
    text: str
    lines: int = 1      # physical lines it came from (a wrapped cell, rows run together)


@dataclass
class Table:
    x0: float
    top: float
    x1: float
    bottom: float
    rows: list[Row] = field(default_factory=list)


def cluster_lines(words: list[Word]) -> list[Line]:
    """Group words into text lines by vertical overlap, each line's words left to right.

    Overlap (rather than equal tops) keeps superscripts with their line.
    """
    lines: list[Line] = []
    for w in sorted(words, key=lambda w: (w.top, w.x0)):
        h = max(w.bottom - w.top, 0.1)
        for line in reversed(lines[-4:]):
            overlap = min(line.bottom, w.bottom) - max(line.top, w.top)
            if overlap >= 0.5 * min(h, line.bottom - line.top):
                line.words.append(w)
                line.top = min(line.top, w.top)
                line.bottom = max(line.bottom, w.bottom)
                break
        else:
            lines.append(Line(w.top, w.bottom, [w]))
    for line in lines:
        line.words.sort(key=lambda w: w.x0)
    lines.sort(key=lambda ln: ln.top)
    return lines


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def covered(lines: list[Line], spans: list[tuple[float, float]] | None = None) -> list[tuple[float, float]]:
    """The x-intervals the words of `lines` cover, merged, left to right (added to `spans`)."""
    merged: list[list[float]] = []
    for x0, x1 in sorted([*(spans or []), *((w.x0, w.x1) for line in lines for w in line.words)]):
        if merged and x0 <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], x1)
        else:
            merged.append([x0, x1])
    return [(a, b) for a, b in merged]


def bands_between(spans: list[tuple[float, float]], gap: float) -> list[tuple[float, float]]:
    """The white bands at least `gap` wide between merged covered intervals."""
    return [(a[1], b[0]) for a, b in zip(spans, spans[1:]) if b[0] - a[1] >= gap]


def white_bands(lines: list[Line], gap: float) -> list[tuple[float, float]]:
    """The white vertical bands at least `gap` wide between the words of `lines`, left to right."""
    return bands_between(covered(lines), gap)


def looks_tabular(lines: list[Line], gap: float) -> bool:
    """Do these lines, between white bands, make a table rather than columns of prose? A table
    has a column, besides its labels, of values: a few words a line, mostly figures. Justified
    prose leaves wide gaps too, and a column of prose can end in short lines ("study.")."""
    bands = white_bands(lines, gap)
    if not bands:
        return False
    edges = [(a + b) / 2 for a, b in bands]
    columns: list[list[list[str]]] = [[] for _ in edges]
    for line in lines:
        per: list[list[str]] = [[] for _ in range(len(edges) + 1)]
        for w in line.words:
            per[sum(1 for e in edges if (w.x0 + w.x1) / 2 > e)].append(w.text)
        for k, cell in enumerate(per[1:]):
            if cell:
                columns[k].append(cell)
    for cells in columns:
        if not cells:
            continue
        words = [t for c in cells for t in c]
        if sorted(map(len, cells))[len(cells) // 2] <= 3 and 2 * sum(any(ch.isdigit() for ch in t) or is_value(t) for t in words) >= len(words):
            return True
    return False
