"""Own-cohort sentences -> candidates for the study-level counts: cohort size, sexes, focality,
patients per bone site, relapses.

Every count a paper prints is a mention (`mentions.py`); what it counts is read from the concepts
around it, in this order: the noun phrase it quantifies ("15 boys", "seven unifocal", "Eight
(63.6%) of 12 patients"), the label a bracket or a table row puts before it ("female (n = 103)",
"Tibia 20 (55.6)", "multifocal in 33"), then what the sentence says of it ("30 (37.5%) had spinal
lesions", "thirteen children relapsed"). A list of labels followed by as many counts pairs them in
order ("female/male: 81/34", "Girls outnumbered boys (22/36 vs 14/36)").

The cohort size is ranked among every count of people: enrolment statements support their value,
a screened total, a subgroup, a part of a partition or another group do not, and the figure's rule
says which statements it rests on and what it beat.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

from ..core import vocab
from ..core.fields import SITE_PREFIX
from .engine import Analysed, Candidate, Context, Key, Registry
from .mentions import Mention, ends_clause, starts_clause
from .mentions import clause_start as _clause_start
from .mentions import clause_stop as _clause_stop
from .quantities import counts_for_percent, share_of
from .tokens import Token, lexicon
from .tokens import concepts_in as _concepts

STUDY = Registry()
N = Key("n_patients")

# The mention shapes whose count labels the phrase before them: "multifocal CNO (n = 33)".
LABELLING = frozenset({"n_equals", "paren_n_pct", "paren_n_slash", "pct_paren_n"})
FOCALITY = {"multifocal": "n_multifocal", "unifocal": "n_unifocal"}
SEXES = {"male": "n_male", "female": "n_female"}
# Concepts that say what a count counts, for the label and predicate readings.
FIELD_CONCEPTS = frozenset({"male", "female", "multifocal", "unifocal", "relapse"})
INVOLVEMENT = frozenset({"lesion", "involvement"})
FIELD_OF = {**FOCALITY, **SEXES, "relapse": "n_relapse"}
# Concepts that name a group of patients a clause can single out ("In bilateral disease, ...").
GROUPS = frozenset({"person", "male", "female", "multifocal", "unifocal", "relapse", "laterality", "lesion"})


@lru_cache(maxsize=1)
def grammar() -> dict[str, frozenset[str]]:
    g = vocab.load("concepts.json")["grammar"]
    return {k: frozenset(v) for k, v in g.items() if not k.startswith("_")}


@lru_cache(maxsize=1)
def policy() -> dict:
    return vocab.load("figures.json")["cohort_ranking"]


# --- reading one mention ----------------------------------------------------------------------

@dataclass(frozen=True)
class Reading:
    field: str          # a study field, "person" (a count of people), "lesions" or "measure"
    how: str            # which words said so: noun, label, predicate, pair
    at: tuple[int, int]  # token range of those words


def _of_people(tokens: list[Token], i: int) -> bool:
    """Is token i an "of" before people: "of the children", "of our patients"?"""
    for t in tokens[i + 1:i + 4]:
        if t.concept == "person":
            return True
        if t.text not in ("the", "our", "all", "these", "those", "study", "cno", "crmo"):
            return False
    return False


def noun_phrase(a: Analysed, m: Mention) -> tuple[int, int]:
    """Token range of what the count quantifies, right after it: "15 [boys]", "33 (89%) [CNO
    patients]"; for a percentage "68% of [patients]"."""
    tokens, stops = a.tokens, grammar()["phrase_stops"]
    i = m.last
    if i < len(tokens) and tokens[i].text == "of" and (m.count is None or _of_people(tokens, i)):
        i += 1  # "68% of [patients]", "21 (70%) of the [children] were girls"
        if i < len(tokens) and tokens[i].text in ("the", "our", "all", "these", "them"):
            i += 1
    end = m.last + len(m.after)
    if i + 1 < end and tokens[i].text == "-" and tokens[i + 1].text[:1].isalpha():
        i += 1  # "a 12-year-old girl", "a 3-month course": the number is part of a compound
    j = i
    while j < end and j - i < 6:
        t = tokens[j]
        if t.is_quantity or (t.text in stops and (t.concept is None or t.phrase_start)) or not (t.text[0].isalnum() or t.text in "±%"):
            break
        j += 1
    return i, j


def _bones(a: Analysed, lo: int, hi: int) -> list[tuple[str, int]]:
    """(bone, token) of the bone sites in tokens [lo, hi), but those qualified as bilateral or symmetrical."""
    tokens = a.tokens
    return [(e.key, first) for first, last, e in a.entities("SITE") if lo <= first and last <= hi
            and not any(t.concept == "laterality" for t in tokens[max(0, first - 2):first])]


def _not_sites(a: Analysed, lo: int, hi: int) -> bool:
    return any(lo <= first and last <= hi for first, last, _ in a.entities("NOT_SITE"))


def _label_phrase(a: Analysed, m: Mention) -> tuple[int, int]:
    """The phrase right before a mention, back to a stop word or punctuation: "[multifocal CNO]
    (n = 33)", "[Female] 22 (61.1)"."""
    tokens, stops = a.tokens, grammar()["phrase_stops"]
    j = m.first
    while j > 0 and tokens[j - 1].text in ("(", "[", ":", ",", "n", "=", "%", ")"):
        j -= 1
    i = j
    while i > m.first - len(m.before) and j - i < 6:
        t = tokens[i - 1]
        if t.is_quantity or (t.text in stops and t.concept is None) or not t.text[0].isalnum():
            break
        i -= 1
    # A bone whose name holds punctuation ("tibia/fibula") is a label whole.
    for first, last, _ in a.entities("SITE"):
        if first < i < last and last <= j:
            i = first
    return i, j


