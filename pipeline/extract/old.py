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

from .. import vocab
from ..fields import DESCRIBED_STATS
from ..numbers import NUM, as_count, counts_for_percent, parse_number
from ..paper import Paper, Sentence
from ..records import Figure
from ..text import fold_case

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
    extra: dict = field(default_factory=dict)  # stat and unit of a described statistic

    @property
    def rank(self) -> int:
        return SECTION_RANK.get(self.spans[0][2], 2)


# --- pre-tests ------------------------------------------------------------------------------
#
# Most sentences hold none of the words a rule's patterns need, and a long case-insensitive
# alternation costs far more than a few substring tests. So each sentence's text is folded once per
# paper, and a rule runs a pattern only on sentences whose folded text holds the words it needs.

# The literal characters phrase_words reads: each matches itself, or a letter that folds to it.
_LITERAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-',%/:;=")
Needs = tuple[tuple[str, ...], ...] | None


def phrase_words(phrase: str) -> frozenset[str] | None:
    """The words every match of `phrase` holds, folded: its runs of literal characters and spaces
    outside groups, neither escaped nor quantified. `phrase` is a regular expression as the data
    files write them (a space matches any white space); None when it has no such run, or for syntax
    this reading does not follow (an alternation outside groups, a character class, a comment).

    >>> sorted(phrase_words(r"age at (?:\\w+ )?onset")), sorted(phrase_words("symptoms? at"))
    (['age at', 'onset'], ['at', 'symptom'])
    """
    if "(?#" in phrase:
        return None  # a comment may hold a parenthesis that opens no group
    words, run, depth, i = set(), "", 0, 0

    def end_run():
        nonlocal run
        if run.strip():
            words.add(run.strip().lower())
        run = ""

    while i < len(phrase):
        c = phrase[i]
        if c == "\\":
            end_run()
            i += 1  # the escaped character is not itself a literal of the run
        elif c == "(":
            end_run()
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return None
        elif c == "[":
            return None  # a class may hold a parenthesis that opens no group
        elif depth == 0:
            if c == "|":
                return None
            if c in "?*+{":
                run = run[:-1]  # the character before is optional or repeated
                end_run()
                if c == "{":
                    i = phrase.find("}", i)
                    if i < 0:
                        return None
            elif c in _LITERAL or c == " " and run and run[-1] != " ":
                run += c
            elif c != " ":
                end_run()
        i += 1
    end_run()
    return frozenset(words) or None


def needs(phrases) -> Needs:
    """A pre-test for alternative phrases (regular expressions, see phrase_words): for each phrase,
    the words it holds, longest first, as longer words rule a sentence out sooner. None, which every
    sentence passes, when a phrase has no word to test."""
    sets = [phrase_words(p) for p in phrases]
    if None in sets:
        return None
    # A phrase whose text holds every word of a phrase already kept passes no sentence that one does
    # not ("relapses" after "relapse"); weaker phrases come first, so no two drop each other.
    kept: list[frozenset[str]] = []
    for ws in sorted(set(sets), key=lambda ws: (sum(map(len, ws)), sorted(ws))):
        if not any(all(any(w in v for v in ws) for w in k) for k in kept):
            kept.append(ws)
    return tuple(tuple(sorted(ws, key=lambda w: (-len(w), w))) for ws in kept)


def alternation(phrases) -> str:
    """The phrases (regular expressions as the data files write them, a space for any white space)
    as one group: `needs(phrases)` is its pre-test."""
    return "(?:" + "|".join(p.replace(" ", r"\s+") for p in phrases) + ")"


def holds(low: str, needed: Needs) -> bool:
    """Does the folded text hold all the words of one of the phrases `needed` stands for?"""
    if needed is None:
        return True
    for words in needed:
        for w in words:
            if w not in low:
                break
        else:
            return True
    return False


@dataclass
class Context:
    """What rules share: the sentences about the paper's own cohort, each with its folded text (read
    once per paper, not once per rule), and what later rules need from earlier ones: the cohort size
    and where it is stated."""
    own: list[tuple[Sentence, str]] = field(default_factory=list)    # prose and table rows, in text order
    prose: list[tuple[Sentence, str]] = field(default_factory=list)
    n: int | None = None
    n_spans: list[tuple[int, int, str]] = field(default_factory=list)
    percents: list[tuple[str, int, float]] = field(default_factory=list)

    @classmethod
    def of(cls, paper: Paper) -> Context:
        own = [(s, s.folded) for s in paper.sentences if s.own]
        return cls(own, [o for o in own if not o[0].table])


