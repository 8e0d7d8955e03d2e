"""The name notebooks import one paper's extraction by (`from pipeline.runner import process_file`):
the batch runner lives in `pipeline/batch/runner.py`."""
from .batch.runner import BatchSettings, Result, process_file, run

__all__ = ["BatchSettings", "Result", "process_file", "run"]
