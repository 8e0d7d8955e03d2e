"""Typeset test PDFs from seed texts (reportlab), plus unreadable files.

`article_blocks` cuts a text into paragraphs and tables, as a typesetter would see them: a text
file flattens each table into a caption line and one line per row ("Femur 10 (66.7)"); the
builders set those tables again as tables (ruled, between rules, unruled, or as lines of text),
in one column or across the page, with the caption above or below, and the values in one
column or several, so that reading the PDF back can be compared with the text it came from.
"""
from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen import canvas
from reportlab.platypus import BaseDocTemplate, Frame, KeepTogether, PageTemplate, Paragraph, Spacer, Table, TableStyle
from reportlab.platypus.flowables import BalancedColumns

from pipeline.read.text import normalise

HEADER = "Pediatric Rheumatology  2019"
NOTICE = ("How to cite this article Kaya et al. (2019), Chronic recurrent multifocal osteomyelitis in children: "
          "a single centre experience. Pediatr Rheumatol 2019; 17: 1-8.")
# The seed's header rows, cell by cell (its text flattens them into one line).
HEADERS = {
    "Features Results*": ["Features", "Results*"],
    "Affected bones Results, n (%)": ["Affected bones", "Results, n (%)"],
}
_CAPTION = re.compile(r"^\s*(Table|TABLE)\s+([IVX]+|\d+)\b")
# The first value of a row: a count, a percentage, a range, a dash for none.
_VALUE = re.compile(r"(?:^|\s)(?=[<>≤≥]?\d[\d.,]*(?:\s|$|[-–(%)/]))|(?:^|\s)(?=[-–—](?:\s|$))")


@dataclass
class TableBlock:
    caption: str
    header: list[str]          # the header row's cells ([] when the table has none)
    rows: list[list[str]]      # each row: label, then its values
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Layout:
    """How `article_pdf` sets a text."""
    columns: int = 1
    tables: str = "grid"        # grid (a rule around every cell) | rules (above, under the header, below) | none | text
    table_width: str = "column"  # column | page (across all columns)
    caption: str = "above"      # above | below the table
    value_columns: bool = False  # "8 (53.4)" set as two cells, n and %
    header: str | None = None   # a running header on every page
    page_numbers: bool = False
    notice: str | None = None   # a one-off notice at the foot of page 1 ("How to cite ...")


# The layouts the agreement benchmark and the tests set a text in.
LAYOUTS = {
    "one_column_grid": Layout(1, "grid"),
    "two_column_grid": Layout(2, "grid", header=HEADER, page_numbers=True),
    "two_column_rules_notice": Layout(2, "rules", header=HEADER, page_numbers=True, notice=NOTICE),
    "two_column_unruled_n_and_pct": Layout(2, "none", value_columns=True, page_numbers=True),
    "two_column_rows_as_text": Layout(2, "text", header=HEADER),
    "two_column_wide_tables_caption_below": Layout(2, "rules", table_width="page", caption="below"),
    "three_column_rules": Layout(3, "rules", page_numbers=True),
    "three_column_rows_as_text": Layout(3, "text"),
}


def article_blocks(text: str) -> list[tuple[str, object]]:
    """A text -> [("para", text) | ("table", TableBlock)], in order."""
    paras = _paragraphs(text)
    blocks: list[tuple[str, object]] = []
    i = 0
    while i < len(paras):
        lines = paras[i]
        if not _CAPTION.match(lines[0]):
            blocks.append(("para", _flow(lines)))
            i += 1
            continue
        caption = [lines[0]]
        rest = lines[1:]
        while rest and not caption[-1].endswith((".", ")", ":")) and not _VALUE.search(rest[0]):
            caption.append(rest.pop(0))
        table = TableBlock(_flow(caption), [], [])
        row_lines: list[str] = []
        i += 1
        pending, ended = [rest] if rest else [], False
        # Rows follow until running prose, a heading before prose, or a note (sentences).
        while not ended:
            if not pending:
                if i >= len(paras) or _CAPTION.match(paras[i][0]) or _is_prose(paras[i]):
                    break
                heading = len(paras[i]) == 1 and len(paras[i][0].split()) <= 6 and not _ends_in_value(paras[i][0])
                if heading and i + 1 < len(paras) and _is_prose(paras[i + 1]):
                    break
                pending.append(paras[i])
                i += 1
            para = pending.pop()
            for k, line in enumerate(para):
                if _sentence_like(line):
                    table.notes.append(_flow(para[k:]))
                    ended = True
                    break
                row_lines.append(line)
        rows = [_cells(line) for line in row_lines]
        if rows and len(rows[0]) == 1 and not _ends_in_value(row_lines[0]):
            header = rows.pop(0)[0]
            table.header = HEADERS.get(header, [header])
        table.rows = rows
        blocks.append(("table", table))
    return blocks


