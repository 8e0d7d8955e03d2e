"""Stage 6, the meta-analysis: studies.csv and outcomes.csv -> pooled proportions per drug and
outcome, the rows left out and why, forest plots, metafor.csv and the workbook (`pool.py`), with
the labels readers know studies by (`labels.py`).

Nothing is imported here: `pool.py` needs scipy and matplotlib, which only pooling should pay for.
"""