RULES: list[Callable[[Paper, Context], Iterator[Candidate]]] = []


def rule(fn):
    """Register a rule; rules run in the order they are defined."""
    RULES.append(fn)
    return fn


@lru_cache(maxsize=1)
def cohort_words():
    c = vocab.cohort()
    nouns = sorted(c["cohort_nouns"], key=len, reverse=True)
    coh = r"(?:" + "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in nouns) + r")\b"
    male = r"(?:" + "|".join(sorted(c["male_words"], key=len, reverse=True)) + r")"
    female = r"(?:" + "|".join(sorted(c["female_words"], key=len, reverse=True)) + r")"
    enrol = r"(?:" + "|".join(re.escape(v).replace(r"\ ", r"\s+") for v in c["enrol_verbs"]) + r")"
    return coh, male, female, enrol


def span_of(s: Sentence, m: re.Match, group: int | str = 0) -> tuple[int, int, str]:
    return (s.start + m.start(group), s.start + m.end(group), s.section)


# A term's vocabulary entry; vocab.lookup folds the text with a regex, and rules look up the same few
# drug and site names over and over.
lookup_term = lru_cache(maxsize=4096)(vocab.lookup)


# --- cohort size ---------------------------------------------------------------------------

@lru_cache(maxsize=1)
def cohort_noun_needs() -> Needs:
    """The pre-test of a pattern with a cohort noun (`coh`)."""
    return needs(vocab.cohort()["cohort_nouns"])


# Word lists that both build a pattern and give its pre-test, so the two cannot drift apart.
_REVIEW_VERBS = ["reviewed", "included", "enrolled", "describes?", "described", "report(?:s|ed)?", "studied",
                 "analysed", "analyzed", "identified", "recruited"]
_GROUP_OF = ["cohort of", "series of", "group of"]


@lru_cache(maxsize=1)
def _cohort_patterns() -> list[tuple[re.Pattern, float, str, Needs]]:
    """Each pattern with the words it needs besides its cohort noun (None: no pre-test)."""
    coh, male, female, enrol = cohort_words()
    adj = r"(?:[\w-]+\s+){0,3}?"
    return [
        # "There were 15 CRMO patients", "Altogether, ... 18 patients were diagnosed"
        (re.compile(rf"\bthere\s+were\s+(?P<n>{NUM})\s+{adj}{coh}", re.I), 0.9, "cohort_there_were", (("there were",),)),
        # "Forty-one children were included", "twenty-five children under the age of 16 years were diagnosed"
        (re.compile(rf"(?P<n>{NUM})\s+{adj}{coh}(?:[^.;]{{0,60}}?)\s{enrol}", re.I), 0.9, "cohort_enrolled",
         needs(vocab.cohort()["enrol_verbs"])),
        # "features of the patients (n: 15)", "patients (n = 19)"
        (re.compile(rf"\b(?:the|all|our)\s+{coh}\s*\(\s*[nN]\s*[:=]\s*(?P<n>\d+)\s*\)", re.I), 0.85, "cohort_n_equals", (("(", "="), ("(", ":"))),
        # "We retrospectively reviewed 30 children", "This report describes 30 CNO patients"
        (re.compile(rf"\b{alternation(_REVIEW_VERBS)}\s+(?:the\s+)?(?:records\s+of\s+|data\s+(?:of|from)\s+)?(?:all\s+)?(?P<n>{NUM})\s+{adj}{coh}", re.I), 0.8, "cohort_reviewed",
         needs(_REVIEW_VERBS)),
        # "Among the 774 documented patients"
        (re.compile(rf"^\s*(?:among|of)\s+(?:the|all|our)\s+(?P<n>{NUM})\s+{adj}{coh}", re.I), 0.75, "cohort_among", None),
        # "In this multicenter cohort of 41 children"
        (re.compile(rf"\b{alternation(_GROUP_OF)}\s+(?:all\s+)?(?P<n>{NUM})\s+{adj}{coh}", re.I), 0.75, "cohort_of",
         needs(_GROUP_OF)),
        # A title: "... 30 children from a multicentre Belgian cohort", "... in 9 pediatric patients"
        (re.compile(rf"\b(?:all\s+)?(?P<n>{NUM})\s+(?:consecutive\s+)?{adj}{coh}", re.I), 0.55, "cohort_title", None),
    ]


