"""The spaCy pipeline: tokens, sentences, and vocabulary entities (drugs, bone sites) with negation.

Built on `spacy.blank("en")`: no statistical model is needed or downloaded. The entity patterns are
generated from the data files at construction, through components registered by name with a
default config, so `nlp.add_pipe("crmo_vocabulary")` is all a notebook needs.
"""
from __future__ import annotations

import bisect
import re
from functools import lru_cache

import spacy
from negspacy.negation import Negex
from negspacy.termsets import termset
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import filter_spans

from . import vocab


class VocabularyRuler:
    """Vocabulary terms as entities: spaCy's EntityRuler (a phrase matcher on lower-case tokens),
    plus a regular-expression pass for multi-word terms that a line break or a double space splits
    ("anti-tumor necrosis\\nfactor"): the break is a whitespace token, which a phrase never matches."""

    def __init__(self, nlp: Language, name: str):
        self.ruler = nlp.add_pipe("entity_ruler", name=f"{name}_ruler", config={"phrase_matcher_attr": "LOWER"})
        terms = vocab.terms()
        self.ruler.add_patterns([{"label": t.label, "pattern": t.text, "id": t.key} for t in terms])
        multi = sorted((t for t in terms if len(nlp.make_doc(t.text)) > 1), key=lambda t: -len(t.text))
        self.broken = {re.sub(r"\s+", " ", t.text): t for t in multi}
        alternatives = "|".join(re.escape(t.text).replace(r"\ ", r"\s+") for t in multi)
        self.broken_re = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.I)

    def __call__(self, doc: Doc) -> Doc:
        # The ruler (added before this component) has run; add the terms a break splits. Found on
        # the text, not by walking tokens, which costs more than the search.
        spans = []
        for m in self.broken_re.finditer(doc.text):
            if not _BREAK.search(m.group()):
                continue  # the ruler found it already
            term = self.broken.get(re.sub(r"\s+", " ", m.group().lower()))
            span = term and doc.char_span(m.start(), m.end(), label=term.label, alignment_mode="expand")
            if span is not None:
                span.id_ = term.key
                spans.append(span)
        if spans:
            doc.ents = filter_spans([*doc.ents, *spans])
        return doc


_BREAK = re.compile(r"\n|\s\s")


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
