"""Records on disk -> what the review page shows: studies with their counts, a study's items (the
figures a curator decides on, one at a time) and its paper text cut into highlighted segments.

An item is what the curator sees as one figure: a count, or a described statistic (stat, value,
min, max, unit: five record figures, one item), or a treatment row (responders of treated, as in
outcomes.csv). Items are read from the record and the schema, not from a fixed list of fields, so a
field the schema gains shows up without touching this module.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from ..core.fields import DESCRIBED_STATS, SITE_PREFIX, STUDY_COLUMNS
from ..core.model import TABLE_CONFIDENCE
from ..record.curate import OUTCOME_FIGURES, is_human, outcome_label
from ..record.validate import SCHEMA_PATH, record_issues

STAT_PARTS = ("stat", "value", "min", "max", "unit")
# Which status colours a stretch of text several items' evidence covers: the one most in need of a look.
URGENCY = ("conflict", "low", "extracted", "derived", "curated", "rejected")


# ---- the schema, read for kinds and choices ---------------------------------------------------

@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text("utf-8"))


def _resolve(node: dict) -> dict:
    while "$ref" in node:
        node = schema()["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def figure_schema(name: str) -> dict | None:
    """The schema of the figure `name` of a record's `figures` (a count, number, stat or unit figure)."""
    figures = schema()["properties"]["figures"]
    if name in figures.get("properties", {}):
        return _resolve(figures["properties"][name])
    for pattern, sub in figures.get("patternProperties", {}).items():
        if re.search(pattern, name):
            return _resolve(sub)
    return None


def outcome_schema() -> dict:
    return schema()["properties"]["outcomes"]["items"]


def outcome_figure_schema(key: str) -> dict:
    options = outcome_schema()["properties"][key]["oneOf"]
    return _resolve(next(o for o in options if o.get("type") != "null"))


def value_input(figure_def: dict) -> dict:
    """How the page asks for a figure's value: {"kind": integer | number | choice, "choices": [...]}."""
    value = figure_def["properties"]["value"]
    if "enum" in value:
        return {"kind": "choice", "choices": [v for v in value["enum"] if v is not None]}
    types = value["type"] if isinstance(value["type"], list) else [value["type"]]
    return {"kind": "integer" if "integer" in types else "number", "choices": []}


def figure_names() -> list[str]:
    """The study figures the schema names, in studies.csv's column order (sites are open-ended)."""
    named = list(schema()["properties"]["figures"].get("properties", {}))
    order = {name: i for i, name in enumerate(STUDY_COLUMNS)}
    return sorted(named, key=lambda n: order.get(n, len(order)))


def drug_choices() -> list[str]:
    return list(outcome_schema()["properties"]["drug"]["enum"])


def outcome_choices() -> list[str | None]:
    return list(outcome_schema()["properties"]["outcome"]["enum"])


# ---- items --------------------------------------------------------------------------------------

@dataclass
class Part:
    key: str             # the part's name in the item: "n_male", "value", "min", ..., "n_treated"
    label: str           # its name in history and checks: "age_diagnosis_min", "outcomes.nsaid.clinical.n_treated"
    path: tuple          # where it sits in the record: ("figures", name) or ("outcomes", i, key)
    figure: dict | None
    input: dict          # value_input() of its schema


@dataclass
class Side:
    """One of the values the paper states for an item in conflict: a value per part and where."""
    values: dict[str, Any]
    evidence: list[dict]
    key: tuple = ()      # the evidence spans that name an alternative in each part; () for the figure's own


