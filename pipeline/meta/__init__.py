"""Stage 6, the meta-analysis: studies.csv and outcomes.csv -> pooled proportions per drug and
outcome, the rows left out and why, forest plots, metafor.csv and the workbook.

`run.py` (`run_meta`, MetaSettings) writes every output; `selection.py` chooses the rows to pool,
`pooling.py` pools a group as metafor does, `plots.py` draws the forest plots, `exports.py` writes
the workbook, `labels.py` names the studies as readers know them.

Nothing is imported here: pooling needs scipy and matplotlib, which only pooling should pay for.
"""