def _field_of(a: Analysed, lo: int, hi: int, labels: bool = False) -> tuple[str, int] | None:
    """The field the concepts in tokens [lo, hi) name, and where. `labels`: the words label a
    bracket after them ("predominantly female patients (n = 103)"), they do not quantify."""
    concepts = _concepts(a.tokens, lo, hi)
    kinds = [(c, i) for c, i in concepts if c in FIELD_CONCEPTS]
    bones = _bones(a, lo, hi)
    if kinds and kinds[0][0] == "relapse" and any(t.concept == "skin" for t in a.tokens[max(0, kinds[0][1] - 5):kinds[0][1] + 3]):
        return None  # "palmoplantar pustulosis recurred in two": the skin, not the bone disease
    if kinds:
        c, i = kinds[0]
        if c in SEXES and not labels and any(k == "predominance" for k, _ in concepts):
            return None  # "118 predominantly female patients": most of them, not a count of them
        if c in FOCALITY and _describes_symptom(a.tokens, i):
            return None
        return FIELD_OF[c], i
    if len(bones) == 1 and not _not_sites(a, lo, hi):
        return f"site_{bones[0][0]}", bones[0][1]
    return None


def _describes_symptom(tokens: list[Token], i: int) -> bool:
    """ "multifocal bone pain", "unifocal extremity or back pain": the focality of a symptom."""
    for t in tokens[i + 1:i + 5]:
        if t.concept == "symptom":
            return True
        if t.is_quantity or not t.text[0].isalnum():
            return False
    return False


def _lesion_scope(a: Analysed, m: Mention) -> bool:
    """ "Of the 120 lesions, 30 were in the tibia": the clause counts lesions, not patients."""
    tokens = a.tokens
    start = clause_start(a, m.first)
    if start >= m.first or tokens[start].text not in ("of", "among", "in"):
        return False
    comma = next((j for j in range(start, m.first) if tokens[j].text == ","), None)
    return comma is not None and any(t.concept == "lesion" for t in tokens[start:comma])


def read_mention(a: Analysed, m: Mention) -> Reading | None:
    """What a count mention counts, from the words around it, or None."""
    readings = a.derived.setdefault("readings", {})
    if id(m) not in readings:
        readings[id(m)] = _read_mention(a, m)
    return readings[id(m)]


def _read_mention(a: Analysed, m: Mention) -> Reading | None:
    tokens = a.tokens
    if (m.first and tokens[m.first - 1].concept == "threshold") or (
            m.last < len(tokens) and tokens[m.last].concept == "threshold"):
        return None  # "at least 2", "two or more": a bound, not a count
    if m.first >= 2 and tokens[m.first - 1].text == "of" and tokens[m.first - 2].concept in ("mean", "median"):
        return None  # "a median of 5": a statistic, not a count of people
    if m.first >= 2 and tokens[m.first - 1].text in ("but", "except") and any(
            t.concept == "all" for t in tokens[max(0, m.first - 4):m.first - 1]):
        return None  # "all but one": read with the "all"
    lo, hi = noun_phrase(a, m)
    # With the words inside a joined mention: "20 [children] (20/36)".
    hlo, hhi = (m.first + 1 if m.head else lo), hi
    head = _concepts(tokens, hlo, hhi) if hlo < hhi else []
    head_kinds = [c for c, _ in head]
    if head_kinds[:1] and head_kinds[0] in ("time_unit", "measure_unit"):
        return Reading("measure", "noun", (hlo, hhi))
    if "other_group" in head_kinds:
        return Reading("other", "noun", (hlo, hhi))
    if "lesion" in head_kinds and "person" not in head_kinds[:head_kinds.index("lesion")]:
        return Reading("lesions", "noun", (hlo, hhi))
    if _lesion_scope(a, m):
        return Reading("lesions", "scope", (m.first, m.last))
    if lo < hi and not head_kinds and m.count is not None:
        return None  # "Two main phenotypes": a count of things the concepts do not know
    bracketed = m.count is None and m.first and tokens[m.first - 1].text in ("(", "[")
    found = _field_of(a, hlo, hhi) if hlo < hhi else None
    if found and m.shape not in LABELLING:
        return Reading(found[0], "noun", (hlo, hhi))
    if m.shape in LABELLING or (bracketed and hlo == hhi):
        # A bracket labels the words before it: "multifocal CNO (n = 33)", "clavicle (55,6%)".
        llo, lhi = _label_phrase(a, m)
        found = _field_of(a, llo, lhi, labels=True) if llo < lhi else None
        if found:
            return Reading(found[0], "label", (llo, lhi))
        person = any(c == "person" for c, _ in _concepts(tokens, llo, lhi)) or _person_with(a, llo)
    else:
        person = False
    # What the sentence says of the counted people: "had multifocal disease", "were female".
    end = m.last + len(m.after)
    # "Most patients (86%) showed ...": the predicate starts after the bracket's end.
    start = hi + 1 if bracketed and hi < len(tokens) and tokens[hi].text in (")", "]") else hi
    found = _predicate(a, start, end)
    if found:
        return Reading(found[0], "predicate", (start, _phrase_end(tokens, found[1])))
    if person:
        return Reading("person", "label", (m.first, m.last))
    found = None if _has_predicate(a, hi, end) else _label(a, m)
    if found:
        return Reading(found[0], "label", (found[1], m.first))
    if "person" in head_kinds or "male" in head_kinds or "female" in head_kinds:
        return Reading("person", "noun", (hlo, hhi))
    if lo == hi and m.count is not None and not m.count.word and 1900 <= m.count.value <= 2100:
        return Reading("year", "noun", (m.first, m.last))
    if lo == hi and m.count is not None and m.shape not in LABELLING and _elided_person(a, m, end):
        return Reading("person", "elided", (m.first, m.last))
    return None


def _person_with(a: Analysed, i: int) -> bool:
    """ "Children with CNO (n = 44)": a person noun, "with", then the disease, before the label."""
    tokens = a.tokens
    return i >= 2 and tokens[i - 1].text == "with" and tokens[i - 2].concept == "person"


def _elided_person(a: Analysed, m: Mention, end: int) -> bool:
    """A count with no noun that still counts people: "8 of these", "41 were included", "the
    diagnosis was confirmed in 97"."""
    tokens = a.tokens
    if m.last < len(tokens) and tokens[m.last].concept == "scope":
        return True
    if not _elides(tokens, m):
        return False  # "Two experienced radiologists reviewed ...": a noun the concepts do not know
    return bool(set(_cue_owners(a).get(m.first, {})) & {"enrol", "final"}) or _diagnosed(tokens, m.last, end)


