"""crmo-extract: CRMO/CNO papers in, validated records and a meta-analysis table out.

Stages, each a sub-package importing only the ones before it: core (the records that flow through,
vocabularies, limits) -> read (file -> Document) -> nlp (Document -> Paper) -> extract (Paper ->
figures) -> record (figures -> checked, curated record files) -> tables (records -> studies.csv,
outcomes.csv) -> meta (tables -> pooled estimates). batch and cli orchestrate; review is the
curation page. tests/test_architecture.py holds the order.
"""
__version__ = "0.1.0"
