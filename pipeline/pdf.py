"""PDF -> pages of text (first version: pdfplumber's text per page; reading order comes next)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class PdfReadError(Exception):
    """A PDF that cannot be read; str() is the one-line reason."""


@dataclass(frozen=True)
class PdfPage:
    number: int
    text: str
    table_spans: tuple[tuple[int, int], ...] = ()


def read_pdf(path: Path, settings=None) -> list[PdfPage]:
    import pdfplumber

    try:
        with pdfplumber.open(path) as pdf:
            return [PdfPage(i + 1, page.extract_text() or "") for i, page in enumerate(pdf.pages)]
    except Exception as exc:  # pdfminer raises many kinds on a damaged file
        raise PdfReadError(f"not a readable PDF: {type(exc).__name__}") from None
