"""File names -> text that can always be shown and written, and study ids that can always name a
record file (records/<study_id>.json) on any system the outputs may be copied to."""
from __future__ import annotations

import hashlib
import os
import unicodedata

from .limits import limits


def shown(path) -> str:
    """A path as text that can always be printed and written as UTF-8: bytes that are not UTF-8
    (held by Python as surrogate escapes) are shown as `\\xff`."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def natural_study_id(stem: str) -> str:
    """The study id a file's stem gives: the stem itself, with bytes that are not UTF-8 spelled
    `%FF`, and a stem too long for a file name cut, with a hash of the whole stem appended."""
    raw = os.fsencode(stem)
    sid = "".join(c if not 0xDC80 <= ord(c) <= 0xDCFF else f"%{ord(c) - 0xDC00:02X}"
                  for c in raw.decode("utf-8", "surrogateescape"))
    max_bytes = limits().study_id_max_bytes
    if len(sid.encode("utf-8")) > max_bytes:
        tail = "~" + hashlib.sha256(raw).hexdigest()[:10]
        head = sid.encode("utf-8")[: max_bytes - len(tail)].decode("utf-8", "ignore")
        sid = head + tail
    return sid


def valid_study_id(sid) -> bool:
    """Can `sid` name a record file (records/<sid>.json) on any system the outputs may go to?"""
    return (isinstance(sid, str) and bool(sid) and not sid.startswith(".") and "/" not in sid
            and "\x00" not in sid and not any(0xD800 <= ord(c) <= 0xDFFF for c in sid)
            and len(sid.encode("utf-8")) <= limits().study_id_max_bytes)


def id_key(sid: str) -> str:
    """Ids that name the same file on a case-insensitive or normalising file system share a key."""
    return unicodedata.normalize("NFC", sid).casefold()
