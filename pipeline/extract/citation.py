"""A paper's kept text -> its first author and year as the paper states them, for study labels.

Only the front matter is read (pipeline/data/citation.json says how much): the paper's own citation
or copyright line ("Copyright 2017 Webb et al.", "Cite this article as: Kaiser D, Bolt I, ..."), its
byline ("Andrew E. Webb1, Thomas A. Walsh1 and Mary J. O'Connell1,2"), its dates ("Published 5 June
2017") and the journal line at the top ("Pediatr Rheumatol 2015 Jun 19"). Nothing is guessed: a
paper stating neither gives no label, and the study is labelled by labels.csv or its id.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Callable

from ..core.model import Evidence
from ..core.vocab import load

_NAME = r"[^\W\d_][^\W\d_'’]*(?:[-'’][^\W\d_]+)*"
# Affiliation marks after a name: digits, symbols, and the commas between them ("O'Connell1,2").
_MARKS = r"[\d*†‡§¶#∗⁎⋄□✝]+(?:,[\d*†‡§¶#∗⁎⋄□✝]+)*"
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
# What parts two names of a byline: a comma, "and", "&", or the affiliation marks after a name.
_SEPARATOR = re.compile(r",|\band\b|&|[\d*†‡§¶#∗⁎⋄□✝]\s")


@dataclass(frozen=True)
class Citation:
    first_author: str | None
    year: int | None
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def label(self) -> str | None:
        """"Webb 2017", or "Webb" when the paper states no year; None without an author."""
        if not self.first_author:
            return None
        return f"{self.first_author} {self.year}" if self.year else self.first_author

    def to_json(self) -> dict:
        return {"first_author": self.first_author, "year": self.year,
                "evidence": [e.to_json() for e in self.evidence]}


@lru_cache(maxsize=1)
def _settings() -> dict:
    return load("citation.json")


@lru_cache(maxsize=1)
def _patterns() -> dict[str, re.Pattern]:
    s = _settings()
    cues = "|".join(re.escape(c) for c in sorted(s["cue_words"], key=len, reverse=True))
    years = "|".join(re.escape(w) for w in s["year_words"])
    heads = "|".join(re.escape(w) for w in s["abstract_words"])
    return {
        # The cue in any case; the name capitalised, then "et al" or the initials of a Vancouver list.
        # The cue in any case, then a name (capitalised: checked by the caller) and "et al" or the
        # initials of a Vancouver list.
        "cue": re.compile(rf"(?i:{cues})\s*:?\s*(?:((?:19|20)\d\d)\s+)?({_NAME})"
                          rf"(?:\s+et\s+al\b|\s+[A-Z]{{1,3}}\b(?=\s*[,.]))"),
        "year_after": re.compile(r"\b((?:19|20)\d\d)\b"),
        # A date, not any year after the word: "Received 9 May 2013", "Published online: June 5, 2017"
        # ("received pamidronate between 1996 and ..." is not one).
        "dated": re.compile(rf"(?i:\b({years})\s*:?\s*(?:on\s+)?(?:\d{{1,2}}\s+)?(?:{_MONTHS})[a-z]*\.?\s+"
                            rf"(?:\d{{1,2}},?\s+)?)((?:19|20)\d\d)\b"),
        "journal": re.compile(rf"\(((?:19|20)\d\d)\)|\b((?:19|20)\d\d)(?=\s*;|\s+(?i:{_MONTHS})\b|\s*,\s*\d+\s*[:(])"),
        "heading": re.compile(rf"^\s*(?i:{heads})\b", re.MULTILINE),
        "marks": re.compile(rf"{_MARKS}(?=\s|,|$)"),
    }


@lru_cache(maxsize=1)
def _particles() -> frozenset[str]:
    return frozenset(_settings()["particles"])


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fold(text: str) -> str:
    """`text` in lower case, character for character (so offsets carry over)."""
    folded = text.lower()
    # lower() never shortens a text; only a few letters lengthen ('İ'): then ASCII letters alone.
    return folded if len(folded) == len(text) else text.translate(_ASCII_LOWER)


def _matches_at_words(pattern: re.Pattern, text: str, folded: str, words) -> list[re.Match]:
    """`pattern` matched where one of `words` (lower case) begins in `text` (`folded` is
    _fold(text)), in text order. Finding the words with str.find first is many times faster than
    letting the pattern try every position of the front matter."""
    starts = set()
    for word in words:
        i = folded.find(word)
        while i != -1:
            starts.add(i)
            i = folded.find(word, i + 1)
    return [m for m in (pattern.match(text, i) for i in sorted(starts)) if m]


def _year(text: str) -> int | None:
    year = int(text)
    return year if _settings()["first_year"] <= year <= date.today().year + 1 else None


def _surname(name: str) -> str | None:
    """The surname of a byline name: 'Andrew E. Webb' -> Webb, 'Kaiser D' -> Kaiser, 'Ross G.
    DOUGLAS' -> Douglas, 'Ludwig van Beethoven' -> van Beethoven; None if it is not a name."""
    particles = _particles()
    tokens = name.split()
    if not 2 <= len(tokens) <= 5:
        return None
    kinds = []
    for token in tokens:
        if re.fullmatch(r"[A-Z]\.?(?:-?[A-Z]\.?){0,2}", token):
            kinds.append("initial")
        elif token in particles:
            kinds.append("particle")
        elif re.fullmatch(_NAME, token) and token[0].isupper() and len(token) > 1:
            kinds.append("word")
        else:
            return None
    if "word" not in kinds:
        return None
    if kinds[-1] == "initial":      # Vancouver: Surname AB
        words = tokens[:kinds.index("initial")]
    else:                           # Firstname M. Surname
        last = max(i for i, k in enumerate(kinds) if k == "word")
        start = last
        while start > 0 and kinds[start - 1] == "particle":
            start -= 1
        words = tokens[start:last + 1]
    if not words or kinds[0] == "particle" and kinds[-1] == "initial":
        return None
    surname = " ".join(words)
    return surname.title() if surname.isupper() and len(surname) > 2 else surname


