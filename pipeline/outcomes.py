"""Paper -> treatment-response rows: responders of treated, per drug class and outcome.

Drug mentions come from the spaCy entity ruler (vocabulary in data/drugs.json); a statement counts
when it names a response (data/outcomes.json) and gives counts a rule can pair with the drug.
Candidates go through the same resolution as every other figure, so conflicts and derived
counts behave alike.
"""
from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache
from typing import Iterator

from . import vocab
from .extract.old import Candidate, Context, alternation, cohort_noun_needs, cohort_words, holds, is_count, lookup_term, needs, resolve, span_of
from .numbers import NUM, WORD_NUM, counts_for_percent, parse_number
from .paper import Paper, Sentence
from .records import Figure, OutcomeRow


@lru_cache(maxsize=1)
def _vocab():
    """The response, failure and MRI words: each as a pattern and its pre-test."""
    data = vocab.load("outcomes.json")

    def alt(words):
        return re.compile(r"\b" + alternation(words), re.I)
    return tuple((alt(data[k]), needs(data[k])) for k in ("response_words", "failure_words", "mri_words"))


_NOT_RESPONSE = re.compile(r"\b(?:relapse|relapses|due\s+to|despite|after|failed|failure|treated|received|given|administered|switched)\b", re.I)
_NUM_RE = re.compile(NUM)
# "in N patients" after a drug counts the treated only in a sentence about giving it
# ("A third IV-PAM course was needed in one patient" is not).
_TREAT_VERBS = ["treated", "treatment", "received", "given", "switched", "added", "administered", "started"]
_TREAT_VERB = re.compile(rf"\b{alternation(_TREAT_VERBS)}\b", re.I)
_TREAT_VERB_NEEDS = needs(_TREAT_VERBS)


def _closest(pattern: re.Pattern, text: str) -> re.Match | None:
    """The match of `pattern` (anchored at a number, running to the end of `text`) nearest the end."""
    for num in reversed(list(_NUM_RE.finditer(text))):
        m = pattern.match(text, num.start())
        if m:
            return m
    return None


def _drugs(s: Sentence) -> list[tuple[int, int, str, str | None]]:
    """(start, end, class, agent) of each non-negated drug mention, offsets within the sentence."""
    out = []
    for ent in s.ents:
        if ent.label != "DRUG" or ent.negated:
            continue
        term = lookup_term("DRUG", s.text[ent.start:ent.end])
        if term is None:
            continue
        out.append((ent.start, ent.end, term.drug_class, term.key if term.agent else None))
    return out


_CLINICAL = re.compile(r"\b(?:clinical(?:ly)?|symptoms?|pain)\b", re.I)


def _outcome(text: str, low: str) -> str:
    """mri when an MRI word comes before any clinical word in the statement, else clinical. `low` is
    the folded sentence the statement is part of, the pre-test for an MRI word."""
    mri_words, mri_needs = _vocab()[2]
    mri = holds(low, mri_needs) and mri_words.search(text)
    if not mri:
        return "clinical"
    clinical = _CLINICAL.search(text)
    return "mri" if not clinical or mri.start() < clinical.start() else "clinical"


def _window(s: Sentence, start: int, end: int) -> str:
    """The statement around a count: its clause, up to 60 characters on."""
    clause_start = max(s.text.rfind(";", 0, start), s.text.rfind(",", 0, max(0, start - 30)), 0)
    return s.text[clause_start:end + 60]


def _cand(kind: str, drug: str, outcome: str | None, value: int, spans, rule: str, conf: float,
          agent: str | None, derived: bool = False) -> Candidate:
    return Candidate(f"{drug}:{outcome or '-'}:{kind}", value, spans, rule, conf, derived, extra={"agent": agent})


# Word lists that both build a pattern and give its pre-test (below), so the two cannot drift apart.
_ACHIEVED_VERBS = ["achieved", "reached", "obtained", "received", "went into"]
_GIVING_VERBS = ["treated with", "received", "given", "started on", "switched to"]