ELIDING = frozenset({"were", "was", "had", "have", "has", "received", "showed", "developed", "of", "(", ",", ")", ";",
                     "."})


def _elides(tokens: list[Token], m: Mention) -> bool:
    """Does a count end where its noun would be ("41 were included", "in 97 (65%)")?"""
    return m.last >= len(tokens) or tokens[m.last].text in ELIDING or tokens[m.last].concept in ("scope", "enrol", "final")


def _has_predicate(a: Analysed, lo: int, hi: int) -> bool:
    """Does a verb follow the count's noun phrase ("and one received pamidronate")? Then the count
    is the subject of its own statement, and words before it do not label it; a preposition ("in",
    "during follow-up") starts no statement of its own."""
    if lo >= hi:
        return False
    t = a.tokens[lo].text
    g = grammar()
    return (t in g["phrase_stops"] and t not in g["joiners"] and t not in g["relative"]
            and t not in g["prepositions"])


def _predicate(a: Analysed, lo: int, hi: int) -> tuple[str, int] | None:
    """The field what follows a count's noun phrase says of it, up to the next comma: "[had
    multifocal disease]", "[were female]", "[had spinal lesions]"."""
    tokens, be = a.tokens, grammar()["be"]
    if lo >= hi or tokens[lo].text in grammar()["joiners"]:
        return None  # "multifocal in 33 (89%) and unifocal in four": no verb follows the count
    # The predicate ends at a comma, and before a reason or a treatment ("were given pamidronate
    # due to relapse" says nothing of relapses among them).
    drugs = [first for first, _, _ in a.entities("DRUG")]
    hi = next((j for j in range(lo, hi) if tokens[j].text in grammar()["predicate_stops"] or j in drugs), hi)
    concepts = _concepts(tokens, lo, hi)
    after_scope = bool(concepts) and concepts[0][0] == "scope" and concepts[0][1] == lo
    for c, i in concepts:
        if c in FOCALITY or c == "relapse":
            return _field_of(a, i, hi)
        if c in SEXES and after_scope:
            return SEXES[c], i  # "30 of them girls", "ten of whom were boys"
        if c in SEXES:
            # Only "were female", "were all male", "being female": a sex word later in the
            # sentence says nothing of this count.
            if any(tokens[j].text in be for j in range(max(lo, i - 2), i)):
                return SEXES[c], i
            return None
        if c in ("person", "time_unit", "measure_unit"):
            return None  # another noun phrase: what follows is about it
    bones = _bones(a, lo, hi)
    if len(bones) == 1 and not _not_sites(a, lo, hi) and ({c for c, _ in concepts} & INVOLVEMENT or (
            tokens[lo].text == "of" and bones[0][1] - lo <= 2)):
        return f"site_{bones[0][0]}", bones[0][1]  # "had tibial lesions", "42 cases of femur"
    return None



def _label(a: Analysed, m: Mention) -> tuple[str, int] | None:
    """A field named before the count, close enough to label it: "multifocal in 33", "Female 22
    (61.1)", "the tibia was affected in 20", "relapses were observed in four patients"."""
    tokens = a.tokens
    lo = m.first - len(m.before)
    # "The tibia ..., with 17 lesions in 11 children": a count of lesions between does not end the label.
    start = clause_start(a, m.first)
    while lo > start + 1 and tokens[lo - 1].is_quantity and tokens[lo].concept == "lesion":
        lo = next((j + 1 for j in range(lo - 2, start - 1, -1) if tokens[j].is_quantity), start)
    found = None
    for c, i in reversed(_concepts(tokens, lo, m.first)):
        if c in FIELD_CONCEPTS:
            if any(t.concept in ("negation", "none") or t.text in ("no", "without") for t in tokens[max(lo, i - 3):i]):
                return None  # "No further flares occurred in four patients": four without
            found = _field_of(a, i, m.first)
            break
        if c in ("time_unit", "measure_unit", "other_group"):
            break  # another noun phrase stands between: what comes before it labels that
    bones = _bones(a, lo, m.first)
    if bones and (found is None or bones[-1][1] > found[1]):
        bone, i = bones[-1]
        between = tokens[i + 1:m.first]
        adjacent = all(t.text in grammar()["label_fillers"] for t in between)
        involved = any(t.concept in INVOLVEMENT for t in between)
        finding = any(t.concept in ("symptom", "finding") for t in tokens[max(lo, i - 3):i])
        if (adjacent or involved) and not finding and not _not_sites(a, i, m.first):
            return f"site_{bone}", i
        return None
    if found and found[0] in SEXES.values():
        # A sex word labels a count only right before it: "Female 22", "male: 26".
        if not all(t.text in grammar()["label_fillers"] for t in tokens[found[1] + 1:m.first]):
            return None
    return found


# --- subgroups --------------------------------------------------------------------------------

def clause_start(a: Analysed, i: int) -> int:
    return _clause_start(a.tokens, i)


def clause_stop(a: Analysed, i: int) -> int:
    return _clause_stop(a.tokens, i)


def in_subgroup(a: Analysed, m: Mention, n: int | None) -> bool:
    """Is the count of a subgroup the sentence singles out: "Of these seven unifocal children,
    four ...", "Among the 24 responders, nine ...", "In bilateral disease, ..."?"""
    tokens = a.tokens
    start = clause_start(a, m.first)
    for c, i in _concepts(tokens, start, min(m.last + 2, len(tokens))):
        if c == "scope" and (i < m.first or (i == m.last and m.count is not None)):  # "of these, four", "six of whom"
            if n is not None and _antecedent(a, i, min(i, m.first)) == n:
                continue  # "6 patients entered, of whom 83.3% were girls": the group named is the cohort
            return True  # ("55.6% of them were female" is a share of the group just named)
    first = tokens[start].text if start < len(tokens) else ""
    if first in ("of", "among", "in", "within", "for"):
        comma = next((j for j in range(start, m.first) if tokens[j].text == ","), None)
        if comma is not None and comma - start <= 6:
            inside = [t for t in tokens[start:comma] if t.is_quantity]
            if inside and n is not None and inside[0].quantity.count not in (None, n):
                return True
            # "In bilateral disease,", "Among patients with spinal lesions,": a group the concepts name.
            group = {c for c, _ in _concepts(tokens, start, comma)} & GROUPS or _bones(a, start, comma)
            if not inside and group and not any(t.text in ("our", "this", "total", "all") for t in tokens[start:comma]):
                return True
    return False


