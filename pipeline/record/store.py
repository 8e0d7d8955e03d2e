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

import errno
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable


class WriteError(OSError):
    """An output file that could not be written (full disk, no permission, read-only folder):
    the output folder's fault, not a paper's. str() names the file and the cause."""

    def __init__(self, path: Path, cause: OSError):
        super().__init__(cause.errno, cause.strerror or str(cause), str(path))
        self.path = Path(path)

    def __str__(self) -> str:
        from ..core.names import shown

        return f"cannot write {shown(self.path)}: {self.strerror}"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[Path], None], durable: bool = True) -> None:
    """Let `write` fill a temporary file beside `path`, then put it in place in one step; with
    `durable`, flushed to disk first. Raises WriteError naming `path` when it cannot.

    Serves text, CSV and files a library writes itself (xlsx, png, svg).
    """
    path = Path(path)
    tmp = _filled_temporary(path, write, durable)
    with _dropped_on_failure(tmp, path):
        os.replace(tmp, path)


@contextmanager
def _dropped_on_failure(tmp: Path, path: Path):
    """Remove the temporary file if the block fails; an OSError becomes a WriteError naming `path`."""
    try:
        yield
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WriteError(path, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _filled_temporary(path: Path, write: Callable[[Path], None], durable: bool) -> Path:
    """A temporary file beside `path`, filled by `write`, with the mode a plain open() gives."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise WriteError(path, exc) from None
    os.close(fd)
    tmp = Path(name)
    with _dropped_on_failure(tmp, path):
        write(tmp)
        if durable:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        # mkstemp creates the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
    return tmp


# --- writing a file a person may be saving at the same moment ------------------------------------
#
# A run reads a record, merges it with a fresh extraction, and writes it back. A curator saving the
# record in an editor in between must win. Comparing the file with what was read and then renaming
# over it leaves a window in which a save is lost; instead the file is first moved aside (one
# atomic rename, after which a save creates a new file), the moved file is compared with what was
# read, and the new record is put in place with a hard link, which fails if a file appeared
# meanwhile. A save that lands in the file moved aside is found by the comparison and put back.
# A process killed in the microseconds the record is aside leaves it as `.<name>.<random>.aside`:
# `recover_set_aside` (run at the start of every run) puts it back.

ASIDE_SUFFIX = ".aside"


def create_if_absent(path: Path, text: str, durable: bool = True) -> bool:
    """Write `text` to `path` atomically if no file is there; False (nothing written) if one is."""
    path = Path(path)
    tmp = _filled_temporary(path, lambda t: t.write_text(text, encoding="utf-8", newline=""), durable)
    try:
        return _link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def replace_if_unchanged(path: Path, text: str, original: bytes, durable: bool = True) -> bool:
    """Write `text` to `path` atomically if the file still holds `original`; False (the file left
    as it is, whatever was saved there) if it changed or went."""
    path = Path(path)
    tmp = _filled_temporary(path, lambda t: t.write_text(text, encoding="utf-8", newline=""), durable)
    aside = None
    try:
        aside = _temporary_name(path, ASIDE_SUFFIX)
        try:
            os.replace(path, aside)
        except FileNotFoundError:
            return False          # deleted during the run: the next run makes it again
        except OSError as exc:
            raise WriteError(path, exc) from None
        try:
            unchanged = aside.read_bytes() == original
        except OSError:
            unchanged = False
        if not unchanged:
            _link(aside, path)    # put the save back, unless an even newer one is there already
            return False
        return _link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        if aside is not None:
            aside.unlink(missing_ok=True)


def recover_set_aside(folder: Path) -> list[Path]:
    """Put back every file a killed writer left aside in `folder` (see above); returns them."""
    restored = []
    try:
        names = [n for n in os.listdir(folder) if n.startswith(".") and n.endswith(ASIDE_SUFFIX)]
    except OSError:
        return restored
    for name in names:
        aside = Path(folder) / name
        original = Path(folder) / name[1:].rsplit(".", 2)[0]
        # An empty one is the placeholder of a writer killed before it moved anything aside.
        if aside.stat().st_size and _link(aside, original):
            restored.append(original)
        aside.unlink(missing_ok=True)   # else the newer file in its place superseded it
    return restored


def _temporary_name(path: Path, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    return Path(name)


def _link(source: Path, target: Path) -> bool:
    """Give `source`'s file the name `target` too, unless `target` exists (then False)."""
    try:
        os.link(source, target)
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise WriteError(target, exc) from None
    # A file system without hard links: a check, then a rename (a window of microseconds).
    if os.path.lexists(target):
        return False
    try:
        os.replace(source, target)
    except OSError as exc:
        raise WriteError(target, exc) from None
    return True


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