def from_percent(ctx: Context, field_name: str, pct_text: str, s: Sentence, m: re.Match, rule_name: str,
                 conf: float = 0.7) -> Iterator[Candidate]:
    """A count derived from a printed percentage of the cohort, where exactly one whole number fits.

    Its evidence is both statements: the percentage and the cohort size.
    """
    pct = parse_number(pct_text)
    if ctx.n is None or pct is None:
        return
    fits = counts_for_percent(float(pct), ctx.n)
    if len(fits) == 1:
        yield Candidate(field_name, fits[0], [span_of(s, m), *ctx.n_spans], rule_name, conf, derived=True)


def is_count(value) -> bool:
    v = as_count(value)
    return v is not None and 0 < v < 100000 and not (1900 <= v <= 2100)


@rule
def cohort_size(paper: Paper, ctx: Context) -> Iterator[Candidate]:
    seen = set()
    noun = cohort_noun_needs()  # every pattern has one
    for s, low in ctx.prose:
        if not holds(low, noun):
            continue
        for pat, conf, name, needed in _cohort_patterns():
            if (name == "cohort_title" and s.section != "front") or not holds(low, needed):
                continue
            for m in pat.finditer(s.text):
                n = parse_number(m.group("n"))
                if not is_count(n) or (s.start + m.start("n")) in seen:
                    continue
                if _not_a_cohort_count(s.text, m.start("n")):
                    continue
                seen.add(s.start + m.start("n"))
                yield Candidate("n_patients", int(n), [span_of(s, m)], name, conf)


def _not_a_cohort_count(text: str, at: int) -> bool:
    """A number after "age of", "aged", a bare "of" or a slash ("48 of 314 patients", "under the age
    of 16") is part of another figure; "cohort of 41", "among the 774", "of all 30" still count."""
    before = text[max(0, at - 20):at].lower()
    return bool(re.search(r"(?:age of|aged|\bof|/)\s*$", before)) and not re.search(
        r"(?:cohort|series|group|among the|of the|of all)\s+$", before)


# --- sex split ------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _sex_patterns() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    coh, male, female, enrol = cohort_words()
    def one(g):
        return rf"(?:(?P<{g}n>{NUM})\s*(?P<{g}sex>{male}|{female})\b)"
    a, b = one("a"), one("b")
    # "(8M/7F)", "(5 F: 4 M)", "(9F, 8M)", "(31 girls and 10 boys)", "16 females, 9 males"
    pair = re.compile(rf"{a}\s*(?:[/,:;]|and|\s)\s*{b}", re.I)
    # Table row: "Male gender 8 (53.4)", "Female, n (%) 7 (46.7)"
    row = re.compile(rf"^(?P<sex>{male}|{female})\b[^\d]{{0,30}}?(?P<n>\d+)\s*\(\s*(?P<pct>\d+(?:[.,]\d+)?)\s*%?\s*\)", re.I)
    # "55.6% of them were female", "62.8% were female"
    pct = re.compile(rf"(?P<pct>\d+(?:[.,]\d+)?)\s*%\s*(?:of\s+(?:them|the\s+{coh}|{coh})\s+)?(?:were|was|being)\s+(?P<sex>{male}|{female})\b", re.I)
    return pair, row, pct


def _sex_field(word: str) -> str:
    _, male, _, _ = cohort_words()
    return "n_male" if re.fullmatch(male, word, re.I) else "n_female"


# A sentence about the sexes has a count with M or F ("8M/7F") or a word for them; each test goes
# after its pre-test on the folded text, where "\s*" is at most one space.
_SEX_COUNT, _SEX_COUNT_FOLDED = re.compile(r"\d\s*[MF]\b", re.I), re.compile(r"\d ?[mf]")
_SEX_WORDS = ["males?", "females?", "boys?", "girls?", "men", "women"]
_SEX_WORD = re.compile(rf"\b{alternation(_SEX_WORDS)}\b", re.I)
_SEX_WORD_NEEDS = needs(_SEX_WORDS)


