"""The output folder's lock: one writer at a time (a run, a review page's save, a rebuild).

A stand-in with the API issue 16's `pipeline/lock.py` provides (that version replaces this one):
`with hold(out_dir, holder, wait=0.0):` raises `Busy` (a one-line message naming the holder) when
another live process holds the folder. The lock is an flock on OUT_DIR/.lock, so it goes with its
holder when that process dies, and two threads of one process exclude each other too.
"""
from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

LOCK_FILE = ".lock"
POLL_SECONDS = 0.05


class Busy(RuntimeError):
    """Another live process holds the output folder; str() names it."""


@contextmanager
def hold(out_dir: Path, holder: str, wait: float = 0.0) -> Iterator[None]:
    """Hold OUT_DIR's lock for the block, waiting up to `wait` seconds for another holder."""
    path = Path(out_dir) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    other = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
                    raise Busy(f"{out_dir} is in use by {other}: wait for it to finish") from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{holder} (pid {os.getpid()})".encode("utf-8"), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