def _byline(line: str) -> str | None:
    """The first author's surname if `line` is a byline of two or more names, else None."""
    if len(line) > 400 or not _SEPARATOR.search(line):
        return None
    particles = _particles()
    for token in line.split():   # any other lower-case word: a title or a sentence (and cheap to tell)
        word = token.strip(",;&")
        if word[:1].islower() and word != "and" and word not in particles:
            return None
    joined = re.sub(r"\s+(?:and|&)\s+", ", ", line.replace(";", ","))
    parts = [p.strip() for p in _patterns()["marks"].sub(",", joined).split(",")]
    names = [p for p in parts if p]
    if len(names) < 2:
        return None
    surnames = [_surname(n) for n in names]
    return surnames[0] if all(surnames) else None


def find_citation(text: str, page_at: Callable[[int], int | None] = lambda _: None) -> Citation | None:
    """The paper's own first author and year, each with its evidence, or None if it states neither."""
    s, p = _settings(), _patterns()
    front = text[:s["front_chars"]]
    folded = _fold(front)
    evidence: list[Evidence] = []

    def cite(start: int, end: int) -> None:
        evidence.append(Evidence(text[start:end], "front", start, end, page_at(start)))

    author = year = None
    cue = next((m for m in _matches_at_words(p["cue"], front, folded, s["cue_words"]) if m.group(2)[0].isupper()), None)
    if cue:
        author = cue.group(2)
        year = _year(cue.group(1)) if cue.group(1) else None
        end = cue.end()
        if year is None:
            after = p["year_after"].search(front, end, min(len(front), end + 200))
            if after and "\n\n" not in front[end:after.start()] and _year(after.group(1)):
                year, end = _year(after.group(1)), after.end()
        cite(cue.start(), end)
    if author is None:
        heading = p["heading"].search(text, 0, s["byline_chars"])
        offset = 0
        for line in text[:heading.start() if heading else s["byline_chars"]].split("\n"):
            found = _byline(line)
            if found:
                author = found
                cite(offset, offset + len(line))
                break
            offset += len(line) + 1
    if year is None:
        dated = sorted(((s["year_words"].index(m.group(1).lower()), m)
                        for m in _matches_at_words(p["dated"], front, folded, s["year_words"]) if _year(m.group(2))),
                       key=lambda item: (item[0], item[1].start()))
        journal = p["journal"].search(text, 0, s["journal_line_chars"])
        published = [m for rank, m in dated if s["year_words"][rank].startswith("published")]
        # The year of publication: stated as such, or the journal line's; else when it was
        # accepted or received (a year early, at most).
        if not published and journal and _year(journal.group(1) or journal.group(2)):
            year = _year(journal.group(1) or journal.group(2))
            cite(journal.start(), journal.end())
        elif dated:
            match = (published or [dated[0][1]])[0]
            year = _year(match.group(2))
            cite(match.start(), match.end())
    if author is None and year is None:
        return None
    return Citation(author, year, evidence)