def _about_sexes(s: Sentence, low: str) -> bool:
    return bool(_SEX_COUNT_FOLDED.search(low) and _SEX_COUNT.search(s.text)
                or holds(low, _SEX_WORD_NEEDS) and _SEX_WORD.search(s.text))


@rule
def sex_split(paper: Paper, ctx: Context) -> Iterator[Candidate]:
    pair, row, pct = _sex_patterns()
    for s, low in ctx.own:
        if not _about_sexes(s, low):
            continue
        if s.table:
            m = row.match(s.text)
            if m:
                yield Candidate(_sex_field(m.group("sex")), int(m.group("n")), [span_of(s, m)], "sex_table_row", 0.85,
                                extra={"pct": parse_number(m.group("pct"))})
            continue
        for m in pct.finditer(s.text):
            yield from from_percent(ctx, _sex_field(m.group("sex")), m.group("pct"), s, m, "sex_percent")
        for m in pair.finditer(s.text):
            fa, fb = _sex_field(m.group("asex")), _sex_field(m.group("bsex"))
            if fa == fb:
                continue
            na, nb = parse_number(m.group("an")), parse_number(m.group("bn"))
            if not (is_count(na) and is_count(nb)):
                continue
            yield Candidate(fa, int(na), [span_of(s, m)], "sex_pair", 0.9)
            yield Candidate(fb, int(nb), [span_of(s, m)], "sex_pair", 0.9)


# --- described statistics: ages, diagnostic delay, follow-up ---------------------------------

_DEC = r"\d+(?:[.,]\d+)?"
_UNIT = r"(?:years?|yrs?|y|months?|mos?|mo)\b"
_DASH = r"\s*(?:-|to|–)\s*"
# "9.0 (0.6-15.0) years", "52 months (range 6-156 months)", "10.3[4-15] years", "9.2 years (range 3.7-13.1)"
_STAT_VALUE = re.compile(
    rf"^(?P<link>[^\d;]{{0,70}}?)(?P<v>{_DEC})\s*(?P<u1>{_UNIT})?\s*"
    rf"(?:[\(\[](?P<inside>[^\)\]\d]{{0,30}}?(?P<lo>{_DEC}){_DASH}(?P<hi>{_DEC})\s*(?P<u2>{_UNIT})?[^\)\]]{{0,10}})[\)\]])?"
    rf"\s*(?P<u3>{_UNIT})?", re.I)


@lru_cache(maxsize=1)
def _figure_vocab():
    data = vocab.load("figures.json")

    def alt(items):
        return re.compile(r"\b" + alternation(items), re.I)
    anchors = {name: alt(items) for name, items in data["anchors"].items()}
    stats = {stat: re.compile(r"\b(?:" + "|".join(words) + r")\b", re.I) for stat, words in data["stat_words"].items()}
    spread = re.compile(r"(?:^|[^a-z])(?:" + "|".join(data["spread_not_range"]) + r")(?:[^a-z]|$)", re.I)
    words = {k: alt(data[k]) for k in ("relapse_words", "multifocal_words", "unifocal_words")}
    return anchors, alt(data["not_anchors"]), stats, spread, words


@lru_cache(maxsize=1)
def _figure_needs() -> dict:
    """Pre-tests: for the anchors of each statistic (under "anchors") and of any ("any_anchor"), for
    the words of either focality ("any_focality"), and for each list of phrases."""
    data = vocab.load("figures.json")
    out = {k: needs(data[k]) for k in ("not_anchors", "relapse_words", "multifocal_words", "unifocal_words")}
    out["anchors"] = {name: needs(items) for name, items in data["anchors"].items()}
    out["any_anchor"] = needs([phrase for items in data["anchors"].values() for phrase in items])
    out["any_focality"] = needs(data["multifocal_words"] + data["unifocal_words"])
    return out


def _unit(text: str | None) -> str | None:
    if not text:
        return None
    return "months" if text.lower().startswith("mo") else "years"