@lru_cache(maxsize=1)
def _patterns():
    coh, *_ = cohort_words()
    return {
        # "three out of 18 patients treated with MTX", "12 of 15 patients"
        "r_of_t": re.compile(rf"(?P<r>{NUM})\s+(?:out\s+)?of\s+(?:the\s+)?(?P<t>{NUM})\s+(?:[\w-]+\s+)?{coh}", re.I),
        # "(14/30)", "In 26/30 patients"
        "slash": re.compile(rf"(?:\(|\bin\s+)(?P<r>\d+)\s*/\s*(?P<t>\d+)(?:\)|\s+{coh})", re.I),
        # "Among 15 patients, 12 (80%) achieved clinical remission"
        "among": re.compile(rf"\bamong\s+(?P<t>{NUM})\s+{coh},?\s+(?P<r>{NUM})\b", re.I),
        # "Clinical remission was achieved in 12 patients", "12 patients achieved remission"
        "count": re.compile(rf"(?:\bin\s+(?P<a>{NUM})\s+{coh}|(?P<b>{NUM})\s+(?:of\s+our\s+)?{coh}\s+(?:\([^)]*\)\s+)?{alternation(_ACHIEVED_VERBS)})", re.I),
        # Table row: "Sufficient clinical effect of MTX (n:18) 3 17 %"
        "table": re.compile(r"\(\s*n\s*[:=]\s*(?P<t>\d+)\s*\)\s*(?P<r>\d+)\b", re.I),
        # "NUM% of our patients were free of symptoms"
        "percent": re.compile(rf"(?P<pct>{NUM})\s*%\s+of\s+(?:our\s+|the\s+|all\s+)?{coh}", re.I),
        # treated: "15 patients were treated with", "Three patients received", "Thirty-seven children with a CNO diagnosis received continuous"
        # "four partial responders to NSAID therapy additionally received"
        "n_before": re.compile(rf"(?P<t>{NUM})\s+(?:[\w-]+\s+)?(?:{coh}|responders\b|non-responders\b)[^.;\d]{{0,90}}?\b(?:were\s+|was\s+)?(?:\w+\s+)?{alternation(_GIVING_VERBS)}\s+(?:[\w-]+\s+){{0,2}}(?:an?\s+)?$", re.I),
        # "Twelve out of 16 children whose NSAID treatment failed were subsequently given"
        "list_subject": re.compile(rf"(?P<t>{NUM})\s+(?:out\s+of\s+{NUM}\s+)?(?:[\w-]+\s+)?{coh}\b[^.;]{{0,80}}?\b(?:were|was)\s+(?:\w+\s+)?(?:given|treated\s+with|received)\s+", re.I),
        # treated: "... agent in 8 patients", "methotrexate in 12", "(n = 15/30)"
        "n_after": re.compile(rf"^\)?(?:\s*\([^)]*\))*[^.;\d()]{{0,25}}?\bin\s+(?P<t>{NUM})\b(?!\s*(?:months|years|weeks|%))", re.I),
        "n_equals": re.compile(r"^\s*\(\s*n\s*[=:]\s*(?P<t>\d+)(?:\s*/\s*\d+)?\s*\)", re.I),
        "all_treated": re.compile(rf"\ball\s+(?:of\s+)?(?:the\s+|our\s+)?{coh}\s+(?:were\s+)?(?:\w+\s+)?(?:treated\s+with|received|were\s+given)\s+(?:[\w-]+\s+){{0,2}}$", re.I),
        # responders right before "with DRUG": "3 with methotrexate", "Seven patients (28%) had sufficient effect of treatment with"
        "r_with": re.compile(rf"(?P<r>{NUM})\s+(?:{coh}\s+(?:\((?P<pct>\d+(?:[.,]\d+)?)\s*%\)\s+)?(?:[^.;\d]{{0,60}}?)?)?\bwith\s+(?:an?\s+|only\s+)?$", re.I),
    }


