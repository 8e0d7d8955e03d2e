"""Sentence text -> tokens: words, punctuation and quantities, each word tagged with its concept.

Every later step reads a sentence through its tokens: a quantity is one token whatever its
spelling ("twenty-five", "10,3"), and a concept phrase ("more than one lesion", "age at onset" is
two concepts: "age" and "onset") is found once, here, from `pipeline/data/concepts.json`, by the
longest phrase at each position. Bone sites and drugs are not looked up here: they come from the
spaCy vocabulary component (`Sentence.ents`), which knows their negation.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..core import vocab
from .quantities import WORDS, Quantity, read_quantities

# A word: letters and digits with inner hyphens or apostrophes ("follow-up", "non-CNO", "HLA-B27",
# "TNF-α"), "±" or "+/-", or one punctuation character ("/" too: "female/male" is three tokens).
_TOKEN = re.compile(r"[^\W_](?:\w|[-'’](?=[^\W\d_]))*|±|\+/-|\S")
_TO = re.compile(r"-to-", re.I)
_FOLD = str.maketrans({"α": "a", "β": "b", "’": "'", "–": "-", "—": "-", "−": "-"})


@dataclass(frozen=True)
class Token:
    start: int              # offsets in the sentence text
    end: int
    text: str               # lower case, Greek letters as their Latin stand-ins
    quantity: Quantity | None = None
    concept: str | None = None   # the concept of the phrase this word is part of
    phrase_start: bool = False   # the first word of that phrase
    capital: bool = False        # printed with a capital letter
    gap: str = ""                # the line break before it: "" none, "line", or "blank" (an empty line)

    @property
    def is_quantity(self) -> bool:
        return self.quantity is not None


@lru_cache(maxsize=1)
def lexicon() -> tuple[dict[tuple[str, ...], str], dict[str, tuple[int, ...]]]:
    """(phrase tokens -> concept, first word -> the lengths of the phrases it starts, longest first)."""
    data = vocab.load("concepts.json")["concepts"]
    out: dict[tuple[str, ...], str] = {}
    for concept, phrases in data.items():
        for phrase in phrases:
            key = tuple(t.text for t in _words(phrase))
            if key in out and out[key] != concept:
                raise ValueError(f"concepts.json: {phrase!r} is listed under both {out[key]!r} and {concept!r}")
            out[key] = concept
    starts: dict[str, set[int]] = {}
    for key in out:
        starts.setdefault(key[0], set()).add(len(key))
    return out, {w: tuple(sorted(ns, reverse=True)) for w, ns in starts.items()}


def _words(text: str, lo: int = 0, hi: int | None = None) -> list[Token]:
    """The word and punctuation tokens of text[lo:hi], at their offsets in `text`."""
    out = []
    for m in _TOKEN.finditer(text, lo, len(text) if hi is None else hi):
        word, start = m.group(), m.start()
        # "male-to-female", "one-to-one": the words of a ratio, each a token of its own.
        parts = _TO.split(word) if "-to-" in word.lower() else [word]
        for k, part in enumerate(parts):
            if k:
                out.append(Token(start, start + 4, "to"))
                start += 4
            out.append(Token(start, start + len(part), part.lower().translate(_FOLD), capital=part[:1].isupper()))
            start += len(part)
    return out


def tokenize(text: str) -> list[Token]:
    """The tokens of one sentence or table row, quantities read whole and concepts tagged."""
    tokens: list[Token] = []
    pos = 0
    for q in read_quantities(text):
        if q.start < pos:
            continue
        tokens += _words(text, pos, q.start)
        tokens.append(Token(q.start, q.end, text[q.start:q.end].lower(), quantity=q))
        pos = q.end  # a sex letter glued to it ("8M") is the next token, as in "8 M"
    tokens += _words(text, pos)
    return _references(_tag(_gaps(text, tokens)))


def _references(tokens: list[Token]) -> list[Token]:
    """A number after a reference word ("Table 1", "p = 0.03", "grade 2") is a word of the reference."""
    out = list(tokens)
    for i, t in enumerate(out):
        if t.is_quantity and i and (out[i - 1].concept == "reference" or (
                i > 1 and out[i - 1].text in ("=", "<", ">", ":") and out[i - 2].concept == "reference")):
            out[i] = Token(t.start, t.end, t.text, None, "reference", False, t.capital, t.gap)
    return out


def _gaps(text: str, tokens: list[Token]) -> list[Token]:
    out, prev = [], 0
    for t in tokens:
        space = text[prev:t.start]
        gap = "blank" if space.count("\n") >= 2 else "line" if "\n" in space else ""
        out.append(Token(t.start, t.end, t.text, t.quantity, t.concept, t.phrase_start, t.capital, gap) if gap else t)
        prev = t.end
    return out


def _tag(tokens: list[Token]) -> list[Token]:
    phrases, starts = lexicon()
    out = list(tokens)
    i = 0
    while i < len(out):
        for n in starts.get(out[i].text, ()):
            if i + n > len(out):
                continue
            key = tuple(t.text for t in out[i:i + n])
            concept = phrases.get(key)
            if concept is not None and not (n == 1 and out[i].is_quantity):
                # A number inside a phrase ("more than one lesion", "at least one") is a word of it.
                for j in range(i, i + n):
                    t = out[j]
                    out[j] = Token(t.start, t.end, t.text, None, concept, j == i, t.capital, t.gap)
                i += n
                break
        else:
            i += 1
    return out


@lru_cache(maxsize=1)
def _countable() -> re.Pattern:
    data = vocab.load("concepts.json")["concepts"]
    words = {p.split()[0] for c in ("all", "none") for p in data[c]}
    return re.compile(rf"\d|{WORDS}|\b(?:{'|'.join(sorted(map(re.escape, words)))})\b", re.I)


@lru_cache(maxsize=None)
def _first_words(concept: str) -> re.Pattern:
    words = {p.split()[0] for p in vocab.load("concepts.json")["concepts"][concept]}
    return re.compile(rf"\b(?:{'|'.join(sorted(map(re.escape, words)))})\b", re.I)


def may_name(text: str, concept: str) -> bool:
    """Can the text name `concept` at all: does it hold the first word of one of its phrases? A
    sentence that does not needs no tokens to say it does not."""
    return _first_words(concept).search(text) is not None


def may_count(text: str) -> bool:
    """Can the text state a figure at all: does it hold a digit, a number word or a word like "all"
    or "none"? Most sentences of a paper do not, and need no tokens."""
    return _countable().search(text) is not None


def concepts_in(tokens: list[Token], lo: int, hi: int) -> list[tuple[str, int]]:
    """(concept, index) of each concept phrase that starts in tokens[lo:hi]."""
    return [(t.concept, i) for i, t in enumerate(tokens[lo:hi], lo) if t.concept and t.phrase_start]
