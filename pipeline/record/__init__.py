"""Stage 4, the record: figures -> the record JSON a curator edits, and everything that reads,
checks, merges or writes records.

`build.py` turns a paper's figures into a record; `file.py` reads a record file with bounds;
`checks.py` (arithmetic and plausibility of figures), `validate.py` (schema and checks as issues,
with `jsonpos.py` for line and column) and `evidence.py` (quotes against the paper's text) check
it; `curate.py` merges a fresh extraction with a curator's record; `compare.py` compares two
curators' record sets; `store.py` writes every output atomically.
"""
