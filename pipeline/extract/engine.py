"""The extraction engine the study-level rules and the treatment rules share.

Rules read a paper's own-cohort sentences, each analysed once (`Analysed`: tokens with concepts,
count mentions, bone and drug entities), and propose `Candidate`s under a typed `Key`. Resolution
keeps, per key, the best-supported value; a different value stated with equal standing elsewhere
is a conflict, kept with both pieces of evidence. A candidate the rules are unsure of keeps a low
confidence, and the tables leave it out.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any, Callable, Iterator

from ..core import vocab
from ..core.model import TABLE_CONFIDENCE, Figure
from ..core.settings import Settings
from ..nlp.paper import Mention as Entity
from ..nlp.paper import Paper, Sentence
from ..read.text import fold_case
from .mentions import Mention, find_mentions
from .tokens import Token, tokenize


@dataclass(frozen=True)
class Resolution(Settings):
    """How one figure's statements are resolved: `resolution` in pipeline/data/figures.json."""
    section_rank: dict[str, int]
    other_section_rank: int
    conflict_confidence: float
    support_per_statement: float


@lru_cache(maxsize=1)
def resolution() -> Resolution:
    return Resolution.from_dict(vocab.load("figures.json")["resolution"], source="pipeline/data/figures.json: resolution")

Span = tuple[int, int, str]  # (start, end, section) in the normalised text
_DIGIT = re.compile(r"\d")
_N_LABELS = re.compile(r"\(\s*n\s*[=:]\s*\d+\s*\)", re.I)
_LABEL_ONLY = re.compile(r"table\s+\w+\s*[-.:\u2013\u2014]?\s*$", re.I)


@dataclass(frozen=True)
class Key:
    """What a candidate is a value of: a study field, or a count of a treatment row."""
    field: str                     # "n_patients", "site_femur", or "n_treated" / "n_responded" for a row
    drug: str | None = None        # a treatment row's drug class
    outcome: str | None = None     # "clinical", "mri", or None for a treated count of the drug as a whole

    def __str__(self) -> str:
        return self.field if self.drug is None else f"{self.drug}/{self.outcome or '-'}/{self.field}"


@dataclass
class Candidate:
    key: Key
    value: Any
    spans: list[Span]              # each statement it rests on
    rule: str
    confidence: float
    derived: bool = False
    extra: dict = field(default_factory=dict)  # stat and unit of a described statistic, printed pct, agent

    @property
    def rank(self) -> int:
        r = resolution()
        return r.section_rank.get(self.spans[0][2], r.other_section_rank)


@dataclass
class Analysed:
    """One sentence or table row as the rules read it."""
    sentence: Sentence
    caption: str | None = None     # for a table row, the caption of its table
    header: Analysed | None = None  # and its first row, which names the value columns
    derived: dict = field(default_factory=dict)  # what a rule module computes once per sentence

    @cached_property
    def tokens(self) -> list[Token]:
        return tokenize(self.sentence.text)

    @cached_property
    def mentions(self) -> list[Mention]:
        return find_mentions(self.tokens)

    @property
    def table(self) -> bool:
        return self.sentence.table

    def span(self, start: int, end: int) -> Span:
        """A span of the sentence's text as a span of the paper."""
        s = self.sentence
        return (s.start + start, s.start + end, s.section)

    def span_of(self, first: int, last: int) -> Span:
        """The span of tokens [first, last)."""
        return self.span(self.tokens[first].start, self.tokens[last - 1].end)

    def entities(self, label: str, negated: bool = False) -> list[tuple[int, int, Entity]]:
        """(first token, last token, entity) of the sentence's entities of `label`, the negated ones
        only if asked for."""
        out = []
        for e in self.sentence.ents:
            if e.label != label or (e.negated and not negated):
                continue
            first = next((i for i, t in enumerate(self.tokens) if t.end > e.start), None)
            last = next((i for i, t in enumerate(self.tokens) if t.start >= e.end), len(self.tokens))
            if first is not None and first < last:
                out.append((first, last, e))
        return out


