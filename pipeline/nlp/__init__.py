"""Stage 2, language: a Document -> a Paper (sections, prose sentences, table rows, vocabulary
mentions with negation).

`language.py` is the spaCy pipeline (`spacy.blank("en")` with the vocabulary ruler and negation
registered by name); `paper.py` holds the Paper model every extraction rule reads and
`document_to_paper`, which builds it.
"""
from .fast_sentences import sentence_spans
from .language import get_nlp, make_doc, sentence_docs
from .paper import Paper, Sentence, document_to_paper

__all__ = ["Paper", "Sentence", "document_to_paper", "get_nlp", "make_doc", "sentence_docs",
           "sentence_spans"]