def _paragraphs(text: str) -> list[list[str]]:
    """Blank-line separated paragraphs as lists of stripped lines; a caption line starts its own."""
    out = []
    for raw in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in raw.split("\n") if ln.strip()]
        start = 0
        for k in range(1, len(lines)):
            if _CAPTION.match(lines[k]) and lines[k - 1].endswith((".", ")")):
                out.append(lines[start:k])
                start = k
        if lines[start:]:
            out.append(lines[start:])
    return out


def _flow(lines: list[str]) -> str:
    """Lines of a paragraph -> one line of text, words broken at line ends joined as the pipeline joins them."""
    return " ".join(normalise("\n".join(lines)).text.split())


_FUNCTION_WORDS = {"the", "of", "and", "was", "were", "is", "are", "in", "with", "to", "for", "as", "by", "not",
                   "at", "than", "more", "may", "have", "had", "be", "or", "on", "who", "which", "that"}


def _ends_in_value(line: str) -> bool:
    return bool(re.search(r"(?:^|\s)[(\[]?[<>≤≥-]?\d[\d.,:;/()%\-–]*\)?$|(?:^|\s)(?:-|NA)$", line))


def _sentence_like(line: str) -> bool:
    """A line of running text (a note, prose) rather than a row: words of a sentence, no value at the end."""
    words = line.split()
    return len(words) >= 6 and not _ends_in_value(line) and sum(w.lower() in _FUNCTION_WORDS for w in words) >= 2


def _is_prose(lines: list[str]) -> bool:
    return len(lines) >= 2 and sum(1 for ln in lines if not _ends_in_value(ln)) >= 2 and any(map(_sentence_like, lines))


def _cells(line: str) -> list[str]:
    """A flattened row -> its label and its values: "NSAIDs 36 15 (41.7)" -> ["NSAIDs", "36", "15 (41.7)"]."""
    line = " ".join(line.split())
    m = _VALUE.search(line)
    if not m or (m.start() == 0 and not line[:1].isdigit()):
        return [line]
    label, values = line[: m.start()].strip(), line[m.start():].split()
    cells: list[str] = []
    for token in values:
        starts_value = bool(re.match(r"[<>≤≥]?\d|[-–—]$", token))
        if cells and (not starts_value or token.startswith("(")):
            cells[-1] += " " + token
        else:
            cells.append(token)
    return ([label] if label else []) + cells


def article_pdf(path: Path, text: str, layout: Layout = Layout()) -> Path:
    """Typeset a text in `layout`: its paragraphs flow in columns, its tables are set as tables."""
    width, height = A4
    margin, gutter = 56, 20 if layout.columns > 2 else 24
    text_w = width - 2 * margin
    col_w = (text_w - (layout.columns - 1) * gutter) / layout.columns
    spanning = layout.table_width == "page" and layout.columns > 1
    if spanning:
        # One frame; the prose between tables is set in balanced columns, the tables across them.
        frames = [Frame(margin, margin, text_w, height - 2 * margin, leftPadding=0, rightPadding=0,
                        topPadding=0, bottomPadding=0, id="page")]
    else:
        frames = [Frame(margin + k * (col_w + gutter), margin, col_w, height - 2 * margin,
                        leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id=f"col{k}")
                  for k in range(layout.columns)]

    def decorate(c, doc):
        c.setFont("Helvetica", 8)
        if layout.header:
            c.drawString(margin, height - 30, layout.header)
        if layout.page_numbers:
            c.drawCentredString(width / 2, 24, str(doc.page))
        if layout.notice and doc.page == 1:
            c.setFont("Helvetica", 7)
            t = c.beginText(margin, 40)
            for line in _wrap(layout.notice, 120):
                t.textLine(line)
            c.drawText(t)

    doc = BaseDocTemplate(str(path), pagesize=A4, pageTemplates=[PageTemplate("p", frames, onPage=decorate)])
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=9.5 if layout.columns < 3 else 8.5,
                          leading=12 if layout.columns < 3 else 10.5, spaceAfter=6)
    story: list = []
    prose: list = []

    def flush_prose():
        if spanning and prose:
            story.append(BalancedColumns(list(prose), nCols=layout.columns, innerPadding=gutter / 2))
        else:
            story.extend(prose)
        prose.clear()

    for kind, content in article_blocks(text):
        if kind == "para":
            prose.append(Paragraph(escape(str(content)), body))
            continue
        if spanning:
            flush_prose()
        target = story if spanning else prose
        target += _table_flowables(content, layout, text_w if spanning else col_w, body)
    flush_prose()
    doc.build(story)
    return path


