"""Kept text -> normalised text for the extractors, with a map back to the kept text.

Extractors match on the normalised text (words broken at a line end joined again), but every
piece of evidence must quote the paper's own text, so each normalised character keeps the offset
of the kept character it came from.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from wordfreq import zipf_frequency

# A word broken at a line end: "charac-\nterized", "TNF-\n\na", "chil- \ndren". The pattern starts
# at the hyphen, which the regex engine finds fast; the left part is read back from it (_word_start).
# "(\w+)-..." would try every letter of every word.
_BREAK = re.compile(r"-(?<=\w-)(?:[ \t]*\n\s*(\w+)| +(\w+))")
# Zipf frequency above which a string counts as an English word (see _keep_hyphen).
_WORD = 3.0
# Prefixes medical writing hyphenates ("non-steroidal", "anti-inflammatory", "self-limiting").
_HYPHENATED_PREFIXES = {"non", "anti", "pre", "post", "self", "multi", "semi", "well", "long", "short", "co"}
_COMMON = 3.0


@lru_cache(maxsize=4096)
def _zipf(word: str) -> float:
    # The small list (words of Zipf >= 3) holds what the thresholds below need, in 4 MB of memory
    # per process instead of 34 MB for the large one.
    return zipf_frequency(word.lower(), "en", wordlist="small")


def _keep_hyphen(left: str, right: str) -> bool:
    """Is "left-right" a real hyphenated compound rather than a word broken by typesetting?

    "non-bacterial", "follow-up", "TNF-a", "IL-6" keep their hyphen; "charac-terized",
    "chil-dren", "Methrotrex-ate" are joined. Two real words whose join is not a common word
    are a compound; an upper-case or numeric left part is an abbreviation.
    """
    if left[-1].isdigit() or right[0].isdigit() or (len(left) > 1 and left.isupper()) or right[0].isupper():
        return True
    if left.lower() in _HYPHENATED_PREFIXES:
        return True
    joined = left + right
    if _zipf(joined) >= _COMMON:
        return False
    return _zipf(left) >= _WORD and _zipf(right) >= _WORD


def _split_word(left: str, right: str) -> bool:
    """Is "left- right" one word broken where a line ended in the text the paper was copied from
    ("chil- dren", "le- sions")? Its halves are not words, the whole is."""
    return (left.isalpha() and right.isalpha() and _zipf(left + right) >= _COMMON
            and _zipf(left) < _WORD and _zipf(right) < _WORD)


@dataclass(frozen=True)
class Normalised:
    text: str
    to_kept: list[int]  # to_kept[i] is the kept-text offset of normalised character i (len+1 entries)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Kept-text span of the normalised span [start, end)."""
        if end <= start:
            return self.to_kept[start], self.to_kept[start]
        return self.to_kept[start], self.to_kept[end - 1] + 1


def normalise(kept: str) -> Normalised:
    """Join words broken at line ends and fold look-alike characters, keeping an offset map.

    Characters are otherwise kept one for one (newlines included), so line-based table
    reading still sees the table's lines.
    """
    pieces: list[str] = []
    to_kept: list[int] = []
    pos = 0        # kept text is copied up to here
    joined_to = 0  # end of the last broken word's right part
    for m in _BREAK.finditer(kept):
        hyphen = m.start()
        # A right part does not start another break: "a-\nb-\nc" joins only "a-\nb".
        if hyphen == joined_to:
            continue
        group = 1 if m.group(1) is not None else 2
        left, right = kept[_word_start(kept, hyphen):hyphen], m.group(group)
        if group == 2 and not _split_word(left, right):
            continue  # "long- and short-term": a hyphen before a space joins only a word's two halves
        pieces.append(kept[pos:hyphen])
        to_kept.extend(range(pos, hyphen))
        if group == 1 and _keep_hyphen(left, right):
            pieces.append("-")
            to_kept.append(hyphen)
        pos = m.start(group)
        joined_to = m.end()
    pieces.append(kept[pos:])
    to_kept.extend(range(pos, len(kept) + 1))
    return Normalised(_fold_lookalikes("".join(pieces)), to_kept)


def _word_start(text: str, end: int) -> int:
    """Start of the run of word characters (regex \\w: str.isalnum() or "_") that ends at `end`."""
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return start


# Typographic characters that papers use for plain ones, and control characters (but newline and
# tab) as spaces; one character to one, so offsets hold.
_FOLD = {
    "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2019": "'", "\u2018": "'",
    "\u201c": '"', "\u201d": '"', "\u00d7": "x", "\f": "\n", "\u00ad": "-",
    **{chr(c): " " for c in [*range(0, 32), *range(127, 160)] if chr(c) not in "\n\t\f"},
}
# Replaced where found: they are rare, and str.translate looks up every character of a text that is
# not pure ASCII, at about fifteen times the cost.
_FOLDED = re.compile("[" + re.escape("".join(_FOLD)) + "]")


def _fold_lookalikes(text: str) -> str:
    return _FOLDED.sub(lambda m: _FOLD[m.group()], text)


# str.lower() gives the ASCII letter that re.IGNORECASE matches for every character but these three
# (a test checks all of Unicode).
_CASE_FOLD = str.maketrans("\u0130\u0131\u017f", "iis")


def fold_case(text: str) -> str:
    """`text` in lower case, each run of white space one space: it holds the words (and the phrases,
    spaced as `\\s+` matches them) of any case-insensitive pattern that matches `text`."""
    return " ".join((text if text.isascii() else text.translate(_CASE_FOLD)).lower().split())