@dataclass
class Item:
    id: str              # "f:n_male", "s:age_diagnosis", "o:3"
    kind: str            # figure | stat | outcome
    title: str
    description: str
    parts: list[Part]
    row: dict | None = None          # the outcome row, for kind outcome
    sides: list[Side] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def present(self) -> list[Part]:
        return [p for p in self.parts if p.figure]

    @property
    def status(self) -> str:
        """The item's status: the most urgent of its parts' (conflict, then the machine's, then a person's)."""
        statuses = {p.figure.get("status") for p in self.present}
        return next((s for s in ("conflict", "extracted", "derived", "curated", "rejected") if s in statuses),
                    "missing")

    @property
    def low_confidence(self) -> bool:
        return any(not is_human(p.figure) and p.figure.get("confidence", 0) < TABLE_CONFIDENCE for p in self.present)

    @property
    def suggestion(self) -> dict[str, Any] | None:
        """The machine's values where a run disagrees with the curator (part key -> value), or None."""
        found = {p.key: p.figure["suggestion"].get("value") for p in self.present if p.figure.get("suggestion")}
        return found or None

    def suggested(self) -> dict[str, Any] | None:
        """The item's values as the machine's suggestion has them (the others as they are), or None."""
        suggestion = self.suggestion
        if suggestion is None:
            return None
        return {p.key: suggestion.get(p.key, p.figure.get("value") if p.figure else None) for p in self.parts}

    def values(self) -> dict[str, Any]:
        return {p.key: p.figure.get("value") if p.figure else None for p in self.parts}

    def spans(self, text: str | None) -> str:
        """The evidence spans that are highlighted in the text, as "start-end start-end"."""
        return " ".join(f"{e['start']}-{e['end']}" for e in self.evidence()
                        if text is not None and text[e["start"]:e["end"]] == e["quote"] and e["start"] < e["end"])

    @property
    def to_check(self) -> bool:
        """No person has decided on it yet (a curated figure the machine disagrees with stays
        decided: its suggestion is shown, not counted)."""
        return any(not is_human(p.figure) for p in self.present)

    @property
    def colour(self) -> str:
        return "low" if self.low_confidence and self.status in ("extracted", "derived") else self.status

    @property
    def confidence(self) -> float | None:
        values = [p.figure["confidence"] for p in self.present if "confidence" in p.figure]
        return round(min(values), 3) if values else None

    @property
    def note(self) -> str:
        return next((p.figure["note"] for p in self.present if p.figure.get("note")), "")

    @property
    def curator(self) -> str:
        return next((p.figure["curator"] for p in self.present if p.figure.get("curator")), "")

    def evidence(self) -> list[dict]:
        """Every evidence entry of the item (its parts', their alternatives' and suggestions'), once each."""
        seen, out = set(), []
        for p in self.present:
            for source in [p.figure, *p.figure.get("alternatives", []), p.figure.get("suggestion") or {}]:
                for ev in source.get("evidence", []):
                    key = (ev["start"], ev["end"])
                    if key not in seen:
                        seen.add(key)
                        out.append(ev)
        return sorted(out, key=lambda e: e["start"])

    def summary(self) -> str:
        return describe(self.kind, self.values())


def describe(kind: str, values: dict[str, Any]) -> str:
    """The values of an item as a person reads them: "median 10.5 (3.0-16.5) years", "7 of 8"."""
    def show(v):
        return "" if v is None else str(v)

    if kind == "stat":
        text = " ".join(s for s in (show(values.get("stat")), show(values.get("value"))) if s)
        if values.get("min") is not None or values.get("max") is not None:
            text += f" ({show(values.get('min'))}-{show(values.get('max'))})"
        return f"{text} {show(values.get('unit'))}".strip() or "not stated"
    if kind == "outcome":
        r, t = values.get("n_responded"), values.get("n_treated")
        if r is None:
            return f"{show(t) or '?'} treated"
        return f"{r} of {show(t) or '?'}"
    value = next(iter(values.values()), None)
    return "not stated" if value is None else str(value)


def fingerprint(item_parts: list[Part], row: dict | None) -> str:
    """A hash of what the page showed of an item, to notice it changed on disk since."""
    data = {"parts": [[p.key, p.figure] for p in item_parts],
            "row": {k: row.get(k) for k in ("drug", "agent", "outcome")} if row else None}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:20]


def alternative_key(alt: dict) -> tuple:
    """An alternative's identity across the parts of an item: the spans of the statement it is from."""
    return tuple((e["start"], e["end"]) for e in alt.get("evidence", []))


def _sides(parts: list[Part]) -> list[Side]:
    """The item's sides when the paper states it more than once with different values: the
    figure's own values first, then each alternative, matched across parts by its evidence."""
    present = [p for p in parts if p.figure]
    alt_keys: list[tuple] = []
    by_part: dict[str, dict[tuple, dict]] = {}
    for p in present:
        for alt in p.figure.get("alternatives", []):
            key = alternative_key(alt)
            by_part.setdefault(p.key, {})[key] = alt
            if key not in alt_keys:
                alt_keys.append(key)
    if not alt_keys:
        return []
    alt_spans = {span for key in alt_keys for span in key}
    own = []
    for p in present:
        for ev in p.figure.get("evidence", []):
            if (ev["start"], ev["end"]) not in alt_spans and ev not in own:
                own.append(ev)
    sides = [Side({p.key: p.figure.get("value") for p in present}, own)]
    for key in alt_keys:
        values, evidence = {}, []
        for p in present:
            alt = by_part.get(p.key, {}).get(key)
            values[p.key] = alt.get("value") if alt else p.figure.get("value")
            if alt:
                evidence += [e for e in alt.get("evidence", []) if e not in evidence]
        sides.append(Side(values, evidence, key))
    return sides