def _table_flowables(table: TableBlock, layout: Layout, table_w: float, body: ParagraphStyle) -> list:
    caption = Paragraph(escape(table.caption), ParagraphStyle("caption", parent=body, fontName="Helvetica-Bold"))
    notes = [Paragraph(escape(n), ParagraphStyle("note", parent=body, fontSize=8, leading=9.5)) for n in table.notes]
    if layout.tables == "text":
        row_style = ParagraphStyle("row", parent=body, fontName="Helvetica-Bold", spaceAfter=1)
        rows = ([" ".join(table.header)] if table.header else []) + [" ".join(r) for r in table.rows]
        lines = [Paragraph(escape(r), row_style) for r in rows]
        return ([caption, *lines] if layout.caption == "above" else [*lines, caption]) + notes
    rows = [list(r) for r in table.rows]
    header = list(table.header)
    if layout.value_columns:
        rows = [[r[0], *[part for v in r[1:] for part in _split_value(v)]] for r in rows]
        if header and header[-1].endswith("n (%)"):
            header = [" ".join([*header[:-1], header[-1][:-len("n (%)")]]).strip(), "n", "(%)"]
    # As many columns as most rows have; the odd longer row (page furniture the text kept,
    # "Paediatr Rheumatol Pract 2022; 9: 211-222") keeps its extra words in its last cell.
    counts = [len(r) for r in rows if len(r) > 1] or [2]
    ncols = max(max(set(counts), key=counts.count), len(header), 2)
    rows = [r if len(r) <= ncols else [*r[:ncols - 1], " ".join(r[ncols - 1:])] for r in rows]
    cell = ParagraphStyle("cell", fontName="Helvetica", fontSize=8, leading=9.5)
    data = []
    if header:
        data.append(header + [""] * (ncols - len(header)))
    data += [r + [""] * (ncols - len(r)) for r in rows]
    # Each value column as wide as its longest value (so a value wraps only at its spaces, as a
    # typesetter would set it; words in it may wrap), the labels the rest, at least half the table.
    from reportlab.pdfbase.pdfmetrics import stringWidth

    values = [max([stringWidth(r[k], "Helvetica", 8) + 16 for r in rows if k < len(r) and not re.search(r"[A-Za-z]{2}", r[k])]
                  + [24.0]) for k in range(1, ncols)]
    room = table_w * 0.98 - table_w / 2
    if sum(values) > room:
        values = [v * room / sum(values) for v in values]
    widths = [table_w * 0.98 - sum(values), *values]
    t = Table([[Paragraph(escape(c), cell) for c in row] for row in data], colWidths=widths,
              repeatRows=1 if header else 0)
    style = []
    last = len(data) - 1
    if layout.tables == "grid":
        style.append(("GRID", (0, 0), (-1, -1), 0.5, "black"))
    elif layout.tables == "rules":
        style += [("LINEABOVE", (0, 0), (-1, 0), 0.8, "black"), ("LINEBELOW", (0, last), (-1, last), 0.8, "black")]
        if header:
            style.append(("LINEBELOW", (0, 0), (-1, 0), 0.5, "black"))
    if header and len(table.header) == 1 and ncols > 1:
        style.append(("SPAN", (0, 0), (-1, 0)))
    t.setStyle(TableStyle(style))
    parts = [caption, t] if layout.caption == "above" else [t, caption]
    head = [KeepTogether([parts[0], Spacer(1, 3)])] if layout.caption == "above" else []
    return ([*head, parts[1]] if layout.caption == "above" else parts) + [Spacer(1, 6), *notes]


