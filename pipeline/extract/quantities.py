"""Text -> quantities: every number of a sentence or table row, read once, with its value and span.

Papers print numbers as digits ("15", "9.0", "10,3" with a decimal comma, "407,000"), as words of
any size ("twenty-five", "Forty six", "Three hundred", "a hundred and twelve"), with a sign
("-0.6"), or in scientific notation ("1e308", read whole so it is never a count). Numbers glued to
letters ("HLA-B27", "IL-10", "T2", "3rd") are names, not quantities. A count letter glued to a
number ("8M/7F") is kept as the quantity's `tag`.

The shapes that combine quantities into count mentions ("8 (53.4)", "12/30", "n = 15") are read in
`mentions.py`; this module only reads numbers.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
SCALES = {"hundred": 100, "thousand": 1000}

_WORD = "|".join(sorted([*UNITS, *TENS, *SCALES], key=len, reverse=True))
# A run of number words: "twenty-five", "three hundred and twelve", "a hundred". "and" only joins
# after a scale word, so "between five and ten" stays two numbers (checked in _words_value).
WORDS = rf"\b(?:an?\s+(?=hundred|thousand))?(?:{_WORD})(?:(?:[\s-]+and[\s-]+|[\s-]+)(?:{_WORD}))*\b"
DIGITS = r"\d{1,3}(?:,\d{3})+(?![\d,]\d)|\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?"
# What one quantity looks like as printed, for patterns that need to name one.
NUMBER = rf"(?:{DIGITS}|(?i:{WORDS}))"

_DIGITS = re.compile(rf"(?P<sign>[-\u2212+](?=\d))?(?P<num>{DIGITS})")
_WORDS = re.compile(WORDS, re.I)
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")
_SPLIT = re.compile(r"[\s-]+")
# Letters glued after a number that still leave it a quantity: a sex count ("8M", "7F"), a unit
# ("15mg", "10y", "6mo") or a percent written as "%". Anything else ("3rd", "2nd", "4a") is a name.
# A unit before a hyphen starts a range's second number ("six months-25 years"), not a name.
_UNIT_BEFORE = re.compile(r"(?:years?|months?|weeks?|days?|yrs?|mos?)$", re.I)
_GLUE = re.compile(r"(?P<tag>[MF])(?![A-Za-z])|(?:mg|kg|g|ml|mm|cm|y|yr|yrs|mo|mos|wk|wks|d|h)\b")


@dataclass(frozen=True)
class Quantity:
    start: int          # offsets in the text it was read from
    end: int
    value: float | int
    word: bool = False  # printed as words ("twenty-five")
    tag: str | None = None  # a count letter glued to it: "M" or "F" ("8M/7F")

    @property
    def count(self) -> int | None:
        """The value as a count of people: a whole number, printed without decimals ("2.0" is a
        measurement), finite and not huge."""
        return None if isinstance(self.value, float) else as_count(self.value)


def as_count(value) -> int | None:
    """A whole-number count, or None for 9.5, a negative, a non-finite or a huge number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        return None
    if not 0 <= value < 1_000_000:
        return None
    return int(value)


def counts_for_percent(percent: float, total: int, slack: float = 0.5) -> list[int]:
    """Whole counts k of `total` whose percentage rounds to `percent` as printed.

    The printed precision sets the tolerance: "56%" fits k/25 within 0.5 points, "55.6%" within
    0.05. Consistency checks pass slack=1.0, since authors often truncate (8/15 printed "53.4").
    >>> counts_for_percent(56, 25), counts_for_percent(55.6, 18), counts_for_percent(57, 41)
    ([14], [10], [])
    """
    text = repr(float(percent))
    decimals = 0 if float(percent).is_integer() else len(text.split(".")[1])
    tol = slack * 10 ** -decimals + 1e-9
    return [k for k in range(total + 1) if abs(100 * k / total - percent) <= tol]


def share_of(percent: float, total: int) -> tuple[int, bool] | None:
    """(count, truncated) of the one whole count of `total` a printed percentage stands for: by
    rounding as printed, or else, for a whole percentage, by truncation as some authors print them
    (8 of 12 printed "66%"). None when no count, or more than one, fits."""
    fits = counts_for_percent(percent, total)
    if len(fits) == 1:
        return fits[0], False
    if not fits and float(percent).is_integer():
        cut = [k for k in range(total + 1) if int(100 * k / total) == int(percent)]
        if len(cut) == 1:
            return cut[0], True
    return None


