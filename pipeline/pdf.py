"""PDF stage: turn a PDF into per-page text in reading order.

Hyphenated line ends are deliberately left alone: the shared normalisation
stage joins them for .txt and PDF input alike, so offsets stay comparable.
"""

from __future__ import annotations

import logging
import re
import statistics
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, NamedTuple

# pdfminer logs every odd operator of a real PDF ("Cannot set non-stroke color: 2 components"):
# noise on a reviewer's terminal, in every worker process; a PDF that cannot be read is reported
# in one line anyway.
logging.getLogger("pdfminer").setLevel(logging.ERROR)


class PdfReadError(Exception):
    """A PDF that cannot be read; the message is one line naming the cause."""


@dataclass(frozen=True)
class PdfPage:
    number: int
    text: str
    table_spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class PdfSettings:
    # Longer documents are theses or supplements; the cohort figures of a
    # paper are in its first pages, so the rest is skipped with a warning
    # rather than failing the paper.
    max_pages: int = 300
    timeout_seconds: float = 120.0
    # Fractions of the page height where running headers/footers are looked for.
    header_margin: float = 0.08
    footer_margin: float = 0.08
    # A header/footer line is "running" when it recurs on this many pages.
    running_min_pages: int = 2
    # pdfplumber word grouping, in points. 3 pt merges the words of small
    # fonts in PDFs without space characters (LaTeX output).
    x_tolerance: float = 1.5
    y_tolerance: float = 3.0
    # Narrowest gap between two columns, in points.
    min_gutter: float = 8.0
    # Each column must be at least this fraction of the text width; this
    # keeps an unruled two-column table from being read as page columns.
    min_column_fraction: float = 0.15
    # A vertical gap larger than this many line heights starts a paragraph.
    paragraph_gap: float = 0.7
    find_tables: bool = True
    # Fewer non-blank characters than this in the whole document means
    # a scan without a text layer.
    min_text_chars: int = 20

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PdfSettings":
        valid = [f.name for f in fields(cls)]
        for key in d:
            if key not in valid:
                raise ValueError(
                    f"unknown PDF setting {key!r}; valid settings: {', '.join(valid)}"
                )
        return cls(**d)


class _Word(NamedTuple):
    x0: float
    top: float
    x1: float
    bottom: float
    text: str


class _Table(NamedTuple):
    x0: float
    top: float
    x1: float
    bottom: float
    rows: tuple[str, ...]


@dataclass
class _Line:
    top: float
    bottom: float
    words: list[_Word]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in sorted(self.words, key=lambda w: w.x0))


@dataclass
class _Scan:
    """What the expensive pdfplumber pass keeps of one page."""

    number: int
    body: list[_Word]
    tables: list[_Table]
    margin_lines: list[tuple[str, list[_Word]]]  # (running key, words)


def read_pdf(path: Path, settings: PdfSettings | None = None, notes: list[str] | None = None) -> list[PdfPage]:
    """Read a PDF into pages of text in reading order. `notes` collects what the reader left out
    (pages past `max_pages`), for the run report.

    Raises PdfReadError (and nothing else) for a file that cannot be read.
    """
    settings = settings or PdfSettings()
    path = Path(path)
    try:
        return _read(path, settings, notes if notes is not None else [])
    except PdfReadError:
        raise
    except RecursionError:
        raise PdfReadError("not a readable PDF: nesting too deep") from None
    except Exception as exc:  # untrusted input: any parser failure is a read error
        raise PdfReadError(f"not a readable PDF: {_short(exc)}") from exc


def _short(exc: BaseException) -> str:
    msg = " ".join(str(exc).split())
    name = type(exc).__name__
    return f"{name}: {msg[:120]}" if msg else name


def _read(path: Path, settings: PdfSettings, notes: list[str]) -> list[PdfPage]:
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
        raise PdfReadError(f"not a readable PDF: {_short(cause)}") from None
    with pdf:
        pages = pdf.pages
        if len(pages) > settings.max_pages:
            notes.append(f"read the first {settings.max_pages} of {len(pages)} pages (PdfSettings.max_pages)")
        scans = []
        for page in pages[: settings.max_pages]:
            scans.append(_scan_page(page, settings))
            page.close()
            elapsed = time.monotonic() - start
            if elapsed > settings.timeout_seconds:
                raise PdfReadError(
                    f"time limit of {settings.timeout_seconds:g} s exceeded at page {page.page_number}"
                )

    running = _running_keys(scans, settings)
    result = []
    for scan in scans:
        body = list(scan.body)
        for key, words in scan.margin_lines:
            if key not in running and not _is_margin_noise(words):
                body.extend(words)
        text, spans = _layout(body, scan.tables, settings)
        result.append(PdfPage(scan.number, text, spans))
    if sum(len(p.text.split()) for p in result) == 0:
        raise PdfReadError("no text layer: OCR it first")
    return result