# --- the cohort size ----------------------------------------------------------------------------

@dataclass
class Statement:
    value: int
    span: tuple
    score: float
    reasons: list[str]
    sex: str | None = None   # the sex a one-case statement names ("a 12-year-old girl")


def cohort_statements(ctx: Context) -> list[Statement]:
    """Every count of people in the paper's own sentences, scored as a statement of the cohort size."""
    weights = policy()
    out: list[Statement] = []
    for a in ctx.own:
        paired = {id(m): r for m, c, r in _pairs(a) if c is m}  # "boys than girls (20 vs. 15)"
        readings = [(m, paired.get(id(m)) or read_mention(a, m)) for m in a.mentions]
        people = [(m, r) for m, r in readings if r and r.field in ("person", "n_male", "n_female") and m.value]
        parts = _partitions(a, people)
        cues = _cue_owners(a)
        for m, r in people:
            if r.field != "person" and m not in parts and not _one_sex_cohort(ctx, m, r):
                continue
            owned = cues.get(m.first, {})
            score, reasons = _score(a, m, weights, set(owned))
            if m in parts:
                score, reasons = weights["part"], ["part of a sum"]
            # The evidence: the count, what it counts and the words that make it the cohort.
            ends = [m.first, m.last, *r.at, *owned.values(), *(i + 1 for i in owned.values())]
            out.append(Statement(m.value, a.span_of(min(ends), _phrase_end(a.tokens, max(ends) - 1)), score, reasons))
        # "28/40 (70%) had ...": the denominator is a group the paper counts in, often the cohort.
        for m, r in readings:
            if m.total and m.total != m.value and (r is None or r.field not in ("lesions", "measure", "other")):
                out.append(Statement(m.total, a.span_of(m.first, m.last), weights["reference"], ["denominator"]))
        out += _one_case(a, weights)
        for group in _groups(parts):
            total = sum(m.value for m in group)
            clause = {c for c, _ in _concepts(a.tokens, clause_start(a, group[0].first), clause_stop(a, group[-1].last - 1))}
            sexes = {r.field for m, r in people if m in group}
            if "enrol" not in clause and not sexes <= set(SEXES.values()) and "together" not in {t.text for t in a.tokens}:
                continue  # "three are free of symptoms and one needed more": parts of a group, not the cohort
            score = weights["partition_sum"] + (weights["enrolment"] if "enrol" in clause else 0)
            span = a.span_of(group[0].first, group[-1].last)
            out.append(Statement(total, span, score, ["sum of parts"] + (["enrolment"] if "enrol" in clause else [])))
    return out


CUES = frozenset({"enrol", "final", "screened", "treat"})


def _may_count_people(a: Analysed, m: Mention) -> bool:
    """Could the mention be a count of people: its noun a person or sex word, or no noun at all?"""
    lo, hi = noun_phrase(a, m)
    if m.head:
        lo = m.first + 1
    kinds = {c for c, _ in _concepts(a.tokens, lo, hi)}
    return bool(kinds & {"person", "male", "female"}) or (lo == hi and _elides(a.tokens, m)) or m.shape in LABELLING


def _depths(tokens: list[Token]) -> list[int]:
    """How many brackets are open at each token."""
    out, depth = [], 0
    for t in tokens:
        if t.text in ("(", "["):
            depth += 1
            out.append(depth)
            continue
        out.append(depth)
        if t.text in (")", "]"):
            depth = max(0, depth - 1)
    return out


def _cue_owners(a: Analysed) -> dict[int, dict[str, int]]:
    """Which count each enrolment, final-cohort and screening word of the sentence is said of: the
    nearest count of its clause ("Of 85 children screened, 41 were included": 85 was screened,
    41 included), the count before it on a tie: {mention's first token: {cue: its token}}."""
    tokens, mentions = a.tokens, [m for m in a.mentions if m.count is not None]
    relative = grammar()["relative"]
    depth = _depths(tokens)
    owners: dict[int, dict[str, int]] = defaultdict(dict)
    for c, i in _concepts(tokens, 0, len(tokens)):
        if c not in CUES:
            continue
        lo, hi = clause_start(a, i), clause_stop(a, i)
        best = None
        for m in mentions:
            if not (lo <= m.first < hi) or _followed_by_scope(a, m) or not _may_count_people(a, m):
                continue  # "53 children, 30 of them girls, were studied": the part owns no verb
            if depth[m.first] > depth[i] and m.shape not in LABELLING:
                continue  # "Twenty patients (12 girls; median age 11 years) were evaluated"
            if m.last <= i:
                if any(tokens[j].text in relative for j in range(m.last, i)):
                    continue  # "a biopsy that confirmed the diagnosis": not said of the count
                d = (i - m.last, 0)
            else:
                if m.first and tokens[m.first - 1].text in ("among", "from", "within"):
                    continue  # "18 ... were found among 4229 patients": the larger group found in
                d = (m.first - i, 1)
            if best is None or d < best[0]:
                best = (d, m)
        if best:
            owners[best[1].first][c] = i
    return owners


def _one_sex_cohort(ctx: Context, m: Mention, r: Reading) -> bool:
    """ "Seven girls were treated": a count of one sex is the cohort when the paper counts no one of
    the other sex."""
    if "sexes" not in ctx.memo:
        ctx.memo["sexes"] = {rr.field for a in ctx.own for mm in a.mentions
                             for rr in [read_mention(a, mm)] if rr and rr.field in SEXES.values()}
    return r.how == "noun" and ctx.memo["sexes"] == {r.field}


