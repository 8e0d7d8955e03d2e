"""The spaCy pipeline: tokens, sentences, and vocabulary entities (drugs, bone sites) with negation.

Built on `spacy.blank("en")`: no statistical model is needed or downloaded. The entity patterns are
generated from the data files at construction, through a component registered by name with a
default config, so `nlp.add_pipe("crmo_vocabulary")` is all a notebook needs.
"""
from __future__ import annotations

from functools import lru_cache

import spacy
from spacy.language import Language

from . import vocab


@Language.factory("crmo_vocabulary", default_config={"overwrite_ents": True})
def make_vocabulary_ruler(nlp: Language, name: str, overwrite_ents: bool):
    ruler = nlp.add_pipe("entity_ruler", name=f"{name}_ruler", config={"overwrite_ents": overwrite_ents})
    ruler.add_patterns([{"label": t.label, "pattern": _token_pattern(nlp, t.text), "id": t.key} for t in vocab.terms()])
    # The ruler was added to the pipeline by add_pipe above; this component only needed to build it.
    return lambda doc: doc


def _token_pattern(nlp: Language, term: str) -> list[dict]:
    """Token pattern for a multi-word term that lets a line break or double space fall between
    its words ("anti-tumor necrosis\nfactor"), which a phrase pattern would not match."""
    pattern: list[dict] = []
    for i, token in enumerate(nlp.make_doc(term)):
        if i:
            pattern.append({"IS_SPACE": True, "OP": "*"})
        pattern.append({"LOWER": token.lower_})
    return pattern


@lru_cache(maxsize=1)
def get_nlp() -> Language:
    """One pipeline per process: building it reads the vocabularies and costs about 0.1 s."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("crmo_vocabulary")
    # negspacy marks entities negated by NegEx cues ("no patient had", "none of ...").
    import negspacy.negation  # noqa: F401  (registers the "negex" factory)
    nlp.add_pipe("negex", config={"ent_types": ["DRUG", "SITE"]})
    return nlp