def _item(id_: str, kind: str, title: str, description: str, parts: list[Part], row: dict | None = None) -> Item:
    item = Item(id_, kind, title, description, parts, row)
    item.sides = _sides(parts)
    item.fingerprint = fingerprint(parts, row)
    return item


def _description(name: str) -> str:
    figures = schema()["properties"]["figures"]
    if name in figures.get("properties", {}):
        return figures["properties"][name].get("description", "")
    return next((sub.get("description", "") for pattern, sub in figures.get("patternProperties", {}).items()
                 if re.search(pattern, name)), "")


def study_items(record: dict) -> list[Item]:
    """The record's items: study figures in studies.csv's order (a described statistic as one
    item), then sites, then treatment rows in the record's order."""
    figures = record.get("figures") or {}
    items: list[Item] = []
    done: set[str] = set()
    names = [n for n in figure_names() if n in figures]
    names += sorted(n for n in figures if n not in names and not n.startswith(SITE_PREFIX))
    for name in names:
        base, _, part = name.rpartition("_")
        if base in DESCRIBED_STATS and part in STAT_PARTS:
            if base in done:
                continue
            done.add(base)
            parts = [Part(p, f"{base}_{p}", ("figures", f"{base}_{p}"), figures.get(f"{base}_{p}"),
                          value_input(figure_schema(f"{base}_{p}"))) for p in STAT_PARTS]
            if not any(p.figure for p in parts):
                continue
            items.append(_item(f"s:{base}", "stat", base, _description(f"{base}_value"), parts))
            continue
        fig_def = figure_schema(name)
        if fig_def is None:
            continue  # fails the schema: the page says so for the whole record
        items.append(_item(f"f:{name}", "figure", name, _description(name),
                           [Part(name, name, ("figures", name), figures.get(name), value_input(fig_def))]))
    for name in sorted(n for n in figures if n.startswith(SITE_PREFIX)):
        fig_def = figure_schema(name)
        if fig_def:
            items.append(_item(f"f:{name}", "figure", name, _description(name),
                               [Part(name, name, ("figures", name), figures[name], value_input(fig_def))]))
    for i, row in enumerate(record.get("outcomes") or []):
        parts = [Part(key, outcome_label(row, key), ("outcomes", i, key), row.get(key),
                      value_input(outcome_figure_schema(key))) for key in OUTCOME_FIGURES]
        title = f"{row.get('drug')} / {row.get('outcome') or 'treated only'}"
        items.append(_item(f"o:{i}", "outcome", title, "Responders of treated, as in outcomes.csv.", parts, row))
    return items


def find_item(items: list[Item], item_id: str) -> Item | None:
    return next((it for it in items if it.id == item_id), None)


# ---- studies -----------------------------------------------------------------------------------

COUNTED = ("extracted", "derived", "conflict", "low", "curated", "rejected", "to_check")


@dataclass
class StudySummary:
    study_id: str
    path: Path
    source_file: str | None
    counts: dict[str, int]
    problem: str | None = None       # why the record cannot be reviewed (invalid JSON, schema)

    @property
    def to_check(self) -> int:
        return self.counts.get("to_check", 0)


def item_counts(items: list[Item]) -> dict[str, int]:
    counts = dict.fromkeys(COUNTED, 0)
    counts["items"] = 0
    for it in items:
        if not it.present:
            continue
        counts["items"] += 1
        counts[it.status] += 1
        counts["low"] += it.low_confidence
        counts["to_check"] += it.to_check
    return counts


def record_files(out_dir: Path) -> dict[str, Path]:
    """study id -> record file, for every record in OUT_DIR/records: the only ids the page serves."""
    return {p.stem: p for p in sorted((Path(out_dir) / "records").glob("*.json")) if p.is_file()}