@dataclass
class Context:
    """What rules share: the paper's own-cohort sentences, analysed, and the cohort size once known."""
    paper: Paper
    own: list[Analysed]
    n: int | None = None
    n_spans: list[Span] = field(default_factory=list)
    percents: list[tuple[str, int, float]] = field(default_factory=list)
    memo: dict = field(default_factory=dict)   # what a rule module computes once per paper

    @classmethod
    def of(cls, paper: Paper) -> Context:
        own, caption, header = [], None, None
        valued = False  # a row of the current table held figures already
        for s in paper.sentences:
            if not s.table:
                valued = False
            if s.table and s.text.lower().startswith("table"):
                caption, header = s.text, None
                continue
            if not s.table:
                caption = header = None
            elif caption and header is None and _LABEL_ONLY.match(caption) and not _DIGIT.search(s.text):
                caption += " " + s.text  # "Table 1 -" / "Demographic characteristics": the title on a line of its own
                continue
            elif header is not None and not valued and not _DIGIT.search(_N_LABELS.sub("", s.text)):
                # A header printed on two lines: "Drug Treated, n Clinical" / "remission, n (%)",
                # "Bone Lesions Children" / "(n = 41) (n = 20)".
                header = Analysed(_joined(paper, header.sentence, s))
                continue
            elif header is None and (caption or (not valued and len(_N_LABELS.findall(s.text)) >= 2)):
                # The first row names the value columns; without a caption, a row before any figures
                # that labels two columns with their n ("Bone Lesions (n = 73) Children (n = 19)") does.
                header = Analysed(s)
                continue
            if s.table and _DIGIT.search(s.text):
                valued = True
            if s.own:
                own.append(Analysed(s, caption, header) if s.table else Analysed(s))
        return cls(paper, own)

    @property
    def prose(self) -> list[Analysed]:
        return [a for a in self.own if not a.table]


def _joined(paper: Paper, first: Sentence, second: Sentence) -> Sentence:
    """Two rows read as one: the text from the first's start to the second's end."""
    shift = second.start - first.start
    ents = first.ents + [replace(e, start=e.start + shift, end=e.end + shift) for e in second.ents]
    text = paper.text[first.start:second.end]
    return replace(first, end=second.end, text=text, ents=ents, folded=fold_case(text))


Rule = Callable[[Context], Iterator[Candidate]]


class Registry:
    """Rules registered by name, run in the order they were defined."""

    def __init__(self):
        self.rules: dict[str, Rule] = {}

    def rule(self, fn: Rule) -> Rule:
        if fn.__name__ in self.rules:
            raise ValueError(f"a rule named {fn.__name__!r} is registered already")
        self.rules[fn.__name__] = fn
        return fn

    def run(self, ctx: Context, skip: tuple[str, ...] = ()) -> list[Candidate]:
        return [c for name, fn in self.rules.items() if name not in skip for c in fn(ctx)]


def evidence_of(paper: Paper, candidates: list[Candidate]):
    """The evidence of all the candidates' statements, each once, in order."""
    seen, out = set(), []
    for c in candidates:
        for span in c.spans:
            if span not in seen:
                seen.add(span)
                out.append(paper.evidence(*span))
    return out


def supported(confidence: float, statements: int) -> float:
    """A value's confidence: its best statement's, raised for each other statement of it."""
    return min(0.99, confidence + resolution().support_per_statement * (statements - 1))


def mark_conflict(figure: Figure, rivals: list[tuple[Any, str, list]]) -> None:
    """Make the figure a conflict with each (value, rule, evidence) stated against it: every value
    and all their evidence stay in the record."""
    figure.status = "conflict"
    shown = set(figure.evidence)
    for value, rule, evidence in rivals:
        figure.alternatives.append({"value": value, "rule": rule, "evidence": [e.to_json() for e in evidence]})
        figure.evidence += [e for e in evidence if e not in shown]
        shown.update(evidence)


def _standing(cs: list[Candidate]) -> tuple[bool, int, float]:
    # A value stated too unsurely for the tables never outranks a sure one, whatever its section.
    best = max(cs, key=lambda c: (c.confidence >= TABLE_CONFIDENCE, c.rank, c.confidence))
    return best.confidence >= TABLE_CONFIDENCE, best.rank, supported(max(c.confidence for c in cs), len(cs))


def resolve(paper: Paper, candidates: list[Candidate]) -> dict[Key, Figure]:
    """One figure per key: the value with the best-ranked, most confident statements.

    A different value stated with confidence >= conflict_confidence (figures.json), not derived, makes the figure a
    conflict: both values and all their evidence stay in the record.
    """
    by_key: dict[Key, list[Candidate]] = defaultdict(list)
    for c in candidates:
        by_key[c.key].append(c)
    figures: dict[Key, Figure] = {}
    for key, cands in by_key.items():
        by_value: dict[Any, list[Candidate]] = defaultdict(list)
        for c in cands:
            by_value[c.value].append(c)
        ordered = sorted(by_value.items(), key=lambda kv: _standing(kv[1]), reverse=True)
        value, cs = ordered[0]
        cs = sorted(cs, key=lambda c: (-c.rank, -c.confidence))
        figure = Figure(value, evidence_of(paper, cs), cs[0].rule, supported(max(c.confidence for c in cs), len(cs)),
                        "derived" if all(c.derived for c in cs) else "extracted")
        rivals = [(v, r[0].rule, evidence_of(paper, r)) for v, r in ordered[1:]
                  if max(c.confidence for c in r) >= resolution().conflict_confidence and not all(c.derived for c in r)]
        if rivals and not figure.status == "derived":
            mark_conflict(figure, rivals)
        figures[key] = figure
    return figures
