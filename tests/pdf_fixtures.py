"""Typeset test PDFs from the seed texts (reportlab), plus unreadable files.

The seed article has its two tables flattened into the text; the builders
cut them out and set them as ruled tables, with the caption as prose above.
"""
from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen import canvas
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph, Spacer, Table, TableStyle

HEADER = "Pediatric Rheumatology  2019"
TABLE_CAPTIONS = {
    "Table I. Demographic, Clinical and Laboratory Features of Patients.": ("Features", "Results*"),
    "Table II. Distribution of Affected Bones on Magnetic Resonance Imaging.": ("Affected bones", "Results, n (%)"),
}


def article_blocks(text: str) -> list[tuple[str, object]]:
    """Seed text -> [("para", text) | ("table", [[cell, cell], ...])]."""
    paras = [" ".join(_join_lines(p.split("\n"))) for p in re.split(r"\n\s*\n|\n(?= Table II\.)", text)]
    paras = [" ".join(p.split()) for p in paras if p.strip()]
    blocks: list[tuple[str, object]] = []
    i = 0
    while i < len(paras):
        para = paras[i]
        if para not in TABLE_CAPTIONS:
            blocks.append(("para", para))
            i += 1
            continue
        blocks.append(("para", para))
        rows = [list(TABLE_CAPTIONS[para])]
        i += 1
        if paras[i].startswith(rows[0][0]):
            i += 1  # the flattened header row
        while i < len(paras) and not paras[i].startswith(("*:", "Treatments")):
            rows.append(_split_row(paras[i]))
            i += 1
        blocks.append(("table", rows))
    return blocks


def _join_lines(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in (ln.strip() for ln in lines):
        if out and out[-1].endswith("-"):
            out[-1] += line
        elif line:
            out.append(line)
    return out


def _split_row(para: str) -> list[str]:
    m = re.search(r"\s(\d[\d,.]*\s*(\(.*)?)$", para)
    return [para[: m.start()], m.group(1)] if m else [para, ""]


def article_pdf(path: Path, text: str, columns: int = 1, header: str | None = None,
                page_numbers: bool = False) -> Path:
    """Typeset the seed article in one or two columns with ruled tables."""
    width, height = A4
    margin, gutter = 56, 24
    col_w = (width - 2 * margin - (columns - 1) * gutter) / columns
    frames = [
        Frame(margin + k * (col_w + gutter), margin, col_w, height - 2 * margin,
              leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id=f"col{k}")
        for k in range(columns)
    ]

    def decorate(c, doc):
        c.setFont("Helvetica", 8)
        if header:
            c.drawString(margin, height - 30, header)
        if page_numbers:
            c.drawCentredString(width / 2, 24, str(doc.page))

    doc = BaseDocTemplate(str(path), pagesize=A4, pageTemplates=[PageTemplate("p", frames, onPage=decorate)])
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=9.5, leading=12, spaceAfter=6)
    story = []
    for kind, content in article_blocks(text):
        if kind == "para":
            story.append(Paragraph(escape(str(content)), body))
        else:
            cell = ParagraphStyle("cell", fontName="Helvetica", fontSize=8, leading=9.5)
            cells = [[Paragraph(escape(c), cell) for c in row] for row in content]
            table = Table(cells, colWidths=[col_w * 0.62, col_w * 0.36])
            table.setStyle(TableStyle([
                ("GRID", (0, 0), (-1, -1), 0.5, "black"),
            ]))
            story += [table, Spacer(1, 8)]
    doc.build(story)
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