def _stat_in(text: str) -> str | None:
    """The statistic word closest to the end of `text`."""
    _, _, stats, _, _ = _figure_vocab()
    best = None
    for stat, pat in stats.items():
        for m in pat.finditer(text):
            if best is None or m.start() > best[0]:
                best = (m.start(), stat)
    return best[1] if best else None


_SENTENCE_END = re.compile(r"[.!?]\s+(?=[A-Z])")


def _before(paper: Paper, s: Sentence, hits: list, i: int) -> str:
    """The 40 characters before anchor i, for its statistic word. Not cut at the sentence start:
    the sentencizer splits "The median (min.-max.) follow-up time" after "(min.", so the word can
    lie in the previous spaCy sentence; cut at a real sentence end or the previous anchor instead."""
    a, b = s.start + hits[i][0], s.start + hits[i][1]
    lo = s.start + hits[i - 1][1] if i else max(0, a - 40)
    window = paper.text[max(lo, a - 40):b]
    ends = list(_SENTENCE_END.finditer(window))
    return window[ends[-1].end():] if ends else window


@rule
def described_stats(paper: Paper, ctx: Context) -> Iterator[Candidate]:
    anchors, not_anchors, _, spread, _ = _figure_vocab()
    tests = _figure_needs()
    anchored, not_anchored = tests["anchors"], tests["not_anchors"]
    for s, low in ctx.own:
        if not holds(low, tests["any_anchor"]):
            continue  # most sentences: one test, not one per statistic
        present = [(name, pat) for name, pat in anchors.items() if holds(low, anchored[name])]
        text = s.text
        blocked = [(m.start(), m.end()) for m in not_anchors.finditer(text)] if holds(low, not_anchored) else []
        hits = sorted((m.start(), m.end(), name) for name, pat in present for m in pat.finditer(text)
                      if not any(a <= m.start() < b for a, b in blocked))
        for i, (a, b, name) in enumerate(hits):
            stop = hits[i + 1][0] if i + 1 < len(hits) else len(text)
            stop = min([stop] + [x for x, _ in blocked if x > b])
            m = _STAT_VALUE.match(text[b:stop])
            if not m or re.search(r"\brang", m.group("link"), re.I) and not _stat_in(m.group("link")):
                continue  # "ranging from 23 to 36 months" describes a subgroup's spread, not a statistic
            stat = _stat_in(m.group("link")) or _stat_in(_before(paper, s, hits, i))
            unit = _unit(m.group("u1") or m.group("u2") or m.group("u3")) or _unit(
                (re.search(_UNIT, m.group("link"), re.I) or [None])[0])
            lo = hi = None
            if m.group("lo") and not spread.search(m.group("inside") or ""):
                lo, hi = parse_number(m.group("lo")), parse_number(m.group("hi"))
            conf = 0.9 if (stat and unit) else 0.75 if unit else 0.45
            span = (s.start + a, s.start + b + m.end(), s.section)
            yield Candidate(name, (parse_number(m.group("v")), lo, hi), [span], f"{name}_statement", conf,
                            extra={"stat": stat, "unit": unit})


_DESIGN_FOLLOWUP = re.compile(rf"\b(?:initial|first)\s+(?P<v>{NUM})[- ](?P<u>year|month)s?[- ](?:of\s+)?follow[- ]?up", re.I)
_DESIGN_FOLLOWUP_NEEDS = (("initial", "follow"), ("first", "follow"))


@rule
def followup_by_design(paper: Paper, ctx: Context) -> Iterator[Candidate]:
    """A follow-up fixed by the study's design ("during the initial 1-year follow-up")."""
    for s, low in ctx.prose:
        if not holds(low, _DESIGN_FOLLOWUP_NEEDS):
            continue
        for m in _DESIGN_FOLLOWUP.finditer(s.text):
            v = parse_number(m.group("v"))
            if v:
                yield Candidate("followup", (v, None, None), [span_of(s, m)], "followup_by_design", 0.8,
                                extra={"stat": "fixed", "unit": _unit(m.group("u"))})


# --- relapses -----------------------------------------------------------------------------

_HAD_VERBS = ["had", "experienced", "developed", "showed", "suffered", "presented with"]