def read_record(path: Path) -> tuple[dict | None, bytes, str | None]:
    """(record, the file's bytes, why it cannot be reviewed or None)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, b"", f"cannot read: {exc.strerror or exc}"
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, raw, f"not valid JSON: {exc}"
    issues = record_issues(record, path.name)
    if issues:
        return None, raw, f"fails the schema: {issues[0].path}: {issues[0].message}"
    return record, raw, None


def version_of(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def summaries(out_dir: Path) -> list[StudySummary]:
    out = []
    for study_id, path in record_files(out_dir).items():
        record, _, problem = read_record(path)
        if record is None:
            out.append(StudySummary(study_id, path, None, dict.fromkeys(COUNTED, 0), problem))
            continue
        out.append(StudySummary(study_id, path, record.get("source_file"), item_counts(study_items(record))))
    return out


# ---- the paper's text ----------------------------------------------------------------------------

@dataclass
class PaperText:
    text: str | None
    path: Path | None
    problem: str | None = None
    pages: list[tuple[int, int, int]] = field(default_factory=list)   # (page, start, end), PDFs only


def paper_text(record: dict, out_dir: Path, papers_dir: Path | None = None) -> PaperText:
    """The kept text the record's offsets point into: text/<id>.txt for a PDF, else the paper itself
    (looked for where the run found it, then in `papers_dir` by name)."""
    out_dir = Path(out_dir)
    if record.get("text_file"):
        candidates = [out_dir / record["text_file"]]
    else:
        source = Path(record.get("source_file") or "")
        candidates = [source, out_dir.parent / source] + ([papers_dir / source.name] if papers_dir else [])
    for path in candidates:
        if path.is_file():
            try:
                text = path.read_text("utf-8-sig" if path.suffix == ".txt" else "utf-8")
            except UnicodeDecodeError:
                text = path.read_bytes().decode("cp1252", "replace")
            except OSError:
                continue
            # Offsets count characters of the text as read: newlines normalised as read/document.py does.
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            return PaperText(text, path, pages=_pages(path) if record.get("text_file") else [])
    where = ", ".join(str(p) for p in candidates)
    return PaperText(None, None, f"paper text not found (looked at {where}): give --papers FOLDER")


def _pages(text_path: Path) -> list[tuple[int, int, int]]:
    sidecar = text_path.with_suffix(".pages.json")
    try:
        return [tuple(p) for p in json.loads(sidecar.read_text("utf-8"))]
    except (OSError, ValueError, TypeError):
        return []


@dataclass
class Segment:
    start: int
    end: int
    text: str
    items: list[str]          # ids of the items whose evidence covers it
    colour: str | None
    page: int | None = None   # set on the first segment of a page


def segments(text: str, items: list[Item], pages: list[tuple[int, int, int]] = ()) -> tuple[list[Segment], list[dict]]:
    """The text cut at every evidence boundary (and page start), each piece with the items covering
    it; and the evidence entries whose quote is not the text at their offsets (not highlighted)."""
    spans: list[tuple[int, int, Item]] = []
    misplaced = []
    for it in items:
        for ev in it.evidence():
            if 0 <= ev["start"] < ev["end"] <= len(text) and text[ev["start"]:ev["end"]] == ev["quote"]:
                spans.append((ev["start"], ev["end"], it))
            else:
                misplaced.append({"item": it.id, **ev})
    page_starts = {start: page for page, start, _ in pages if 0 <= start < len(text)}
    cuts = sorted({0, len(text), *page_starts, *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        covering = [it for s, e, it in spans if s <= a and b <= e]
        ids = list(dict.fromkeys(it.id for it in covering))
        colour = min((it.colour for it in covering), key=URGENCY.index, default=None)
        out.append(Segment(a, b, text[a:b], ids, colour, page_starts.get(a)))
    return out, misplaced


def section_at(text: str, offset: int) -> str:
    """The section of the kept text an offset is in (for evidence a curator selects)."""
    from ..read.sections import text_to_sections

    for section in text_to_sections(text):
        if section.start <= offset < section.end:
            return section.name
    return "curator"


def page_at(pages: list[tuple[int, int, int]], offset: int) -> int | None:
    for page, start, end in pages:
        if start <= offset <= end:
            return page
    return None


def iter_history(record: dict, item: Item) -> Iterator[dict]:
    labels = {p.label for p in item.parts}
    return (h for h in record.get("history") or [] if h.get("field") in labels)

