"""Sentence spans without running spaCy over the whole text: `sentence_spans` gives exactly the
sentences spaCy's sentencizer finds (tests/test_nlp.py compares the two on the seeds in corpus/ and
on thousands of hard strings).

It stays because it earns its place (benchmarks/bench_speedups.py; docs/benchmarks.md): the
sentencizer needs every token of a prose chunk, and tokenising costs about a tenth of a whole run,
while this tokenises only the words that hold a sentence-final character and the word after it.
It also reads a chunk of any length, where `nlp.make_doc` refuses one over `nlp.max_length` (a
million characters: a text without headings and sentence ends).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from spacy.pipeline import Sentencizer

from .language import get_nlp, long_word_pattern, word_pieces

_PUNCT_CHARS = frozenset(Sentencizer.default_punct_chars)
_SENT_FINAL = re.compile("[" + re.escape("".join(sorted(_PUNCT_CHARS))) + "]")
# A class of three characters is searched several times faster than one of ninety.
_SENT_FINAL_ASCII = re.compile(r"[.!?]")
_NON_ASCII_FINALS = _PUNCT_CHARS - set(".!?")
_NON_SPACE = re.compile(r"\S+")
_SPACE = re.compile(r"\s*")
_OTHER, _PUNCT, _FINAL = 0, 1, 2


@lru_cache(maxsize=65536)
def _word_tokens(word: str) -> tuple[tuple[int, int], ...]:
    """(offset, kind) of each token spaCy makes of one whitespace-free word: the tokenizer handles
    every such word on its own, so the tokens are those it makes inside any text."""
    if not any(unicodedata.category(c)[0] == "P" for c in word):
        return ((0, _OTHER),)  # no punctuation: whatever the split, no token is punctuation
    size, _ = long_word_pattern()
    if len(word) > size:
        return tuple((a + offset, kind) for a, b in word_pieces(word) for offset, kind in _word_tokens(word[a:b]))
    return tuple((t.idx, _FINAL if t.text in _PUNCT_CHARS else _PUNCT if t.is_punct else _OTHER)
                 for t in get_nlp().tokenizer(word))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) character spans of the sentences spaCy's sentencizer finds in `text`.

    The sentencizer starts a sentence at the first token that is neither punctuation nor a
    sentence-final character after a sentence-final token; whitespace other than one space between
    words is a token of its own, and so can start a sentence ("end.\nNext").
    """
    n = len(text)
    if not n:
        return []
    starts = [0]
    pos = 0
    final = _SENT_FINAL_ASCII if _NON_ASCII_FINALS.isdisjoint(text) else _SENT_FINAL
    while (m := final.search(text, pos)) is not None:
        word_start = m.start()
        while word_start > pos and not text[word_start - 1].isspace():
            word_start -= 1
        seen, pos = False, word_start
        while pos < n:
            end = _NON_SPACE.match(text, pos).end()
            for offset, kind in _word_tokens(text[pos:end]):
                if seen and kind == _OTHER:
                    starts.append(pos + offset)
                    seen = False
                elif kind == _FINAL:
                    seen = True
            pos = end
            if not seen:
                break
            space_end = _SPACE.match(text, pos).end()
            space = space_end - pos
            if space and (text[pos] != " " or space > 1):
                starts.append(pos if text[pos] != " " else pos + 1)  # a whitespace token
                break
            pos = space_end
    spans = []
    for i, start in enumerate(starts):
        if i + 1 < len(starts):
            nxt = starts[i + 1]
            end = nxt - 1 if text[nxt - 1] == " " else nxt
        else:
            end = n - 1 if text[-1] == " " and n > 1 and not text[-2].isspace() else n
        spans.append((start, end))
    return spans
