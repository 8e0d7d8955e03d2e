"""The vocabularies (drugs, bone sites, cohort words, sections) as read from `pipeline/data/`.

Kept as data so a reviewer can extend them for another disease without touching code.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


class DataFileError(ValueError):
    """A data file of pipeline/data/ that the code cannot read: its name and what is wrong."""


# The keys each data file must hold, and no others ("_doc" and other "_" keys are comments). A
# nested set names the keys of that entry too; None leaves the entry's contents to its reader
# (limits and plausibility bounds are read into settings objects that check their own keys).
_GRAMMAR = {"affect_verbs", "be", "combined", "diagnosis_words", "hedges", "joiners", "label_fillers", "measured_from",
            "part_of", "phrase_stops", "predicate_stops", "prepositions", "refractory_words", "relative", "repeats", "subset_verbs",
            "sum_joiners"}
_RANKING = {"confidence", "discussion", "enrolment", "final", "mention", "min_margin", "other_group", "part",
            "partition_sum", "reference", "screened", "share", "strong_score", "subgroup", "subset_verb", "title",
            "treated"}
DATA_FILES: dict[str, dict | None] = {
    "citation.json": None,
    "cohort.json": {"own_cues": None, "local_cues": None, "other_cues": None},
    "concepts.json": {"concepts": None, "grammar": dict.fromkeys(_GRAMMAR)},
    "drugs.json": {"classes": None, "class_labels": None, "agents": None, "class_terms": None, "spelling_variants": None},
    "figures.json": {"cohort_ranking": dict.fromkeys(_RANKING), "resolution": None},
    "limits.json": None,
    "pdf.json": {"furniture_cues": None},
    "plausibility.json": None,
    "sections.json": {"sections": None, "table_caption": None},
    "shapes.json": {"shapes": None},
    "sites.json": {"sites": None, "not_sites": None},
}


def load(name: str) -> dict:
    """A data file of pipeline/data/, its keys checked against DATA_FILES: a bad file is refused
    naming the file and the key, not found later as a KeyError inside a worker."""
    path = f"pipeline/data/{name}"
    if name not in DATA_FILES:
        raise DataFileError(f"{path}: not a data file of the project (known: {', '.join(sorted(DATA_FILES))})")
    try:
        data = json.loads(resources.files("pipeline").joinpath("data", name).read_text("utf-8"))
    except json.JSONDecodeError as e:
        raise DataFileError(f"{path}: not valid JSON: {e}") from None
    return checked(name, data)


def checked(name: str, data):
    """`data` as the contents of data file `name`, or DataFileError naming the file and the key."""
    _check_keys(f"pipeline/data/{name}", data, DATA_FILES[name], "")
    return data


def _check_keys(path: str, data, spec: dict | None, where: str) -> None:
    if spec is None:
        return
    if not isinstance(data, dict):
        raise DataFileError(f"{path}: {where or 'the file'} must be an object of {', '.join(sorted(spec))}")
    given = {k for k in data if not k.startswith("_")}
    missing, unknown = sorted(set(spec) - given), sorted(given - set(spec))
    if missing:
        raise DataFileError(f"{path}: missing key {where}{missing[0]!r}")
    if unknown:
        raise DataFileError(f"{path}: unknown key {where}{unknown[0]!r} (known: {', '.join(sorted(spec))})")
    for key, inner in spec.items():
        _check_keys(path, data[key], inner, f"{where}{key}.")


@dataclass(frozen=True)
class Term:
    text: str            # as listed, lower case
    label: str           # DRUG, SITE, COHORT, ...
    key: str             # agent or class for drugs, bone for sites
    drug_class: str | None = None
    agent: bool = False  # a named drug (etanercept), not a class word (anti-TNF)


@lru_cache(maxsize=1)
def terms() -> tuple[Term, ...]:
    out: list[Term] = []
    drugs = load("drugs.json")
    for agent, spec in drugs["agents"].items():
        out += [Term(n.lower(), "DRUG", agent, spec["class"], agent=True) for n in spec["names"]]
    for cls, names in drugs["class_terms"].items():
        out += [Term(n.lower(), "DRUG", cls, cls) for n in names]
    sites = load("sites.json")
    for bone, names in sites["sites"].items():
        out += [Term(n.lower(), "SITE", bone) for n in names]
    out += [Term(n.lower(), "NOT_SITE", n) for n in sites["not_sites"]]
    # Each term in both spellings ("tumor" / "tumour"), listed once.
    seen = {(t.label, t.text) for t in out}
    for term in list(out):
        for a, b in drugs["spelling_variants"]:
            for old, new in ((a, b), (b, a)):
                text = term.text.replace(old, new)
                if text != term.text and (term.label, text) not in seen:
                    seen.add((term.label, text))
                    out.append(Term(text, term.label, term.key, term.drug_class, term.agent))
    return tuple(out)


@lru_cache(maxsize=1)
def term_index() -> dict[tuple[str, str], Term]:
    """(label, lower-case text) -> Term, to map a recognised entity back to its vocabulary entry."""
    return {(t.label, _fold(t.text)): t for t in terms()}


def _fold(s: str) -> str:
    return re.sub(r"\s+", " ", s.lower().replace("α", "a").replace("-", " ")).strip()


def lookup(label: str, text: str) -> Term | None:
    return term_index().get((label, _fold(text)))


def cohort() -> dict:
    return load("cohort.json")


@lru_cache(maxsize=1)
def drug_classes() -> tuple[str, ...]:
    """The drug classes, in the order tables and plots list them."""
    return tuple(load("drugs.json")["classes"])


def drug_label(drug_class: str) -> str:
    """A class as a person reads it ("TNF inhibitor"), for plot titles."""
    return load("drugs.json")["class_labels"].get(drug_class, drug_class)