def _one_case(a: Analysed, w: dict) -> list[Statement]:
    """A case report: "We report a 12-year-old girl with CRMO", "We describe a case of ..."."""
    tokens = a.tokens
    out = []
    for i, t in enumerate(tokens):
        if t.text not in ("a", "an") or i == 0:
            continue
        noun = next((j for j in range(i + 1, min(len(tokens), i + 6))
                     if tokens[j].concept in ("person", "male", "female")), None)
        if noun is None or any(x.concept not in (None, "time_unit") for x in tokens[i + 1:noun]) or any(
                not (x.is_quantity or x.text[0].isalpha() or x.text == "-") for x in tokens[i + 1:noun]):
            continue
        cue = next((j for j in range(clause_start(a, i), i) if tokens[j].concept == "enrol"), None)
        if cue is not None and i - cue <= 4:
            out.append(Statement(1, a.span_of(cue, noun + 1), w["mention"] + w["enrolment"], ["one case", "enrolment"],
                                 sex=tokens[noun].concept if tokens[noun].concept in SEXES else None))
    return out


def _score(a: Analysed, m: Mention, w: dict, cues: set[str]) -> tuple[float, list[str]]:
    tokens = a.tokens
    lo, hi = clause_start(a, m.first), clause_stop(a, m.last - 1)
    concepts = {c for c, _ in _concepts(tokens, lo, hi)}
    score, reasons = w["mention"], []

    def add(key: str):
        nonlocal score
        score += w[key]
        reasons.append(key)

    np_end = noun_phrase(a, m)[1]
    enrolled = "enrol" in cues or _diagnosed(tokens, np_end, hi)
    if enrolled:
        add("enrolment")
    if "final" in cues:
        add("final")
    if "treat" in cues and not enrolled:
        add("treated")  # "Nine patients received zoledronic acid": a treatment study's cohort
    verb = next((t.text for t in tokens[np_end:m.last + len(m.after)] if t.text in grammar()["phrase_stops"]), None)
    if m.shape in LABELLING:
        add("reference")  # "Patients (n = 27) had ...": the size of the group the sentence is about
    elif verb in grammar()["subset_verbs"] and not enrolled:
        add("subset_verb")
    if "screened" in cues:
        add("screened")
    if any(c == "scope" and not _relative_after(tokens, m, i) for c, i in _concepts(tokens, lo, hi)):
        add("subgroup")
    if any(c == "other_group" for c, _ in _concepts(tokens, lo, m.first)):
        add("other_group")
    if m.pct is not None or (m.denom is not None and m.total != m.value):
        add("share")
    before = [t.text for t in tokens[max(lo, m.first - 3):m.first]]
    if before[-2:] in (["of", "the"], ["among", "the"], ["of", "all"], ["in", "all"]) or before[-1:] in (["all"],):
        add("reference")
    if a.sentence.section == "front" and "enrol" not in concepts:
        add("title")
    if a.sentence.section in ("discussion", "background"):
        add("discussion")
    return score, reasons


def _antecedent(a: Analysed, i: int, before: int) -> int | None:
    """The count a relative scope phrase at i ("of whom", "of which") refers back to: the last
    count before token `before` in its sentence part, or None."""
    tokens = a.tokens
    end = _phrase_end(tokens, i)
    if tokens[end - 1].text not in grammar()["relative"]:
        return None
    j = before - 1
    while j >= 0 and not (tokens[j].is_quantity and tokens[j].quantity.count is not None):
        if tokens[j].text in (";", ".", ":"):
            return None
        j -= 1
    return tokens[j].quantity.count if j >= 0 else None


def _relative_after(tokens: list[Token], m: Mention, i: int) -> bool:
    """Is the scope phrase at i a relative one after the count ("6 patients entered, of whom 5 were
    girls")? Then it speaks of parts of the count's group, and the count is the whole."""
    return i >= m.last and _phrase_end(tokens, i) - 1 > i and tokens[_phrase_end(tokens, i) - 1].text in grammar()["relative"]


def _phrase_end(tokens: list[Token], i: int) -> int:
    """Just past the concept phrase token i is part of."""
    j = i + 1
    while j < len(tokens) and tokens[j].concept and tokens[j].concept == tokens[i].concept and not tokens[j].phrase_start:
        j += 1
    return j


def _diagnosed(tokens: list[Token], lo: int, hi: int) -> bool:
    """ "[N patients] were diagnosed with CRMO", "received a diagnosis of CNO": a statement of who the cohort is."""
    be = grammar()["be"]
    if lo < hi and tokens[lo].concept == "diagnosis":
        return True  # "N children diagnosed with CNO"
    verb = next((j for j in range(lo, min(hi, lo + 10)) if tokens[j].text in be), None)
    if verb is not None and verb + 1 < hi and tokens[verb + 1].concept == "diagnosis":
        return True
    # "have received a CRMO diagnosis", "had a firm diagnosis of CNO": the verb, its article and the
    # disease's name before the word; "had MRI at diagnosis" is not one.
    words = grammar()["diagnosis_words"]
    for j in range(lo, min(hi, lo + 6)):
        if tokens[j].concept == "diagnosis":
            return j > lo
        if not (tokens[j].text in words or tokens[j].text in be or tokens[j].capital and j > lo):
            return False
    return False


