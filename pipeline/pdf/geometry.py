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


def white_bands(lines: list[Line], gap: float) -> list[tuple[float, float]]:
    """The white vertical bands at least `gap` wide between the words of `lines`, left to right."""
    spans = sorted((w.x0, w.x1) for line in lines for w in line.words)
    if not spans:
        return []
    bands = []
    reach = spans[0][1]
    for x0, x1 in spans[1:]:
        if x0 - reach >= gap:
            bands.append((reach, x0))
        reach = max(reach, x1)
    return bands


def looks_tabular(lines: list[Line], gap: float) -> bool:
    """Do these lines, between white bands, make a table rather than columns of prose? A table
    has a column, other than its labels, of a few words a line (values); prose columns do not."""
    bands = white_bands(lines, gap)
    if not bands:
        return False
    edges = [(a + b) / 2 for a, b in bands]
    counts: list[list[int]] = [[] for _ in edges]
    for line in lines:
        per = [0] * (len(edges) + 1)
        for w in line.words:
            per[sum(1 for e in edges if (w.x0 + w.x1) / 2 > e)] += 1
        for k, n in enumerate(per[1:]):
            if n:
                counts[k].append(n)
    return any(c and sorted(c)[len(c) // 2] <= 3 for c in counts)
