"""The one expensive pass: open the PDF, check it can be read, and keep each page's words and ruled tables."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .furniture import running_key
from .geometry import Line, Table, Word, cluster_lines
from .settings import PdfSettings
from .tables import ruled_tables

log = logging.getLogger("pipeline.pdf")
# pdfminer logs every odd operator of a real PDF ("Cannot set non-stroke color: 2 components"):
# noise on a reviewer's terminal, in every worker process; a PDF that cannot be read is reported
# in one line anyway.
logging.getLogger("pdfminer").setLevel(logging.ERROR)


class PdfReadError(Exception):
    """A PDF that cannot be read; the message is one line naming the cause."""


@dataclass
class PageScan:
    """What the pdfplumber pass keeps of one page."""
    number: int
    height: float
    body: list[Word]
    tables: list[Table]
    rules: list[tuple[float, float, float]]   # horizontal rules outside ruled tables: (x0, x1, y)
    margin: list[tuple[str, Line]]   # lines in the header and footer bands, with their running key


@dataclass
class Scans:
    pages: list[PageScan]
    page_count: int                  # pages in the file; more than len(pages) when max_pages cut it


def scan_pdf(path: Path, settings: PdfSettings) -> Scans:
    start = time.monotonic()
    _check_bytes(path)
    _check_pdfium(path, settings)

    import pdfplumber
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        pdf = pdfplumber.open(path)
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args else exc
        if "password" in type(cause).__name__.lower() or "encrypt" in type(cause).__name__.lower():
            raise PdfReadError("encrypted PDF: remove the password first") from None
        raise PdfReadError(f"not a readable PDF: {short(cause)}") from None
    with pdf:
        pages = pdf.pages
        if len(pages) > settings.max_pages:
            log.warning("%s: reading the first %d of %d pages (max_pages)", path.name, settings.max_pages, len(pages))
        scans = []
        for page in pages[: settings.max_pages]:
            scans.append(_scan_page(page, settings))
            page.close()
            if time.monotonic() - start > settings.timeout_seconds:
                raise PdfReadError(f"time limit of {settings.timeout_seconds:g} s exceeded at page {page.page_number}")
        return Scans(scans, len(pages))


def short(exc: BaseException) -> str:
    msg = " ".join(str(exc).split())
    name = type(exc).__name__
    return f"{name}: {msg[:120]}" if msg else name


def _check_bytes(path: Path) -> None:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(1024)
            fh.seek(max(0, size - 1024))
            tail = fh.read()
    except OSError as exc:
        raise PdfReadError(f"cannot open file: {exc.strerror or short(exc)}") from None
    if size == 0:
        raise PdfReadError("empty file")
    if b"%PDF-" not in head:
        shown = head[:20].decode("latin-1").encode("unicode_escape").decode("ascii")
        raise PdfReadError(f"not a PDF: file starts with {shown!r}")
    # Readers require %%EOF within the last 1024 bytes; without it the file was cut off, and
    # parsers that "repair" it return partial pages silently.
    if b"%%EOF" not in tail:
        raise PdfReadError("not a readable PDF: truncated (no %%EOF at the end)")


def _check_pdfium(path: Path, settings: PdfSettings) -> None:
    """Fast checks with pdfium before the slow pdfplumber pass: a scanned book would otherwise cost
    a full pdfplumber pass to find out it has no text."""
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise PdfReadError("encrypted PDF: remove the password first") from None
        return  # pdfminer is sometimes more forgiving; let it decide
    try:
        found = 0
        for i in range(min(len(doc), settings.max_pages)):
            page = doc[i]
            textpage = page.get_textpage()
            found += sum(1 for ch in textpage.get_text_range() if not ch.isspace())
            textpage.close()
            page.close()
            if found >= settings.min_text_chars:
                return
    finally:
        doc.close()
    raise PdfReadError("no text layer: OCR it first")


def _scan_page(page: Any, settings: PdfSettings) -> PageScan:
    width, height = float(page.width), float(page.height)
    raw = page.extract_words(x_tolerance=settings.x_tolerance, y_tolerance=settings.y_tolerance,
                             keep_blank_chars=False)
    upright = [w for w in raw if w.get("upright", True)]
    # Sideways text is usually a "Downloaded from ..." stamp in the margin; keep it only when it
    # is most of the page (a rotated page).
    kept = upright if len(upright) * 2 >= len(raw) else raw
    words = [Word(float(w["x0"]), float(w["top"]), float(w["x1"]), float(w["bottom"]), w["text"])
             for w in kept if w["x1"] > 0 and w["x0"] < width and w["bottom"] > 0 and w["top"] < height]

    tables = ruled_tables(page, settings)
    if tables:
        words = [w for w in words if not any(_inside(w, t) for t in tables)]
    rules = _rules(page, tables)

    top_limit = height * settings.header_margin
    bottom_limit = height * (1 - settings.footer_margin)
    body, top_words, bottom_words = [], [], []
    for w in words:
        if w.bottom <= top_limit:
            top_words.append(w)
        elif w.top >= bottom_limit:
            bottom_words.append(w)
        else:
            body.append(w)
    margin = [(running_key(line), line) for line in cluster_lines(top_words) + cluster_lines(bottom_words)]
    return PageScan(page.page_number, height, body, tables, rules, margin)


def _rules(page: Any, tables: list[Table]) -> list[tuple[float, float, float]]:
    """Horizontal rules a table may be set between (a thin box's two edges count once)."""
    rules: list[tuple[float, float, float]] = []
    for e in sorted(page.horizontal_edges, key=lambda e: e["top"]):
        x0, x1, y = float(e["x0"]), float(e["x1"]), float(e["top"])
        if x1 - x0 < 30 or any(t.x0 - 2 <= x0 and x1 <= t.x1 + 2 and t.top - 2 <= y <= t.bottom + 2 for t in tables):
            continue
        if rules and y - rules[-1][2] < 2 and min(x1, rules[-1][1]) > max(x0, rules[-1][0]):
            continue
        rules.append((x0, x1, y))
    return rules


def _inside(w: Word, t: Table) -> bool:
    cx, cy = (w.x0 + w.x1) / 2, (w.top + w.bottom) / 2
    return t.x0 <= cx <= t.x1 and t.top <= cy <= t.bottom