def _partitions(a: Analysed, people: list[tuple[Mention, Reading]]) -> set:
    """Counts of people joined into one total: "15 boys and 9 girls", "263 patients below 18 and 66
    above 18 were enrolled", "8 of these, together with 4 additional patients"."""
    joiners = grammar()["sum_joiners"]
    parts = set()
    for (m1, r1), (m2, r2) in zip(people, people[1:]):
        if _heads_scope(a, m1) or _followed_by_scope(a, m2):
            continue  # "Of 85 children screened, 41 were included", "53 children, 30 of them girls": a group and its part
        between = a.tokens[m1.last:m2.first]
        if any(ends_clause(a.tokens, j) or starts_clause(a.tokens, j) for j in range(m1.last, m2.first + 1)):
            continue
        texts = " ".join(t.text for t in between)
        joined = any(t.text in joiners for t in between) or "together with" in texts
        if any(t.concept in CUES for t in between) or ", and the" in texts or ", the" in texts:
            continue  # "records of 64 patients ..., and the outcomes of 27 patients were followed": not parts
        sexes = {r1.field, r2.field}
        if any(t.text in ("ratio", "ratios") for t in a.tokens[clause_start(a, m1.first):m1.first]):
            continue  # "a female-to-male ratio of 3:1": not counts
        if sexes == {"n_male", "n_female"} and all(t.text in grammar()["joiners"] or t.text == "." or t.concept in SEXES
                                                   for t in between):
            joined = True  # "20 vs. 15", "8M/7F": the two sexes make the whole
        if joined and (sexes == {"n_male", "n_female"} or (r1.field == r2.field == "person" and m2.value < 10 * m1.value)):
            if m1.total or m2.total or m1.pct or m2.pct:
                continue
            parts.update((m1, m2))
    return parts


def _followed_by_scope(a: Analysed, m: Mention) -> bool:
    return m.last < len(a.tokens) and a.tokens[m.last].concept == "scope"


def _heads_scope(a: Analysed, m: Mention) -> bool:
    """Is the count the group a clause starts from: "Of 85 children screened, ...", "Among 150 patients, ..."?"""
    start = clause_start(a, m.first)
    while start < m.first and not a.tokens[start].text[0].isalnum():
        start += 1  # ": Of 85 children ...", after a run-in heading
    return start < m.first and a.tokens[start].text in ("of", "among", "from") and m.first - start <= 3


def _groups(parts: set) -> list[list[Mention]]:
    """The partitions, each as its mentions in order (consecutive parts form one group)."""
    ordered = sorted(parts, key=lambda m: m.first)
    groups: list[list[Mention]] = []
    for m in ordered:
        if groups and m.first - groups[-1][-1].last < 40:
            groups[-1].append(m)
        else:
            groups.append([m])
    return [g for g in groups if len(g) > 1]


@STUDY.rule
def cohort_size(ctx: Context) -> Iterator[Candidate]:
    """The cohort size: the value the enrolment statements agree on, best supported overall."""
    statements = [s for s in cohort_statements(ctx) if 0 < s.value < 1_000_000 and not 1900 <= s.value <= 2100]
    support: dict[int, list[Statement]] = defaultdict(list)
    for s in statements:
        support[s.value].append(s)
    totals = {v: sum(max(s.score, 0) for s in ss) for v, ss in support.items()}
    ranked = sorted(totals, key=lambda v: (totals[v], len(support[v])), reverse=True)
    if not ranked or totals[ranked[0]] <= 0:
        return
    best = ranked[0]
    w = policy()
    score = totals[best]
    margin = score - (totals[ranked[1]] if len(ranked) > 1 else 0)
    confidence = w["confidence"]["strong"] if score >= w["strong_score"] else (
        w["confidence"]["weak"] if score >= 1 else w["confidence"]["faint"])
    if margin < w["min_margin"]:
        confidence = min(confidence, w["confidence"]["close"])
    kept = sorted((s for s in support[best] if s.score > 0), key=lambda s: -s.score)
    why = ", ".join(sorted({r for s in kept for r in s.reasons}))
    beaten = [str(v) for v in ranked[1:2]]
    rule = f"cohort_size: {why or 'mentioned'}" + (f"; over {', '.join(beaten)}" if beaten else "")
    yield Candidate(N, best, [s.span for s in kept[:4]], rule, confidence)
    # A case report names the patient's sex with the case: "a 12-year-old girl".
    sex = next((s for s in kept if s.sex), None) if best == 1 else None
    if sex:
        for name, value in ((SEXES[sex.sex], 1), (SEXES["female" if sex.sex == "male" else "male"], 0)):
            yield Candidate(Key(name), value, [sex.span], "one_case_sex", 0.8)


# --- the counts of a study's fields -----------------------------------------------------------

COUNT_FIELDS = frozenset({"n_male", "n_female", "n_multifocal", "n_unifocal", "n_relapse"})


def _counted(field: str) -> bool:
    return field in COUNT_FIELDS or field.startswith("site_")


@STUDY.rule
def field_counts(ctx: Context) -> Iterator[Candidate]:
    """Counts and percentages of the study's fields, read mention by mention."""
    for a in ctx.own:
        if a.table:
            yield from _table_row(ctx, a)
            continue
        pairs = _pairs(a) + list(_one_label_pair(ctx, a))
        paired = {id(m) for m, _, _ in pairs}
        pairs, ratios = _sex_ratios(ctx, a, pairs)
        yield from ratios
        readings = [(m, r) for _, m, r in pairs]
        readings += [(m, read_mention(a, m)) for m in a.mentions if id(m) not in paired]
        readings = _join_sex_pairs(a, readings)
        for m, r in readings:
            if r is not None and _counted(r.field):
                yield from _count_candidates(ctx, a, m, r)


def _one_label_pair(ctx: Context, a: Analysed) -> Iterator[tuple[Mention, Mention, Reading]]:
    """One sex named before a pair that adds up to the cohort: "a female predominance (10:2)",
    "girls:boys 9:3" is handled by _pairs; here the second count is the other sex."""
    tokens, n = a.tokens, ctx.n
    if n is None:
        return
    for k, m in enumerate(a.mentions):
        if m.value is None:
            continue
        if m.denom is not None and m.shape == "count_slash":
            second = Mention("count", m.first, m.last, count=m.denom, before=m.before, after=m.after)
        elif k + 1 < len(a.mentions) and a.mentions[k + 1].value is not None and \
                [t.text for t in tokens[m.last:a.mentions[k + 1].first]] == [":"]:
            second = a.mentions[k + 1]
        else:
            continue
        if m.value + second.value != n:
            continue
        lo = m.first - len(m.before)
        labels = [(c, i) for c, i in _concepts(tokens, lo, m.first) if c in SEXES]
        if len(labels) != 1 or labels[0][1] < m.first - 5:
            continue
        sex, i = labels[0]
        other = "female" if sex == "male" else "male"
        yield m, m, Reading(SEXES[sex], "pair", (i, i + 1))
        yield second, second, Reading(SEXES[other], "pair", (i, i + 1))


