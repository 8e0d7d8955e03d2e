"""Words, lines and tables on a page, in PDF points (x to the right, top downwards)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


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
