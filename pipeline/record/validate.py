"""Records -> validation issues: schema errors and failed arithmetic checks as data (file, JSON
path, line, column, message).

Errors are collected, not raised one at a time, and worded for a person: "n_male: expected an
integer, got 'eight'" rather than a schema dump.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator

from schemas import RECORD_SCHEMA

SCHEMA_PATH = RECORD_SCHEMA


@dataclass(frozen=True)
class Issue:
    file: str
    path: str          # JSON path, e.g. $.figures.n_male.value
    message: str
    line: int | None = None
    column: int | None = None
    severity: str = "error"  # error | warning (a warning does not make `validate` fail)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {self.path}: {prefix}{self.message}"


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


@lru_cache(maxsize=1)
def _fast_check():
    """The schema compiled to Python by fastjsonschema: about ten times faster than jsonschema on a
    valid record, which every extracted record is. It stops at the first error, so an invalid
    record is then validated again by jsonschema, which collects every error with its path.

    Only pass or fail is read from it, so its exceptions go without details. The evidence definition
    stands in place of its references: fastjsonschema calls a function for each reference and
    formats the JSON path it passes, and a record has dozens of evidence items."""
    import fastjsonschema

    schema = json.loads(SCHEMA_PATH.read_text("utf-8"))
    schema = _inline(schema, "#/$defs/evidence", schema["$defs"]["evidence"])
    return fastjsonschema.compile(schema, detailed_exceptions=False)


def _inline(node, ref: str, definition: dict):
    """`node` with every {"$ref": ref} (a reference with no keyword beside it) replaced by `definition`."""
    if node == {"$ref": ref}:
        return definition
    if isinstance(node, dict):
        return {key: _inline(value, ref, definition) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(value, ref, definition) for value in node]
    return node


def record_issues(record: dict, file: str = "<record>", source: str | None = None) -> list[Issue]:
    """Every schema error of `record`; `source` (the JSON text) lets issues carry line and column."""
    from fastjsonschema import JsonSchemaException

    try:
        _fast_check()(record)
        return number_issues(record, file, source)
    except JsonSchemaException:
        pass
    issues = []
    for error in sorted(validator().iter_errors(record), key=lambda e: list(map(str, e.absolute_path))):
        line, col = _locate(source, list(error.absolute_path)) if source else (None, None)
        issues.append(Issue(file, _json_path(error.absolute_path), _friendly(error), line, col))
    numbers = number_issues(record, file, source)
    # "expected an integer, got Infinity" says less than the number issue at the same place.
    said = {issue.path for issue in numbers}
    return [i for i in issues if i.path not in said] + numbers


def _non_finite(node, path: list):
    """(path, value) of every Infinity or NaN in a parsed JSON document."""
    if isinstance(node, float) and not math.isfinite(node):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _non_finite(value, [*path, key])
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _non_finite(value, [*path, i])


def number_issues(record, file: str = "<record>", source: str | None = None) -> list[Issue]:
    """Numbers no record may hold, however confident: Infinity or NaN anywhere (strict JSON has
    none: Python's json module reads them, most readers refuse the file), and, in a figure the tables
    would use, a negative count, age or time or an integer too large to keep exactly (the hard bounds
    of pipeline/data/plausibility.json; no note excuses them). The machine's own such figures are
    below the tables' confidence, so only a person's edit puts one here."""
    from ..core.model import usable
    from .checks import HARD_CHECKS, bound_checks

    issues = []
    for parts, value in _non_finite(record, []):
        line, col = _locate(source, parts) if source else (None, None)
        issues.append(Issue(file, _json_path(parts), f"{_figure_name(parts)}{json.dumps(value)} is not a finite number: JSON has no "
                            "such number; give the figure's value, or null if the paper does not state it", line, col))
    if issues or not isinstance(record, dict) or not isinstance(record.get("figures"), dict):
        return issues
    for label, parts, fig in _figure_places(record):
        if not (usable(fig) and isinstance(fig.get("value"), (int, float))):
            continue
        for check in bound_checks({label: fig["value"]}):
            if check["check"] in HARD_CHECKS:
                line, col = _locate(source, [*parts, "value"]) if source else (None, None)
                issues.append(Issue(file, _json_path([*parts, "value"]), check["message"], line, col))
    return issues


def _figure_name(parts: list) -> str:
    names = [p for p in parts if isinstance(p, str) and p not in ("value", "figures", "outcomes", "alternatives")]
    return f"{names[0]}: " if names else ""


def _figure_places(record: dict):
    """(label, JSON path, figure) of every figure in a record that passed the schema."""
    for name, fig in record["figures"].items():
        if isinstance(fig, dict):
            yield name, ["figures", name], fig
    for i, row in enumerate(record.get("outcomes") or []):
        for key in ("n_responded", "n_treated"):
            if isinstance(row, dict) and isinstance(row.get(key), dict):
                yield f"outcomes.{row.get('drug')}.{row.get('outcome')}.{key}", ["outcomes", i, key], row[key]


_CHECK_WORDS = {
    "sex_sum": "male + female does not add up to the cohort",
    "focality_sum": "unifocal + multifocal does not add up to the cohort",
    "count_within_cohort": "a count is larger than the cohort",
    "responders_within_treated": "more responders than treated",
    "treated_within_cohort": "more treated than the cohort (courses counted, not patients?)",
    "percent_matches_count": "the printed percentage does not fit the count",
    "within_bounds": "outside the plausible range",
    "not_above": "larger than a figure it is part of",
    "range_order": "the range does not hold its value",
}


def _plain_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def consistency_issues(record: dict, file: str = "<record>", source: str | None = None) -> list[Issue]:
    """The arithmetic checks (pipeline.checks.value_checks, the same the extraction runs) on the
    figures the record puts in the tables. A failure involving a curated figure is an error (most
    likely a typo) unless the curator left a note on it (the paper's own figures disagree); one
    among machine figures only is a warning: it is already listed under the record's checks."""
    from ..core.model import usable
    from .checks import HARD_CHECKS, value_checks

    if not isinstance(record, dict):
        return []  # the schema error says it is not a record

    def table_value(fig):
        return fig["value"] if isinstance(fig, dict) and usable(fig) and _plain_number(fig.get("value")) else None

    places: dict[str, list[tuple[list, dict]]] = {}  # check field -> (JSON path, figure) of each figure
    values = {}
    figures = record.get("figures")
    for name, fig in (figures.items() if isinstance(figures, dict) else ()):
        # Statistics and units too: the bounds read ages and times in their unit.
        if isinstance(fig, dict) and usable(fig) and fig.get("value") is not None:
            values[name] = fig["value"]
            places[name] = [(["figures", name, "value"], fig)]
    responses = []
    outcomes = record.get("outcomes")
    for i, row in enumerate(outcomes if isinstance(outcomes, list) else ()):
        if not isinstance(row, dict):
            continue
        responses.append((row.get("drug"), row.get("outcome"),
                          table_value(row.get("n_responded")), table_value(row.get("n_treated"))))
        for key in ("n_responded", "n_treated"):
            if table_value(row.get(key)) is not None:
                places[f"outcomes.{row.get('drug')}.{row.get('outcome')}.{key}"] = [(["outcomes", i, key, "value"], row[key])]
    issues = []
    for check in value_checks(values, responses):
        if check["ok"] or check["check"] in HARD_CHECKS:
            continue  # hard bounds are the record's own errors (number_issues)
        involved = [place for name in check["fields"] for place in places.get(name, [])]
        curated = [(parts, fig) for parts, fig in involved if fig.get("status") == "curated"]
        error = bool(curated) and not any(fig.get("note") for _, fig in curated)
        parts = (curated or involved)[0][0] if involved else []
        line, col = _locate(source, parts) if source else (None, None)
        words = _CHECK_WORDS.get(check["check"], check["check"])
        hint = " (correct the value, or add a note if the paper's own figures disagree)" if error else ""
        issues.append(Issue(file, _json_path(parts), f"{words}: {check['message']}{hint}", line, col,
                            "error" if error else "warning"))
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
    """Issues (schema, study id, arithmetic, evidence) for every record file under `paths` (files or
    folders), and how many files were read. Files are read with bounds (pipeline.recordfile): a
    FIFO, a huge or deeply nested file is one issue, never a hang or a crash."""
    from ..core.names import shown
    from .evidence import evidence_issues
    from .file import RecordFileError, read_record, study_id_mismatch

    files = []
    for p in map(Path, paths):
        files += sorted(p.glob("*.json")) if p.is_dir() else [p]
    issues: list[Issue] = []
    for f in files:
        name = shown(f)
        try:
            record, source = read_record(f)
        except RecordFileError as exc:
            issues.append(Issue(name, "$", str(exc), exc.line, exc.column))
            continue
        except OSError as exc:
            issues.append(Issue(name, "$", f"cannot read: {exc.strerror or exc}"))
            continue
        issues += record_issues(record, name, source)
        if isinstance(record, dict) and isinstance(record.get("study_id"), str) and record["study_id"] != f.stem:
            line, col = _locate(source, ["study_id"])
            issues.append(Issue(name, "$.study_id", study_id_mismatch(record["study_id"], shown(f.stem)), line, col))
        issues += consistency_issues(record, name, source)
        issues += evidence_issues(record, f, source)
    return issues, len(files)