def _check_bytes(path: Path) -> None:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(1024)
            fh.seek(max(0, size - 1024))
            tail = fh.read()
    except OSError as exc:
        raise PdfReadError(f"cannot open file: {exc.strerror or _short(exc)}") from None
    if size == 0:
        raise PdfReadError("empty file")
    if b"%PDF-" not in head:
        shown = head[:20].decode("latin-1").encode("unicode_escape").decode("ascii")
        raise PdfReadError(f"not a PDF: file starts with {shown!r}")
    # Readers require %%EOF within the last 1024 bytes; without it the file
    # was cut off, and parsers that "repair" it return partial pages silently.
    if b"%%EOF" not in tail:
        raise PdfReadError("not a readable PDF: truncated (no %%EOF at the end)")


def _check_pdfium(path: Path, settings: PdfSettings) -> None:
    """Fast checks with pdfium before the slow pdfplumber pass.

    A scanned book would otherwise cost a full pdfplumber pass to find
    out it has no text.
    """
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise PdfReadError("encrypted PDF: remove the password first") from None
        # pdfminer is sometimes more forgiving; let it decide.
        return
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


_PAGE_NUMBER = re.compile(r"^(page\s*)?[-–(]?\s*\d{1,4}\s*[-–)]?(\s*(of|/)\s*\d{1,4})?$", re.I)
_PAGE_OF = re.compile(r"\bpage\s*\d+(\s*(of|/)\s*\d+)?")
_LINK = re.compile(r"\bdoi\b|doi\.org|https?://|www\.", re.I)


def _is_margin_noise(words: list[_Word]) -> bool:
    text = " ".join(w.text for w in words)
    return bool(_PAGE_NUMBER.match(text.strip()) or _LINK.search(text))


def _running_key(words: list[_Word]) -> str:
    # Letters only: page numbers and years move around between pages.
    text = " ".join(w.text for w in sorted(words, key=lambda w: w.x0))
    text = _PAGE_OF.sub(" ", text.lower())
    return " ".join(re.findall(r"[^\W\d_]+", text))


def _running_keys(scans: list[_Scan], settings: PdfSettings) -> set[str]:
    pages_with: dict[str, set[int]] = {}
    for scan in scans:
        for key, _ in scan.margin_lines:
            if key:
                pages_with.setdefault(key, set()).add(scan.number)
    need = max(2, settings.running_min_pages)
    return {key for key, pages in pages_with.items() if len(pages) >= need}


def _scan_page(page: Any, settings: PdfSettings) -> _Scan:
    width, height = float(page.width), float(page.height)
    raw = page.extract_words(
        x_tolerance=settings.x_tolerance,
        y_tolerance=settings.y_tolerance,
        keep_blank_chars=False,
    )
    upright = [w for w in raw if w.get("upright", True)]
    # Sideways text is usually a "Downloaded from ..." stamp in the margin;
    # keep it only when it is most of the page (a rotated page).
    kept = upright if len(upright) * 2 >= len(raw) else raw
    words = [
        _Word(float(w["x0"]), float(w["top"]), float(w["x1"]), float(w["bottom"]), w["text"])
        for w in kept
        if w["x1"] > 0 and w["x0"] < width and w["bottom"] > 0 and w["top"] < height
    ]

    tables = _find_tables(page, settings) if settings.find_tables else []
    if tables:
        words = [w for w in words if not any(_inside(w, t) for t in tables)]

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
    margin_lines = [
        (_running_key(line.words), line.words)
        for line in _cluster_lines(top_words) + _cluster_lines(bottom_words)
    ]
    return _Scan(page.page_number, body, tables, margin_lines)


def _inside(w: _Word, t: _Table) -> bool:
    cx, cy = (w.x0 + w.x1) / 2, (w.top + w.bottom) / 2
    return t.x0 <= cx <= t.x1 and t.top <= cy <= t.bottom


