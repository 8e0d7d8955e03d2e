"""The input folder -> the papers to extract, each with a unique, stable study id; every other
`*.txt` / `*.pdf` entry of the folder with the reason it is not read.

Nothing in the folder can stop the batch or vanish without a word:
- a name that is not valid UTF-8 (`bad\\xffbyte.txt`) is kept as bytes for opening the file and
  shown with the bad bytes escaped (`shown`); its study id spells them `%FF`;
- folders, FIFOs, sockets and devices named `*.pdf` / `*.txt` are skipped (a FIFO is never opened),
  and so are hidden files (`._paper.pdf`, macOS's metadata beside a copied paper), broken symlinks,
  symlink loops and symlinks to files outside the input folder (which would copy text from
  anywhere on the machine into `text/`);
- a paper over the size limit is failed unread;
- a study id is unique: two inputs whose ids would share a record (`x.txt` and `x.pdf`, or ids
  differing only in case, which share a file on macOS and Windows) are refused, the later one naming
  the one that keeps the id;
- a study id is stable: a file keeps the id it had in the last run, and a paper whose file was
  renamed or moved (same bytes, old file gone) keeps its old id, record and curation;
- a file with the same bytes as another input is skipped as a copy, so no paper is pooled twice.
"""
from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..core.limits import limits
from ..core.names import id_key, natural_study_id, shown, valid_study_id
from ..read.document import SUFFIXES
from ..record.file import file_kind

TODO, SKIPPED, FAILED = "todo", "skipped", "failed"


@dataclass
class Input:
    """One `*.txt` / `*.pdf` entry of the input folder and what the batch does with it."""
    path: Path                      # for opening: may hold surrogate escapes (undecodable bytes)
    name: str                       # the file name, shown safely
    key: str = ""                   # its entry in the cache's index: the absolute path
    status: str = TODO              # todo (to extract or take from the cache) | skipped | failed
    reason: str | None = None       # why skipped or failed
    size: int = 0
    digest: str = ""                # sha256 of the bytes ("" when they could not be read)
    study_id: str | None = None
    renamed_from: str | None = None  # the file this paper was last seen as, when renamed or moved

    @property
    def file(self) -> str:
        return shown(self.path)


def list_inputs(input_dir: Path, max_mb: float | None = None) -> list[Input]:
    """Every `*.txt` / `*.pdf` entry of `input_dir` (any case of the suffix), in name order, each
    either to do or skipped / failed with its reason. Hashes the ones to do."""
    input_dir = Path(input_dir)
    max_mb = limits().input_max_mb if max_mb is None else max_mb
    root = os.path.realpath(input_dir)
    found = []
    with os.scandir(input_dir) as entries:
        for entry in entries:
            if os.path.splitext(entry.name)[1].lower() in SUFFIXES:
                # The folder resolved once, not each file (a thousand realpath calls cost 0.1 s).
                item = Input(Path(entry.path), shown(entry.name), os.path.join(root, entry.name))
                found.append(_examine(item, entry, root, max_mb))
    found.sort(key=lambda item: os.fsencode(item.path.name))
    for item in found:
        if item.status == TODO:
            try:
                item.digest = file_hash(item.path)
            except OSError as exc:
                item.status, item.reason = FAILED, f"cannot read: {exc.strerror or exc}"
    return found


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    # Non-blocking open, then only a regular file is read: a FIFO swapped in since it was listed
    # must not hang the batch.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _examine(item: Input, entry: os.DirEntry, root: str, max_mb: float) -> Input:
    if entry.name.startswith("."):
        return _skip(item, "a hidden file (its name starts with a dot): rename it to read it")
    try:
        if entry.is_symlink():
            target = os.path.realpath(entry.path)
            if os.path.commonpath([root, target]) != root:
                return _skip(item, f"a symlink to a file outside the input folder ({shown(target)}): "
                                   "copy the file in to read it")
        st = entry.stat(follow_symlinks=True)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return _skip(item, "a symlink loop")
        if exc.errno == errno.ENOENT:
            return _skip(item, "a broken symlink (its target does not exist)")
        return _fail(item, f"cannot open: {exc.strerror or exc}")
    if not stat.S_ISREG(st.st_mode):
        return _skip(item, f"not a regular file: {file_kind(st.st_mode)}")
    item.size = st.st_size
    is_pdf = entry.name.lower().endswith(".pdf")
    most = max_mb * (limits().pdf_size_factor if is_pdf else 1)
    if st.st_size > most * 1024 * 1024:
        kind = f" for a PDF ({limits().pdf_size_factor:g} x --max-mb)" if is_pdf else " (--max-mb)"
        return _fail(item, f"{st.st_size / (1024 * 1024):,.1f} MB, over the size limit of {most:g} MB{kind}: "
                           "split the file, or raise --max-mb")
    return item


def _skip(item: Input, reason: str) -> Input:
    item.status, item.reason = SKIPPED, reason
    return item


def _fail(item: Input, reason: str) -> Input:
    item.status, item.reason = FAILED, reason
    return item


def assign_study_ids(inputs: list[Input], known: dict[str, dict]) -> dict[str, Input]:
    """Give every input that is not skipped its study id, in place; skip copies, refuse collisions.

    `known` is the cache's index (`Input.key` -> entry with `hash` and `study_id`) from earlier
    runs. An entry of a file that is gone, whose bytes an input without an entry of its own has, is
    that input's old name: the input takes its study id. Returns {old key: input} of those."""
    keys = {id(item): item.key for item in inputs if item.status != SKIPPED}
    present = set(keys.values())
    # Files seen before and gone now, by their bytes: where a renamed paper was.
    gone: dict[str, str] = {}
    for k, entry in known.items():
        if k not in present and entry.get("hash") and not os.path.lexists(k):
            gone.setdefault(entry["hash"], k)
    # Copies: the file that was known before (else the first by name) is read, the others not.
    first: dict[str, Input] = {}
    for item in sorted((it for it in inputs if it.status == TODO), key=lambda it: keys[id(it)] not in known):
        original = first.setdefault(item.digest, item)
        if original is not item:
            _skip(item, f"the same bytes as {original.name} (a copy): the paper is read once")
    moved: dict[str, Input] = {}
    claims = []   # (rank, position, input): an id kept from the last run outranks a new one, a paper to
    # read one failed already (too large, unreadable)
    for pos, item in enumerate(inputs):
        if item.status == SKIPPED:
            continue
        entry = known.get(keys[id(item)])
        if entry and valid_study_id(entry.get("study_id")):
            item.study_id, rank = entry["study_id"], 0
        elif item.digest and item.digest in gone and valid_study_id(known[gone[item.digest]].get("study_id")):
            old = gone.pop(item.digest)
            item.study_id, item.renamed_from, rank = known[old]["study_id"], shown(old), 1
            moved[old] = item
        else:
            item.study_id, rank = natural_study_id(item.path.stem), 2
        claims.append(((rank, item.status != TODO), pos, item))
    holders: dict[str, Input] = {}
    for _, _, item in sorted(claims, key=lambda c: c[:2]):
        holder = holders.setdefault(id_key(item.study_id), item)
        if holder is not item:
            if item.status == TODO:   # a failure already found says more
                _fail(item, f"its study id {item.study_id!r} is already {holder.name}'s "
                            f"(records/{holder.study_id}.json): rename one of the two files")
            item.study_id = item.renamed_from = None
    return {old: item for old, item in moved.items() if item.study_id is not None}