@lru_cache(maxsize=1)
def _relapse_patterns():
    coh, _, _, _ = cohort_words()
    *_, words = _figure_vocab()
    rel = words["relapse_words"].pattern
    return [
        # "relapses were observed in four patients"
        (re.compile(rf"{rel}[^.;]{{0,40}}?\b(?:in|among)\s+(?P<n>{NUM})\s+(?:of\s+(?:the|our)\s+)?(?:[\w-]+\s+)?{coh}", re.I), "relapse_in_n", 0.85, None),
        # "8 patients experienced one or more relapses", "Four patients had an MRI confirmed CRMO recurrence"
        (re.compile(rf"(?P<n>{NUM})\s+(?:[\w-]+\s+)?{coh}\s+{alternation(_HAD_VERBS)}\b[^.;]{{0,50}}?{rel}", re.I), "n_had_relapse", 0.85,
         needs(_HAD_VERBS)),
    ], re.compile(rf"(?P<pct>{NUM})\s*(?:%|percent)\s+of\s+(?:our\s+|the\s+|all\s+)?{coh}\s+(?:had|experienced|developed|showed)[^.;]{{0,40}}?{rel}", re.I)


_NEGATION = re.compile(r"\b(?:no|none|without|free of|never|nor)\b[^.;,]*$", re.I)


@rule
def relapses(paper: Paper, ctx: Context) -> Iterator[Candidate]:
    patterns, pct = _relapse_patterns()
    relapse = _figure_needs()["relapse_words"]
    for s, low in ctx.prose:
        if not (holds(low, relapse) and holds(low, cohort_noun_needs())):
            continue  # every pattern names a relapse and the patients
        for pat, name, conf, needed in patterns:
            if not holds(low, needed):
                continue
            for m in pat.finditer(s.text):
                n = parse_number(m.group("n"))
                if is_count(n) and not _NEGATION.search(s.text[:m.start()][-40:] + s.text[m.start():m.start("n")]):
                    yield Candidate("n_relapse", int(n), [span_of(s, m)], name, conf)
        for m in pct.finditer(s.text) if "%" in low or "percent" in low else ():
            yield from from_percent(ctx, "n_relapse", m.group("pct"), s, m, "relapse_percent")


# --- lesions: focality, lesions per patient -------------------------------------------------

@lru_cache(maxsize=1)
def _focality_patterns():
    coh, _, _, _ = cohort_words()
    *_, words = _figure_vocab()
    out = []
    for field_name, key in (("n_multifocal", "multifocal_words"), ("n_unifocal", "unifocal_words")):
        w = words[key].pattern
        not_pain = r"(?!\s+(?:bone\s+)?pain)"
        out.append((field_name, _figure_needs()[key], [
            # "All of the patients had multifocal bone lesions"
            (re.compile(rf"\ball\s+(?:of\s+)?(?:the\s+|our\s+)?{coh}\s+(?:had|presented\s+with|showed|were)\s+(?:a\s+)?{w}{not_pain}", re.I), "all_patients", 0.85),
            # "Six patients presented with unifocal CNO"
            (re.compile(rf"(?P<n>{NUM})\s+(?:[\w-]+\s+)?{coh}\s+(?:\([^)]*\)\s+)?(?:had|presented\s+with|showed|were|with)\s+(?:a\s+)?{w}{not_pain}", re.I), "n_focality", 0.85),
            # "multifocal CNO (n = 33)"
            (re.compile(rf"{w}\s+(?:[\w-]+\s+){{0,3}}\(\s*n\s*[=:]\s*(?P<n>\d+)\s*\)", re.I), "focality_n_equals", 0.85),
        ], re.compile(rf"(?P<pct>{NUM})\s*%\s+of\s+(?:the\s+|our\s+)?{coh}\s+(?:had|presented\s+with|showed|were)\s+(?:a\s+)?{w}{not_pain}", re.I)))
    return out