# Pre-tests of patterns with a number after a word, on the folded text (where `\s+` is one space):
# r_of_t's "of (the) N", count's "in N patients" and the verbs of its other form.
_OF_NUMBER = re.compile(rf"of (?:the )?(?:\d|{WORD_NUM})")
_IN_NUMBER = re.compile(rf"in (?:\d|{WORD_NUM})")
_ACHIEVED = needs(_ACHIEVED_VERBS)

# Every pattern of a treated count before the drug (n_before, list_subject, all_treated) needs one
# of these: their pre-test.
_GIVING = needs(_GIVING_VERBS)

# Drugs joined in one list share the count before it: "received sulfasalazine and short-term corticosteroids".
_COORDINATED = re.compile(r"^\s*(?:,|and|or|plus|\+|as\s+well\s+as)\s*(?:[\w-]+\s+){0,2}$", re.I)


def _mixed_list(s: Sentence, drugs, p) -> tuple[re.Match, list] | None:
    """A count given any of three or more drug classes with no split per drug (mixed second line)."""
    m = p["list_subject"].search(s.text)
    if not m:
        return None
    listed = [d for d in drugs if d[0] >= m.end()]
    if len({d[2] for d in listed}) < 3:
        return None
    if any(p["n_equals"].match(s.text[d[1]:]) for d in listed):
        return None  # "bisphosphonates (n = 15/30), etanercept (n = 4/30), ...": split per drug after all
    return m, listed


def _treated(paper: Paper, ctx: Context) -> Iterator[Candidate]:
    p = _patterns()
    for s, low in ctx.prose:
        drugs = _drugs(s)
        if not drugs:
            continue
        classes = {d[2] for d in drugs}
        seen = set()
        giving = holds(low, _GIVING)
        treat_verb = holds(low, _TREAT_VERB_NEEDS) and _TREAT_VERB.search(s.text)
        mixed = _mixed_list(s, drugs, p) if len(classes) >= 3 and giving else None
        if mixed:
            m, listed = mixed
            t = parse_number(m.group("t"))
            if is_count(t):
                span = (s.start + m.start(), s.start + listed[-1][1], s.section)
                yield _cand("n_treated", "mixed_second_line", None, int(t), [span], "mixed_list", 0.8, None)
            drugs = [d for d in drugs if d not in listed]
        previous = None  # (end of the last drug with a treated count, its candidate)
        for i, (a, b, cls, agent) in enumerate(drugs):
            if previous and _COORDINATED.match(s.text[previous[0]:a]) and cls not in seen:
                seen.add(cls)
                c = previous[1]
                yield _cand("n_treated", cls, None, c.value, c.spans[:1], "treated_coordinated", c.confidence, agent)
                previous = (b, c)
                continue
            # "DMARDs ... in 13 patients (methotrexate in 12, sulfasalazine in one)": the breakdown
            # names the drugs, the umbrella count is not a class of its own.
            if cls == "other_dmard" and agent is None and classes & {"methotrexate", "sulfasalazine"}:
                continue
            if agent is None:
                agent = next((d[3] for d in drugs[i + 1:i + 2] if d[2] == cls and d[0] - b < 4), None)
            before, after = s.text[:a], s.text[b:]
            if "despite" in low and re.search(r"\bdespite\b", before, re.I):
                continue  # "active disease despite anti-TNF treatment in two patients": non-responders
            m = p["n_before"].search(before) if giving else None
            if m is None:
                m2 = p["n_equals"].match(after) or (treat_verb and p["n_after"].match(after))
                if m2:
                    t = parse_number(m2.group("t"))
                    if is_count(t) and cls not in seen:
                        seen.add(cls)
                        span = (s.start + a, s.start + b + m2.end(), s.section)
                        yield _cand("n_treated", cls, None, int(t), [span], "treated_in_n", 0.8, agent)
                    continue
                m3 = p["all_treated"].search(before) if giving else None
                if m3 and ctx.n and cls not in seen:
                    seen.add(cls)
                    span = (s.start + m3.start(), s.start + b, s.section)
                    yield _cand("n_treated", cls, None, ctx.n, [span, *ctx.n_spans], "all_treated", 0.75, agent, derived=True)
                continue
            t = parse_number(m.group("t"))
            if is_count(t) and cls not in seen:
                seen.add(cls)
                span = (s.start + m.start(), s.start + b, s.section)
                c = _cand("n_treated", cls, None, int(t), [span], "n_treated_with", 0.85, agent)
                previous = (b, c)
                yield c