def _split_value(value: str) -> list[str]:
    """ "8 (53.4)" -> "8", "(53.4)"; "9.0 (0.6-15.0) years" -> "9.0", "(0.6-15.0) years"."""
    m = re.fullmatch(r"(\S+) (\(.*\)(?: [a-z]+)?)", value)
    return [m.group(1), m.group(2)] if m else [value]


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + [line] if line else lines


def rows_across_columns_pdf(path: Path, text: str, breaks: tuple[str, str]) -> Path:
    """The seed's first table set as lines of text in two columns, one row a line (its label and
    values joined by a space, wrapped when too long), with no space between rows; the two rows
    named in `breaks` are wrapped so that the first one's second line opens the right column and
    the second one's opens page 2. Prose before and after, as in the seed."""
    from reportlab.lib.utils import simpleSplit

    width, height = A4
    # Columns narrow enough that the longest rows wrap.
    margin, gutter, size, leading = 80, 40, 9.5, 12
    col_w = (width - 2 * margin - gutter) / 2
    blocks = article_blocks(text)
    k = next(i for i, (kind, _) in enumerate(blocks) if kind == "table")
    table = blocks[k][1]
    before = [str(c) for kind, c in blocks[k - 3:k] if kind == "para"]
    after = [str(c) for kind, c in blocks[k + 1:k + 4] if kind == "para"]
    wrap = lambda t: simpleSplit(t, "Helvetica", size, col_w)  # noqa: E731
    lines: list[tuple[str, bool]] = []       # (line, starts a paragraph)
    for para in before:
        lines += [(ln, i == 0) for i, ln in enumerate(wrap(para))]
    lines += [(ln, i == 0) for i, ln in enumerate(wrap(table.caption))]
    for row in [table.header, *table.rows]:
        lines += [(ln, False) for ln in wrap(" ".join(row))]
    for para in after:
        lines += [(ln, i == 0) for i, ln in enumerate(wrap(para))]
    # Each column ends after the first line of the row it breaks.
    texts = [ln for ln, _ in lines]
    ends = [next(i for i, ln in enumerate(texts) if b.startswith(ln) and ln != b) + 1 for b in breaks]
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("Helvetica", size)
    x, y, column = margin, height - margin, 0
    for i, (line, starts) in enumerate(lines):
        if i in ends:
            column += 1
            if column == 2:
                c.showPage()
                c.setFont("Helvetica", size)
                column = 0
            x, y = margin + column * (col_w + gutter), height - margin
        elif starts and i:
            y -= leading * 0.8
        c.drawString(x, y, line)
        y -= leading
    c.save()
    return path


def lines_pdf(path: Path, lines: list[str], size: float = 10, leading: float = 13) -> Path:
    """One PDF line per seed line, a wider gap at blank lines (single column)."""
    width, height = A4
    c = canvas.Canvas(str(path), pagesize=A4)
    y = height - 72
    c.setFont("Helvetica", size)
    for line in lines:
        if y < 72:
            c.showPage()
            c.setFont("Helvetica", size)
            y = height - 72
        if line.strip():
            c.drawString(72, y, line.strip())
            y -= leading
        else:
            y -= leading * 0.8
    c.save()
    return path


def encrypted_pdf(path: Path, user_password: str) -> Path:
    from reportlab.lib.pdfencrypt import StandardEncryption

    enc = StandardEncryption(userPassword=user_password, ownerPassword="owner-secret")
    c = canvas.Canvas(str(path), pagesize=A4, encrypt=enc)
    c.setFont("Helvetica", 11)
    c.drawString(72, 760, "There were 15 CRMO patients (8M/7F) in this encrypted file.")
    c.save()
    return path


def png_bytes(width: int = 64, height: int = 64) -> bytes:
    """A grey gradient PNG, built by hand so no imaging library is needed."""
    raw = b"".join(b"\x00" + bytes((x * 4 + y) % 256 for x in range(width)) for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def scanned_pdf(path: Path) -> Path:
    """An image-only page, as a scanner makes: no text layer."""
    from fpdf import FPDF

    png = path.with_suffix(".png")
    png.write_bytes(png_bytes())
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(png), x=10, y=10, w=180)
    pdf.output(str(path))
    return path