@rule
def focality(paper: Paper, ctx: Context) -> Iterator[Candidate]:
    either = _figure_needs()["any_focality"]
    for s, low in ctx.prose:
        if not holds(low, either):
            continue
        for field_name, needed, patterns, pct in _focality_patterns():
            if not holds(low, needed):
                continue  # every pattern of the field names its focality
            for pat, name, conf in patterns:
                for m in pat.finditer(s.text):
                    if name == "all_patients":
                        if ctx.n is not None:
                            yield Candidate(field_name, ctx.n, [span_of(s, m), *ctx.n_spans], name, conf, derived=True)
                        continue
                    n = parse_number(m.group("n"))
                    if is_count(n):
                        yield Candidate(field_name, int(n), [span_of(s, m)], name, conf)
            for m in pct.finditer(s.text) if "%" in low else ():
                yield from from_percent(ctx, field_name, m.group("pct"), s, m, "focality_percent")


_PER_PATIENT = [
    # "1,6/patient", "2.3 lesions per patient"
    (re.compile(rf"(?P<v>{_DEC})\s*(?:lesions?|foci|sites)?\s*(?:/|per)\s*patient\b", re.I), "per_patient", 0.8,
     (("patient", "/"), ("patient", "per"))),
    # "On average, each patient had six affected sites"
    (re.compile(rf"\b(?:on\s+average|mean|average)\b[^.;]{{0,30}}?each\s+patient\s+had\s+(?P<v>{NUM})\s+(?:affected\s+)?(?:sites|lesions|foci|bones)", re.I), "each_patient_on_average", 0.85,
     (("each patient had", "average"), ("each patient had", "mean"))),
    # "the mean number of lesions per patient was 3.2"
    (re.compile(rf"\b(?:mean|average)\s+(?:number\s+of\s+)?(?:lesions|foci|sites)(?:\s+per\s+patient)?\s+(?:was|of|:)\s+(?P<v>{_DEC}|{NUM})", re.I), "mean_lesions", 0.85,
     (("average",), ("mean",))),
]


@rule
def lesions_per_patient(paper: Paper, ctx: Context) -> Iterator[Candidate]:
    for s, low in ctx.prose:
        patterns = [p for p in _PER_PATIENT if holds(low, p[3])]
        if not patterns:
            continue
        if "median" in low and re.search(r"\bmedian\b", s.text, re.I) and not re.search(r"\b(?:mean|average)\b", s.text, re.I):
            continue  # a median count of lesions is not the mean the field holds
        for pat, name, conf, _ in patterns:
            for m in pat.finditer(s.text):
                v = parse_number(m.group("v"))
                if v is not None and 0 < v < 100:
                    yield Candidate("mean_lesions_per_patient", v, [span_of(s, m)], name, conf)


# --- bone sites ---------------------------------------------------------------------------

_SITE_COUNT = re.compile(r"^\s*\(\s*(?P<n>\d+)\s*(?:patients?|children|cases|lesions|foci)?\s*\)")
_SITE_PCT = re.compile(rf"^\s*\(\s*(?P<pct>{_DEC})\s*%\s*\)")
_TABLE_ROW = re.compile(rf"^(?P<label>[A-Za-z][A-Za-z /,-]*?)\s*(?:,\s*n\s*\(%\))?\s+(?P<n>\d+)\s*\(\s*(?P<pct>{_DEC})\s*%?\s*\)\s*$")


@rule
def sites(paper: Paper, ctx: Context) -> Iterator[Candidate]:
    for s, _ in ctx.own:
        if s.table:
            m = _TABLE_ROW.match(s.text)
            term = m and lookup_term("SITE", m.group("label").strip())
            if term:
                yield Candidate(f"site_{term.key}", int(m.group("n")), [span_of(s, m)], "site_table_row", 0.9,
                                extra={"pct": parse_number(m.group("pct"))})
            continue
        for ent in (e for e in s.ents if e.label == "SITE" and not e.negated):
            base = s.start + ent.start
            end = s.start + ent.end
            after = paper.text[end:end + 40]
            field_name = f"site_{ent.key}"
            m = _SITE_COUNT.match(after)
            if m:
                yield Candidate(field_name, int(m.group("n")), [(base, end + m.end(), s.section)], "site_count", 0.85)
                continue
            m = _SITE_PCT.match(after)
            if m:
                pct_span = (base, end + m.end(), s.section)
                fits = counts_for_percent(float(parse_number(m.group("pct"))), ctx.n) if ctx.n else []
                if len(fits) == 1:
                    yield Candidate(field_name, fits[0], [pct_span, *ctx.n_spans], "site_percent", 0.7, derived=True)