def _find_tables(page: Any, settings: PdfSettings) -> list[_Table]:
    # find_tables is costly; a ruled table needs at least two rules each way.
    if len(page.horizontal_edges) < 2 or len(page.vertical_edges) < 2:
        return []
    tables = []
    for table in page.find_tables():
        rows = []
        for cells in table.extract(x_tolerance=settings.x_tolerance):
            row = " ".join(" ".join(c.split()) for c in cells if c and c.strip())
            if row:
                rows.append(row)
        ncols = max((len(r.cells) for r in table.rows), default=0)
        # A single framed box (sidebar, page border) is prose, not a table.
        if len(rows) >= 2 and ncols >= 2:
            x0, top, x1, bottom = (float(v) for v in table.bbox)
            tables.append(_Table(x0, top, x1, bottom, tuple(rows)))
    return tables


def _cluster_lines(words: list[_Word]) -> list[_Line]:
    """Group words into text lines by vertical overlap.

    Overlap (rather than equal tops) keeps superscripts with their line.
    """
    lines: list[_Line] = []
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
            lines.append(_Line(w.top, w.bottom, [w]))
    lines.sort(key=lambda ln: ln.top)
    return lines


def _find_gutter(rows: list[_Line], settings: PdfSettings) -> float | None:
    """x of the gap between two columns, or None for a single-column page.

    The gutter is the vertical band that the fewest rows have a word over,
    with column text on both sides; it need not be at the page middle, and
    the columns' baselines need not line up.
    """
    if len(rows) < 6:
        return None
    x_min = min(w.x0 for r in rows for w in r.words)
    x_max = max(w.x1 for r in rows for w in r.words)
    span = x_max - x_min
    if span <= 0:
        return None
    diff = [0] * (int(span) + 3)
    for row in rows:
        for w in row.words:
            diff[int(w.x0 - x_min)] += 1
            diff[int(w.x1 - x_min) + 1] -= 1
    cover, running = [], 0
    for d in diff:
        running += d
        cover.append(running)
    lo, hi = int(0.2 * span), int(0.8 * span)
    least = min(cover[lo : hi + 1])
    if least > 0.5 * len(rows):
        return None
    # Centre of the widest run of bins near the least coverage: a few
    # stray words (a long keyword line) may poke into the gutter.
    ceiling = least + max(2, 0.05 * len(rows))
    best_x, best_width, i = 0.0, -1, lo
    while i <= hi:
        if cover[i] > ceiling:
            i += 1
            continue
        j = i
        while j <= hi and cover[j] <= ceiling:
            j += 1
        if j - i > best_width:
            best_width, best_x = j - i, (i + j - 1) / 2
        i = j
    if best_width < settings.min_gutter:
        return None
    gutter = x_min + best_x
    left_x0, left_x1, right_x0, right_x1 = [], [], [], []
    for row in rows:
        if any(w.x0 < gutter < w.x1 for w in row.words):
            continue
        lw = [w for w in row.words if w.x1 <= gutter]
        rw = [w for w in row.words if w.x0 >= gutter]
        if lw:
            left_x0.append(min(w.x0 for w in lw))
            left_x1.append(max(w.x1 for w in lw))
        if rw:
            right_x0.append(min(w.x0 for w in rw))
            right_x1.append(max(w.x1 for w in rw))
    need_rows = max(3, 0.1 * len(rows))
    if len(left_x0) < need_rows or len(right_x0) < need_rows:
        return None
    # Column extents, not line lengths: a sidebar's lines are short but its
    # column is not; a table's number column is narrow in both.
    need = settings.min_column_fraction * span
    left_extent = _quantile(left_x1, 0.9) - _quantile(left_x0, 0.1)
    right_extent = _quantile(right_x1, 0.9) - _quantile(right_x0, 0.1)
    if left_extent < need or right_extent < need:
        return None
    return gutter


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _label_rows(rows: list[_Line], gutter: float, settings: PdfSettings) -> list[str]:
    """Label each row full-width ("F") or in a column ("C").

    A row is full-width when a word crosses the gutter. Rows of a wide
    unruled table do not cross it (its column gap falls on the gutter), so
    a run of two or more rows is also full-width when each has wide gaps on
    both sides of the gutter, or when its right part does not start at the
    right column's left edge.
    """
    right_starts = [
        min(w.x0 for w in r.words if w.x0 >= gutter)
        for r in rows
        if any(w.x1 <= gutter for w in r.words) and any(w.x0 >= gutter for w in r.words)
    ]
    right_edge = statistics.median(right_starts) if right_starts else gutter
    labels = []
    for row in rows:
        if any(w.x0 < gutter < w.x1 for w in row.words):
            labels.append("F")
            continue
        left = sorted((w for w in row.words if w.x1 <= gutter), key=lambda w: w.x0)
        right = sorted((w for w in row.words if w.x0 >= gutter), key=lambda w: w.x0)
        if left and right and (
            right[0].x0 - right_edge > 2 * settings.min_gutter
            or (_has_wide_gap(left, settings.min_gutter) and _has_wide_gap(right, settings.min_gutter))
        ):
            labels.append("T")
        else:
            labels.append("C")
    tableish = [label == "T" for label in labels]
    for i, is_t in enumerate(tableish):
        if is_t:
            alone = not (i > 0 and tableish[i - 1]) and not (i + 1 < len(labels) and tableish[i + 1])
            labels[i] = "C" if alone else "F"
    return labels


