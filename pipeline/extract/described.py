"""Own-cohort sentences -> described statistics (ages at onset and diagnosis, diagnostic delay,
follow-up) and lesions per patient.

A statistic is a value with its unit, its statistic word and its range: "a median age at onset of
9.4 years (range 3.1-15.2)", "Age at diagnosis (months), median (range) 118 (52-170)", "mean aged
... 11.1±2.9 years" (an SD, not a range), "between 4 and 11 years" (a range alone). What it is a
statistic of comes from the concepts of the phrase before it (or, for a value that comes first,
right after it): age + onset, age + diagnosis, a delay, a follow-up. Phrases listed together share
their values in order ("age of onset and time to diagnosis ... was 8 and 3.5 years respectively"),
and a clause that goes on in parallel keeps the age and the statistic word of the one before
("their median age was 10 (6.4), and at diagnosis it stood at 11.5 (5.9) years").
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Iterator

from ..core.model import TABLE_CONFIDENCE, Figure
from .engine import Analysed, Candidate, Context, Key, evidence_of, mark_conflict, resolution, supported
from .mentions import Mention, clause_start, clause_stop
from .study import GROUPS, STUDY, grammar, in_subgroup
from .tokens import Token
from .tokens import concepts_in as _concepts

DESCRIBED = ("age_onset", "age_diagnosis", "diagnostic_delay", "followup")
# A spread implies its statistic: an SD is given with a mean, an IQR with a median.
SPREADS = {"spread": "mean", "iqr": "median"}
# The largest value a statistic of people can take, in years (ages, delays and follow-up alike).
MAX_YEARS = 100


@dataclass(frozen=True)
class Value:
    """A value as printed, with the range or spread after it."""
    first: int                      # token range
    last: int
    value: float | None             # None for a range alone ("between 4 and 11 years")
    lo: float | None = None
    hi: float | None = None
    unit: str | None = None         # "years" or "months"
    spread: bool = False            # an SD or IQR followed, not a range
    stat: str | None = None         # the statistic its bracket names or implies: "(mean; STDEV 8,1 a)", "(IQR 5-17)"


def _unit(t: Token | None) -> str | None:
    if t is None or t.concept != "time_unit":
        return None
    return "months" if t.text.startswith("mo") else "years" if t.text.startswith("y") else "weeks" if t.text.startswith("w") else "days"


def _convert(x: float, unit: str | None, to: str | None) -> float | None:
    if unit == to or unit is None or to is None:
        return x
    per_year = {"years": 1, "months": 12, "weeks": 52, "days": 365}
    if unit not in per_year or to not in per_year:
        return None
    return round(x * per_year[to] / per_year[unit], 2)


def read_value(tokens: list[Token], k: int, stop: int) -> Value | None:
    """The value at quantity token k, with what follows it up to `stop`."""
    q = tokens[k].quantity
    i = k + 1
    unit = _unit(tokens[i]) if i < stop else None
    if unit:
        i += 1
    elif i + 1 < stop and tokens[i].text == "-" and _unit(tokens[i + 1]):
        unit, i = _unit(tokens[i + 1]), i + 2  # "a 1-year follow-up"
    # A range alone: "4 to 11 years", "3.1-15.2 years", "between 4 and 11".
    between = k > 0 and tokens[k - 1].text in ("between", "from")
    if i + 1 < stop and tokens[i].text in ("-", "to", "and") and tokens[i + 1].is_quantity and (
            tokens[i].text != "and" or between):
        if tokens[i].text == "-" and not between and k > 0 and tokens[k - 1].concept != "range" and unit:
            pass
        hi_unit = _unit(tokens[i + 2]) if i + 2 < stop else None
        lo, hi = q.value, tokens[i + 1].quantity.value
        end = i + 2 + (1 if hi_unit else 0)
        if unit and hi_unit and unit != hi_unit:
            return Value(k, end, None, None, None, None)  # "two weeks to five years": no one unit
        return Value(k, end, None, lo, hi, unit or hi_unit)
    value = Value(k, i, q.value, unit=unit)
    if i < stop and tokens[i].concept in ("mean", "median") and tokens[i].phrase_start:
        j = i + 1  # "1.5 years on average": the statistic named after its value
        while j < stop and tokens[j].concept == tokens[i].concept and not tokens[j].phrase_start:
            j += 1
        value, i = replace(value, last=j, stat=tokens[i].concept), j
    if i < stop and tokens[i].concept in SPREADS:        # "16.7±4.6", "11.8 (STDEV 7.9 a)"
        j = i + 1
        while j < stop and (tokens[j].is_quantity or tokens[j].concept == "time_unit" or tokens[j].text == "-"):
            j += 1
        return replace(value, last=j, spread=True, unit=unit or _unit(tokens[j - 1]), stat=SPREADS[tokens[i].concept])
    if i + 3 < stop and tokens[i].concept == "range" and not (tokens[i + 1].is_quantity and tokens[i + 2].text in ("-", "to")) or (
            i + 4 < stop and tokens[i].concept == "range" and tokens[i + 1].text in (":", ",")):
        j = i + 1 + (tokens[i + 1].text in (":", ","))
        if j + 2 < stop and tokens[j].is_quantity and tokens[j + 1].text in ("-", "to") and tokens[j + 2].is_quantity:
            return replace(value, last=j + 3, lo=tokens[j].quantity.value, hi=tokens[j + 2].quantity.value)  # "10.5 years range: 5-14"
    if i < stop and tokens[i].text in ("(", "[", ","):
        close = {"(": ")", "[": "]", ",": None}[tokens[i].text]
        j = i + 1
        while j < stop and tokens[j].text != close and not (close is None and tokens[j].text in (";", ")")):
            j += 1
        inside = tokens[i + 1:j]
        if close is None and not any(t.concept == "range" for t in inside):
            return value  # a comma that does not open a range
        end = j + 1 if close and j < stop else j
        named = next((t.concept for t in inside if t.concept in ("mean", "median")), value.stat)
        value = replace(value, last=end, stat=named)
        numbers = [n for n, t in enumerate(inside) if t.is_quantity]
        spread = next((t.concept for t in inside if t.concept in SPREADS), None)
        ranged = next((n for n, t in enumerate(inside) if t.concept == "range"), None)
        if spread and ranged is not None and spread != "iqr":
            # "14.2 months (SD 11.6, range 2-48)": the spread, then the range
            after = [n for n in numbers if n > ranged]
            if len(after) >= 2:
                return replace(value, lo=inside[after[0]].quantity.value, hi=inside[after[1]].quantity.value,
                               unit=unit or next((_unit(t) for t in inside if _unit(t)), None), stat=named or "mean")
        if spread:
            return replace(value, spread=True, unit=unit or next((_unit(t) for t in inside if _unit(t)), None),
                           stat=named or SPREADS[spread])
        if len(numbers) == 2 and len(inside) == 3 and inside[1].text in (";", ","):
            return replace(value, spread=True, stat=named or "median")  # "7.3 (2.5; 10.6)": quartiles
        if len(numbers) >= 2 and inside[numbers[0] + 1:numbers[1]] and all(
                t.text in ("-", "to") or t.concept == "time_unit" for t in inside[numbers[0] + 1:numbers[1]]):
            lo_unit = next((_unit(t) for t in inside[numbers[0] + 1:numbers[1]] if _unit(t)), None)
            hi_unit = _unit(inside[numbers[1] + 1]) if numbers[1] + 1 < len(inside) else None
            to = unit or hi_unit
            if unit and lo_unit and hi_unit and unit not in (lo_unit, hi_unit):
                return replace(value, unit=unit)  # "ten months (one week to five years)": no range in its unit
            lo = _convert(inside[numbers[0]].quantity.value, lo_unit or hi_unit or to, to)
            hi = _convert(inside[numbers[1]].quantity.value, hi_unit or to, to)
            if numbers[1] + 1 < len(inside) and inside[numbers[1] + 1].text == "+":
                hi = None  # "range 2-22+": open above
            if end < stop and not to:
                to = _unit(tokens[end])
            return replace(value, lo=lo, hi=hi, unit=to)
        if len(numbers) == 1 and len(inside) == 1:
            return replace(value, spread=True)  # "10 (6.4)": one number in brackets is an IQR or SD
        return replace(value, unit=unit or next((_unit(t) for t in inside if _unit(t)), None))
    return value


@dataclass(frozen=True)
class Anchor:
    field: str
    first: int
    last: int
    stat: str | None


# The concepts a statistic's name is made of, and those that start another noun phrase, which the
# name does not reach across ("follow-up MRI was performed in all patients after 6 months").
NAMING = frozenset({"age", "onset", "diagnosis", "delay", "followup", "mean", "median", "spread", "iqr", "range",
                    "time_unit", "time"})
BLOCKING = frozenset({"measure_unit", "lesion", "symptom", "relapse", "multifocal", "unifocal", "mri"})
REACH = 12  # tokens from a statistic's name to its value, at most


def _close(tokens: list[Token], lo: int, k: int) -> bool:
    """Does the name in tokens[lo:k] reach the value at k?"""
    last = max((i for i in range(lo, k) if tokens[i].concept in NAMING), default=None)
    if last is None or k - last > REACH:
        return False
    relative = grammar()["relative"]
    return not any(t.concept in BLOCKING or t.text in relative for t in tokens[last + 1:k])


def anchor_of(tokens: list[Token], lo: int, hi: int) -> Anchor | None:
    """The statistic the phrase tokens[lo:hi] names, from its concepts."""
    concepts = {c for c, _ in _concepts(tokens, lo, hi)}
    if concepts & {"other_disease", "other_duration"}:
        return None  # "age at IBD diagnosis", "the median disease duration": not this statistic
    if hi > lo and tokens[hi - 1].text == "at" and "age" not in concepts:
        # "onset at 9 years", "diagnosed at 11 years": an age without the word
        if "onset" in concepts and "diagnosis" not in concepts:
            concepts.add("age")
        elif "diagnosis" in concepts and "onset" not in concepts and "delay" not in concepts:
            concepts.add("age")
    stat = next((c for c, _ in reversed(_concepts(tokens, lo, hi)) if c in ("mean", "median")), None)
    if "followup" in concepts:
        if "age" in concepts:
            return None  # "age at last follow-up": a current age
        return Anchor("followup", lo, hi, stat)
    if "delay" in concepts:
        return Anchor("diagnostic_delay", lo, hi, stat)
    if "age" in concepts and "onset" in concepts:
        return Anchor("age_onset", lo, hi, stat)
    if "age" in concepts and "diagnosis" in concepts:
        return Anchor("age_diagnosis", lo, hi, stat)
    if "diagnosis" in concepts and ("onset" in concepts or "time" in concepts):
        return Anchor("diagnostic_delay", lo, hi, stat)  # "time from first symptom to diagnosis"
    return None


def _phrases(tokens: list[Token], lo: int, hi: int) -> list[tuple[int, int]]:
    """tokens[lo:hi] cut at "and", "," and ";" into phrases."""
    out, start = [], lo
    for j in range(lo, hi):
        if tokens[j].text == "and" and any(t.text == "between" for t in tokens[start:j]):
            continue  # "the interval between onset and diagnosis": the two ends of one span
        if tokens[j].text in ("and", ",", ";", "while", "whereas"):
            out.append((start, j))
            start = j + 1
    out.append((start, hi))
    return [(a, b) for a, b in out if a < b]


def statements(a: Analysed) -> list[tuple[Anchor, Value]]:
    """The described statistics of one sentence or table row, each as (what, value). Two ages
    stated in parallel share the unit one of them prints ("their median age was 10 (6.4), and at
    diagnosis it stood at 11.5 (5.9) years")."""
    found = list(_statements(a))
    ages = [k for k, (anchor, _) in enumerate(found) if anchor.field in ("age_onset", "age_diagnosis")]
    units = {found[k][1].unit for k in ages} - {None}
    if len(units) == 1:
        unit = units.pop()
        for k in ages:
            anchor, v = found[k]
            found[k] = (anchor, replace(v, unit=v.unit or unit))
    return found


def _statements(a: Analysed) -> Iterator[tuple[Anchor, Value]]:
    tokens = a.tokens
    values_at = [k for k, t in enumerate(tokens) if t.is_quantity]
    done = -1
    previous: Anchor | None = None
    for k in values_at:
        if k < done:
            continue
        stop = clause_stop(tokens, k)
        v = read_value(tokens, k, stop)
        if v is None:
            continue
        done = v.last
        lo = max(clause_start(tokens, k), _previous_value_end(tokens, k))
        if _count_or_share(tokens, k) or (k and tokens[k - 1].concept == "threshold"):
            continue  # "up to 4 years of follow-up": a bound, not a statistic
        phrases = _phrases(tokens, lo, k)
        found = [anchor_of(tokens, p, q) for p, q in phrases]
        for i in range(1, len(found)):
            # "age at onset and at diagnosis": the second event's age, named by its event alone.
            if found[i] is None and found[i - 1] and found[i - 1].field in AGE_OF.values():
                events = {c for c, _ in _concepts(tokens, *phrases[i])} & {"onset", "diagnosis"}
                if len(events) == 1:
                    found[i] = Anchor(AGE_OF[events.pop()], phrases[i][0], phrases[i][1], None)
        anchors = [x for x in found if x]
        if anchors and not _close(tokens, anchors[-1].first, k):
            anchors = []
        if not anchors:
            anchors = _named_before_bracket(tokens, lo, k, phrases)
        # "The median current age and age of onset were 10.5 and 5.5 years": an age the fields do
        # not hold listed with one they do; each takes its value in turn, the other's is dropped.
        listed = [x or _age_phrase(tokens, p, q) for x, (p, q) in zip(found, phrases)]
        if len(anchors) == 1 and len(phrases) >= 2 and all(listed) and all(
                tokens[q].text == "and" or tokens[q].text == "," for _, q in phrases[:-1]):
            anchors = found  # None where the age is not a field's
        if not anchors and a.table and a.header is not None:
            continue
        # Several statistics listed, then as many values: "age of onset and time to diagnosis
        # ... was 8 and 3.5 years respectively".
        if len(anchors) >= 2:
            values, j = [v], v.last
            while j + 1 < len(tokens) and tokens[j].text in ("and", ",") and tokens[j + 1].is_quantity:
                nxt = read_value(tokens, j + 1, stop)
                if nxt is None:
                    break
                values.append(nxt)
                j = nxt.last
            if len(values) == len(anchors):
                unit = next((x.unit for x in reversed(values) if x.unit), None)
                stat = next((x.stat for x in anchors if x and x.stat), None) or next(
                    (c for c, _ in _concepts(tokens, lo, k) if c in ("mean", "median")), None)
                for anchor, value in zip(anchors, values):
                    if anchor:
                        yield replace(anchor, stat=anchor.stat or stat), replace(value, unit=value.unit or unit)
                done = j
                continue
            anchors = [x for x in anchors if x]
        anchor = anchors[-1] if anchors else None
        if anchor is None and previous is not None and k > 0:
            # A clause in parallel with the one before: "..., and at diagnosis it stood at 11.5 years".
            concepts = {c for c, _ in _concepts(tokens, lo, k)}
            if "diagnosis" in concepts and previous.field == "age_onset":
                anchor = Anchor("age_diagnosis", lo, k, previous.stat)
            elif "onset" in concepts and previous.field == "age_diagnosis":
                anchor = Anchor("age_onset", lo, k, previous.stat)
        if anchor is None and v.unit:
            anchor = _anchor_after(tokens, lo, k, v, stop)
        if anchor is None:
            continue
        if anchor.stat is None and previous is not None and previous.stat and anchor.first < k:
            anchor = replace(anchor, stat=previous.stat if _parallel(tokens, previous, anchor) else None)
        previous = anchor
        if v.unit is None:
            v = replace(v, unit=_unit_near(a, tokens, anchor, v, stop))
        if v.unit is None and anchor.field in ("age_onset", "age_diagnosis") and k and tokens[k - 1].text in ("age", "aged"):
            v = replace(v, unit="years")  # "at age 10": an age in years, as the idiom says
        yield anchor, v


AGE_OF = {"onset": "age_onset", "diagnosis": "age_diagnosis"}  # the age field of each event


def _named_before_bracket(tokens: list[Token], lo: int, k: int, phrases) -> list[Anchor]:
    """A value in a bracket after the name of its statistic: "at follow-up (median, 11.5 months)"."""
    b = next((j for j in range(k - 1, lo - 1, -1) if tokens[j].text in ("(", "[")), None)
    if b is None or any(t.text in (")", "]") for t in tokens[b:k]):
        return []
    p = max((p for p, _ in phrases if p < b), default=None)
    if p is None:
        return []
    anchor = anchor_of(tokens, p, b)
    if anchor is None and any(t.concept == "final_status" and t.text.startswith("follow") for t in tokens[p:b]):
        anchor = Anchor("followup", p, b, None)  # "then at follow-up (median, 11.5 months)": the time point's distance
    if anchor is None:
        return []
    inner = tokens[b + 1:k]
    # Words that say when a follow-up was measured from: "(median time after baseline, 11.5 months)".
    allowed = set(grammar()["measured_from"]) if anchor.field == "followup" else set()
    if not all(t.concept in ("mean", "median") or t.text in (",", ":", "=") or t.text in allowed for t in inner):
        return []
    stat = next((t.concept for t in inner if t.concept in ("mean", "median")), None)
    return [replace(anchor, stat=anchor.stat or stat)]


def _age_phrase(tokens: list[Token], p: int, q: int) -> bool:
    """Does the phrase name an age, though none of the fields' ("current age", "age at last visit")?"""
    return any(t.concept == "age" for t in tokens[p:q])


def _count_or_share(tokens: list[Token], k: int) -> bool:
    """ "12 patients", "6 infusions", "43%", "12 (40%)": a count or a share, not a statistic."""
    nxt = tokens[k + 1:k + 4]
    if nxt and (nxt[0].concept in ("person", "measure_unit", "lesion") or nxt[0].text in ("%", "percent")):
        return True
    return len(nxt) == 3 and nxt[0].text == "(" and nxt[1].is_quantity and nxt[2].text == "%"


def _anchor_after(tokens: list[Token], lo: int, k: int, v: Value, stop: int) -> Anchor | None:
    """A statistic named after its value: "The average age was 45 years (20-80 yrs) at the time of
    diagnosis", "aged 4-15 years at diagnosis"; not one whose name goes on to a value of its own."""
    hi = min(stop, v.last + 8)
    nxt = next((j for j in range(v.last, stop) if tokens[j].is_quantity and not _count_or_share(tokens, j)), stop)
    words = {c for c, _ in _concepts(tokens, max(lo, k - 4), k)}
    after = {c for c, _ in _concepts(tokens, v.last, min(nxt, hi))}
    if nxt < stop or not after & {"onset", "diagnosis", "followup", "delay"}:
        return None  # the words after the value go on to a value of their own
    nxt = hi
    anchor = anchor_of(tokens, v.last, nxt)
    if anchor is None and "age" in words:
        anchor = anchor_of(tokens, max(lo, k - 4), nxt)  # the age before the value, the event after it
    if anchor is None:
        return None
    stat = next((c for c, _ in _concepts(tokens, lo, k) if c in ("mean", "median")), None)
    return replace(anchor, first=v.last, last=nxt, stat=anchor.stat or stat)


def _parallel(tokens: list[Token], a: Anchor, b: Anchor) -> bool:
    return a.field in ("age_onset", "age_diagnosis") and b.field in ("age_onset", "age_diagnosis")


def _previous_value_end(tokens: list[Token], k: int) -> int:
    """Just after the value before token k in the clause, so a phrase names only the next value."""
    for j in range(k - 1, -1, -1):
        if tokens[j].is_quantity:
            # Skip the rest of that value's bracket: "9.4 years (range 3.1-15.2) and the median age at diagnosis".
            close = next((x for x in range(j, k) if tokens[x].text in (")", "]")), None)
            return (close + 1) if close is not None else j + 1
    return 0


def _unit_near(a: Analysed, tokens: list[Token], anchor: Anchor, v: Value, stop: int) -> str | None:
    """A unit the statement gives away from its value: in its name ("Diagnostic delay, months
    8.5", "Age at onset (months)"), or right after its bracket ("(7.2±3.2)years")."""
    for t in tokens[anchor.first:v.first]:
        if _unit(t):
            return _unit(t)
    j = v.last
    while j < stop and tokens[j].text in (")", "]"):
        j += 1
    if j < stop and _unit(tokens[j]):
        return _unit(tokens[j])
    if j + 1 < stop and tokens[j].text in ("and", ",", "or", "vs", "versus") and tokens[j + 1].is_quantity:
        nxt = read_value(tokens, j + 1, stop)  # "11.7 ± 3.8 and 14.4 ± 2.7 years": values listed share the unit
        return nxt.unit if nxt else None
    return None


def _stat_of(a: Analysed, anchor: Anchor, v: Value) -> str | None:
    if anchor.stat or v.stat:
        return anchor.stat or v.stat
    if a.table and a.header is not None:
        header = {c for c, _ in _concepts(a.header.tokens, 0, len(a.header.tokens))}
        stats = header & {"mean", "median"}
        if len(stats) == 1:
            return stats.pop()
    return None


@STUDY.rule
def described_stats(ctx: Context) -> Iterator[Candidate]:
    for a in ctx.own:
        for anchor, v in statements(a):
            m = Mention("statistic", v.first, v.last, before=tuple(a.tokens[clause_start(a.tokens, v.first):v.first]))
            if not a.table and in_subgroup(a, m, ctx.n):
                continue  # "These patients had a long diagnostic delay ranging from 23 to 36 months"
            if v.value is None and v.lo is None:
                continue
            stat = _stat_of(a, anchor, v)
            if v.value is not None and _design_followup(a.tokens, anchor, v):
                stat = "fixed"
            unit = v.unit if v.unit in ("years", "months") else None
            if not _plausible(v, unit):
                continue
            lo, hi = (None, None) if v.spread else (v.lo, v.hi)
            if lo is not None and hi is not None and lo > hi:
                lo = hi = None
            conf = 0.9 if (stat and unit) else 0.8 if unit else 0.45
            span = a.span_of(min(anchor.first, v.first), max(anchor.last, v.last))
            yield Candidate(Key(anchor.field), (v.value, lo, hi), [span], f"{anchor.field}_statement", conf,
                            extra={"stat": stat, "unit": unit})


def _design_followup(tokens: list[Token], anchor: Anchor, v: Value) -> bool:
    """ "During the initial 1-year follow-up": a follow-up set by the study's design."""
    return (anchor.field == "followup" and anchor.first >= v.last and v.first > 0
            and tokens[v.first - 1].text in ("initial", "first"))


def _plausible(v: Value, unit: str | None) -> bool:
    limit = MAX_YEARS * (12 if unit == "months" else 1)
    return all(x is None or 0 <= x <= limit for x in (v.value, v.lo, v.hi))


# --- lesions per patient ------------------------------------------------------------------------

@STUDY.rule
def lesions_per_patient(ctx: Context) -> Iterator[Candidate]:
    """ "8.6 lesions per patient", "a mean of 4.2 lesions per patient", "Lesions per patient, mean
    (range) 4.2 (1-12)", "1,6/patient", "On average, each patient had six affected sites"."""
    for a in ctx.own:
        tokens = a.tokens
        found = [x for x in (_per_patient(tokens, i) for i, t in enumerate(tokens) if t.text in PER) if x]
        values = {tokens[k].quantity.value for k, _ in found}
        for k, i in found:
            start, stop = clause_start(tokens, k), clause_stop(tokens, k)
            concepts = [c for c, _ in _concepts(tokens, start, stop)]
            if "median" in concepts and "mean" not in concepts:
                continue  # a median count of lesions is not the mean the field holds
            m = Mention("lesions", k, k + 1, before=tuple(tokens[start:k]))
            if in_subgroup(a, m, ctx.n):
                continue
            value = tokens[k].quantity.value
            if k >= 2 and tokens[k - 1].text in ("-", "to") and tokens[k - 2].is_quantity:
                k -= 2  # "1-9 lesions per patient": the range's end is no mean
            if k + 2 < len(tokens) and tokens[k + 1].text in ("-", "to") and tokens[k + 2].is_quantity:
                # "lesions per patient: 2-9": a range, not a mean
                if tokens[k].quantity.value >= 2:
                    yield from _all_multifocal(ctx, a.span_of(min(i, k), max(i + 2, k + 3)))
                continue
            if not 0 < value < 100:
                continue
            conf = 0.85 if "mean" in concepts else 0.8
            if len(values) > 1 and not a.table:
                conf = 0.45  # two values for one figure ("2.3 per patient at onset and 3.8 over the course")
            span = a.span_of(min(i, k), max(i + 2, k + 1))
            yield Candidate(Key("mean_lesions_per_patient"), value, [span], "lesions_per_patient", conf)
        if not found:
            yield from _number_of_lesions(ctx, a)


def _number_of_lesions(ctx: Context, a: Analysed) -> Iterator[Candidate]:
    """ "Patients had a mean number of foci of 3.5": the mean per patient; "the number of affected
    sites was 2-9": every patient had two or more, so all are multifocal."""
    tokens = a.tokens
    yield from _mean_count_of_lesions(ctx, a)
    for i in range(len(tokens) - 3):
        if not (tokens[i].text == "number" and tokens[i + 1].text == "of" and tokens[i + 2].concept == "lesion"):
            continue
        start, stop = clause_start(tokens, i), clause_stop(tokens, i)
        k = next((j for j in range(i + 3, min(stop, i + 8)) if tokens[j].is_quantity), None)
        words = {t.text for t in tokens[start:stop]}
        if k is None or words & {"total", "overall", "median"} or tokens[k + 1:k + 2] and tokens[k + 1].text == "%":
            continue  # "the total number of lesions was 264": not per patient
        v = read_value(tokens, k, stop)
        m = Mention("lesions", k, k + 1, before=tuple(tokens[start:k]))
        if v is None or in_subgroup(a, m, ctx.n):
            continue
        span = a.span_of(i, v.last)
        concepts = {c for c, _ in _concepts(tokens, start, stop)}
        if v.value is not None and "mean" in concepts and 0 < v.value < 100:
            yield Candidate(Key("mean_lesions_per_patient"), v.value, [span], "lesions_per_patient", 0.8)
        if v.value is None and v.lo is not None and v.lo >= 2:
            yield from _all_multifocal(ctx, span)


# Words that make the patients a mean is said of a subgroup: the groups the concepts name, but
# people and lesions themselves, and other groups.
_QUALIFIERS = (GROUPS - {"person", "lesion"}) | {"other_group"}


def _mean_count_of_lesions(ctx: Context, a: Analysed) -> Iterator[Candidate]:
    """ "Patients had a mean of 3.4 lesions", "On average, the children had 2.8 foci", "The mean
    lesion count was 3.1": a mean count of lesions, said of the patients, is the mean per patient."""
    tokens = a.tokens
    for k, t in enumerate(tokens):
        if not t.is_quantity:
            continue
        noun = next((j for j in range(k + 1, min(k + 4, len(tokens))) if tokens[j].concept == "lesion"
                     or not tokens[j].text.isalpha()), None)  # "3.4 lesions", "2.7 bone lesions"
        if noun is not None and tokens[noun].concept == "lesion":
            lo, hi = k, noun + 1
        elif k >= 2 and tokens[k - 1].text in ("was", "of", ":", "=") and tokens[k - 2].text == "count" \
                and tokens[k - 3:k - 2] and tokens[k - 3].concept == "lesion":
            lo, hi = k - 3, k + 1                  # "lesion count was 3.1"
        else:
            continue
        start, stop = clause_start(tokens, k), clause_stop(tokens, k)
        concepts = {c for c, _ in _concepts(tokens, start, stop)}
        words = {x.text for x in tokens[start:stop]}
        means = [i for c, i in _concepts(tokens, start, k) if c == "mean"]
        if not means or any(x.is_quantity for x in tokens[means[-1]:k]) or words & {"total", "overall", "median"} \
                or not ("person" in concepts or "count" in words):
            continue  # "the mean age was 9.1 years and 12 patients had 2 lesions"; "a total of 102 lesions"
        if concepts & _QUALIFIERS:
            continue  # "Patients with multifocal disease had a mean of 4.1 lesions": a subgroup's
        m = Mention("lesions", k, k + 1, before=tuple(tokens[start:k]))
        value = t.quantity.value
        if in_subgroup(a, m, ctx.n) or not 0 < value < 100:
            continue
        yield Candidate(Key("mean_lesions_per_patient"), value, [a.span_of(min(lo, means[-1]), hi)], "lesions_per_patient", 0.75)


def _all_multifocal(ctx: Context, span) -> Iterator[Candidate]:
    """Every patient had two lesions or more: all multifocal, none unifocal."""
    if ctx.n:
        yield Candidate(Key("n_multifocal"), ctx.n, [span, *ctx.n_spans], "n_multifocal_lesion_range", 0.7, derived=True)
        yield Candidate(Key("n_unifocal"), 0, [span, *ctx.n_spans], "n_unifocal_lesion_range", 0.7, derived=True)


PER = frozenset({"per", "/", "each", "for"})


def _per_patient(tokens: list[Token], i: int) -> tuple[int, int] | None:
    """(value token, "per" token) of a lesions-per-patient statement around token i, or None."""
    if i + 1 >= len(tokens) or tokens[i + 1].concept != "person":
        return None
    start, stop = clause_start(tokens, i), clause_stop(tokens, i)
    if tokens[i].text == "each":
        # "each patient had six affected sites"
        k = next((j for j in range(i + 2, min(stop, i + 5)) if tokens[j].is_quantity), None)
        return (k, i) if k is not None and k + 1 < stop and tokens[k + 1].concept == "lesion" else None
    j = i - 1
    while j >= start and tokens[j].concept == "lesion":
        j -= 1
    if j >= start and tokens[j].is_quantity and (j == i - 1 or tokens[j + 1].concept == "lesion"):
        return j, i  # "8.6 lesions per patient", "1,6/patient"
    if j < i - 1:
        # "Lesions per patient, mean (range) 4.2 (1-12)", "lesions per patient was 3.2"
        k = next((x for x in range(i + 2, min(stop, i + 10)) if tokens[x].is_quantity), None)
        return (k, i) if k is not None else None
    return None


def _compatible(a: tuple, b: tuple) -> bool:
    """Same central value, and ranges that agree where both are stated ("23 months" fits "23 (1.5-68) months")."""
    return a[0] == b[0] and all(x is None or y is None or x == y for x, y in zip(a[1:], b[1:]))


def resolve_described(paper, candidates: list[Candidate]) -> dict[str, Figure]:
    """Each described statistic as five figures (stat, value, min, max, unit) from one statement.

    The parts are never mixed across statements; compatible statements support each other, and an
    incompatible one stated with confidence >= conflict_confidence (figures.json) makes all five parts a conflict.
    """
    figures: dict[str, Figure] = {}
    by_field: dict[str, list[Candidate]] = defaultdict(list)
    for c in candidates:
        by_field[c.key.field].append(c)
    for name, cands in by_field.items():
        # A statement too unsure for the tables never outranks a sure one, whatever its section.
        cands.sort(key=lambda c: (c.confidence >= TABLE_CONFIDENCE, c.rank, c.confidence, c.value[1] is not None),
                   reverse=True)
        best = cands[0]
        agree = [c for c in cands if _compatible(c.value, best.value)]
        rivals = [c for c in cands if not _compatible(c.value, best.value) and c.confidence >= resolution().conflict_confidence]
        parts = {"stat": next((c.extra["stat"] for c in agree if c.extra.get("stat")), None),
                 "value": best.value[0], "min": best.value[1], "max": best.value[2],
                 "unit": next((c.extra["unit"] for c in agree if c.extra.get("unit")), None)}
        conf = supported(best.confidence, len(agree))
        evidence = evidence_of(paper, agree)
        rival_evidence = [evidence_of(paper, [r]) for r in rivals]
        for part, value in parts.items():
            if value is None:
                continue
            fig = Figure(value, list(evidence), best.rule, conf)
            if rivals:
                index = {"value": 0, "min": 1, "max": 2}.get(part)
                mark_conflict(fig, [(r.value[index] if index is not None else r.extra.get(part), r.rule, ev)
                                    for r, ev in zip(rivals, rival_evidence)])
            figures[f"{name}_{part}"] = fig
    return figures