# --- resolution -----------------------------------------------------------------------------

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
                figure.alternatives.append({"value": v, "rule": r[0].rule, "evidence": [e.to_json() for e in ev]})
                figure.evidence += [e for e in ev if e not in figure.evidence]
        figures[name] = figure
    return figures


def _dedupe(evidence):
    out = []
    for e in evidence:
        if e not in out:
            out.append(e)
    return out


def extract(paper: Paper) -> tuple[dict[str, Figure], Context]:
    """All rules over the paper, resolved to one figure per field, then derived figures."""
    ctx = Context.of(paper)
    candidates = list(cohort_size(paper, ctx))
    figures = resolve(paper, candidates)
    if "n_patients" in figures:
        n = figures["n_patients"]
        ctx.n = n.value
        ctx.n_spans = [c.spans[0] for c in candidates if c.value == n.value][:1]
    for r in RULES:
        if r is not cohort_size:
            candidates += list(r(paper, ctx))
    stats = [c for c in candidates if c.field in DESCRIBED_STATS]
    figures = resolve(paper, [c for c in candidates if c.field not in DESCRIBED_STATS])
    figures.update(resolve_described(paper, stats))
    _derive_sex_complement(figures)
    # Counts printed with their percentage ("Male gender 8 (53.4)"), for the consistency check.
    ctx.percents = sorted({(c.field, c.value, c.extra["pct"]) for c in candidates
                           if c.extra.get("pct") is not None and c.field in figures and figures[c.field].value == c.value})
    return figures, ctx


def _compatible(a: tuple, b: tuple) -> bool:
    """Same central value, and ranges that agree where both are stated ("23 months" fits "23 (1.5-68) months")."""
    return a[0] == b[0] and all(x is None or y is None or x == y for x, y in zip(a[1:], b[1:]))


def resolve_described(paper: Paper, candidates: list[Candidate]) -> dict[str, Figure]:
    """Each described statistic as five figures (stat, value, min, max, unit) from one statement.

    The parts are never mixed across statements; compatible statements support each other, and an
    incompatible one stated with confidence >= 0.8 makes all five parts a conflict.
    """
    figures: dict[str, Figure] = {}
    by_field: dict[str, list[Candidate]] = defaultdict(list)
    for c in candidates:
        by_field[c.field].append(c)
    for name, cands in by_field.items():
        cands.sort(key=lambda c: (c.rank, c.confidence, c.value[1] is not None), reverse=True)
        best = cands[0]
        agree = [c for c in cands if _compatible(c.value, best.value)]
        rivals = [c for c in cands if not _compatible(c.value, best.value) and c.confidence >= 0.8]
        parts = {"stat": next((c.extra["stat"] for c in agree if c.extra.get("stat")), None),
                 "value": best.value[0], "min": best.value[1], "max": best.value[2],
                 "unit": next((c.extra["unit"] for c in agree if c.extra.get("unit")), None)}
        conf = min(0.99, best.confidence + 0.05 * (len(agree) - 1))
        evidence = _dedupe([paper.evidence(a, b, sec) for c in agree for a, b, sec in c.spans])
        alternatives = []
        for r in rivals:
            ev = [paper.evidence(a, b, sec) for a, b, sec in r.spans]
            alternatives.append({"value": list(r.value), "stat": r.extra.get("stat"), "unit": r.extra.get("unit"),
                                 "rule": r.rule, "evidence": [e.to_json() for e in ev]})
        for part, value in parts.items():
            if value is None:
                continue
            fig = Figure(value, list(evidence), best.rule, conf)
            if rivals:
                fig.status = "conflict"
                index = {"value": 0, "min": 1, "max": 2}.get(part)
                for alt, r in zip(alternatives, rivals):
                    alt_value = r.value[index] if index is not None else r.extra.get(part)
                    fig.alternatives.append({"value": alt_value, "rule": r.rule, "evidence": alt["evidence"]})
                    fig.evidence += [e for e in (paper.evidence(a, b, sec) for a, b, sec in r.spans) if e not in fig.evidence]
            figures[f"{name}_{part}"] = fig
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
    from ..outcomes import extract_outcomes

    figures, ctx = extract(paper)
    return figures, extract_outcomes(paper, ctx), ctx.percents
