"""A curator's action on the review page + the record -> the edited record (pure: no files, no clock).

Each action works on one item as the curator sees it (a described statistic's five figures, or a
treatment row's two, change together) and leaves the record as a curator editing the JSON by hand
would: status `curated` or `rejected`, `curator` and `note` on the figure, and the machine's
figure kept as `suggestion` where the person's value differs from it (what `crmo-extract run`
would put there). Validation, history and writing are the caller's (pipeline/review/session.py).
"""
from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from ..core.fields import DESCRIBED_STATS
from ..record.curate import is_human, outcome_label, with_suggestion
from .model import (
    STAT_PARTS,
    Item,
    PaperText,
    alternative_key,
    describe,
    figure_schema,
    find_item,
    outcome_figure_schema,
    page_at,
    section_at,
    study_items,
    value_input,
)

ACTIONS = ("accept", "edit", "reject", "pick", "restore", "note", "add_figure", "add_row")


class ActionError(ValueError):
    """An action that cannot be applied as asked (unknown item, nothing to restore, ...); str() says why."""


@dataclass
class Action:
    """One request from the page. Unknown keys are refused by name (from_json)."""
    action: str
    version: str = ""                    # sha256 of the record file the page loaded
    item: str | None = None              # item id: f:n_male, s:age_diagnosis, o:3
    base: str | None = None              # the item's fingerprint as the page showed it
    values: dict[str, Any] = dataclasses.field(default_factory=dict)   # edit / add: part key -> value (as typed)
    side: int | None = None              # pick: index into the item's sides
    note: str | None = None              # any action: the curator's note (None: leave it as it is)
    evidence: dict | None = None         # add: {"start": int, "end": int} of the selected text
    field: str | None = None             # add_figure: n_unifocal, site_femur, age_onset (a described statistic)
    row: dict = dataclasses.field(default_factory=dict)  # add_row: drug, agent, outcome

    @classmethod
    def from_json(cls, data) -> "Action":
        if not isinstance(data, dict):
            raise ActionError("the request is not a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ActionError(f"unknown key {unknown[0]!r} in the request; known keys: {', '.join(sorted(known))}")
        if data.get("action") not in ACTIONS:
            raise ActionError(f"unknown action {data.get('action')!r}; actions: {', '.join(ACTIONS)}")
        action = cls(**data)
        if not isinstance(action.values, dict) or not isinstance(action.row, dict):
            raise ActionError("values and row must be JSON objects")
        if action.note is not None and not isinstance(action.note, str):
            raise ActionError("note must be text")
        return action


_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def parse_value(raw, spec: dict):
    """What the curator typed -> the value to store. Text that is not a number stays text, so the
    schema refuses it with the message `validate` gives ("expected an integer, got 'eight'")."""
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if text == "":
        return None
    if spec["kind"] == "choice":
        return text
    if _INTEGER.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        return float(text)
    return text


def _get(record: dict, path: tuple):
    node = record
    for step in path:
        node = node[step]
    return node


def _set(record: dict, path: tuple, value) -> None:
    _get(record, path[:-1])[path[-1]] = value


def _curated(figure: dict, value, curator: str, note: str | None, changed: dict | None = None) -> dict:
    """`figure` (or its `changed` version) set by a person to `value`, with the machine's figure as
    suggestion where the values differ, as the next run would store it."""
    machine = figure.get("suggestion") if is_human(figure) else figure
    human = {**(changed or figure), "value": value, "status": "curated", "curator": curator}
    if note is not None:
        human["note"] = note or None
    kept, _ = with_suggestion(human, machine)
    return kept


def _curator_figure(value, evidence: list[dict], curator: str, note: str | None) -> dict:
    fig = {"value": value, "evidence": evidence, "rule": "curator", "status": "curated", "curator": curator}
    if note:
        fig["note"] = note
    return fig


def _mark(figure: dict, status: str, curator: str, note: str | None) -> dict:
    fig = {**figure, "status": status, "curator": curator}
    if note is not None:
        fig["note"] = note or None
    return fig


def selected_evidence(selection: dict | None, paper: PaperText) -> list[dict]:
    """The evidence entry of text the curator selected: the quote is taken from the kept text at
    the offsets (never from the browser), with its section and page."""
    if not selection:
        return []
    if paper.text is None:
        raise ActionError(f"cannot take evidence from the text: {paper.problem}")
    try:
        start, end = int(selection["start"]), int(selection["end"])
    except (KeyError, TypeError, ValueError):
        raise ActionError("evidence needs integer start and end offsets") from None
    if not 0 <= start < end <= len(paper.text):
        raise ActionError(f"evidence {start}-{end} is outside the paper's text (0-{len(paper.text)})")
    return [{"quote": paper.text[start:end], "section": section_at(paper.text, start), "start": start,
             "end": end, "page": page_at(paper.pages, start)}]


def apply_action(record: dict, action: Action, curator: str, paper: PaperText) -> tuple[dict, str]:
    """The record after `action` (a copy) and a one-line description of what changed."""
    new = copy.deepcopy(record)
    if action.action == "add_figure":
        return new, _add_figure(new, action, curator, paper)
    if action.action == "add_row":
        return new, _add_row(new, action, curator, paper)
    item = find_item(study_items(new), action.item or "")
    if item is None:
        raise ActionError(f"no figure {action.item!r} in this record")
    if not item.present and action.action != "edit":
        raise ActionError(f"{item.title}: the record has no figure to {action.action}; use edit or add")
    do = {"accept": _accept, "reject": _reject, "edit": _edit, "pick": _pick, "restore": _restore,
          "note": _note}[action.action]
    message = do(new, item, action, curator)
    if item.kind == "outcome" and action.action == "edit" and "agent" in action.values:
        agent = action.values["agent"]
        new["outcomes"][item.parts[0].path[1]]["agent"] = (agent.strip() or None) if isinstance(agent, str) else agent
    return new, message


def _accept(record, item: Item, action: Action, curator: str) -> str:
    for p in item.present:
        _set(record, p.path, _curated(p.figure, p.figure.get("value"), curator, action.note))
    return f"{item.title}: accepted {item.summary()}"


def _reject(record, item: Item, action: Action, curator: str) -> str:
    for p in item.present:
        _set(record, p.path, _mark(p.figure, "rejected", curator, action.note))
    return f"{item.title}: rejected"


def _note(record, item: Item, action: Action, curator: str) -> str:
    if action.note is None:
        raise ActionError("note: give the note's text (empty to remove it)")
    for p in item.present:
        fig = {**p.figure, "note": action.note or None}
        if is_human(fig):
            fig["curator"] = curator
        _set(record, p.path, fig)
    return f"{item.title}: note saved"


def _edit(record, item: Item, action: Action, curator: str) -> str:
    known = {p.key for p in item.parts} | ({"agent"} if item.kind == "outcome" else set())
    unknown = sorted(set(action.values) - known)
    if unknown:
        raise ActionError(f"{item.title} has no part {unknown[0]!r}; its parts: {', '.join(sorted(known))}")
    changed = False
    for p in item.parts:
        if p.key not in action.values:
            if p.figure and not is_human(p.figure):
                # One figure to the curator: confirming some parts of a statistic confirms all.
                _set(record, p.path, _curated(p.figure, p.figure.get("value"), curator, action.note))
            continue
        value = parse_value(action.values[p.key], p.input)
        if p.figure:
            _set(record, p.path, _curated(p.figure, value, curator, action.note))
            changed = True
        elif value is not None:
            _set(record, p.path, _curator_figure(value, [], curator, action.note))
            changed = True
    if not changed and "agent" not in action.values:
        raise ActionError(f"{item.title}: nothing to edit (give a value)")
    after = find_item(study_items(record), item.id)
    return f"{item.title}: set to {after.summary() if after else ''}"


def _pick(record, item: Item, action: Action, curator: str) -> str:
    if not item.sides:
        raise ActionError(f"{item.title}: not in conflict, nothing to pick")
    if not isinstance(action.side, int) or not 0 <= action.side < len(item.sides):
        raise ActionError(f"{item.title}: side must be 0 to {len(item.sides) - 1}")
    side = item.sides[action.side]
    own = item.sides[0].evidence
    for p in item.present:
        fig = p.figure
        alts = fig.get("alternatives", [])
        chosen = next((a for a in alts if alternative_key(a) == side.key), None) if side.key else None
        changed = None
        if chosen is not None:
            # The chosen statement becomes the figure, the figure's own statement one of its
            # alternatives: what the paper states stays in the record either way.
            spans = set(side.key)
            mine = [e for e in fig.get("evidence", []) if (e["start"], e["end"]) not in spans] or own
            changed = {**fig, "evidence": chosen.get("evidence", []),
                       "alternatives": [{"value": fig.get("value"), "rule": fig.get("rule", ""), "evidence": mine},
                                        *(a for a in alts if a is not chosen)]}
        value = chosen.get("value") if chosen is not None else fig.get("value")
        _set(record, p.path, _curated(fig, value, curator, action.note, changed))
    return f"{item.title}: picked {describe(item.kind, side.values)}"


def _restore(record, item: Item, action: Action, curator: str) -> str:
    restored = 0
    for p in item.present:
        suggestion = p.figure.get("suggestion")
        if not suggestion:
            continue
        fig = {k: v for k, v in suggestion.items() if k in ("value", "evidence", "rule", "confidence", "alternatives")}
        fig.setdefault("evidence", [])
        fig.setdefault("rule", p.figure.get("rule", "curator"))
        fig.update(status="curated", curator=curator)
        note = action.note if action.note is not None else p.figure.get("note")
        if note:
            fig["note"] = note
        _set(record, p.path, fig)
        restored += 1
    if not restored:
        raise ActionError(f"{item.title}: no machine suggestion to restore (the machine agrees, or no run has disagreed)")
    after = find_item(study_items(record), item.id)
    return f"{item.title}: restored the machine's {after.summary() if after else ''}"


def _add_figure(record, action: Action, curator: str, paper: PaperText) -> str:
    name = (action.field or "").strip()
    figures = record.setdefault("figures", {})
    evidence = selected_evidence(action.evidence, paper)
    if name in DESCRIBED_STATS:
        names = {part: f"{name}_{part}" for part in STAT_PARTS}
        present = [n for n in names.values() if figures.get(n)]
        if present:
            raise ActionError(f"{name} is already in the record ({present[0]}): edit it instead")
        added = 0
        for part, full in names.items():
            value = parse_value(action.values.get(part), value_input(figure_schema(full)))
            if value is not None:
                figures[full] = _curator_figure(value, evidence, curator, action.note)
                added += 1
        if not added:
            raise ActionError(f"{name}: give at least one of {', '.join(STAT_PARTS)}")
        return f"{name}: added"
    spec = figure_schema(name)
    if spec is None:
        raise ActionError(f"unknown figure {name!r}: give a studies.csv column such as n_unifocal, or site_<bone>")
    if figures.get(name):
        raise ActionError(f"{name} is already in the record: edit it instead")
    extra = sorted(set(action.values) - {"value"})
    if extra:
        raise ActionError(f"{name} takes one value, not {extra[0]!r}")
    value = parse_value(action.values.get("value"), value_input(spec))
    figures[name] = _curator_figure(value, evidence, curator, action.note)
    return f"{name}: added {value}"


def _add_row(record, action: Action, curator: str, paper: PaperText) -> str:
    row = action.row
    unknown = sorted(set(row) - {"drug", "agent", "outcome"})
    if unknown:
        raise ActionError(f"unknown key {unknown[0]!r} in the row; a row has drug, agent and outcome")
    drug, outcome = row.get("drug"), row.get("outcome") or None
    outcomes = record.setdefault("outcomes", [])
    if any(r.get("drug") == drug and r.get("outcome") == outcome for r in outcomes):
        raise ActionError(f"a row {drug} / {outcome} is already in the record: edit it instead")
    evidence = selected_evidence(action.evidence, paper)
    new_row = {"drug": drug, "agent": (row.get("agent") or "").strip() or None, "outcome": outcome,
               "n_responded": None, "n_treated": None}
    for key in ("n_responded", "n_treated"):
        value = parse_value(action.values.get(key), value_input(outcome_figure_schema(key)))
        if value is not None:
            new_row[key] = _curator_figure(value, evidence, curator, action.note)
    if new_row["n_responded"] is None and new_row["n_treated"] is None:
        raise ActionError("a treatment row needs n_responded or n_treated")
    outcomes.append(new_row)
    return f"{outcome_label(new_row, '*')[:-2]}: added"