def _has_wide_gap(words: list[_Word], width: float) -> bool:
    return any(b.x0 - a.x1 >= width for a, b in zip(words, words[1:]))


def _layout(words: list[_Word], tables: list[_Table], settings: PdfSettings) -> tuple[str, tuple[tuple[int, int], ...]]:
    rows = _cluster_lines(words)
    gutter = _find_gutter(rows, settings)

    # Units are rows and tables in top-to-bottom order, each full-width
    # ("F") or in a column ("C").
    units: list[tuple[float, str, Any]] = []
    if gutter is None:
        units = [(r.top, "F", r) for r in rows] + [(t.top, "F", t) for t in tables]
    else:
        labels = _label_rows(rows, gutter, settings)
        _absorb_short_column_runs(labels)
        units = [(r.top, label, r) for r, label in zip(rows, labels)]
        for t in tables:
            wide = t.x0 < gutter - settings.min_gutter and t.x1 > gutter + settings.min_gutter
            units.append((t.top, "F" if wide else "C", t))
    units.sort(key=lambda u: u[0])

    # Blocks: runs of full-width units, or column sections (left, then right).
    blocks: list[list[Any]] = []
    i = 0
    while i < len(units):
        kind = units[i][1]
        j = i
        while j < len(units) and units[j][1] == kind:
            j += 1
        items = [u[2] for u in units[i:j]]
        if kind == "F":
            blocks.append(items)
        else:
            # Text flows from the foot of the left column to the head of the
            # right one, so both form one block without a paragraph break.
            blocks.append(_column(items, gutter, left=True) + _column(items, gutter, left=False))
        i = j

    heights = [ln.bottom - ln.top for ln in rows]
    line_height = statistics.median(heights) if heights else 10.0
    return _render(blocks, line_height * settings.paragraph_gap)


def _column(items: list[Any], gutter: float | None, left: bool) -> list[Any]:
    """The lines and tables of one column of a section, top to bottom."""
    assert gutter is not None
    words = [
        w for row in items if isinstance(row, _Line) for w in row.words
        if ((w.x0 + w.x1) / 2 < gutter) == left
    ]
    tables = [t for t in items if isinstance(t, _Table) and ((t.x0 + t.x1) / 2 < gutter) == left]
    return sorted([*_cluster_lines(words), *tables], key=lambda item: item.top)


def _absorb_short_column_runs(labels: list[str]) -> None:
    """Turn runs of < 3 column rows between full-width rows into full-width.

    A heading such as "Abstract" above a full-width abstract does not cross
    the gutter, but it belongs to the full-width flow, not to a column.
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


def _render(blocks: list[list[Any]], para_gap: float) -> tuple[str, tuple[tuple[int, int], ...]]:
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0

    def emit(line: str, is_row: bool = False) -> None:
        nonlocal pos
        if out:
            out.append("\n")
            pos += 1
        if is_row:
            spans.append((pos, pos + len(line)))
        out.append(line)
        pos += len(line)

    def blank() -> None:
        nonlocal pos
        if out and out[-1] != "\n":
            out.append("\n")
            pos += 1

    for block in blocks:
        blank()
        prev: Any = None
        for item in block:
            if isinstance(item, _Table):
                blank()
                for row in item.rows:
                    emit(row, is_row=True)
                blank()
            else:
                if isinstance(prev, _Line) and item.top - prev.bottom > para_gap:
                    blank()
                emit(item.text)
            prev = item
    text = "".join(out).rstrip("\n")
    return text, tuple(spans)
