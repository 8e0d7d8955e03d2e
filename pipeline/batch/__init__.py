"""Orchestration: an input folder -> extracted records, tables and pooled outputs in OUT_DIR.

`runner.py` extracts one paper (`process_file`), a pool of workers, a whole batch (`run`), and
rebuilds tables and pooling; `inputs.py` lists the folder's papers and gives each a study id;
`cache.py` (the rules hash) and `stamps.py` decide what is stale; `lock.py` keeps one writer per
output folder.
"""
