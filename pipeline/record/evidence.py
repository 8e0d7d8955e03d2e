"""A record's evidence against its paper's text: every quote must be the text between its offsets.

The pipeline writes evidence that holds by construction; a hand edit (or a record moved beside
another paper) can break it, and then a curator checking a figure against its quote is misled.
`validate` checks it whenever the paper's text can be found: `text/<study_id>.txt` beside the
records for a PDF, the source file for a text file. A record whose paper is not found is not
checked (a record set copied away from its papers is still valid).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from .validate import Issue, _json_path, _locate


def paper_text(record: dict, record_path: Path) -> str | None:
    """The text the record's evidence offsets point into, or None when it cannot be found."""
    from ..read.document import ReadError, read_document

    text_file = record.get("text_file")
    if isinstance(text_file, str) and text_file:
        try:
            return (Path(record_path).resolve().parent.parent / text_file).read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    source = record.get("source_file")
    if not isinstance(source, str) or not source.lower().endswith(".txt"):
        return None
    try:
        return read_document(Path(source)).text
    except (ReadError, OSError, ValueError):
        return None


def _evidence_lists(node, path: list) -> Iterator[tuple[list, list]]:
    """(JSON path, list) of every `evidence` list in the record (figures, suggestions,
    alternatives, outcome figures); records are read with bounded depth, so recursion is safe."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "evidence" and isinstance(value, list):
                yield [*path, key], value
            else:
                yield from _evidence_lists(value, [*path, key])
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _evidence_lists(value, [*path, i])


def evidence_issues(record, record_path: Path, source: str | None = None) -> list[Issue]:
    """An error for every evidence entry whose offsets fall outside the paper's text or whose
    quote is not the text between them. Nothing when the paper's text cannot be found."""
    if not isinstance(record, dict):
        return []
    text = paper_text(record, record_path)
    if text is None:
        return []
    issues = []
    for parts, items in _evidence_lists(record, []):
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            start, end, quote = item.get("start"), item.get("end"), item.get("quote")
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)) or not isinstance(quote, str):
                continue  # the schema says what is wrong
            where = [*parts, i]
            if not 0 <= start <= end <= len(text):
                message = f"evidence {start}..{end} is outside the paper's text ({len(text):,} characters)"
            elif text[start:end] != quote:
                found = text[start:end]
                found = found if len(found) <= 60 else found[:57] + "..."
                message = f"the quote is not the paper's text at {start}..{end}, which reads {found!r}"
            else:
                continue
            line, col = _locate(source, [*where, "start"]) if source else (None, None)
            issues.append(Issue(str(record_path), _json_path(where), message, line, col))
    return issues