def parse_number(text: str) -> float | int | None:
    """The value of one number as printed, or None when `text` is not one whole number.

    >>> [parse_number(s) for s in ["twenty-five", "Forty six", "1,6", "407,000", "9.0", "Three hundred", "-24", "1e308"]]
    [25, 46, 1.6, 407000, 9.0, 300, -24, 1e+308]
    """
    s = text.strip()
    m = _DIGITS.fullmatch(s)
    if m:
        value = _digits_value(m.group("num"))
        return -value if m.group("sign") in ("-", "\u2212") else value
    m = _WORDS.fullmatch(s)
    if m:
        value, used = _words_value(m.group())
        return value if used == len(m.group()) else None
    return None


def _digits_value(s: str) -> float | int:
    if _THOUSANDS.fullmatch(s):
        return int(s.replace(",", ""))
    if "e" in s or "E" in s:
        return float(s.replace(",", "."))
    if "." in s or "," in s:
        return float(s.replace(",", "."))
    return int(s)


def _words_value(s: str) -> tuple[int | None, int]:
    """(value, characters read) of the longest prefix of `s` that is one number in words.

    "twenty five" and "three hundred and twelve" are one number each; "five ten" and "five and ten"
    are not, so reading stops after "five".
    """
    total, group, last = 0, 0, None     # last: the kind of the previous word
    value, read = None, 0
    for m in re.finditer(r"[A-Za-z]+", s):
        w = m.group().lower()
        if w in ("a", "an") and last is None:
            group, last = 1, "a"
            continue
        if w == "and":
            if last not in ("hundred", "thousand"):
                break
            last = "and"
            continue
        if w in UNITS:
            ok = last in (None, "hundred", "thousand", "and") or (last == "tens" and 0 < UNITS[w] < 10)
            if not ok:
                break
            group, last = group + UNITS[w], "unit"
        elif w in TENS:
            if last not in (None, "hundred", "thousand", "and"):
                break
            group, last = group + TENS[w], "tens"
        elif w == "hundred":
            if last not in ("unit", "a") or not 0 < group < 10:
                break
            group, last = group * 100, "hundred"
        elif w == "thousand":
            if total or last not in ("unit", "tens", "hundred", "a") or not group:
                break
            total, group, last = group * 1000, 0, "thousand"
        else:
            break
        value, read = total + group, m.end()
    return value, read


def read_quantities(text: str) -> list[Quantity]:
    """Every number in `text`, in order, each read once."""
    out: list[Quantity] = []
    for m in _DIGITS.finditer(text):
        sign, start, end = m.group("sign"), m.start("num"), m.end()
        if sign:
            # A sign only after a space or an opening mark: "2-18" is a range, "months-25" one too.
            if sign == "+" or (m.start() and text[m.start() - 1] not in " \t\n([:=,;/"):
                sign = None
            elif text[:m.start()].rstrip()[-1:].isdigit():
                sign = None  # "3 - 15": a range with spaces
        before = text[start - 1] if start and not sign else (text[m.start() - 1] if m.start() else " ")
        if before.isalpha() or before == "_" or before.isdigit():
            continue  # "B27", "T2": part of a name
        if before in "-." and start >= 2 and text[start - 2].isalpha() and not _UNIT_BEFORE.search(text, 0, start - 1):
            continue  # "IL-10", "COVID-19"; a citation marker glued to a word, "cases.16"
        if before == "." and start >= 2 and text[start - 2].isdigit():
            continue  # "1.2.3": a section number's tail
        tag = None
        if text[end:end + 1].isalpha():
            glue = _GLUE.match(text, end)
            if not glue:
                continue  # "3rd", "4a"
            tag = glue.group("tag")
        value = _digits_value(m.group("num"))
        if sign:
            start, value = m.start(), -value
        out.append(Quantity(start, end, value, tag=tag))
    for m in _WORDS.finditer(text):
        value, used = _words_value(m.group())
        if value is None or not used:
            continue
        # "between five and ten": the run is cut where it stops being one number, and the rest read again.
        for start, end, v in _word_numbers(text, m.start(), m.end()):
            out.append(Quantity(start, end, v, word=True))
    out.sort(key=lambda q: q.start)
    return out


def _word_numbers(text: str, start: int, end: int):
    """The numbers in words in text[start:end], longest first from the left."""
    while start < end:
        value, used = _words_value(text[start:end])
        if value is None or not used:
            nxt = re.search(r"[\s-]+", text[start:end])
            if not nxt:
                return
            start += nxt.end()
            continue
        yield start, start + used, value
        rest = re.match(r"[\s-]+(?:and[\s-]+)?", text[start + used:end])
        start += used + (rest.end() if rest else 0)
        if not rest:
            return
