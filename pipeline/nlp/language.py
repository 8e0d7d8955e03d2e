"""The spaCy pipeline: tokens, sentences, and vocabulary entities (drugs, bone sites) with negation.

Built on `spacy.blank("en")`: no statistical model is needed or downloaded. The entity patterns are
generated from the data files at construction, through components registered by name with a
default config, so `nlp.add_pipe("crmo_vocabulary")` is all a notebook needs.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, Iterator

import spacy
from negspacy.negation import Negex
from negspacy.termsets import termset
from spacy.attrs import IS_SPACE
from spacy.language import Language
from spacy.matcher import PhraseMatcher
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
    return Negex(nlp, name, neg_termset, ent_types, "negex", None, None)


@lru_cache(maxsize=1)
def get_nlp() -> Language:
    """One pipeline per process: building it reads the vocabularies and costs about 0.1 s."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("crmo_vocabulary")
    nlp.add_pipe("crmo_negex")
    return nlp


# Long words are tokenised in pieces. spaCy's tokenizer takes time quadratic in the number of
# affixes it splits off one whitespace-free word (8,000 closing brackets before a full stop: 12 s),
# and no word of a paper is that long; the pieces of a junk word may be split otherwise than spaCy
# would split the whole, which moves no sentence boundary of real text.

@lru_cache(maxsize=1)
def long_word_pattern() -> tuple[int, re.Pattern]:
    from ..core.limits import limits

    size = limits().word_piece_chars
    return size, re.compile(r"\S{%d,}" % (size + 1))


def word_pieces(text: str) -> list[tuple[int, int]]:
    """`text` cut into (start, end) pieces, only inside words longer than the piece size."""
    size, long_word = long_word_pattern()
    cuts = [0]
    for m in long_word.finditer(text):
        cuts += range(m.start() + size, m.end(), size)
    cuts.append(len(text))
    return list(zip(cuts, cuts[1:]))


def make_doc(text: str) -> Doc:
    """`nlp.make_doc(text)`, with words longer than the piece size tokenised piece by piece."""
    nlp = get_nlp()
    size, long_word = long_word_pattern()
    if len(text) <= size or not long_word.search(text):
        return nlp.make_doc(text)
    return Doc.from_docs([nlp.make_doc(text[a:b]) for a, b in word_pieces(text)], ensure_whitespace=False)


def sentence_docs(texts: Iterable[str]) -> Iterator[Doc]:
    """The pipeline's docs of texts that are one sentence each (cut by `fast_sentences.sentence_spans`): each doc
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
