"""Paper -> figures: rules propose candidates, resolution picks one value per field.

Each rule reads sentences (prose or table rows) that describe the paper's own cohort and proposes
Candidates with the spans that state them. Resolution then keeps, per field, the best-supported
value; a different value stated with equal standing in another part of the paper is a conflict, kept
with both pieces of evidence for the curator. A candidate the rules are unsure of keeps a low
confidence, and the tables leave it out.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterator

from . import vocab
from .numbers import NUM, as_count, counts_for_percent, parse_number
from .paper import Paper, Sentence
from .records import Figure

# Below this confidence a figure stays in the record as a candidate but out of the tables.
TABLE_CONFIDENCE = 0.5

# Which statement wins when a paper states a figure twice: Results and tables over Methods over
# the abstract over the conclusion.
SECTION_RANK = {"table": 5, "results": 5, "methods": 4, "abstract": 3, "front": 3, "conclusion": 2,
                "background": 1, "discussion": 1}


@dataclass
class Candidate:
    field: str
    value: Any
    spans: list[tuple[int, int, str]]   # normalised (start, end, section) of each statement
    rule: str
    confidence: float
    derived: bool = False
    group: str | None = None            # an outcome row key, for drug x outcome figures

    @property
    def rank(self) -> int:
        return SECTION_RANK.get(self.spans[0][2], 2)


RULES: list[Callable[[Paper], Iterator[Candidate]]] = []


def rule(fn):
    """Register a rule; rules run in the order they are defined."""
    RULES.append(fn)
    return fn


@lru_cache(maxsize=1)
def _words():
    c = vocab.cohort()
    nouns = sorted(c["cohort_nouns"], key=len, reverse=True)
    coh = r"(?:" + "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in nouns) + r")\b"
    male = r"(?:" + "|".join(sorted(c["male_words"], key=len, reverse=True)) + r")"
    female = r"(?:" + "|".join(sorted(c["female_words"], key=len, reverse=True)) + r")"
    enrol = r"(?:" + "|".join(re.escape(v).replace(r"\ ", r"\s+") for v in c["enrol_verbs"]) + r")"
    return coh, male, female, enrol


def own_sentences(paper: Paper, table: bool | None = None) -> Iterator[Sentence]:
    for s in paper.sentences:
        if s.own and (table is None or s.table == table):
            yield s


def _span(s: Sentence, m: re.Match, group: int | str = 0) -> tuple[int, int, str]:
    return (s.start + m.start(group), s.start + m.end(group), s.section)


def _sentence_span(s: Sentence) -> tuple[int, int, str]:
    return (s.start, s.end, s.section)


def _num(text: str):
    return parse_number(text)


# --- cohort size ---------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _cohort_patterns() -> list[tuple[re.Pattern, float, str]]:
    coh, male, female, enrol = _words()
    adj = r"(?:[\w-]+\s+){0,3}?"
    return [
        # "There were 15 CRMO patients", "Altogether, ... 18 patients were diagnosed"
        (re.compile(rf"\bthere\s+were\s+(?P<n>{NUM})\s+{adj}{coh}", re.I), 0.9, "cohort_there_were"),
        # "Forty-one children were included", "twenty-five children under the age of 16 years were diagnosed"
        (re.compile(rf"(?P<n>{NUM})\s+{adj}{coh}(?:[^.;]{{0,60}}?)\s{enrol}", re.I), 0.9, "cohort_enrolled"),
        # "features of the patients (n: 15)", "patients (n = 19)"
        (re.compile(rf"\b(?:the|all|our)\s+{coh}\s*\(\s*[nN]\s*[:=]\s*(?P<n>\d+)\s*\)", re.I), 0.85, "cohort_n_equals"),
        # "We retrospectively reviewed 30 children", "This report describes 30 CNO patients"
        (re.compile(rf"\b(?:reviewed|included|enrolled|describes?|described|report(?:s|ed)?|studied|analy[sz]ed|identified|recruited)\s+(?:the\s+)?(?:records\s+of\s+|data\s+(?:of|from)\s+)?(?:all\s+)?(?P<n>{NUM})\s+{adj}{coh}", re.I), 0.8, "cohort_reviewed"),
        # "Among the 774 documented patients"
        (re.compile(rf"^\s*(?:among|of)\s+(?:the|all|our)\s+(?P<n>{NUM})\s+{adj}{coh}", re.I), 0.75, "cohort_among"),
        # "In this multicenter cohort of 41 children"
        (re.compile(rf"\b(?:cohort|series|group)\s+of\s+(?:all\s+)?(?P<n>{NUM})\s+{adj}{coh}", re.I), 0.75, "cohort_of"),
        # A title: "... 30 children from a multicentre Belgian cohort", "... in 9 pediatric patients"
        (re.compile(rf"\b(?:all\s+)?(?P<n>{NUM})\s+(?:consecutive\s+)?{adj}{coh}", re.I), 0.55, "cohort_title"),
    ]


def _is_count(value, text_after: str = "") -> bool:
    v = as_count(value)
    return v is not None and 0 < v < 100000 and not (1900 <= v <= 2100)


@rule
def cohort_size(paper: Paper) -> Iterator[Candidate]:
    seen = set()
    for s in own_sentences(paper, table=False):
        for pat, conf, name in _cohort_patterns():
            if name == "cohort_title" and s.section != "front":
                continue
            for m in pat.finditer(s.text):
                n = _num(m.group("n"))
                if not _is_count(n) or (s.start + m.start("n")) in seen:
                    continue
                if _negated_count(s.text, m.start("n")):
                    continue
                seen.add(s.start + m.start("n"))
                yield Candidate("n_patients", int(n), [_span(s, m)], name, conf)


def _negated_count(text: str, at: int) -> bool:
    """A count inside "of the N patients" or after "age of" is not a cohort size."""
    before = text[max(0, at - 12):at].lower()
    return bool(re.search(r"(?:age of|aged|\bof|/)\s*$", before)) and not re.search(r"(?:cohort|series|group|among the|of the|of all)\s+$", text[max(0, at - 20):at].lower())


# --- sex split ------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _sex_patterns() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    coh, male, female, enrol = _words()
    def one(g):
        return rf"(?:(?P<{g}n>{NUM})\s*(?P<{g}sex>{male}|{female})\b)"
    a, b = one("a"), one("b")
    # "(8M/7F)", "(5 F: 4 M)", "(9F, 8M)", "(31 girls and 10 boys)", "16 females, 9 males"
    pair = re.compile(rf"{a}\s*(?:[/,:;]|and|\s)\s*{b}", re.I)
    # Table row: "Male gender 8 (53.4)", "Female, n (%) 7 (46.7)"
    row = re.compile(rf"^(?P<sex>{male}|{female})\b[^\d]{{0,30}}?(?P<n>\d+)\s*\(\s*\d+(?:[.,]\d+)?\s*%?\s*\)", re.I)
    # "55.6% of them were female", "62.8% were female"
    pct = re.compile(rf"(?P<pct>\d+(?:[.,]\d+)?)\s*%\s*(?:of\s+(?:them|the\s+{coh}|{coh})\s+)?(?:were|was|being)\s+(?P<sex>{male}|{female})\b", re.I)
    return pair, row, pct


def _sex_field(word: str) -> str:
    _, male, _, _ = _words()
    return "n_male" if re.fullmatch(male, word, re.I) else "n_female"


@rule
def sex_split(paper: Paper) -> Iterator[Candidate]:
    pair, row, _ = _sex_patterns()
    for s in own_sentences(paper):
        if s.table:
            m = row.match(s.text)
            if m:
                yield Candidate(_sex_field(m.group("sex")), int(m.group("n")), [_span(s, m)], "sex_table_row", 0.85)
            continue
        for m in pair.finditer(s.text):
            fa, fb = _sex_field(m.group("asex")), _sex_field(m.group("bsex"))
            if fa == fb:
                continue
            na, nb = _num(m.group("an")), _num(m.group("bn"))
            if not (_is_count(na) and _is_count(nb)):
                continue
            yield Candidate(fa, int(na), [_span(s, m)], "sex_pair", 0.9)
            yield Candidate(fb, int(nb), [_span(s, m)], "sex_pair", 0.9)


# --- resolution -----------------------------------------------------------------------------

@dataclass
class Resolved:
    figures: dict[str, Figure] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)


def resolve(paper: Paper, candidates: list[Candidate]) -> dict[str, Figure]:
    """One figure per field: the value with the best-ranked, most confident statement.

    A different value stated with confidence >= 0.8 in an own-cohort section of the paper makes the
    figure a conflict: both values and all their evidence stay in the record.
    """
    by_field: dict[str, list[Candidate]] = defaultdict(list)
    for c in candidates:
        by_field[c.field].append(c)
    figures: dict[str, Figure] = {}
    for name, cands in by_field.items():
        by_value: dict[Any, list[Candidate]] = defaultdict(list)
        for c in cands:
            by_value[c.value].append(c)

        def support(cs: list[Candidate]):
            best = max(cs, key=lambda c: (c.rank, c.confidence))
            return (best.rank, round(max(c.confidence for c in cs) + 0.05 * (len(cs) - 1), 3))

        ordered = sorted(by_value.items(), key=lambda kv: support(kv[1]), reverse=True)
        value, cs = ordered[0]
        cs = sorted(cs, key=lambda c: (-c.rank, -c.confidence))
        conf = min(0.99, max(c.confidence for c in cs) + 0.05 * (len(cs) - 1))
        evidence = _dedupe([paper.evidence(a, b, sec) for c in cs for a, b, sec in c.spans])
        figure = Figure(value, evidence, cs[0].rule, conf, "derived" if all(c.derived for c in cs) else "extracted")
        rivals = [(v, r) for v, r in ordered[1:] if max(c.confidence for c in r) >= 0.8 and not all(c.derived for c in r)]
        if rivals:
            figure.status = "conflict"
            for v, r in rivals:
                ev = _dedupe([paper.evidence(a, b, sec) for c in r for a, b, sec in c.spans])
                figure.alternatives.append({"value": v, "rule": r[0].rule, "evidence": [e.__dict__ for e in ev]})
                figure.evidence += [e for e in ev if e not in figure.evidence]
        figures[name] = figure
    return figures


def _dedupe(evidence):
    out = []
    for e in evidence:
        if e not in out:
            out.append(e)
    return out


def extract(paper: Paper) -> dict[str, Figure]:
    """All rules over the paper, resolved to one figure per field, then derived figures."""
    candidates = [c for r in RULES for c in r(paper)]
    figures = resolve(paper, candidates)
    _derive_sex_complement(figures)
    return figures


def _derive_sex_complement(figures: dict[str, Figure]) -> None:
    """n_male = n - n_female (and the reverse) when the paper states only one of them."""
    n = figures.get("n_patients")
    if not n:
        return
    for have, want in (("n_male", "n_female"), ("n_female", "n_male")):
        if have in figures and want not in figures and 0 <= n.value - figures[have].value <= n.value:
            figures[want] = Figure(n.value - figures[have].value, figures[have].evidence + n.evidence,
                                   "sex_complement", min(n.confidence, figures[have].confidence) * 0.9, "derived")


def extract_all(paper: Paper):
    """(figures, outcome rows, printed percentages) for the paper; the runner's one call."""
    return extract(paper), [], []
