"""Stage 1, reading: a file -> a Document (its kept text with the page of every character).

`document.py` reads a text file or a PDF (`pdf/`: layout, columns, running heads, tables) into a
Document; `text.py` normalises the kept text for the rules, keeping a map back to it; `sections.py`
cuts the normalised text into sections.
"""
from .document import SUFFIXES, ReadError, read_document

__all__ = ["SUFFIXES", "ReadError", "read_document"]
