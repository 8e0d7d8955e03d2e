"""The foundation every stage imports: the typed records that flow through the pipeline
(`model.py`: Document, Section, Evidence, Figure, OutcomeRow), the output contract's fields
(`fields.py`), file names and study ids (`names.py`), the bounds on inputs (`limits.py`) and the
vocabularies read from `pipeline/data/` (`vocab.py`). It imports no stage.
"""
