"""The spaCy stage: sentences cut without spaCy (pipeline/nlp/fast_sentences.py) must be spaCy's
sentencizer's, and entities found one sentence at a time those of the whole pipeline."""
import random

import pytest

from pipeline.nlp.fast_sentences import sentence_spans
from pipeline.nlp.language import get_nlp, sentence_docs
from pipeline.read.document import read_document
from pipeline.read.text import normalise

from .conftest import ABSTRACT, ARTICLE

# Pieces that make the sentencizer's hard cases: sentence-final characters glued to words and
# numbers, abbreviations the tokenizer keeps whole, whitespace runs that become tokens, brackets
# and quotes after a full stop, characters from other scripts.
_PIECES = ["a", "Word", "end", ".", "!", "?", "...", " ", "  ", "\n", " \n", "\n ", "\t", "(", ")", '"', "'",
           "e.g.", "Dr.", "1.6", "15", "%", "-", ",", ";", ":", "U.S.", "et al.", "Fig.", "\u3002", "\u061f",
           "\u203c", "[1]", "MRI", "A.", "x", "\u2028", "\u3000", "cases.16"]


def _sentencizer_spans(text):
    return [(s.start_char, s.end_char) for s in get_nlp()(text).sents] if len(get_nlp().make_doc(text)) else []


@pytest.mark.parametrize("path", [ARTICLE, ABSTRACT], ids=["article", "abstract"])
def test_sentence_spans_are_the_sentencizers_on_the_seeds(path):
    text = normalise(read_document(path).text).text
    spans = sentence_spans(text)
    assert len(spans) > 20
    assert spans == _sentencizer_spans(text)


def test_sentence_spans_are_the_sentencizers_on_hard_cases():
    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 25)))
        assert sentence_spans(text) == _sentencizer_spans(text), repr(text)


def test_sentence_spans_cut_after_a_full_stop_and_before_a_line_break():
    text = "Fifteen children were included.\nAll had CRMO (e.g. multifocal). Twelve improved!"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Fifteen children were included.", "\nAll had CRMO (e.g. multifocal).", "Twelve improved!"]


def test_a_term_split_by_a_line_break_is_found_and_negated():
    text = "No patient received anti-tumor necrosis\nfactor treatment."
    (doc,) = sentence_docs([text])
    assert [(e.text, e.label_, e._.negex) for e in doc.ents] == [("anti-tumor necrosis\nfactor", "DRUG", True)]


def test_sentence_docs_find_what_the_whole_pipeline_finds():
    sentence = "Naproxen proved effective, but no patient received etanercept for vertebral lesions."
    (doc,) = sentence_docs([sentence])
    whole = get_nlp()(sentence)
    assert [(e.text, e.ent_id_, e._.negex) for e in doc.ents] == [(e.text, e.ent_id_, e._.negex) for e in whole.ents]
    assert [e.ent_id_ for e in doc.ents] == ["naproxen", "etanercept", "vertebra"]


def test_own_cohort_cues_match_whatever_the_case_even_dotted_capital_i():
    from pipeline.nlp.paper import classify

    # "İ".lower() is "i" plus a combining dot: the cue must still be found, as re.IGNORECASE finds it.
    assert classify("İN OUR STUDY, fifteen children had CRMO.", "discussion")
    assert not classify("The French group7 has reported 178 patients.", "results")
