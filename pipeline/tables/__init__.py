"""Stage 5, the tables: record files -> studies.csv and outcomes.csv (`build.py`), with the exact
confidence interval of each study's proportions (`stats.py`)."""
from .build import build_tables, read_table, write_tables

__all__ = ["build_tables", "read_table", "write_tables"]
