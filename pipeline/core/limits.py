"""The bounds on inputs and records (`pipeline/data/limits.json`), as a settings object.

Each bound keeps one hostile file from stopping, hanging or swamping a batch: a text file over
`input_max_mb` (about 70 bytes of memory per character of text, so 10 MB is 0.7 GB and half a
minute), or a PDF over `pdf_size_factor` times that (a PDF's bytes are mostly fonts and images;
its text is bounded by its page limit), is failed unread; a record file over `record_max_mb`, nested deeper than
`record_max_depth` or holding a number of more than `number_max_digits` digits is reported, not
parsed; a "sentence" longer than `sentence_max_chars` (text with no sentence ends) is read in pieces
of that size, and a "word" longer than `word_piece_chars` is tokenised in pieces of that size
(spaCy's tokenizer takes time quadratic in the length of one token that splits into many).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .settings import Settings
from .vocab import load


@dataclass(frozen=True)
class Limits(Settings):
    """Every bound is required: the numbers live in limits.json only."""

    key_word = "limit"

    input_max_mb: float
    pdf_size_factor: float
    record_max_mb: float
    record_max_depth: int
    number_max_digits: int
    sentence_max_chars: int
    word_piece_chars: int
    study_id_max_bytes: int
    history_note_max_chars: int


@lru_cache(maxsize=1)
def limits() -> Limits:
    return Limits.from_dict(load("limits.json"), source="pipeline/data/limits.json")
