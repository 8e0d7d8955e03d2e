"""The spaCy pipeline: tokens, sentences, and vocabulary entities (drugs, bone sites) with negation.

Built on `spacy.blank("en")`: no statistical model is needed or downloaded. The entity patterns are
generated from the data files at construction, through components registered by name with a
default config, so `nlp.add_pipe("crmo_vocabulary")` is all a notebook needs.
"""
from __future__ import annotations

import bisect
import re
import unicodedata
from functools import lru_cache
from typing import Iterable, Iterator

import spacy
from negspacy.negation import Negex
from negspacy.termsets import termset
from spacy.attrs import IS_SPACE
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.pipeline import Sentencizer
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from ..core import vocab
from ..core.vocab import Term


class VocabularyRuler:
    """Vocabulary terms as entities: a phrase matcher on lower-case tokens (what spaCy's
    EntityRuler does, without its per-call overheads, which cost more than the matching on
    sentence-sized docs), plus a regular-expression pass for multi-word terms that a line break or
    a double space splits ("anti-tumor necrosis\\nfactor"): the break is a whitespace token, which a
    phrase never matches. Overlapping matches keep the longest, then the first."""

    def __init__(self, nlp: Language, name: str):
        terms = vocab.terms()
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.by_match_id: dict[int, Term] = {}
        for t in terms:
            match_key = f"{t.label}:{t.key}:{t.text}"
            self.by_match_id[nlp.vocab.strings.add(match_key)] = t
            self.matcher.add(match_key, [nlp.make_doc(t.text)])
        multi = sorted((t for t in terms if len(nlp.make_doc(t.text)) > 1), key=lambda t: -len(t.text))
        self.broken = {re.sub(r"\s+", " ", t.text): t for t in multi}
        alternatives = "|".join(re.escape(t.text).replace(r"\ ", r"\s+") for t in multi)
        # Searched in the lower-cased text, three times faster than with re.IGNORECASE, which is
        # kept for the rare text whose lower case changes its length (and so the offsets).
        self.broken_re = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
        self.broken_re_ignorecase = re.compile(self.broken_re.pattern, re.I)

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        for match_id, start, end in self.matcher(doc):
            term = self.by_match_id[match_id]
            spans.append(Span(doc, start, end, label=term.label, span_id=term.key))
        # A term is split only by a line break or a double space, that is by a whitespace token.
        if doc.to_array(IS_SPACE).any():
            # Found on the text, not by walking tokens, which costs more than the search; Doc.text
            # joins every token again, so `sentence_docs` hands the text over.
            text = doc.user_data.get(TEXT_KEY) or doc.text
            lower = text.lower()
            found = self.broken_re.finditer(lower) if len(lower) == len(text) else self.broken_re_ignorecase.finditer(text)
            for m in found:
                if not _BREAK.search(m.group()):
                    continue  # the phrase matcher found it already
                term = self.broken.get(re.sub(r"\s+", " ", m.group().lower()))
                span = term and doc.char_span(m.start(), m.end(), label=term.label, alignment_mode="expand")
                if span is not None:
                    span.id_ = term.key
                    spans.append(span)
        if spans:
            doc.ents = filter_spans([*doc.ents, *spans])
        return doc


_BREAK = re.compile(r"\n|\s\s")
TEXT_KEY = "crmo_text"  # Doc.user_data key for the text the doc was made from


@Language.factory("crmo_vocabulary")
def make_vocabulary_ruler(nlp: Language, name: str):
    return VocabularyRuler(nlp, name)


class FastNegex(Negex):
    """negspacy's NegEx, with its per-boundary `doc[a:b].ents` (a scan of every entity for every
    sentence, quadratic on a long section) replaced by one pass over the entities."""

    def negex(self, doc: Doc) -> Doc:
        if not any(e.label_ in self.ent_types for e in doc.ents):
            return doc  # nothing to negate: skip the cue matcher, most chunks name no drug or bone
        preceding, following, terminating = self.process_negations(doc)
        boundaries = self.termination_boundaries(doc, terminating)
        starts = [b[0] for b in boundaries]
        by_boundary: dict[int, list] = {}
        for ent in doc.ents:
            k = bisect.bisect_right(starts, ent.start) - 1
            if k >= 0 and ent.start < boundaries[k][1]:
                by_boundary.setdefault(k, []).append(ent)
        for k, ents in by_boundary.items():
            lo, hi = boundaries[k]
            sub_preceding = [i for i in preceding if lo <= i[1] < hi]
            sub_following = [i for i in following if lo <= i[1] < hi]
            for ent in ents:
                self._apply_negation(ent, sub_preceding, sub_following)
        return doc


def _negation_terms() -> dict:
    # Only cues before a drug or site negate it ("no patient received etanercept"): NegEx's
    # following cues such as "free of" would negate "Naproxen" in "Naproxen ... patients were
    # free of symptoms", which is a response, not an absence.
    terms = termset("en_clinical").get_patterns()
    terms["following_negations"] = []
    terms["preceding_negations"] += ["none of the patients", "none of our patients", "none of the", "none of them",
                                     "no patients", "no child", "no children"]
    return terms