def _sex_ratios(ctx: Context, a: Analysed, pairs: list) -> tuple[list, list[Candidate]]:
    """A pair of sexes whose values do not add up to the cohort is a ratio ("a male to female ratio
    of 1:2.5"): counts derived where exactly one split of the cohort rounds to it, else nothing."""
    sexes = [(m, c, r) for m, c, r in pairs if r.field in SEXES.values()]
    if len(sexes) != 2 or {r.field for _, _, r in sexes} != set(SEXES.values()):
        return pairs, []
    (_, c1, r1), (_, c2, r2) = sexes
    x, y = c1.count.value, c2.count.value
    rest = [p for p in pairs if p not in sexes]
    if ctx.n is None:
        # "a male-to-female ratio of 1:2.6" with no cohort size to split: no counts at all.
        said_ratio = any(t.text in ("ratio", "ratios") for t in a.tokens[clause_start(a, c1.first):c1.first])
        return (rest if said_ratio or not (float(x).is_integer() and float(y).is_integer()) else pairs), []
    if x + y == ctx.n:
        return pairs, []
    if not (x > 0 and y > 0):
        return rest, []
    ratio = y / x
    decimals = max(_decimals(c1.count.value), _decimals(c2.count.value))
    # "1:2.5" holds 2.45-2.55; a ratio of whole numbers ("3:1") is read as exact.
    tolerance = 0.5 * 10 ** -decimals if decimals else 0
    fits = [k for k in range(1, ctx.n) if abs((ctx.n - k) / k - ratio) <= tolerance + 1e-9]
    if len(fits) != 1:
        return rest, []
    span = a.span_of(min(r1.at[0], r2.at[0], c1.first), max(c1.last, c2.last))
    k = fits[0]
    return rest, [Candidate(Key(r1.field), k, [span, *ctx.n_spans], f"{r1.field}_ratio", 0.7, derived=True),
                  Candidate(Key(r2.field), ctx.n - k, [span, *ctx.n_spans], f"{r2.field}_ratio", 0.7, derived=True)]


def _decimals(value) -> int:
    return 0 if float(value).is_integer() else len(repr(float(value)).split(".")[1])


def _join_sex_pairs(a: Analysed, readings: list) -> list:
    """The two sexes stated together ("(8M/7F)", "16 females, 9 males") are one statement: each
    count's evidence is the pair."""
    out = list(readings)
    for k in range(len(out) - 1):
        (m1, r1), (m2, r2) = out[k], out[k + 1]
        if r1 and r2 and {r1.field, r2.field} == {"n_male", "n_female"} and m1.value is not None and m2.value is not None:
            between = a.tokens[min(m1.last, r1.at[1]):m2.first]
            if len(between) <= 3 and all(t.text in grammar()["joiners"] or t.concept in SEXES for t in between):
                lo, hi = min(m1.first, r1.at[0]), max(m2.last, r2.at[1])
                out[k] = (m1, Reading(r1.field, r1.how, (lo, hi)))
                out[k + 1] = (m2, Reading(r2.field, r2.how, (lo, hi)))
    return out


def _count_candidates(ctx: Context, a: Analysed, m: Mention, r: Reading) -> Iterator[Candidate]:
    sub = in_subgroup(a, m, ctx.n) and r.field != "n_relapse"
    span = a.span_of(min(m.first, r.at[0]), max(m.last, r.at[1]))
    key = Key(r.field)
    rule = f"{'site' if r.field.startswith('site_') else r.field}_{r.how}"
    if m.value is not None:
        conf = 0.9 if a.table else 0.85
        if sub or (m.total and ctx.n and m.total != ctx.n and r.field != "n_relapse"):
            conf = 0.6  # a count within a subgroup or of another denominator
        # A percentage of another denominator ("15/2312, 0.6%") says nothing of the cohort's.
        of_cohort = m.percent is not None and (not m.total or m.total == ctx.n)
        yield Candidate(key, m.value, [span], rule, conf, extra={"pct": m.percent} if of_cohort else {})
    elif m.percent is not None and m.count is None and not sub and ctx.n and 0 <= m.percent <= 100:
        share = share_of(m.percent, ctx.n)
        if share is not None:
            conf = 0.6 if share[1] else 0.7
            if r.field.startswith(SITE_PREFIX) and not shares_fit(ctx):
                conf = 0.45  # this paper's percentages are of varying groups (lesions, the imaged)
            yield Candidate(key, share[0], [span, *ctx.n_spans], f"{rule}_percent", conf, derived=True)


def shares_fit(ctx: Context, least: int = 4) -> bool:
    """Do the paper's percentages read as shares of the cohort? Where most of its bare percentages
    (at least `least` of them) fit no whole number of the cohort, they are of other groups, and a
    bone's or a response's percentage may be too."""
    if "shares" not in ctx.memo:
        mentions = [m for a in ctx.prose for m in a.mentions if m.percent is not None and 0 < m.percent < 100]
        shares = [m.percent for m in mentions if m.count is None]
        # "159 (85%)" in a cohort of 189: a count printed with a share of some other group.
        counted = [m for m in mentions if m.value is not None and m.denom is None]
        off = sum(1 for m in counted if ctx.n and m.value not in counts_for_percent(m.percent, ctx.n, slack=1.0))
        ctx.memo["shares"] = (len(shares), sum(1 for p in shares if share_of(p, ctx.n) is not None), len(counted), off)
    printed, fit, counted, off = ctx.memo["shares"]
    if off >= 2 and off >= 0.5 * counted:
        return False
    return printed < least or fit >= 0.6 * printed


def columns(header: Analysed | None) -> list[str]:
    """What each value column of a table counts, from its header row: "Bone Lesions (n = 73)
    Children (n = 19)" -> ["lesion", "person"]. Empty when the header does not say."""
    if header is None:
        return []
    out, named = [], []
    for m in header.mentions:
        lo, hi = _label_phrase(header, m)
        kinds = [c for c, _ in _concepts(header.tokens, lo, hi) if c in ("lesion", "person")]
        out.append(kinds[-1] if kinds else "")
        named.append(kinds)
    if len(out) > 1 and len(named[0]) == len(out) and not any(named[1:]):
        return named[0]  # the names above their n's: "Bone Lesions Children" / "(n = 41) (n = 20)"
    return out if any(out) else []


