"""File -> Document: the text the pipeline keeps for a paper, with the page of every character.

A file that cannot be read raises ReadError with a one-line reason naming the cause, so the batch
can report it and go on.
"""
from __future__ import annotations

from pathlib import Path

from ..core.model import Document
from ..core.names import natural_study_id, shown

SUFFIXES = (".txt", ".pdf")


class ReadError(Exception):
    """A paper that cannot be read; str() is the one-line reason."""


def read_document(path: Path, pdf_settings=None) -> Document:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ReadError(f"unsupported file type {suffix or '(none)'}: give a .txt or .pdf file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ReadError(f"cannot open: {exc.strerror or exc}") from None
    if size == 0:
        raise ReadError("empty file")
    if suffix == ".pdf":
        return _pdf_document(path, pdf_settings)
    return _text_document(path)


def _text_document(path: Path) -> Document:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReadError(f"cannot read: {exc.strerror or exc}") from None
    utf16 = _utf16(raw)
    if utf16 is None and (b"\x00" in raw[:4096] or raw.startswith(b"%PDF")):
        raise ReadError("binary content in a .txt file: give the paper's text, or rename a PDF to .pdf")
    try:
        text = raw.decode(utf16 or "utf-8-sig")
    except UnicodeDecodeError:
        # Text copied on Windows is often cp1252; its bytes 0x80-0x9f are printable quotes and dashes.
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise ReadError(f"not UTF-8 or cp1252 text (byte {exc.start}): save the file as UTF-8") from None
    if not text.strip():
        raise ReadError("no text in file (only white space)")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return Document(natural_study_id(path.stem), shown(path), text, [(None, 0, len(text))])


def _utf16(raw: bytes) -> str | None:
    """The UTF-16 codec of text saved as UTF-16 (Windows' "Unicode"), or None: a byte-order mark,
    or, without one, a zero in every other byte of the start (ASCII letters in UTF-16)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    head = raw[:4096]
    if len(head) >= 8 and len(head) % 2 == 0:
        if head[1::2].count(0) == len(head) // 2 and head[0::2].count(0) == 0:
            return "utf-16-le"
        if head[0::2].count(0) == len(head) // 2 and head[1::2].count(0) == 0:
            return "utf-16-be"
    return None


def _pdf_document(path: Path, settings) -> Document:
    from .pdf import PdfReadError, read_pdf

    try:
        read = read_pdf(path, settings)
    except PdfReadError as exc:
        raise ReadError(str(exc)) from None
    # Pages are joined by a blank line, or by a line break where a paragraph goes on overleaf.
    parts, spans, tables = [], [], []
    pos = 0
    for page in read.pages:
        if parts:
            parts.append("\n" if page.continues else "\n\n")
            pos += len(parts[-1])
        spans.append((page.number, pos, pos + len(page.text)))
        tables += [(pos + a, pos + b) for a, b in page.table_spans]
        parts.append(page.text)
        pos += len(page.text)
    text = "".join(parts)
    if not text.strip():
        raise ReadError("no text layer: OCR it first")
    return Document(natural_study_id(path.stem), shown(path), text, spans, tables, notes=list(read.notes))
