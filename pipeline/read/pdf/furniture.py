"""Page furniture: running headers and footers, page numbers, links and one-off notices.

Found by position (the header and footer bands of a page), by repetition (the same letters on
two or more pages) and by the cue words in `pipeline/data/pdf.json` ("How to cite this article").
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from ...core import vocab
from .geometry import Line, Word

if TYPE_CHECKING:
    from .scan import PageScan
    from .settings import PdfSettings

_PAGE_NUMBER = re.compile(r"^(page\s*)?[-–(]?\s*\d{1,4}\s*[-–)]?(\s*(of|/)\s*\d{1,4})?$", re.I)
_PAGE_OF = re.compile(r"\bpage\s*\d+(\s*(of|/)\s*\d+)?")
_LINK = re.compile(r"\bdoi\b|doi\.org|https?://|www\.", re.I)


@lru_cache(maxsize=1)
def _cue() -> re.Pattern:
    cues = vocab.load("pdf.json")["furniture_cues"]
    return re.compile(r"^\W*(?:" + "|".join(f"(?:{c})" for c in cues) + ")", re.I)


def is_furniture(text: str) -> bool:
    """Does this text start like a notice a journal prints on the page ("How to cite ...")?"""
    return bool(_cue().match(text))


def _is_noise(text: str) -> bool:
    return bool(_PAGE_NUMBER.match(text.strip()) or _LINK.search(text))


def running_key(line: Line) -> str:
    # Letters only: page numbers and years move around between pages.
    text = _PAGE_OF.sub(" ", line.text.lower())
    return " ".join(re.findall(r"[^\W\d_]+", text))


def running_keys(scans: list[PageScan], settings: PdfSettings) -> set[str]:
    pages_with: dict[str, set[int]] = {}
    for scan in scans:
        for key, _ in scan.margin:
            if key:
                pages_with.setdefault(key, set()).add(scan.number)
    need = max(2, settings.running_min_pages)
    return {key for key, pages in pages_with.items() if len(pages) >= need}


def kept_margin_words(scan: PageScan, running: set[str]) -> list[Word]:
    """The words of the header and footer bands that are the paper's text, not furniture.

    The lines of a band are taken in blocks (lines closer than a line height): a block goes when
    any of its lines is running, a page number, a link or a notice, since a notice's second line
    ("3:e118; DOI 10.7717/...") need not look like one.
    """
    kept: list[Word] = []
    block: list[tuple[str, Line]] = []

    def flush() -> None:
        if block and not any(key in running or _is_noise(line.text) or is_furniture(line.text)
                             for key, line in block):
            kept.extend(w for _, line in block for w in line.words)
        block.clear()

    for key, line in scan.margin:
        if block and line.top - block[-1][1].bottom > max(line.height, block[-1][1].height):
            flush()
        block.append((key, line))
    flush()
    return kept
