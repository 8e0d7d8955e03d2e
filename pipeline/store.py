"""Writing outputs so that an interrupted run never leaves a half-written file.

Every file goes to a temporary file in the same folder, is flushed to disk, and then replaces the
old one with os.replace, which is atomic on POSIX and Windows: a reader sees the old file or the
new one, never a mix.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_json(path: Path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def atomic_write_csv(path: Path, frame) -> None:
    """A pandas DataFrame as plain UTF-8 CSV (no byte-order mark: base R's read.csv would keep it
    in the first column's name); empty cells for missing values, which pandas, R and Excel all read."""
    atomic_write_text(path, frame.to_csv(index=False, lineterminator="\n"))
