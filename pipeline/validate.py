"""Records -> validation issues: schema errors as data (file, JSON path, line, column, message).

Errors are collected, not raised one at a time, and worded for a person: "n_male: expected an
integer, got 'eight'" rather than a schema dump.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "record.schema.json"


@dataclass(frozen=True)
class Issue:
    file: str
    path: str          # JSON path, e.g. $.figures.n_male.value
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}"


@lru_cache(maxsize=1)
def validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_PATH.read_text("utf-8")))


def _json_path(parts) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


_TYPE_WORDS = {"integer": "an integer", "number": "a number", "string": "a string", "null": "null",
               "array": "a list", "object": "an object", "boolean": "true or false"}


def _friendly(error) -> str:
    parts = [p for p in error.absolute_path if not isinstance(p, int)]
    name = next((p for p in reversed(parts) if p not in ("value", "evidence", "n_responded", "n_treated")), None)
    label = f"{name}: " if name else ""
    if error.validator == "type":
        types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        want = " or ".join(_TYPE_WORDS.get(t, t) for t in types if t != "null")
        return f"{label}expected {want}, got {json.dumps(error.instance)}".replace('"', "'")
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value if v is not None)
        return f"{label}{json.dumps(error.instance)} is not one of: {allowed}".replace('"', "'")
    if error.validator == "required":
        return f"{label}missing required key {error.message.split(' ')[0]}"
    if error.validator == "additionalProperties":
        return f"{label}{error.message} (check the spelling: unknown keys are not allowed)"
    if error.validator in ("minimum", "maximum"):
        return f"{label}{error.instance} is out of range ({error.validator} {error.validator_value})"
    if error.validator == "oneOf" and error.instance is not None:
        # Report the figure's own error rather than "is not valid under any of the given schemas".
        best = min(error.context, key=lambda e: len(list(e.schema_path)), default=None)
        deeper = [e for e in error.context if e.validator != "type" or e.instance is not None]
        if deeper:
            return _friendly(max(deeper, key=lambda e: len(e.absolute_path)))
        if best is not None:
            return _friendly(best)
    return f"{label}{error.message}"


def record_issues(record: dict, file: str = "<record>", source: str | None = None) -> list[Issue]:
    """Every schema error of `record`; `source` (the JSON text) lets issues carry line and column."""
    issues = []
    for error in sorted(validator().iter_errors(record), key=lambda e: list(map(str, e.absolute_path))):
        line, col = _locate(source, list(error.absolute_path)) if source else (None, None)
        issues.append(Issue(file, _json_path(error.absolute_path), _friendly(error), line, col))
    return issues


def _locate(source: str, path: list) -> tuple[int | None, int | None]:
    """Line and column of the value at `path` in the JSON text (1-based), found by walking it."""
    from .jsonpos import position
    pos = position(source, path)
    if pos is None:
        return None, None
    line = source.count("\n", 0, pos) + 1
    col = pos - (source.rfind("\n", 0, pos) + 1) + 1
    return line, col


def validate_paths(paths) -> tuple[list[Issue], int]:
    """Issues for every record file under `paths` (files or folders), and how many files were read."""
    files = []
    for p in map(Path, paths):
        files += sorted(p.glob("*.json")) if p.is_dir() else [p]
    issues: list[Issue] = []
    for f in files:
        try:
            source = f.read_text("utf-8")
            record = json.loads(source)
        except json.JSONDecodeError as exc:
            issues.append(Issue(str(f), "$", f"not valid JSON: {exc.msg}", exc.lineno, exc.colno))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            issues.append(Issue(str(f), "$", f"cannot read: {exc}"))
            continue
        issues += record_issues(record, str(f), source)
    return issues, len(files)
