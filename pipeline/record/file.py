"""A record file on disk -> its JSON, read with bounds, so no record can stop or hang a command.

A record is a file a person edits: it can be anything. Only a regular file is read (a FIFO is never
opened for a blocking read: it would wait for a writer forever), of at most `record_max_mb`; its
JSON is nested at most `record_max_depth` deep (deeper nesting exhausts the recursion of the parser,
of copying and of printing) and
holds no number of more than `number_max_digits` digits (Python refuses to convert 4,300 and takes
quadratic time below that). Every command that reads records (run, merge, validate, compare,
evaluate) reads them here, so each gives the same one-line reason for the same bad file.
"""
from __future__ import annotations

import json
import os
import stat

from ..core.limits import limits


class RecordFileError(ValueError):
    """A record file that is not a readable JSON record; str() is the one-line reason. `line` and
    `column` (1-based) say where, when the JSON text is at fault."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None):
        super().__init__(reason)
        self.line, self.column = line, column


_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket",
          stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def read_record_text(path) -> str:
    """The text of a record file. FileNotFoundError and other OSErrors pass through (the caller knows
    whether a missing file is news); a file that is not a regular file, too large or not UTF-8
    raises RecordFileError."""
    max_bytes = int(limits().record_max_mb * 1024 * 1024)
    # Non-blocking: opening a FIFO for reading would otherwise wait for a writer.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise RecordFileError(f"{file_kind(st.st_mode)}, not a record file")
        if st.st_size > max_bytes:
            raise RecordFileError(f"{_mb(st.st_size)} is over the {limits().record_max_mb:g} MB limit for a record file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:   # grew since the stat
        raise RecordFileError(f"over the {limits().record_max_mb:g} MB limit for a record file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordFileError(f"not valid UTF-8 (byte {exc.start}): save the file as UTF-8") from None


def _deeper_than(value, max_depth: int) -> bool:
    """Are lists and objects nested more than `max_depth` deep in `value`? One pass per level over
    the containers only (a record is about eight deep): a tenth of what parsing it costs."""
    level = [value] if type(value) in (dict, list) else []
    for _ in range(max_depth):
        if not level:
            return False
        nested = []
        for container in level:
            for v in (container.values() if type(container) is dict else container):
                if type(v) is dict or type(v) is list:
                    nested.append(v)
        level = nested
    return bool(level)


def parse_record(text: str):
    """JSON text -> the value, within the depth and number bounds; RecordFileError otherwise."""
    lim = limits()

    def bounded_int(digits: str) -> int:
        if len(digits.lstrip("-")) > lim.number_max_digits:
            raise RecordFileError(f"a number of {len(digits.lstrip('-')):,} digits (at most {lim.number_max_digits})")
        return int(digits)

    too_deep = RecordFileError(f"lists or objects nested more than {lim.record_max_depth} deep: not a record")
    try:
        value = json.loads(text, parse_int=bounded_int)
    except json.JSONDecodeError as exc:
        raise RecordFileError(f"not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:   # deeper than the parser's own recursion allows
        raise too_deep from None
    # Checked on the parsed value: code that copies, validates or prints a record recurses through it.
    if _deeper_than(value, lim.record_max_depth):
        raise too_deep
    return value


def read_record(path):
    """(value, text) of a record file; see read_record_text and parse_record for what raises."""
    text = read_record_text(path)
    return parse_record(text), text


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB"


def study_id_mismatch(found: str, expected: str) -> str:
    """The reason a record whose study_id is not its file's name is kept untouched."""
    return (f"its study_id is {found!r}, not {expected!r} as its file name says (another study's record "
            f"copied or renamed onto this one?): give the file its study's name, or correct study_id")
