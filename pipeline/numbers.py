"""Numbers as papers print them: "twenty-five", "Forty six", "1,6", "407,000", "9.0".

One pattern (NUM) finds them all so every rule reads counts the same way.
"""
from __future__ import annotations

import re

_UNITS = {
    "zero": 0, "no": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}

_unit_words = "|".join(sorted((w for w in _UNITS if w != "no"), key=len, reverse=True))
_tens_words = "|".join(_TENS)
WORD_NUM = rf"(?:(?:{_tens_words})(?:[- ](?:one|two|three|four|five|six|seven|eight|nine)\b)?|(?:{_unit_words}))"
# Digits with a thousands separator (407,000), a decimal point or a decimal comma (1,6), or words.
DIGIT_NUM = r"\d{1,3}(?:,\d{3})+(?![\d])|\d+(?:[.,]\d+)?"
NUM = rf"(?:{DIGIT_NUM}|\b(?i:{WORD_NUM})\b)"
NUM_RE = re.compile(NUM)
# parse_number runs for every count a rule reads: its patterns compiled once.
_THOUSANDS, _WHOLE, _DECIMAL = re.compile(r"\d{1,3}(?:,\d{3})+"), re.compile(r"\d+"), re.compile(r"\d+[.,]\d+")
_WORD_SEP = re.compile(r"[- ]")


def parse_number(text: str) -> float | int | None:
    """The value of a number as printed, or None.

    >>> [parse_number(s) for s in ["twenty-five", "Forty six", "1,6", "407,000", "9.0", "15", "eight"]]
    [25, 46, 1.6, 407000, 9.0, 15, 8]
    """
    s = text.strip().lower()
    if not s:
        return None
    if _THOUSANDS.fullmatch(s):
        return int(s.replace(",", ""))
    if _WHOLE.fullmatch(s):
        return int(s)
    if _DECIMAL.fullmatch(s):
        return float(s.replace(",", "."))
    parts = _WORD_SEP.split(s)
    if len(parts) == 1:
        return _UNITS.get(s, _TENS.get(s))
    if len(parts) == 2 and parts[0] in _TENS and parts[1] in _UNITS:
        return _TENS[parts[0]] + _UNITS[parts[1]]
    return None


def as_count(value) -> int | None:
    """A whole-number count, or None for 9.5 or a missing value."""
    if value is None:
        return None
    if isinstance(value, float) and not value.is_integer():
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