@Language.factory("crmo_negex", default_config={"ent_types": ["DRUG", "SITE"], "neg_termset": _negation_terms()})
def make_negex(nlp: Language, name: str, ent_types: list[str], neg_termset: dict):
    return FastNegex(nlp, name, neg_termset, ent_types, "negex", None, None)


@lru_cache(maxsize=1)
def get_nlp() -> Language:
    """One pipeline per process: building it reads the vocabularies and costs about 0.1 s."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("crmo_vocabulary")
    nlp.add_pipe("crmo_negex")
    return nlp


# Sentences without running spaCy over the whole text. Tokenising a paper costs as much as every
# rule together, yet only sentences that name a drug or a bone need tokens (for the entity ruler
# and NegEx). `sentence_spans` gives exactly the sentences the sentencizer would (a test compares
# them on the corpus), by tokenising only the words that hold a sentence-final character and the
# word after it; `may_name_a_term` tells which sentences the pipeline must see.

_PUNCT_CHARS = frozenset(Sentencizer.default_punct_chars)
_SENT_FINAL = re.compile("[" + re.escape("".join(sorted(_PUNCT_CHARS))) + "]")
# A class of three characters is searched several times faster than one of ninety.
_SENT_FINAL_ASCII = re.compile(r"[.!?]")
_NON_ASCII_FINALS = _PUNCT_CHARS - set(".!?")
_NON_SPACE = re.compile(r"\S+")
_SPACE = re.compile(r"\s*")
_OTHER, _PUNCT, _FINAL = 0, 1, 2


# Long words are tokenised in pieces. spaCy's tokenizer takes time quadratic in the number of
# affixes it splits off one whitespace-free word (8,000 closing brackets before a full stop: 12 s),
# and no word of a paper is that long; the pieces of a junk word may be split otherwise than spaCy
# would split the whole, which moves no sentence boundary of real text.

@lru_cache(maxsize=1)
def _long_word() -> tuple[int, re.Pattern]:
    from ..core.limits import limits

    size = limits().word_piece_chars
    return size, re.compile(r"\S{%d,}" % (size + 1))


def _pieces(text: str) -> list[tuple[int, int]]:
    """`text` cut into (start, end) pieces, only inside words longer than the piece size."""
    size, long_word = _long_word()
    cuts = [0]
    for m in long_word.finditer(text):
        cuts += range(m.start() + size, m.end(), size)
    cuts.append(len(text))
    return list(zip(cuts, cuts[1:]))


def make_doc(text: str) -> Doc:
    """`nlp.make_doc(text)`, with words longer than the piece size tokenised piece by piece."""
    nlp = get_nlp()
    size, long_word = _long_word()
    if len(text) <= size or not long_word.search(text):
        return nlp.make_doc(text)
    return Doc.from_docs([nlp.make_doc(text[a:b]) for a, b in _pieces(text)], ensure_whitespace=False)


@lru_cache(maxsize=65536)
def _word_tokens(word: str) -> tuple[tuple[int, int], ...]:
    """(offset, kind) of each token spaCy makes of one whitespace-free word: the tokenizer handles
    every such word on its own, so the tokens are those it makes inside any text."""
    if not any(unicodedata.category(c)[0] == "P" for c in word):
        return ((0, _OTHER),)  # no punctuation: whatever the split, no token is punctuation
    size, _ = _long_word()
    if len(word) > size:
        return tuple((a + offset, kind) for a, b in _pieces(word) for offset, kind in _word_tokens(word[a:b]))
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


_LETTERS = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=1)
def _term_words() -> frozenset[str] | None:
    """One word (a run of letters, lower case) of each term, or None when some term has none.

    The matcher compares whole lower-case tokens, and the tokenizer splits runs of letters only in
    a few contractions ("cannot", "gonna"), none of them a term, so a text naming a term holds
    each of the term's words as a run of letters of its own. The rarest English word of the term is taken ("tnf",
    not "anti"), so few sentences without a term get through.
    """
    from wordfreq import zipf_frequency

    words = set()
    for term in vocab.terms():
        runs = _LETTERS.findall(term.text.lower())
        if not runs:
            return None
        words.add(min(runs, key=lambda w: (zipf_frequency(w, "en"), -len(w))))
    return frozenset(words)


def may_name_a_term(text: str) -> bool:
    """False when `text` surely names no vocabulary term, so the pipeline need not see it."""
    words = _term_words()
    return words is None or not words.isdisjoint(_LETTERS.findall(text.lower()))


def sentence_docs(texts: Iterable[str]) -> Iterator[Doc]:
    """The pipeline's docs of texts that are one sentence each (cut by `sentence_spans`): each doc
    is marked as one sentence, which is what the sentencizer would find, at no cost per token."""
    nlp = get_nlp()
    rest = [proc for name, proc in nlp.pipeline if name != "sentencizer"]
    for text in texts:
        doc = make_doc(text)
        doc.user_data[TEXT_KEY] = text
        if len(doc) > 1:
            doc[1].is_sent_start = False  # sentence boundaries are set: the first token starts the one sentence
        for proc in rest:
            doc = proc(doc)
        yield doc
