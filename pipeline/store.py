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
from typing import Callable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Let `write` fill a temporary file beside `path`, then put it in place in one step.

    Serves text, CSV and files a library writes itself (xlsx, png, svg).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp creates the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""))


def atomic_write_json(path: Path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def atomic_write_csv(path: Path, frame) -> None:
    """A pandas DataFrame as plain UTF-8 CSV (no byte-order mark: base R's read.csv would keep it
    in the first column's name); empty cells for missing values, which pandas, R and Excel all read."""
    atomic_write_text(path, frame.to_csv(index=False, lineterminator="\n"))