def _responded(paper: Paper, ctx: Context) -> Iterator[Candidate]:
    (response, response_needs), (failure, failure_needs), _ = _vocab()
    p = _patterns()
    for s, low in ctx.own:
        if not (holds(low, response_needs) and response.search(s.text)):
            continue
        drugs = _drugs(s)
        outcome = _outcome(s.text, low)
        if s.table:
            m = p["table"].search(s.text)
            if m and drugs:
                cls, agent = drugs[0][2], drugs[0][3]
                span = (s.start, s.end, s.section)
                yield _cand("n_responded", cls, outcome, int(m.group("r")), [span], "table_row", 0.9, agent)
                yield _cand("n_treated", cls, outcome, int(m.group("t")), [span], "table_row", 0.9, agent)
            continue
        if holds(low, failure_needs) and failure.search(s.text) and not re.search(r"\b(?:remission|sufficient|response)\b", s.text, re.I):
            continue
        found = False
        cohort = holds(low, cohort_noun_needs())  # pre-test of the patterns that name the patients
        for key, may in (("r_of_t", cohort and _OF_NUMBER.search(low)), ("slash", "/" in low),
                         ("among", cohort and "among" in low)):
            if not may:
                continue
            for m in p[key].finditer(s.text):
                r, t = parse_number(m.group("r")), parse_number(m.group("t"))
                if not (is_count(r) and is_count(t)) or r > t:
                    continue
                after = [d for d in drugs if d[0] >= m.start()] or drugs
                cls, agent = (after[0][2], after[0][3]) if after else ("any", None)
                span = span_of(s, m)
                local = _outcome(_window(s, m.start(), m.end()), low)
                yield _cand("n_responded", cls, local, int(r), [span], f"responded_{key}", 0.85, agent)
                yield _cand("n_treated", cls, local, int(t), [span], f"responded_{key}", 0.85, agent)
                found = True
        if found:
            continue
        # Counts right before "with DRUG": "Seven patients achieved clinical remission with anti-TNF
        # (six with etanercept, ...)", "1 with NSAIDs, 3 with methotrexate". Per class, a class-level
        # mention wins over its agents; agents alone are summed (six etanercept + one infliximab).
        per_class: dict[str, list] = defaultdict(list)
        for a, b, cls, agent in drugs if "with" in low else ():  # r_with ends in "with"
            m = _closest(p["r_with"], s.text[:a])
            # The count must own this drug mention: no other drug, relapse or "despite" in between
            # ("two were administered pamidronate due to relapse with anti-TNF treatment").
            if not m or any(m.start() < d[0] < a for d in drugs) or _NOT_RESPONSE.search(s.text[m.start():a]):
                continue
            r = parse_number(m.group("r"))
            if is_count(r) or r == 0:
                per_class[cls].append((agent, int(r), (s.start + m.start(), s.start + b, s.section), m.group("pct")))
        for cls, hits in per_class.items():
            class_level = [h for h in hits if h[0] is None]
            chosen = class_level[:1] or hits
            r = sum(h[1] for h in chosen)
            agent = ", ".join(sorted({h[0] for h in hits if h[0]})) or None
            yield _cand("n_responded", cls, outcome, r, [h[2] for h in chosen], "responded_with_drug", 0.85, agent)
            pct = chosen[0][3]
            if pct and ctx.n and r in counts_for_percent(float(pct.replace(",", ".")), ctx.n):
                # "Seven patients (28%)" of a cohort of 25: the percentage's denominator is the cohort.
                yield _cand("n_treated", cls, outcome, ctx.n, [chosen[0][2], *ctx.n_spans], "percent_of_cohort", 0.6, agent, derived=True)
            found = True
        if found or drugs:
            if drugs and not found and cohort and "%" in low:
                for m in p["percent"].finditer(s.text):
                    cls, agent = drugs[0][2], drugs[0][3]
                    yield _cand("n_responded_pct", cls, outcome, 0, [span_of(s, m)], m.group("pct"), 0.0, agent)
            continue
        # No drug named: overall response whatever the treatment.
        if not (cohort and (_IN_NUMBER.search(low) or holds(low, _ACHIEVED))):
            continue
        for m in p["count"].finditer(s.text):
            r = parse_number(m.group("a") or m.group("b"))
            if m.group("a") and not response.search(s.text[max(0, m.start() - 40):m.start()]):
                continue  # "in 12 patients" counts only after the response it is the count of
            if is_count(r):
                local = _outcome(_window(s, m.start(), m.end()), low)
                yield _cand("n_responded", "any", local, int(r), [span_of(s, m)], "responded_any", 0.8, None)


