"""Writing outputs so that an interrupted run never leaves a half-written file.

Every file goes to a temporary file in the same folder, is flushed to disk, and then replaces the
old one with os.replace, which is atomic on POSIX and Windows: a reader sees the old file or the
new one, never a mix.

Files the pipeline can make again may skip the flush (`durable=False`): the rename is still atomic,
so no reader and no interrupted or killed run ever sees a half-written file. Only a power cut or a
crash of the operating system in the seconds after the write can leave the old file or an empty
one, and the next run notices (the cache compares each record's size and time with the ones it
wrote) and makes it again. A flush costs about 0.4 ms, and two workers flushing at once wait for
each other: flushing every machine-made record took about 10 % of a `--jobs 2` run.
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


def atomic_write(path: Path, write: Callable[[Path], None], durable: bool = True) -> None:
    """Let `write` fill a temporary file beside `path`, then put it in place in one step; with
    `durable`, flushed to disk first.

    Serves text, CSV and files a library writes itself (xlsx, png, svg).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        if durable:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        # mkstemp creates the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, durable: bool = True) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""), durable)


def atomic_write_json(path: Path, data, durable: bool = True) -> None:
    # Strict JSON: a non-finite number is refused here rather than written as a bare Infinity or NaN,
    # which most JSON readers reject (the checks and `validate` keep them out of what is written).
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n", durable)


def atomic_write_csv(path: Path, frame) -> None:
    """A pandas DataFrame as plain UTF-8 CSV (no byte-order mark: base R's read.csv would keep it
    in the first column's name); empty cells for missing values, which pandas, R and Excel all read."""
    atomic_write_text(path, frame.to_csv(index=False, lineterminator="\n"))