def _table_row(ctx: Context, a: Analysed) -> Iterator[Candidate]:
    """A flattened table row: "Tibia 20 (55.6)", "Female, n (%) 7 (46.7)"; with several value
    columns ("Tibia 17 11" under "Lesions (n = 73) Children (n = 19)"), the column of patients."""
    values = [m for m in a.mentions if m.count is not None]
    if not values:
        return
    kinds = columns(a.header)
    caption = (a.caption or "").lower()
    if len(values) > 1 and len(kinds) == len(values):
        if "person" not in kinds:
            return
        m = values[kinds.index("person")]
    elif kinds[:1] == ["lesion"] or (("lesion" in caption or "foci" in caption)
                                     and not any(w in caption for w in ("patient", "children", "cases"))):
        return  # a table of lesions per bone: its rows are not patients
    else:
        m = values[0]
    # Read as one statement from the row's label to the chosen value.
    first = values[0].first
    label = Mention(m.shape, first, m.last, m.count, m.denom, m.pct, before=tuple(a.tokens[:first]), after=m.after)
    r = read_mention(a, label)
    if r is not None and _counted(r.field):
        yield from _count_candidates(ctx, a, label, r)


def _pairs(a: Analysed) -> list[tuple[Mention, Mention, Reading]]:
    """Labels listed together, then as many counts, read in order: "female/male: 81/34", "Girls
    outnumbered boys (22/36 vs 14/36)", "tibia, femur and pelvis in 10, 8 and 5 respectively".
    (the mention read, the count it stands for, its reading) of each."""
    if "pairs" not in a.derived:
        a.derived["pairs"] = list(_listed_pairs(a))
    return a.derived["pairs"]


def _listed_pairs(a: Analysed) -> Iterator[tuple[Mention, Mention, Reading]]:
    tokens, joiners = a.tokens, grammar()["joiners"]
    mentions = a.mentions
    k = 0
    while k < len(mentions):
        m = mentions[k]
        lo = m.first - len(m.before)
        labels = [(c, i) for c, i in _concepts(tokens, lo, m.first) if c in FIELD_CONCEPTS]
        labels += [(f"site_{b}", i) for b, i in _bones(a, lo, m.first)]
        labels.sort(key=lambda x: x[1])
        k += 1
        if len(labels) < 2:
            continue
        # One list of labels: nothing but joiners and the labels' own words between them.
        loose = [t for t in tokens[labels[0][1]:m.first] if not (t.concept or t.text in joiners)]
        if len(loose) > 2:
            continue
        group = [m]
        while k < len(mentions) and all(t.text in joiners or t.text == "." for t in tokens[group[-1].last:mentions[k].first]):
            group.append(mentions[k])
            k += 1
        if len(group) == 1 and m.denom is not None and len(labels) == 2:
            counts = [m, Mention("count", m.first, m.last, count=m.denom, before=m.before, after=m.after)]
        else:
            counts = group
        if len(counts) != len(labels):
            continue
        for (label, i), c in zip(labels, counts):
            field = FIELD_OF.get(label, label)
            yield (group[0] if c not in group else c), c, Reading(field, "pair", (i, i + 1))


def _all_but(tokens: list[Token], j: int) -> tuple[int, int] | None:
    """(N, the token after it) of "all but N", "all except N", "all ... except one"."""
    for k in range(j, min(j + 4, len(tokens) - 1)):
        if tokens[k].text in ("but", "except", "apart") and tokens[k + 1].is_quantity and tokens[k + 1].quantity.count is not None:
            return tokens[k + 1].quantity.count, k + 2
    return None


@STUDY.rule
def quantified(ctx: Context) -> Iterator[Candidate]:
    """Counts said in words: "All of the patients had multifocal bone lesions" (the cohort), "none
    of them relapsed" (0), "a series with only male patients"."""
    for a in ctx.prose:
        tokens = a.tokens
        for i, t in enumerate(tokens):
            if not (t.phrase_start and t.concept in ("all", "none")):
                continue
            j = i + 1
            while j < len(tokens) and tokens[j].concept == t.concept and not tokens[j].phrase_start:
                j += 1
            if j < len(tokens) and tokens[j].is_quantity:
                continue  # "all 36 children": the number is the mention
            value = 0 if t.concept == "none" else ctx.n
            if value is None:
                continue
            but = _all_but(tokens, j)
            if but is not None and t.concept == "all":
                value, j = value - but[0], but[1]  # "multifocal lesions in all but one patient"
                if value < 0:
                    continue
            m = Mention("quantifier", i, j, before=tuple(tokens[clause_start(a, i):i]),
                        after=tuple(tokens[j:clause_stop(a, j - 1)]))
            if in_subgroup(a, m, ctx.n) or any(c == "scope" for c, _ in _concepts(tokens, i, j)):
                continue
            # A field named inside the phrase: "only male", "no relapses".
            inner = next((FIELD_OF[c] for c in (lexicon()[0].get((x.text,)) for x in tokens[i:j]) if c in FIELD_OF), None)
            r = Reading(inner, "quantifier", (i, j)) if inner else read_mention(a, m)
            if (r is None or r.field == "lesions") and j < len(tokens):
                # "all lesions were multifocal": a focality said of every lesion is said of every patient.
                r = _predicate(a, noun_phrase(a, m)[1], m.last + len(m.after))
                r = r and Reading(r[0], "predicate", (i, j))
            if r is None or not (r.field in FOCALITY.values() or r.field in SEXES.values() or r.field == "n_relapse"):
                continue
            span = a.span_of(i, max(j, r.at[1]))
            spans = [span] if value == 0 else [span, *ctx.n_spans]
            yield Candidate(Key(r.field), value, spans, f"{r.field}_{t.concept}", 0.8, derived=value != 0)