def extract_outcomes(paper: Paper, ctx: Context) -> list[OutcomeRow]:
    candidates = list(_treated(paper, ctx)) + list(_responded(paper, ctx))
    # Responders given as a percentage of the treated: resolved once the treated count is known.
    pct_cands = [c for c in candidates if c.field.endswith(":n_responded_pct")]
    candidates = [c for c in candidates if not c.field.endswith(":n_responded_pct")]
    figures = resolve(paper, candidates)
    for c in pct_cands:
        drug, outcome, _ = c.field.split(":")
        treated = figures.get(f"{drug}:{outcome}:n_treated") or figures.get(f"{drug}:-:n_treated")
        total = treated.value if treated else ctx.n
        fits = counts_for_percent(float(parse_number(c.rule)), total) if total else []
        if len(fits) == 1 and f"{drug}:{outcome}:n_responded" not in figures:
            ev = [paper.evidence(a, b, sec) for a, b, sec in c.spans]
            base = treated.evidence if treated else [paper.evidence(a, b, sec) for a, b, sec in ctx.n_spans]
            figures[f"{drug}:{outcome}:n_responded"] = Figure(fits[0], ev + base, "responded_percent", 0.7, "derived")
    # An overall response without a stated denominator is of the whole cohort.
    for key in [k for k in figures if k.startswith("any:") and k.endswith(":n_responded")]:
        outcome = key.split(":")[1]
        if f"any:{outcome}:n_treated" not in figures and ctx.n:
            figures[f"any:{outcome}:n_treated"] = Figure(ctx.n, [paper.evidence(a, b, sec) for a, b, sec in ctx.n_spans],
                                                        "cohort_as_denominator", 0.7, "derived")
    # The agents a row's statements name ("six with etanercept, one with infliximab"), with those of
    # the drug's treated count ("switched to anti-TNF (etanercept) agent in 8 patients").
    named: dict[str, set[str]] = defaultdict(set)
    for c in candidates:
        if c.extra.get("agent"):
            drug, outcome, _ = c.field.split(":")
            named[drug if outcome == "-" else f"{drug}:{outcome}"].update(c.extra["agent"].split(", "))
    agents = {k: ", ".join(sorted(v)) for k, v in named.items()}
    rows = []
    drug_level = {k.split(":")[0]: v for k, v in figures.items() if k.split(":")[1] == "-"}
    for key in sorted(k for k in figures if k.endswith(":n_responded")):
        drug, outcome, _ = key.split(":")
        treated = figures.get(f"{drug}:{outcome}:n_treated") or drug_level.get(drug)
        agent = ", ".join(sorted(named.get(f"{drug}:{outcome}", set()) | named.get(drug, set()))) or None
        rows.append(OutcomeRow(drug, agent, outcome, figures[key], treated))
    for drug, treated in sorted(drug_level.items()):
        if not any(r.drug == drug for r in rows):
            rows.append(OutcomeRow(drug, agents.get(drug), None, None, treated))
    return rows
