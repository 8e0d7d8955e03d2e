"""Sentence text -> tokens: words, punctuation and quantities, each word tagged with its concept.

Every later step reads a sentence through its tokens: a quantity is one token whatever its
spelling ("twenty-five", "10,3"), and a concept phrase ("more than one lesion", "age at onset" is
two concepts: "age" and "onset") is found once, here, from `pipeline/data/concepts.json`, by the
longest phrase at each position. Bone sites and drugs are not looked up here: they come from the
spaCy vocabulary component (`Sentence.ents`), which knows their negation.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator, NamedTuple

from ..core import vocab
from .quantities import Quantity, read_quantities

# A word: letters and digits with inner hyphens or apostrophes ("follow-up", "non-CNO", "HLA-B27",
# "TNF-α"), "±" or "+/-", or one punctuation character ("/" too: "female/male" is three tokens).
_TOKEN = re.compile(r"[^\W_](?:\w|[-'’](?=[^\W\d_]))*|±|\+/-|\S")
_TO = re.compile(r"-to-", re.I)
_FOLD = str.maketrans({"α": "a", "β": "b", "’": "'", "–": "-", "—": "-", "−": "-"})


class Token(NamedTuple):
    """One word, mark or quantity. A named tuple: a paper's sentences make hundreds of thousands."""
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
            key = tuple(w[2] for w in _words(phrase, 0, len(phrase)))
            if key in out and out[key] != concept:
                raise ValueError(f"concepts.json: {phrase!r} is listed under both {out[key]!r} and {concept!r}")
            out[key] = concept
    starts: dict[str, set[int]] = {}
    for key in out:
        starts.setdefault(key[0], set()).add(len(key))
    return out, {w: tuple(sorted(ns, reverse=True)) for w, ns in starts.items()}


def _words(text: str, lo: int, hi: int) -> Iterator[tuple[int, int, str, None, bool]]:
    """(start, end, folded text, no quantity, capital) of each word and mark of text[lo:hi]."""
    for m in _TOKEN.finditer(text, lo, hi):
        word, start = m.group(), m.start()
        # "male-to-female", "one-to-one": the words of a ratio, each a token of its own.
        parts = _TO.split(word) if "-to-" in word.lower() else [word]
        for k, part in enumerate(parts):
            if k:
                yield start, start + 4, "to", None, False
                start += 4
            yield start, start + len(part), part.lower().translate(_FOLD), None, part[:1].isupper()
            start += len(part)


def tokenize(text: str) -> list[Token]:
    """The tokens of one sentence or table row, quantities read whole and concepts tagged."""
    raw: list[tuple] = []
    pos = 0
    for q in read_quantities(text):
        if q.start < pos:
            continue
        raw += _words(text, pos, q.start)
        raw.append((q.start, q.end, text[q.start:q.end].lower(), q, False))
        pos = q.end  # a sex letter glued to it ("8M") is the next token, as in "8 M"
    raw += _words(text, pos, len(text))
    concepts = _concepts_of([r[2] for r in raw], [r[3] is not None for r in raw])
    tokens, prev = [], 0
    for (start, end, word, quantity, capital), (concept, first) in zip(raw, concepts):
        space = text[prev:start]
        gap = ("blank" if space.count("\n") >= 2 else "line") if "\n" in space else ""
        if concept is not None:
            quantity = None  # a number inside a phrase ("more than one lesion") is a word of it
        elif quantity is not None and _after_reference(tokens):
            quantity, concept = None, "reference"  # "Table 1", "p = 0.03", "grade 2"
        tokens.append(Token(start, end, word, quantity, concept, first, capital, gap))
        prev = end
    return tokens


def _after_reference(tokens: list[Token]) -> bool:
    """Do the tokens so far end in a reference word, or in one and "=", "<", ">" or ":"?"""
    return bool(tokens) and (tokens[-1].concept == "reference" or (
        len(tokens) > 1 and tokens[-1].text in ("=", "<", ">", ":") and tokens[-2].concept == "reference"))


def _concepts_of(words: list[str], numbers: list[bool]) -> list[tuple[str | None, bool]]:
    """(concept, first word of its phrase) for each word: the longest phrase at each position wins."""
    phrases, starts = lexicon()
    out: list[tuple[str | None, bool]] = [(None, False)] * len(words)
    i = 0
    while i < len(words):
        for n in starts.get(words[i], ()):
            concept = phrases.get(tuple(words[i:i + n])) if i + n <= len(words) else None
            if concept is not None and not (n == 1 and numbers[i]):
                out[i:i + n] = [(concept, True)] + [(concept, False)] * (n - 1)
                i += n
                break
        else:
            i += 1
    return out


def concepts_in(tokens: list[Token], lo: int, hi: int) -> list[tuple[str, int]]:
    """(concept, index) of each concept phrase that starts in tokens[lo:hi]."""
    return [(t.concept, i) for i, t in enumerate(tokens[lo:hi], lo) if t.concept and t.phrase_start]
