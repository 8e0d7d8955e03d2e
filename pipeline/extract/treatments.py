"""Own-cohort sentences and table rows -> treatment-response rows: how many patients were given
each drug (treated) and how many of them responded (responders), clinically or on MRI.

Drugs are the spaCy vocabulary entities (`data/drugs.json`, negation from NegEx), and words a
spelling-tolerant match (rapidfuzz) ties to a drug name ("methotexate", "steriods"). A treated
group is a count linked to a drug by a treatment word ("Pamidronate was given to 11 children",
"Nine patients received zoledronic acid", "methotrexate (44,4%)", "All patients were treated with
NSAIDs"); a response is a count with a response or failure word, its drug named with it ("remission
with pamidronate in 8/11") or known from the group the sentence speaks of ("Eight of these eleven
reached remission", "two of whom", "none of them improved"). A response with no drug, of the whole
cohort, is the overall row `any`. Tables are read column by column from their header ("Drug
Treated, n Clinical remission, n (%)").
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Iterator

from ..core import vocab
from ..core.model import Figure, OutcomeRow
from .engine import Analysed, Candidate, Context, Key, Registry, Span, resolve
from .mentions import Mention, clause_start, clause_stop, ends_clause
from .quantities import counts_for_percent
from .study import (
    LABELLING,
    _concepts,
    _depths,
    _phrase_end,
    grammar,
    in_subgroup,
    noun_phrase,
    read_mention,
    shares_fit,
)
from .tokens import Token

TREATMENTS = Registry()
TREATED, RESPONDED = "n_treated", "n_responded"
# Words that tie a count to the drug beside it: "remission [with] pamidronate [in] 8/11".
TIES = frozenset({"with", "on", "to", "of", "in", "by", "after", "using", "under", "the", "a", "an", "patients",
                  "children", "(", ")", "alone", "only", "treatment", "therapy", "agent", "agents", "drugs", "and",
                  ",", "achieved", "reached", "obtained", "attained", "had", "showed", "went", "into", "was", "were"})


@dataclass(frozen=True)
class Drug:
    first: int            # token range in the sentence
    last: int
    cls: str
    agent: str | None
    abbreviation: str | None = None   # the one the paper defines for it in brackets, as printed: "ZA"
    parts: tuple[Drug, ...] = ()      # the agents of a class named in brackets right after it

    @property
    def named_agents(self) -> str | None:
        """The agents named in brackets after the class: the row lists them, the class counts."""
        return ", ".join(x.agent for x in self.parts) or None


@dataclass
class Group:
    """Patients given a drug, as the paper counts them."""
    drug: Drug
    count: int
    span: Span
    derived: bool = False
    alone: bool = True     # no other drug class was named with it ("NSAIDs alone or combined with ...")


@dataclass
class Discourse:
    """What the sentences read so far said: the groups a later "of them" refers to."""
    groups: list[Group] = field(default_factory=list)
    # The sentences since the last group spoke of other people ("relapses were observed in four"):
    # a later "all of these patients" means them, not the group.
    moved_on: bool = False

    def last(self) -> Group | None:
        return self.groups[-1] if self.groups and not self.moved_on else None

    def of_drug(self, cls: str) -> Group | None:
        return next((g for g in reversed(self.groups) if g.drug.cls == cls), None)

    def of_size(self, count: int) -> Group | None:
        return next((g for g in reversed(self.groups) if g.count == count), None)


# --- drugs ---------------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _term(text: str):
    return vocab.lookup("DRUG", text)


@lru_cache(maxsize=1)
def _names() -> dict[str, object]:
    """Single-word drug names, for the spelling-tolerant match."""
    return {t.text: t for t in vocab.terms() if t.label == "DRUG" and " " not in t.text and len(t.text) >= 5}


@lru_cache(maxsize=8192)
def fuzzy_drug(word: str):
    """The drug a misspelt word stands for ("methotexate", "steriods", "salazopyrin"), or None."""
    from rapidfuzz import fuzz, process
    from wordfreq import zipf_frequency

    if len(word) < 6 or not word.isalpha() or zipf_frequency(word, "en", wordlist="small") >= 2.5:
        return None
    best = process.extractOne(word, list(_names()), scorer=fuzz.ratio, score_cutoff=86)
    if best is None or best[0][0] != word[0]:
        return None
    return _names()[best[0]]


def drugs_of(a: Analysed, names: dict[str, Drug] | None = None) -> list[Drug]:
    """The drugs a sentence names, in order; an agent's class word right after it is one drug
    ("anti-TNF (etanercept) agent" is etanercept). `names`: abbreviations the paper defines."""
    if "drugs" not in a.derived or (names and "aliases" not in a.derived):
        a.derived["drugs"] = _drugs(a, names or {})
        if names:
            a.derived["aliases"] = True
    return a.derived["drugs"]


def _drugs(a: Analysed, names: dict[str, Drug]) -> list[Drug]:
    out: list[Drug] = []
    covered = set()
    for first, last, e in a.entities("DRUG", negated=True):
        term = _term(a.sentence.text[e.start:e.end])
        if term is None:
            continue
        if e.negated and not any(t.concept in CUES for t in a.tokens[max(0, first - 3):first]):
            continue  # "No patient received etanercept"; but "No response to antibiotics" names them
        out.append(Drug(first, last, term.drug_class, term.key if term.agent else None))
        covered.update(range(first, last))
    for i, t in enumerate(a.tokens):
        if i in covered or t.is_quantity:
            continue
        alias = names.get(a.sentence.text[t.start:t.end])
        if alias is not None:
            out.append(Drug(i, i + 1, alias.cls, alias.agent))
            continue
        if t.concept:
            continue
        term = fuzzy_drug(t.text)
        if term is not None:
            out.append(Drug(i, i + 1, term.drug_class, term.key if term.agent else None))
    out.sort(key=lambda d: d.first)
    merged: list[Drug] = []
    for d in out:
        prev = merged[-1] if merged else None
        closes = d.last >= len(a.tokens) or a.tokens[d.last].text in (")", "]") or d.first == prev.last if prev else False
        if prev and prev.cls == d.cls and d.first - prev.last <= 2 and closes and all(
                t.text in ("(", ")", "-") for t in a.tokens[prev.last:d.first]):
            merged[-1] = Drug(prev.first, d.last, d.cls, prev.agent or d.agent)
        else:
            merged.append(d)
    return _combinations(a.tokens, _with_agents(a.tokens, [_with_abbreviation(a, d) for d in merged]))


def _with_agents(tokens: list[Token], drugs: list[Drug]) -> list[Drug]:
    """A class and the brackets after it that name agents of that class only ("antibiotics
    (azithromycin, n = 7; doxycycline, n = 2) worked in 2/9", "anti-TNF (six with etanercept, one
    with infliximab)"): one drug over the brackets, the agents its parts; what follows the brackets
    is said of the class."""
    out, i = [], 0
    while i < len(drugs):
        d = drugs[i]
        close = _closing(tokens, d.last) if d.agent is None else None
        inner = [x for x in drugs[i + 1:] if close is not None and x.first < close]
        if inner and all(x.cls == d.cls and x.agent for x in inner):
            out.append(replace(d, last=close + 1, parts=tuple(inner)))
            i += 1 + len(inner)
        else:
            out.append(d)
            i += 1
    return out


def _closing(tokens: list[Token], i: int) -> int | None:
    """The token closing the bracket that opens at token i, within its clause, or None."""
    if i >= len(tokens) or tokens[i].text not in ("(", "["):
        return None
    depth = _depths(tokens)
    return next((j for j in range(i + 1, clause_stop(tokens, i))
                 if tokens[j].text in (")", "]") and depth[j] == depth[i]), None)


def _with_abbreviation(a: Analysed, d: Drug) -> Drug:
    """The drug with the abbreviation the paper defines for it in brackets right after it
    ("zoledronic acid (ZA) (30%)", "anti-tumour necrosis factor (anti-TNF) agents"): what follows
    the brackets follows the drug."""
    tokens, last = a.tokens, d.last
    if last < len(tokens) and tokens[last].text in (")", "]") and any(t.text in ("(", "[") for t in tokens[d.first:last]):
        return replace(d, last=last + 1)  # the abbreviation is a drug term itself: "(anti-TNF" merged
    if last + 2 < len(tokens) and tokens[last].text == "(" and tokens[last + 2].text == ")":
        word = tokens[last + 1]
        printed = a.sentence.text[word.start:word.end]
        if not word.is_quantity and word.concept is None and len(printed) <= 10 and any(c.isupper() for c in printed):
            return replace(d, last=last + 3, abbreviation=printed)
    return d


def _combinations(tokens: list[Token], drugs: list[Drug]) -> list[Drug]:
    """Two drug classes joined as given together ("NSAIDs + iguratimod", "pamidronate combined with
    etanercept") are one drug, a combination; "NSAIDs alone or combined with ..." is not."""
    joins = grammar()["combined"]
    out: list[Drug] = []
    for d in drugs:
        prev = out[-1] if out else None
        between = {t.text for t in tokens[prev.last:d.first]} if prev else set()
        if prev and prev.cls != d.cls and 0 < d.first - prev.last <= 4 and between & joins and not between & {
                "or", "alone", "without", ",", ";"} and not any(t.is_quantity for t in tokens[prev.last:d.first]):
            agents = " + ".join(x.agent or x.cls for x in (prev, d))
            out[-1] = Drug(prev.first, d.last, "combination", agents)
        else:
            out.append(d)
    return out


# --- counts ---------------------------------------------------------------------------------------

def _people(a: Analysed, m: Mention) -> bool:
    """Does the mention count people (not lesions, infusions, months)?"""
    if m.count is None:
        return m.pct is not None
    if m.last < len(a.tokens) and (m.last in _drug_starts(a) or a.tokens[m.last].text in ("a", "an") and m.last + 1 in _drug_starts(a)):
        return True  # "10 bisphosphonate", "10 a TNF-α antagonist": a list of the treated
    r = read_mention(a, m)
    if r is None:
        lo, hi = noun_phrase(a, m)
        return lo == hi  # "brought remission in three (3/8)": no noun, the people of the sentence
    return r.field in ("person", "n_male", "n_female", "n_relapse", "n_multifocal", "n_unifocal") or r.field.startswith("site_")


def _drug_starts(a: Analysed) -> set[int]:
    return {d.first for d in drugs_of(a)}


def _count_of(ctx: Context, a: Analysed, m: Mention) -> tuple[int, bool] | None:
    """(count, derived) of a mention: its count, or its percentage of the cohort when one whole
    number fits ("methotrexate (44,4%)" of 9 patients is 4)."""
    if m.value is not None:
        return m.value, False
    if m.percent is not None and ctx.n and 0 <= m.percent <= 100 and shares_fit(ctx, least=3):
        fits = counts_for_percent(m.percent, ctx.n)
        if len(fits) == 1:
            return fits[0], True
    return None


def _new_clause(tokens: list[Token], lo: int, hi: int) -> bool:
    """Does a clause of its own start between tokens lo and hi (", and", ", but", ";")?"""
    return any(tokens[j].text == ";" or (tokens[j].text == "," and tokens[j + 1].text in ("and", "but", "while", "whereas"))
               for j in range(lo, min(hi, len(tokens) - 1)))


def _between_ok(tokens: list[Token], lo: int, hi: int, allowed: frozenset) -> bool:
    return all(t.text in allowed or t.concept in ("person", "treat") for t in tokens[lo:hi])


# --- treated groups -------------------------------------------------------------------------------

def treated_groups(ctx: Context, a: Analysed, drugs: list[Drug]) -> list[Group]:
    """The groups a sentence says were given a drug."""
    tokens = a.tokens
    mentions = [m for m in a.mentions if _people(a, m)]
    treat = [i for c, i in _concepts(tokens, 0, len(tokens)) if c == "treat"]
    groups: list[Group] = []
    used: set[int] = set()

    # "three out of 18 patients treated with MTX had sufficient effect": in a statement of response,
    # the treated are the denominator; elsewhere ("etanercept (n = 4/30)", "ten children (10/36)
    # had been given antibiotics, and none of them improved") the count.
    cues = [i for i, t in enumerate(tokens) if t.concept in CUES]

    def responding(m: Mention) -> bool:
        """Is a response said of the count's own clause (not of a clause joined by ", and")?"""
        lo, hi = clause_start(tokens, m.first), clause_stop(tokens, m.first)
        return any(lo <= i < hi and not _new_clause(tokens, min(m.last, i), max(m.first, i)) for i in cues)

    def add(d: Drug, m: Mention, lo: int, hi: int):
        got = (m.total, False) if m.total and responding(m) else _count_of(ctx, a, m)
        if got is None or id(m) in used:
            return
        if any(t.text in grammar()["repeats"] for t in tokens[max(0, min(lo, m.first) - 2):max(hi, m.last)]):
            return  # "11 received 1-9 additional IV-PAM doses": re-treated, a part of the treated
        if in_subgroup(a, m, ctx.n) and not m.total:
            return  # "Of these three patients, two were administered pamidronate ...": parts of a group
        used.add(id(m))
        a.derived.setdefault("treated_mentions", set()).add(id(m))
        groups.append(Group(d, got[0], a.span_of(lo, hi), derived=got[1]))

    respectively = _respectively(a, drugs, mentions)
    if respectively:
        if any(t.concept in CUES for t in tokens):
            return groups  # "a response with colchicine, with methotrexate ... in 0/6, 2/4 ... respectively"
        for d, m in respectively:
            add(d, m, min(d.first, m.first), max(d.last, m.last))
        return groups
    for k, d in enumerate(drugs):
        start, stop = clause_start(tokens, d.first), clause_stop(tokens, d.first)
        nxt = drugs[k + 1].first if k + 1 < len(drugs) else stop
        prev = drugs[k - 1].last if k else start
        whole = _all_given(ctx, a, d, start, treat)
        if whole is not None and not any(m for m in mentions if whole.span[0] <= a.span_of(m.first, m.last)[0] < a.span_of(d.first, d.last)[0]):
            groups.append(whole)  # "all patients were given bisphosphonates (alendronate in two, ...)"
            continue
        # "bisphosphonates (n = 15/30)", "methotrexate (44,4%)", "methotrexate in 12"
        after = [m for m in mentions if d.last <= m.first < min(nxt, stop)]
        if after:
            m = after[0]
            gap = tokens[d.last:m.first]
            alone = m.last >= len(tokens) or tokens[m.last].text in (")", "]", ",", ";", "%") or tokens[m.last - 1].text in (")", "]")
            if alone and not gap or alone and all(t.text in ("(", "[", "n", "=", "agents", "agent", "drugs", "therapy", "treatment",
                                         "inhibitors") for t in gap) and gap[-1].text in ("(", "[", "=") or (
                    [t.text for t in gap if t.text not in ("agent", "agents", "therapy", "treatment", ")")] in (["in"], ["to"])
                    and treat):  # "methotrexate in 12", "... was given to 3 patients and steroids to 5"
                add(d, m, d.first, m.last)
                continue
            # "Pamidronate was given to 11 children", "A TNF inhibitor was started in seven children"
            t = next((i for i in treat if d.last <= i < m.first), None)
            if t is not None and m.first - d.last <= 12 and _between_ok(
                    tokens, t + 1, m.first, frozenset({"to", "in", "for", "as", "bridging", "therapy", "the", "a", "an"})):
                add(d, m, d.first, m.last)
                continue
        # "Nine patients received zoledronic acid", "seven patients had received methotrexate"
        depth = _depths(tokens)
        before = [m for m in mentions if prev <= m.last <= d.first and m.first >= start and depth[m.first] <= depth[d.first]]
        if before:
            m = before[-1]
            t = next((i for i in treat if m.last <= i < d.first), None)
            responds = any(x.concept in CUES for x in tokens[m.last:t or d.first])
            if t is not None and d.first - m.last <= 20 and not responds:
                add(d, m, m.first, d.last)
                continue
            # the next part of a list: "..., 10 bisphosphonate, 10 a TNF-α antagonist and 1 glucocorticoids"
            if groups and d.first - m.last <= 2 and all(t.text in ("a", "an", "the") for t in tokens[m.last:d.first]):
                add(d, m, m.first, d.last)
                continue
            # a list of counts and drugs after the treatment word: "The shares given other drugs were
            # 100% anti-inflammatory agents, 50% systemic corticosteroids, ..."
            stops = grammar()["phrase_stops"]
            if any(start <= i < m.first for i in treat) and d.first - m.last <= 2 and not responds and all(
                    x.text[0].isalpha() and x.text not in stops and x.concept is None for x in tokens[m.last:d.first]):
                add(d, m, m.first, d.last)
                continue
        # "four partial responders to NSAID therapy additionally received sulfasalazine": the count of
        # a subject whose noun phrase names an earlier drug
        subject = _subject_through(tokens, mentions, drugs[k - 1], d, start, treat) if k and not before else None
        if subject is not None:
            add(d, subject, subject.first, d.last)
            continue
        # "received sulfasalazine and short-term corticosteroids": one count for the drugs listed
        if groups and groups[-1].drug is drugs[k - 1] and k and _listed(tokens, drugs[k - 1].last, d.first):
            g = groups[-1]
            groups.append(Group(d, g.count, g.span, g.derived))
            continue
        if whole is not None:
            groups.append(whole)  # "All 36 children were started on naproxen"
            continue
        # "NSAIDs (ibuprofen, n = 12; naproxen, n = 8)": with no count of its own, the class's is the
        # sum of its agents' counts in the brackets, unless they count responders ("remission with
        # anti-TNF (six with etanercept, one with infliximab)")
        inside = [m for m in mentions if d.first < m.first < d.last] if not cues else []
        counts = [_tied_count(tokens, x, inside, set(), list(d.parts)) for x in d.parts]
        if counts and all(counts) and len({id(m) for m in counts}) == len(counts):
            got = [_count_of(ctx, a, m) for m in counts]
            if all(got):
                groups.append(Group(d, sum(g[0] for g in got), a.span_of(d.first, d.last), derived=True))
    if len({d.cls for d in drugs}) > 1:
        for g in groups:
            g.alone = False
    return [g for g in groups if not _umbrella(tokens, g.drug, drugs)]


def _subject_through(tokens: list[Token], mentions: list[Mention], earlier: Drug, d: Drug, start: int,
                     treat: list[int]) -> Mention | None:
    """The count before `earlier` whose noun phrase `earlier` is part of ("four partial responders to
    NSAID therapy", "12 children on methotrexate"), when a treatment word joins it to `d`."""
    m = next((m for m in reversed(mentions) if start <= m.first and m.last <= earlier.first), None)
    if m is None or not any(earlier.last <= i < d.first for i in treat):
        return None
    words = tokens[m.last:earlier.first]
    if not words or words[-1].text not in ("to", "on", "with", "of", "under") or any(
            t.concept == "treat" or t.is_quantity or not t.text[0].isalpha() for t in words):
        return None
    between = tokens[earlier.last:d.first]
    if any(t.is_quantity or t.text in (",", ";", "(") for t in between) or len(between) > 5:
        return None
    return m


def _umbrella(tokens: list[Token], d: Drug, drugs: list[Drug]) -> bool:
    """Is `d` a class word whose agents of other classes the sentence goes on to count ("14 were
    given DMARDs, including methotrexate in 13 and sulfasalazine in 1")? Its count is theirs."""
    if d.agent is not None:
        return False
    nxt = next((x for x in drugs if x.first >= d.last), None)
    return nxt is not None and nxt.cls != d.cls and nxt.first - d.last <= 4 and any(
        t.text in ("including", "namely", "such", "mainly", "mostly") for t in tokens[d.last:nxt.first])


def _listed(tokens: list[Token], lo: int, hi: int) -> bool:
    between = [t.text for t in tokens[lo:hi]]
    # ", however, ...": a new clause, not the next item
    return 0 < len(between) <= 4 and between[0] in (",", "and", "or", "plus") and not any(
        t.is_quantity or ends_clause(tokens, j) for j, t in enumerate(tokens[lo:hi], lo))


def _all_given(ctx: Context, a: Analysed, d: Drug, start: int, treat: list[int]) -> Group | None:
    tokens = a.tokens
    t = next((i for i in reversed(treat) if start <= i < d.first), None)
    if t is None and ctx.n is not None:
        return _all_given_after(ctx, a, d, treat)
    if t is None or ctx.n is None:
        return None
    q = next((i for i in range(start, t) if tokens[i].concept == "all" and tokens[i].phrase_start), None)
    if q is None or q and tokens[q - 1].text in grammar()["hedges"]:
        return None  # "almost all patients received NSAID (n=25, 93%)": the count that follows says how many
    number = next((x for x in tokens[q:t] if x.is_quantity), None)
    count = number.quantity.count if number else ctx.n
    if count is None:
        return None
    return Group(d, count, a.span_of(q, d.last), derived=number is None)


def _all_given_after(ctx: Context, a: Analysed, d: Drug, treat: list[int]) -> Group | None:
    """ "NSAIDs were given to all patients", "Naproxen was started in every child": the drug, its
    treatment word, then the quantifier and the people it counts."""
    tokens = a.tokens
    stop = clause_stop(tokens, d.first)
    t = next((i for i in treat if d.last <= i < min(stop, d.last + 4)), None)
    if t is None:
        return None
    q = next((i for i in range(t + 1, min(stop, t + 6)) if tokens[i].concept == "all" and tokens[i].phrase_start), None)
    if q is None or tokens[q - 1].text in grammar()["hedges"] or any(
            x.is_quantity or x.concept in CUES for x in tokens[d.last:q]):
        return None
    end = q + 1
    while end < stop and tokens[end].concept == "all" and not tokens[end].phrase_start:
        end += 1
    if not (end < stop and tokens[end].concept == "person"):
        return None  # "given to all lesions", "in all cases" with no one named
    if end + 1 < stop and (tokens[end + 1].text in ("with", "having") or tokens[end + 1].text in grammar()["relative"]):
        return None  # "given to all patients with spinal lesions": a group the words single out
    return Group(d, ctx.n, a.span_of(d.first, end + 1), derived=True)


def _respectively(a: Analysed, drugs: list[Drug], mentions: list[Mention]) -> list[tuple[Drug, Mention]]:
    """ "analgesics, bisphosphonates and csDMARDs ... given to 85, 15 and 23 patients, respectively"."""
    if not any(t.concept == "respectively" for t in a.tokens) or len(drugs) < 2:
        return []
    after = [m for m in mentions if m.first > drugs[-1].last and m.count is not None]
    items = _list_positions(a.tokens, drugs)
    listed = items[-1] + 1 if items else len(drugs)
    if listed > len(drugs):
        # Items that are not drugs take their counts too ("analgesics, bisphosphonates ... given to
        # 85, 15 ..."): each drug takes the count at its own place in the list, or none if they differ.
        return [(d, after[k]) for d, k in zip(drugs, items)] if len(after) == listed else []
    if len(after) < len(drugs):
        return []
    return list(zip(drugs, after[:len(drugs)]))


def _list_positions(tokens: list[Token], drugs: list[Drug]) -> list[int]:
    """Each drug's place in the list that names it, counting the items that are not drugs:
    "analgesics, bisphosphonates, csDMARDs (...), and biologics" puts the three drugs at 1, 2, 3.
    Separators inside brackets do not count; the list starts at the first item before the first
    drug that a comma joins to it."""
    stops = grammar()["phrase_stops"]
    start = drugs[0].first
    while start >= 2 and tokens[start - 1].text == ",":
        j = start - 2
        while j > 0 and j > start - 6 and tokens[j - 1].text[0].isalpha() and tokens[j - 1].text not in stops:
            j -= 1
        if not tokens[j].text[0].isalpha() or tokens[j].text in stops:
            break
        start = j
    positions, item, depth, k = [], 0, 0, 0
    for i in range(start, drugs[-1].last):
        t = tokens[i].text
        if t in ("(", "["):
            depth += 1
        elif t in (")", "]"):
            depth = max(0, depth - 1)
        elif depth == 0 and (t in (",", ";") or (t in ("and", "or") and tokens[i - 1].text != ",")):
            item += 1
        if k < len(drugs) and i == drugs[k].first:
            positions.append(item)
            k += 1
    return positions if len(positions) == len(drugs) and len(set(positions)) == len(drugs) else []


# --- responses -----------------------------------------------------------------------------------

@dataclass
class Response:
    drug: Drug | None
    responded: int
    treated: int | None
    outcome: str
    span: Span
    derived: bool = False


CUES = ("response", "no_response", "failure")


def _outcome(tokens: list[Token], cue: int, lo: int, hi: int, default: str) -> str:
    """mri when the response is said of imaging ("MRI response", "regression on MRI", "radiological
    remission"), clinical when of symptoms ("clinical remission", "free of pain"); otherwise the
    words around it, then `default`."""
    def kind(ts):
        concepts = {t.concept for t in ts}
        words = {t.text for t in ts}
        if words & {"clinical", "clinically", "pain", "symptoms", "symptom-free", "pain-free"}:
            return "clinical"
        return "mri" if "mri" in concepts else None
    if 0 <= cue < len(tokens):
        end = _phrase_end(tokens, cue)
        after = tokens[end:min(end + 5, clause_stop(tokens, cue))]  # "regression of their lesions on MRI"
        found = kind(tokens[cue:end]) or kind(tokens[max(0, cue - 3):cue]) or kind(after)
        if found:
            return found
    return kind(tokens[max(0, lo):hi]) or default


def default_outcome(ctx: Context) -> str:
    """mri when the paper defines response by imaging ("Therapeutic response was judged by the WB-MRI
    status of the lesions"), else clinical."""
    for a in ctx.prose:
        t = a.tokens
        concepts = {c for c, _ in _concepts(t, 0, len(t))}
        words = {x.text for x in t}
        if {"response", "mri"} <= concepts and words & {"judged", "assessed", "defined", "evaluated", "measured",
                                                        "marker", "determined", "outcome"} and not words & {
                "not", "no", "clinical", "clinically", "symptoms", "pain"}:
            return "mri"
    return "clinical"


def responses(ctx: Context, a: Analysed, drugs: list[Drug], groups: list[Group], discourse: Discourse,
              outcome: str) -> list[Response]:
    """The responses a sentence states: responders, and of how many treated."""
    tokens = a.tokens
    cues = [(c, i) for c, i in _concepts(tokens, 0, len(tokens)) if c in CUES]
    if not cues:
        return []
    treated = a.derived.get("treated_mentions", set())
    mentions = [m for m in a.mentions if (m.count is not None or m.pct is not None) and _people(a, m)
                and m.shape not in LABELLING and (id(m) not in treated or m.total is not None)]
    out: list[Response] = []
    used_mentions: set[int] = set()
    used_cues: set[int] = set()
    study = _study_drug(ctx, discourse)
    respectively = _respectively(a, drugs, [m for m in mentions if m.count is not None])
    if respectively:
        c, i = next((x for x in cues if x[0] != "failure"), (None, 0))
        for d, m in respectively if c else ():
            span = a.span_of(min(d.first, m.first, i), max(d.last, m.last, i + 1))
            responded = 0 if c == "no_response" else m.value
            out.append(Response(d, responded, m.total, _outcome(tokens, i, 0, len(tokens), "clinical"), span))
        return out
    # Drug by drug: "remission with pamidronate in 8/11 children and with TNF inhibitors in 5/7",
    # "Seven achieved remission with anti-TNF (...), three with methotrexate, one with pamidronate".
    named = sorted([*drugs, *(x for d in drugs for x in d.parts)], key=lambda d: d.first)  # with the agents in brackets
    for d in named:
        m = _tied_count(tokens, d, mentions, used_mentions, named)
        if m is None:
            continue
        c, i = _nearest_cue(tokens, cues, m, d)
        if c is None or c == "failure":
            continue  # "nine got worse during pamidronate": non-responders, not a response figure
        used_mentions.add(id(m))
        used_cues.add(i)
        group = next((g for g in groups if g.drug.cls == d.cls), None) or discourse.of_drug(d.cls)
        r = _response(ctx, a, d, m, c, group, (min(m.first, d.first, i), max(m.last, d.last, i + 1)),
                      _default_for(d, study, outcome), cue_at=i)
        if r:
            out.append(r)
    # No drug tied to the count: the group the sentence speaks of, or the whole cohort.
    for c, i in cues:
        if i in used_cues or c == "failure":
            continue
        lo, hi = clause_start(tokens, i), clause_stop(tokens, i)
        quant = _quantifier(tokens, lo, i) or _quantifier_after(tokens, i, hi)
        target = None if quant else _subject(a, mentions, i, lo, hi, used_mentions)
        tied = [d for d in drugs if lo <= d.first < hi and _drug_tied(tokens, d, i)]
        joined = [d for d in drugs if tied and any(0 < d.first - t.last <= 2 and tokens[t.last].text in ("or", "and", ",")
                                                   for t in tied)]
        if {d.cls for d in tied + joined} - {t.cls for t in tied}:
            continue  # "after bisphosphonate or TNF-α antagonist therapy": no one drug
        if tied and target is None and quant is None:
            continue  # a drug tied to the word but no count: "NSAIDs gave a moderate response"
        if target is None and quant is None:
            if c == "no_response" and groups:
                # "all 29 patients had been treated with NSAIDs ... without achieving remission"
                out += [Response(g.drug, 0, g.count, "clinical", g.span) for g in groups]
            continue
        if target is not None and target.value is not None and any(t.text in grammar()["part_of"] for t in tokens[max(0, i - 2):i]) \
                and any(target.value < r.responded for r in out):
            continue  # "a response in 24 of 29, with complete remission in 15": a part of the response just stated
        if target is not None:
            used_mentions.add(id(target))
        group, whole = _group_of(ctx, a, target, quant, lo, groups, discourse)
        before_cue = [g for g in groups if a.span_of(0, 1)[0] <= g.span[0] < a.span_of(i, i + 1)[0]]
        if quant and quant[0] == "none" and quant[1] and len(before_cue) > 1:
            # "in neither case with sustained remission": none of each group the sentence names
            out += [Response(g.drug, 0, g.count, "clinical", g.span) for g in before_cue]
            continue
        in_clause = [d for d in drugs if lo <= d.first < hi]
        if len(tied) == 1:
            in_clause = tied  # "All patients had no response to NSAIDs"
            if group is not None and group.drug.cls != tied[0].cls:
                group = None  # the drug named with the word, not the paper's study drug
        drug = group.drug if group else (in_clause[0] if len(in_clause) == 1 else None)
        if drug is None and not whole:
            continue
        if drug is not None and group is None:
            group = discourse.of_drug(drug.cls)
        span = (min(i, target.first if target else quant[3]), max(i + 1, target.last if target else i + 1))
        r = _response(ctx, a, drug, target, c, group, span, _default_for(drug, study, outcome), quant=quant, cue_at=i)
        if r:
            out.append(r)
    return out


def _response(ctx: Context, a: Analysed, drug: Drug | None, m: Mention | None, cue: str, group: Group | None,
              span: tuple[int, int], outcome: str, quant=None, cue_at: int = -1) -> Response | None:
    """The response a count (or a word like "all", "none") states of a group."""
    tokens = a.tokens
    treated = m.total if m is not None and m.total else (group.count if group else None)
    if treated is None and quant is not None and not quant[1]:
        treated = ctx.n  # "All patients had no response to NSAIDs"
    if drug is None and treated is None:
        treated = _scope_total(a, m) if m is not None else None
        if treated is None:
            treated = ctx.n
    derived = False
    if quant is not None:
        responded = 0 if quant[0] == "none" else (2 if quant[2] == "both" else treated)
        if quant[2] == "both":
            treated = 2
        derived = quant[0] != "none"
    elif m.value is None:
        # "43% of our patients were free of symptoms": a share of the treated, where one count fits
        if treated is None or not 0 <= m.percent <= 100:
            return None
        if treated == ctx.n and not shares_fit(ctx, least=3):
            return None  # the paper's percentages are of varying groups: this one may be too
        fits = counts_for_percent(m.percent, treated)
        if len(fits) != 1:
            return None
        responded, derived = fits[0], True
    else:
        responded = m.value
        if m.total is None and m.percent is not None and treated is None and ctx.n and m.value in counts_for_percent(m.percent, ctx.n):
            treated = ctx.n  # "Seven patients (28%) had sufficient effect": a share of the cohort
    if cue == "no_response":
        if m is not None and m.value is not None and m.total is None and quant is None:
            treated = m.value  # "No response to antibiotics was seen in seven patients"
        responded = 0
    if responded is None or (treated is not None and responded > treated):
        return None
    lo, hi = span
    return Response(drug, responded, treated, _outcome(tokens, cue_at, lo - 3, hi + 3, outcome), a.span_of(lo, hi), derived)


def _default_for(drug: Drug | None, study: Group | None, outcome: str) -> str:
    """The paper's own definition of response holds for its study drug and its overall response;
    other drugs' responses are clinical unless said otherwise."""
    return outcome if drug is None or (study is not None and drug.cls == study.drug.cls) else "clinical"


def _group_of(ctx: Context, a: Analysed, m: Mention | None, quant, lo: int, groups: list[Group],
              discourse: Discourse) -> tuple[Group | None, bool]:
    """(the treated group a response speaks of, whether it speaks of the whole cohort)."""
    tokens = a.tokens
    if quant is not None and quant[4] is not None:
        g = next((g for g in groups if g.count == quant[4]), None) or discourse.of_size(quant[4])
        return g, g is None and quant[4] == ctx.n  # "None of the thirteen showed a sustained improvement"
    scoped = quant is not None and quant[1] or (m is not None and (
        m.last < len(tokens) and tokens[m.last].concept == "scope"
        or any(t.concept == "scope" for t in tokens[max(0, m.first - 4):m.first])))
    final = any(c == "final_status" for c, _ in _concepts(tokens, lo, clause_stop(tokens, lo)))
    if m is not None and m.total is not None and m.total == ctx.n and (final or not groups):
        return None, True  # "At the last visit, 22 of the 29 patients were free of pain"
    if m is not None and m.total is not None:
        g = next((g for g in groups if g.count == m.total), None) or discourse.of_size(m.total)
        if g:
            return g, False
        if len(groups) == 1 and scoped:
            return groups[0], False  # "given to 26 ..., and of these, 18/22 evaluable responded"
        # "Over follow-up, 88.89% (24/27) of patients did well": the overall response of those followed
        return None, m.total == ctx.n or (final and not groups and m.total < (ctx.n or 0))
    if groups:
        # "All receive NSAIDs: ..., four were in remission"; of a class and its agents, the class:
        # "given bisphosphonates (alendronate in two, pamidronate in two), all with good response"
        return max((g for g in groups if g.drug.cls == groups[-1].drug.cls), key=lambda g: g.count), False
    if scoped:
        if m is not None and any(x.last <= m.first and x.count is not None and _people(a, x) for x in a.mentions):
            return None, False  # "Five were left with deformity (two of them with inactive disease)"
        return discourse.last(), False
    total = _scope_total(a, m) if m is not None else None
    if total is not None:
        if total == ctx.n:
            return None, True  # "Among 15 patients, 12 (80%) achieved clinical remission"
        return discourse.of_size(total), False
    study_drug = _study_drug(ctx, discourse)
    if study_drug is not None:
        return study_drug, False  # a study of one drug given to every patient: its responses are that drug's
    final = any(c == "final_status" for c, _ in _concepts(tokens, lo, clause_stop(tokens, lo)))
    cohort_share = m is not None and m.percent is not None and ctx.n and (
        m.value is None or m.value in counts_for_percent(m.percent, ctx.n))
    everyone = m is not None and m.value is not None and m.value == ctx.n  # "Eight children improved" of eight
    return None, bool(final or cohort_share or everyone or (quant is not None and not quant[1]))


def _study_drug(ctx: Context, discourse: Discourse) -> Group | None:
    """The one drug a paper has said every patient was given, when it has named no other."""
    classes = {g.drug.cls for g in discourse.groups}
    if len(classes) != 1 or ctx.n is None:
        return None
    return next((g for g in discourse.groups if g.count == ctx.n and g.alone), None)


def _scope_total(a: Analysed, m: Mention) -> int | None:
    """The group a clause starts from: "Among 15 patients, 12 (80%) achieved clinical remission"."""
    tokens = a.tokens
    start = clause_start(tokens, m.first)
    while start < m.first and not tokens[start].text[0].isalnum():
        start += 1
    if start < m.first and tokens[start].text in ("among", "of", "in"):
        q = next((t for t in tokens[start:m.first] if t.is_quantity), None)
        comma = any(t.text == "," for t in tokens[start:m.first])
        if q is not None and comma and q.quantity.count:
            return q.quantity.count
    return None


def _tied_count(tokens: list[Token], d: Drug, mentions: list[Mention], done: set[int], drugs: list[Drug]) -> Mention | None:
    """The count right beside a drug, tied to it by words like "with", "in", "on": "three with
    methotrexate", "with pamidronate in 8/11", "response to antibiotics was seen in seven"."""
    best = None
    for m in mentions:
        if id(m) in done:
            continue
        if m.last <= d.first:
            gap = (d.first - m.last, tokens[m.last:d.first])
        elif m.first >= d.last:
            gap = (m.first - d.last, tokens[d.last:m.first])
            if any(0 <= x.first - m.last <= 2 and all(t.text in TIES for t in tokens[m.last:x.first]) for x in drugs):
                continue  # "methotrexate and three sulfasalazine": three is the next drug's
        else:
            continue
        if gap[0] > 6 or not all(t.text in TIES or t.concept in CUES or t.concept == "person" for t in gap[1]):
            continue
        if best is None or gap[0] < best[0]:
            best = (gap[0], m)
    return best[1] if best else None


def _nearest_cue(tokens: list[Token], cues, m: Mention, d: Drug) -> tuple[str | None, int]:
    """The response word a drug's count goes with: the nearest within a few words, or, for the items
    of a list ("Remission was achieved in 12 (1 with NSAIDs, 3 with methotrexate, ...)"), the one
    the list follows. A count in brackets is not the response of a word after them ("given
    bisphosphonates (alendronate in two, pamidronate in two), all with good response")."""
    lo, hi = min(m.first, d.first), max(m.last, d.last)
    depth = _depths(tokens)
    best = None
    for c, i in cues:
        if i >= hi and depth[m.first] > depth[i]:
            continue
        dist = 0 if lo <= i < hi else min(abs(i - lo), abs(i - hi))
        if dist <= 8 and (best is None or dist < best[0]):
            best = (dist, c, i)
    if best is None:
        earlier = [(c, i) for c, i in cues if i < lo and c != "failure"]
        if earlier:
            return earlier[-1]
    return (best[1], best[2]) if best else (None, -1)


def _drug_tied(tokens: list[Token], d: Drug, i: int) -> bool:
    lo, hi = (d.last, i) if d.last <= i else (i + 1, d.first)
    return hi - lo <= 6 and all(t.text in TIES or t.concept in CUES or t.concept == "treat" for t in tokens[lo:hi])


# Words between a response word and the count after it: "remission was achieved in 12", "a good
# response, with every lesion resolving, was seen in seventeen patients".
_LEADS = frozenset({"in", "was", "were", "seen", "observed", "achieved", "obtained", "reached", "found", "noted",
                    "recorded", "documented", "occurred", "induced"})


def _subject(a: Analysed, mentions: list[Mention], i: int, lo: int, hi: int, done: set[int]) -> Mention | None:
    """The count a response word is said of: before it ("Fifteen of them reached remission") or
    after it ("remission in three (3/8)", "worked in 2/9 patients")."""
    tokens = a.tokens
    before = [m for m in mentions if lo <= m.first and m.last <= i and id(m) not in done]
    end = _phrase_end(tokens, i)
    after = [m for m in mentions if end <= m.first < hi and id(m) not in done]
    if after:
        m = after[0]
        gap = tokens[end:m.first]
        lead = gap[-3:]
        clean = not any(t.concept in CUES or t.concept == "treat" for t in gap)
        if not gap and tokens[i].text in grammar()["affect_verbs"]:
            return m  # "which helped 70% of them", "benefited seven patients"
        if clean and len(gap) <= 14 and (
                (any(t.text == "in" for t in lead) and all(t.text in _LEADS or t.text in ("the", "a", "of", "only", "just", "all")
                                                         or t.concept == "person" for t in lead))
                or (gap[:1] and gap[0].text == "in" and lead[-1:] and lead[-1].text in ("(", "["))):
            return m  # "was seen in seventeen patients", "remission in nearly half of the patients (14/30)"
    if before:
        m = before[-1]
        stops = grammar()["predicate_stops"] - {",", ":"}
        if not any(t.is_quantity and not (j + 1 < len(tokens) and tokens[j + 1].concept == "time_unit")
                   for j, t in enumerate(tokens[m.last:i], m.last)) and not any(
                t.text in stops for t in tokens[m.last:i]):
            # "18/22 patients evaluable at 6 months responded"; but "17 patients had a flare after
            # an initial response" says the count flared
            return m
    return None


def _quantifier(tokens: list[Token], lo: int, i: int):
    """(kind, refers back, word, token, size) of "all of them", "both", "none of these", "neither",
    "none of the thirteen" (size 13: the group of that size) before a response word."""
    size = None
    for j in range(i - 1, lo - 1, -1):
        t = tokens[j]
        if t.is_quantity:
            head = next((k for k in range(j - 1, max(lo, j - 3) - 1, -1) if tokens[k].concept in ("all", "none")), None)
            if size is not None or head is None or t.quantity.count is None or not all(
                    x.text in ("of", "the", "these", "those") for x in tokens[head + 1:j] if x.concept not in ("all", "none")):
                return None
            size = t.quantity.count  # "none of the thirteen", "all 16 children"
            continue
        if t.concept in ("all", "none") and t.phrase_start:
            end = _phrase_end(tokens, j)
            if end < i and tokens[end].is_quantity:
                end = _phrase_end(tokens, end + 1) if tokens[end + 1].concept == "person" else end + 1
            # "none of the 7 children treated with colchicine improved": the people, then what they were given
            if end < i and tokens[end].concept not in ("person", "scope", "treat", None) or (
                    end < i and tokens[end].concept is None and tokens[end].text not in ("were", "was", "had", "with", "reached", "of", "showed", "achieved", "patients")):
                return None  # "all reactions resolved": not people
            words = {x.text for x in tokens[j:i]}
            back = bool(words & {"them", "these", "those", "whom", "both", "neither"}) or any(
                x.concept == "scope" for x in tokens[j:i])
            return t.concept, back or size is not None, t.text, j, size
    return None


def _quantifier_after(tokens: list[Token], i: int, hi: int):
    """ "Pain settled within weeks in all of them", "remission in none of these": the quantifier
    after a response word, as _quantifier gives it."""
    for j in range(_phrase_end(tokens, i), hi):
        t = tokens[j]
        if t.is_quantity or t.concept in CUES:
            return None
        if t.concept in ("all", "none") and t.phrase_start and j and tokens[j - 1].text in ("in", "for"):
            end = _phrase_end(tokens, j)
            if end < hi and tokens[end].concept not in ("person", "scope") and tokens[end].text not in (".", ",", ";", ")"):
                return None  # "in all lesions": not people
            words = {x.text for x in tokens[j:end + 1]}
            back = bool(words & {"them", "these", "those", "both", "neither"}) or any(
                x.concept == "scope" for x in tokens[j:end + 1])
            return t.concept, back, t.text, j, None
    return None


# --- table rows ------------------------------------------------------------------------------------

def columns(header: Analysed | None) -> list[str]:
    """What each value column of a treatment table holds, from its header: "Drug Treated, n
    Clinical remission, n (%)" -> ["treated", "responded"]."""
    if header is None:
        return []
    out = []
    for c, i in _concepts(header.tokens, 0, len(header.tokens)):
        if c == "treat" or (c == "person" and not out):
            out.append("treated")
        elif c == "response":
            out.append("responded")
    return out


def _row_kind(a: Analysed) -> str | None:
    """What the drug rows under a row without a drug count: "Remission, n (%)" -> responded,
    "Previous treatment, n (%)" -> treated."""
    concepts = {c for c, _ in _concepts(a.tokens, 0, len(a.tokens))}
    if "response" in concepts:
        return "responded"
    if "treat" in concepts or {t.text for t in a.tokens} & {"treatment", "treatments", "drugs", "medication", "medications"}:
        return "treated"
    return None


def _overall_row(ctx: Context, a: Analysed) -> Iterator[Candidate]:
    """ "Remission, n (%) 12 (80.0)": the cohort's overall response, as a table states it."""
    tokens = a.tokens
    values = [m for m in a.mentions if m.value is not None]
    if not values or ctx.n is None:
        return
    label = [c for c, _ in _concepts(tokens, 0, values[0].first)]
    if label[:1] != ["response"] or len(values) > 1 or values[0].value > ctx.n:
        return
    yield Candidate(Key(RESPONDED, "any", _outcome(tokens, 0, 0, values[0].first, "clinical")), values[0].value,
                    [a.span(0, len(a.sentence.text))], "table_row", 0.8)


def table_rows(ctx: Context, a: Analysed, drugs: list[Drug], kind: str | None = None) -> Iterator[Candidate]:
    """ "Pamidronate 11 8 (72.7)" under "Drug Treated Remission"; "Sufficient clinical effect of MTX
    (n:18) 3 17 %"; "NSAIDs 29 (100)" among the previous treatments."""
    if not drugs:
        return
    d = drugs[0]
    tokens = a.tokens
    values = [m for m in a.mentions if m.first >= d.last and (m.count is not None)]
    if not values:
        return
    span = [a.span(0, len(a.sentence.text))]
    label = {c for c, _ in _concepts(tokens, 0, values[0].first)}
    outcome = "mri" if "mri" in label else "clinical"
    agent = d.agent
    if values[0].shape == "n_equals" and len(values) > 1:
        # "Sufficient clinical effect of MTX (n:18) 3 17 %": treated in the label, responders after
        treated, responded = values[0].value, values[1].value
        if "response" in label or "failure" in label:
            yield Candidate(Key(RESPONDED, d.cls, outcome), responded, span, "table_row", 0.9, extra={"agent": agent})
            yield Candidate(Key(TREATED, d.cls, outcome), treated, span, "table_row", 0.9, extra={"agent": agent})
        return
    kinds = columns(a.header)
    if len(kinds) >= 2 and kinds[:2] == ["treated", "responded"] and len(values) >= 2:
        yield Candidate(Key(RESPONDED, d.cls, outcome), values[1].value, span, "table_row", 0.9, extra={"agent": agent})
        yield Candidate(Key(TREATED, d.cls, outcome), values[0].value, span, "table_row", 0.9, extra={"agent": agent})
        return
    if kind == "responded" and len(values) == 1:
        yield Candidate(Key(RESPONDED, d.cls, outcome), values[0].value, span, "table_row_responded", 0.85, extra={"agent": agent})
    elif len(values) == 1 or (kinds[:1] == ["treated"]):
        yield Candidate(Key(TREATED, d.cls, None), values[0].value, span, "table_row_treated", 0.85, extra={"agent": agent})


# --- the rule -------------------------------------------------------------------------------------

@TREATMENTS.rule
def treatment_statements(ctx: Context) -> Iterator[Candidate]:
    discourse = Discourse()
    outcome = default_outcome(ctx)
    names = aliases(ctx)
    title = _title_drug(ctx, names) or _sole_drug(ctx, names)
    if title:
        discourse.groups.append(title)
        yield Candidate(Key(TREATED, title.drug.cls, None), title.count, [title.span, *ctx.n_spans], "title_drug", 0.55,
                        derived=True, extra={"agent": title.drug.agent})
    table, kind = None, None
    for a in ctx.own:
        drugs = drugs_of(a, names)
        cited = a.sentence.section in ("discussion", "background")
        if a.table:
            if a.caption != table:
                table, kind = a.caption, None
            if not drugs:
                kind = _row_kind(a) or kind  # "Remission, n (%) 12 (80.0)", "Previous treatment, n (%)"
                yield from _overall_row(ctx, a)
                continue
            yield from table_rows(ctx, a, drugs, kind)
            continue
        mixed = _mixed(ctx, a, drugs)
        if mixed:
            yield mixed
            drugs = [d for d in drugs if d.first < mixed.extra["before"]]
        groups = treated_groups(ctx, a, drugs)
        for g in groups:
            yield Candidate(Key(TREATED, g.drug.cls, None), g.count, [g.span], "treated",
                            0.6 if cited else 0.75 if g.derived else 0.85, derived=g.derived,
                            extra={"agent": g.drug.agent, "parts": g.drug.named_agents, "sentence": a.sentence.start})
        for r in responses(ctx, a, drugs, groups, discourse, outcome):
            cls = r.drug.cls if r.drug else "any"
            agent, parts = (r.drug.agent, r.drug.named_agents) if r.drug else (None, None)
            yield Candidate(Key(RESPONDED, cls, r.outcome), r.responded, [r.span], "responded",
                            0.6 if cited else 0.75 if r.derived else 0.85, derived=r.derived,
                            extra={"agent": agent, "parts": parts, "sentence": a.sentence.start})
            if r.treated is not None:
                yield Candidate(Key(TREATED, cls, r.outcome), r.treated, [r.span], "responded_of",
                                0.6 if cited else 0.85, extra={"agent": agent, "parts": parts, "sentence": a.sentence.start})
        discourse.groups += groups
        if groups:
            discourse.moved_on = False
        elif any(m.count is not None and _people(a, m) for m in a.mentions):
            discourse.moved_on = True


def aliases(ctx: Context) -> dict[str, Drug]:
    """Abbreviations a paper defines for its drugs: "zoledronic acid (ZA)" makes "ZA" a drug."""
    out: dict[str, Drug] = {}
    for a in ctx.prose:
        for d in drugs_of(a):
            word = d.abbreviation
            if word and 2 <= len(word) <= 6 and word[0].isupper() and not _term(word):
                out[word] = d
    return out


_DISEASE = re.compile(r"osteomyelitis|osteitis|\bCNO\b|\bCRMO\b|\bSAPHO\b|hyperostosis", re.I)


def _title_drug(ctx: Context, names: dict[str, Drug]) -> Group | None:
    """The drug a treatment study names in its title ("Zoledronic acid for chronic nonbacterial
    osteomyelitis ..."), taken as given to the cohort, with low confidence."""
    first = next((s for s in ctx.paper.sentences if s.section == "front" and not s.table
                  and _DISEASE.search(s.text)), None)
    if first is None or ctx.n is None:
        return None
    a = Analysed(first)
    # "... refractory to NSAIDs", "after failure of methotrexate": what the cohort had before.
    before = set(grammar()["refractory_words"])
    drugs = [d for d in drugs_of(a, names) if not any(t.text in before for t in a.tokens[max(0, d.first - 3):d.first])]
    if len({d.cls for d in drugs}) != 1:
        return None
    d = drugs[0]
    return Group(d, ctx.n, a.span_of(d.first, d.last), derived=True)


def _sole_drug(ctx: Context, names: dict[str, Drug]) -> Group | None:
    """The one drug class a paper names at all, sentence after sentence ("at the first IV-PAM",
    "fell in the first month following IV-PAM", "A third IV-PAM course"): a study of that drug,
    given to the cohort. Named once or twice ("Pamidronate was the main treatment for refractory
    patients") it is one treatment among others the paper does not name."""
    found = [(a, d) for a in ctx.prose if a.sentence.section != "references" for d in drugs_of(a, names)]
    if ctx.n is None or len({d.cls for _, d in found}) != 1 or len({id(a) for a, _ in found}) < 3:
        return None
    a, d = found[0]
    return Group(d, ctx.n, a.span_of(d.first, d.last), derived=True)


def _mixed(ctx: Context, a: Analysed, drugs: list[Drug]) -> Candidate | None:
    """A count given any of three or more drug classes with no split per drug ("Twelve ... were
    subsequently given corticosteroids, methotrexate, bisphosphonates or TNF inhibitors")."""
    tokens = a.tokens
    if len({d.cls for d in drugs}) < 3:
        return None
    treat = [i for c, i in _concepts(tokens, 0, len(tokens)) if c == "treat"]
    for t in treat:
        listed = [d for d in drugs if d.first > t]
        if listed and any(x.text in ("alone", "combined", "without") for x in tokens[listed[0].last:listed[0].last + 3]):
            return None  # "received NSAIDs alone or combined with glucocorticoids, ...": the count is the first drug's
        if len({d.cls for d in listed}) < 3 or any(
                any(x.is_quantity for x in tokens[d.last:d.last + 4]) for d in listed):
            continue
        m = next((m for m in reversed(a.mentions) if m.last <= t and m.count is not None and _people(a, m)), None)
        if m is None:
            continue
        span = a.span_of(m.first, listed[-1].last)
        return Candidate(Key(TREATED, "mixed_second_line", None), m.value, [span], "mixed_list", 0.8,
                         extra={"agent": None, "before": listed[0].first})
    return None


# --- rows ---------------------------------------------------------------------------------------

def _classes_over_agents(candidates: list[Candidate]) -> list[Candidate]:
    """A class's own count wins over its agents' ("TNF inhibitors 7 5" over "Adalimumab 5 4",
    "remission with anti-TNF (six with etanercept, one with infliximab)"); where only agents are
    counted, in one sentence, their responders add up ("four with adalimumab and one with etanercept")."""
    by_key: dict[Key, list[Candidate]] = defaultdict(list)
    for c in candidates:
        by_key[c.key].append(c)
    out = []
    for key, cs in by_key.items():
        classes, agents = [], []
        for c in cs:
            (classes if not c.extra.get("agent") or c.rule == "title_drug" else agents).append(c)
        if classes or key.field != RESPONDED:
            out += classes or agents
            continue
        by_sentence: dict[int, list[Candidate]] = defaultdict(list)
        for c in agents:
            by_sentence[c.extra.get("sentence", -1)].append(c)
        for group in by_sentence.values():
            if len({c.extra["agent"] for c in group}) == len(group) > 1:
                out.append(Candidate(key, sum(c.value for c in group), [x for c in group for x in c.spans], group[0].rule,
                                     min(c.confidence for c in group),
                                     extra={"agent": ", ".join(sorted(c.extra["agent"] for c in group))}))
            else:
                out += group
    return out


def extract_outcomes(paper, ctx: Context) -> list[OutcomeRow]:
    """The treatment-response rows of a paper: one per drug class and outcome with responders, and
    one per drug given with no response stated."""
    candidates = TREATMENTS.run(ctx)
    figures = resolve(paper, _classes_over_agents(candidates))
    agents: dict[str, set[str]] = defaultdict(set)
    for c in candidates:
        for named in (c.extra.get("agent"), c.extra.get("parts")):
            if named:
                agents[c.key.drug].update(named.split(", "))
    rows = []
    for key in sorted((k for k in figures if k.field == RESPONDED), key=lambda k: (k.drug, k.outcome)):
        treated = figures.get(Key(TREATED, key.drug, key.outcome)) or figures.get(Key(TREATED, key.drug, None))
        if treated is None and key.drug == "any" and ctx.n:
            treated = Figure(ctx.n, [paper.evidence(*s) for s in ctx.n_spans], "cohort_as_denominator", 0.7, "derived")
        rows.append(OutcomeRow(key.drug, ", ".join(sorted(agents[key.drug])) or None, key.outcome, figures[key], treated))
    for key in sorted((k for k in figures if k.field == TREATED and k.outcome is None), key=lambda k: k.drug):
        if not any(r.drug == key.drug for r in rows):
            rows.append(OutcomeRow(key.drug, ", ".join(sorted(agents[key.drug])) or None, None, None, figures[key]))
    return rows
