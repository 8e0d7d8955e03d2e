"""The vocabularies (drugs, bone sites, cohort words, sections) as read from `pipeline/data/`.

Kept as data so a reviewer can extend them for another disease without touching code.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


def load(name: str) -> dict:
    return json.loads(resources.files("pipeline").joinpath("data", name).read_text("utf-8"))


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
