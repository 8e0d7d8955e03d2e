"""PDF stage: a PDF -> per-page text in reading order, with its table rows marked.

`scan` reads the words and ruled tables of each page (the one expensive pass), `furniture` drops
running headers, footers and notices, `layout` puts each page's words in reading order (columns
within columns), and `tables` turns tables, however they are set, into one line per row, as a
text file's flattened tables have them. Hyphenated line ends are left alone: the shared
normalisation joins them for .txt and PDF input alike, so offsets stay comparable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .furniture import is_furniture, kept_margin_words, running_keys
from .layout import Segment, reading_order
from .scan import PdfReadError, scan_pdf
from .settings import PdfSettings
from .tables import Unit, document_units

__all__ = ["DEFAULT_SETTINGS", "PdfPage", "PdfRead", "PdfReadError", "PdfSettings", "read_pdf"]

# What a batch reads PDFs with (read_document passes no settings).
DEFAULT_SETTINGS = PdfSettings()

@dataclass(frozen=True)
class PdfPage:
    number: int
    text: str
    table_spans: tuple[tuple[int, int], ...]   # offsets in `text` of the lines that are table rows
    continues: bool = False   # its first paragraph goes on from the foot of the page before


@dataclass(frozen=True)
class PdfRead:
    pages: list[PdfPage]
    page_count: int                             # pages in the file
    notes: list[str] = field(default_factory=list)   # what was not read, for the run report


def read_pdf(path: Path, settings: PdfSettings | None = None) -> PdfRead:
    """Read a PDF into pages of text in reading order.

    Raises PdfReadError (and nothing else) for a file that cannot be read.
    """
    settings = settings or DEFAULT_SETTINGS
    path = Path(path)
    try:
        return _read(path, settings)
    except PdfReadError:
        raise
    except RecursionError:
        raise PdfReadError("not a readable PDF: nesting too deep") from None
    except Exception as exc:  # untrusted input: any parser failure is a read error
        from .scan import short

        raise PdfReadError(f"not a readable PDF: {short(exc)}") from exc


def _read(path: Path, settings: PdfSettings) -> PdfRead:
    scans = scan_pdf(path, settings)
    running = running_keys(scans.pages, settings)
    segments: list[Segment] = []
    for scan in scans.pages:
        words = scan.body + kept_margin_words(scan, running)
        segments += reading_order(words, scan.tables, settings, scan.number, scan.height, scan.rules)
    units = [u for u in document_units(segments, settings) if not _is_notice(u, settings.furniture_margin)]
    pages = [_render(number, [u for u in units if u.page == number]) for number in (s.number for s in scans.pages)]
    if sum(len(p.text.split()) for p in pages) == 0:
        raise PdfReadError("no text layer: OCR it first")
    notes = []
    if scans.page_count > len(scans.pages):
        notes.append(f"read the first {len(scans.pages)} of {scans.page_count} pages (max_pages)")
    return PdfRead(pages, scans.page_count, notes)


def _is_notice(unit: Unit, margin: float) -> bool:
    """A one-off notice near the top or bottom of a page ("How to cite this article ...")."""
    near_edge = unit.bottom <= unit.page_height * margin or unit.top >= unit.page_height * (1 - margin)
    return unit.kind == "para" and near_edge and is_furniture(unit.lines[0])


def _render(number: int, units: list[Unit]) -> PdfPage:
    """A page's units -> its text: a blank line between paragraphs, and around each row and caption."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for unit in units:
        if out:
            out.append("\n\n")
            pos += 2
        if unit.kind == "row":
            spans.append((pos, pos + len(unit.lines[0])))
        text = "\n".join(unit.lines)
        out.append(text)
        pos += len(text)
    return PdfPage(number, "".join(out), tuple(spans), bool(units) and units[0].overleaf)
