"""One writer at a time in an output folder: OUT_DIR/.lock.

`crmo-extract run`, `merge`, `meta` and every save of a record by a tool (the review page) hold it
while they write, so two runs never overwrite each other's cache index or tables, and a save never
lands between a run's read of a record and its write:

    with lock.hold(out_dir, "crmo-extract run", wait=0.0):
        ...

The lock is an advisory lock (flock on POSIX, a byte-range lock on Windows) on the file `.lock`,
which the operating system releases when the holding process ends, however it ends: a dead
holder's lock (killed, crashed, machine rebooted) is simply free, never stale. The file itself stays
in place (removing it would let two processes lock two different files); while the lock is held it
names the holder (a JSON line: holder, pid, host, started), so a second caller can say who holds it.

Not re-entrant: a process holding the lock that asks for it again waits for itself.
"""
from __future__ import annotations

import json
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator

LOCK_NAME = ".lock"
POLL_SECONDS = 0.1

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

    # Windows locks byte ranges, and a locked range cannot be read by others: lock one byte far
    # past the holder's line, so a second caller can still read who holds it.
    _WINDOWS_LOCK_OFFSET = 1 << 30


class LockError(Exception):
    """The output folder cannot be locked at all (not writable, a file system without locks)."""


class Busy(LockError):
    """Another live process holds the lock; str() is a one-line message naming it."""

    def __init__(self, out_dir: Path, holder: Holder | None, waited: float):
        self.out_dir, self.holder, self.waited = Path(out_dir), holder, waited
        super().__init__(str(self))

    def __str__(self) -> str:
        who = self.holder.describe() if self.holder else "another process"
        waited = f" (waited {self.waited:g} s)" if self.waited else ""
        return (f"{_folder(self.out_dir)} is in use by {who}{waited}: wait for it to finish, "
                f"or stop that process; a lock left by a process that has ended is taken over by itself")


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) the lock, as written in the lock file."""
    holder: str      # what it is doing, e.g. "crmo-extract run"
    pid: int
    host: str
    started: str     # ISO 8601, local time with offset

    def describe(self) -> str:
        try:
            started = datetime.fromisoformat(self.started)
            today = started.date() == datetime.now(started.tzinfo).date()
            since = started.strftime("%H:%M:%S" if today else "%Y-%m-%d %H:%M:%S")
        except (TypeError, ValueError):
            since = str(self.started)
        where = f"pid {self.pid}" if self.host == socket.gethostname() else f"pid {self.pid} on {self.host}"
        return f"`{self.holder}` ({where}, since {since})"


@dataclass
class Lock:
    """A held lock; released when the `hold` block ends."""
    path: Path
    holder: Holder
    _fd: int

    def release(self) -> None:
        if self._fd < 0:
            return
        try:
            # Emptied first: the file then names no holder for a reader who finds it unlocked.
            os.ftruncate(self._fd, 0)
        except OSError:
            pass
        _unlock(self._fd)
        os.close(self._fd)
        self._fd = -1


@contextmanager
def hold(out_dir: Path, holder: str, wait: float = 0.0) -> Iterator[Lock]:
    """Hold OUT_DIR/.lock for the block. Waits up to `wait` seconds for a live holder, then raises
    Busy; raises LockError when the folder cannot be locked at all."""
    lock = acquire(out_dir, holder, wait)
    try:
        yield lock
    finally:
        lock.release()


def acquire(out_dir: Path, holder: str, wait: float = 0.0) -> Lock:
    """The lock, held until `Lock.release()` (prefer `hold`)."""
    out_dir = Path(out_dir)
    path = out_dir / LOCK_NAME
    fd = _open(out_dir, path)
    deadline = time.monotonic() + max(0.0, wait)
    try:
        while not _try_lock(fd, path):
            if time.monotonic() >= deadline:
                raise Busy(out_dir, _read_holder(path), wait)
            time.sleep(POLL_SECONDS)
        me = Holder(holder, os.getpid(), socket.gethostname(), datetime.now().astimezone().isoformat(timespec="seconds"))
        _write_holder(fd, me)
    except BaseException:
        os.close(fd)
        raise
    return Lock(path, me, fd)


def current_holder(out_dir: Path) -> Holder | None:
    """Who holds the lock now, or None when nobody does (or the holder is still writing its name).

    Read from the file, without trying the lock (a try would make a caller acquiring the lock at
    that moment find it busy): a holder empties the file when it releases the lock, and a holder
    that ended without releasing it (killed) is recognised by its process being gone."""
    holder = _read_holder(Path(out_dir) / LOCK_NAME)
    if holder is None or (holder.host == socket.gethostname() and not _alive(holder.pid)):
        return None
    return holder


def _read_holder(path: Path) -> Holder | None:
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read(4096).decode("utf-8").splitlines()[0])
        return Holder(str(data["holder"]), int(data["pid"]), str(data["host"]), str(data["started"]))
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


def _alive(pid: int) -> bool:
    import psutil

    return psutil.pid_exists(pid)


def _folder(out_dir: Path) -> str:
    return f"{out_dir}/" if not str(out_dir).endswith(os.sep) else str(out_dir)


def _open(out_dir: Path, path: Path) -> int:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        # A read-only output folder whose lock file exists can still be locked by a reader; only
        # writers fail later, each naming its file.
        if path.is_file():
            try:
                return os.open(path, os.O_RDONLY)
            except OSError:
                pass
        raise LockError(f"cannot lock {path}: {exc.strerror or exc}") from None


def _try_lock(fd: int, path: Path) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return True
    except (BlockingIOError, PermissionError):
        return False
    except OSError as exc:
        if fcntl is None and exc.errno in (13, 36):   # EACCES, EDEADLOCK: held by another process
            return False
        raise LockError(f"cannot lock {path}: {exc.strerror or exc}") from None


def _unlock(fd: int) -> None:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        else:
            os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    except OSError:
        pass


def _write_holder(fd: int, me: Holder) -> None:
    line = json.dumps({"holder": me.holder, "pid": me.pid, "host": me.host, "started": me.started},
                      ensure_ascii=True) + "\n"
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, line.encode("ascii"))
    except OSError:
        pass  # a read-only lock file: the lock holds, only the holder's name is not shown
