"""Offset of a value inside JSON text, for error messages with line and column.

The standard json module gives no positions, so this walks the text with its own scanner
(json.JSONDecoder.raw_decode skips values we don't descend into).
"""
from __future__ import annotations

import json

_decoder = json.JSONDecoder()
_WS = " \t\n\r"


def _skip_ws(s: str, i: int) -> int:
    while i < len(s) and s[i] in _WS:
        i += 1
    return i


def position(source: str, path: list) -> int | None:
    i = _skip_ws(source, 0)
    for key in path:
        if i >= len(source):
            return None
        if isinstance(key, int):
            if source[i] != "[":
                return None
            i = _skip_ws(source, i + 1)
            for _ in range(key):
                _, i = _decoder.raw_decode(source, i)
                i = _skip_ws(source, i)
                if source[i] != ",":
                    return None
                i = _skip_ws(source, i + 1)
        else:
            if source[i] != "{":
                return None
            i = _skip_ws(source, i + 1)
            while True:
                if source[i] == "}":
                    return None
                name, i = _decoder.raw_decode(source, i)
                i = _skip_ws(source, i)
                i = _skip_ws(source, i + 1)  # the colon
                if name == key:
                    break
                _, i = _decoder.raw_decode(source, i)
                i = _skip_ws(source, i)
                if source[i] == ",":
                    i = _skip_ws(source, i + 1)
    return i
