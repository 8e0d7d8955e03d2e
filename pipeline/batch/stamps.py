"""Is a derived output up to date? Stamps in OUT_DIR/.cache/stamps.json.

The tables derive from the records (and from the list of studies the last run's inputs own); the
pooled outputs (pooled.csv, meta_excluded.csv, metafor.csv, meta_table.xlsx, the forest plots)
derive from studies.csv and outcomes.csv. Each stage, once every one of its outputs is written,
stamps a digest of what it was built from (the sources' sizes and times or bytes, and the source
code of the modules that build it) and the size and time of each output. A stage is done again when
the digest differs, when an output is missing or no longer as the stage wrote it, or when it has no
stamp: its stamp is removed before it starts, so a stage killed midway (some outputs new, some old)
is always done again, never taken for done.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..record.store import atomic_write_text
from .cache import PACKAGE
from .cache import RECORD_SCHEMA as SCHEMA

STAMPS = Path(".cache") / "stamps.json"
# The files whose content decides each stage's outputs (besides its sources).
TABLES_CODE = tuple(PACKAGE / name for name in ("tables/build.py", "core/fields.py", "core/model.py", "record/validate.py",
                                                "record/file.py", "data/limits.json")) + (SCHEMA,)
META_CODE = tuple(PACKAGE / name for name in ("meta/run.py", "meta/pooling.py", "meta/selection.py", "meta/exports.py",
                                              "meta/plots.py", "tables/stats.py", "core/fields.py", "core/vocab.py",
                                              "data/drugs.json"))


def file_stamp(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _code_digest(files: tuple[Path, ...]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def tables_source(out_dir: Path, study_ids: list[str] | None) -> str:
    """What the tables derive from: every record file's name, size and time, the studies they are
    built for (None: every record, --keep-orphans) and the code that builds them."""
    digest = hashlib.sha256(_code_digest(TABLES_CODE).encode())
    digest.update(json.dumps(sorted(study_ids) if study_ids is not None else None).encode())
    try:
        with os.scandir(Path(out_dir) / "records") as entries:
            listing = sorted((os.fsencode(e.name), e.stat().st_size, e.stat().st_mtime_ns)
                             for e in entries if e.name.endswith(".json"))
    except OSError:
        listing = []
    for name, size, mtime in listing:
        digest.update(name + f"\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()


def meta_source(out_dir: Path, settings: str = "", input_dir: Path | None = None) -> str:
    """What the pooled outputs derive from: the bytes of the two tables and of the labels.csv files
    that name the studies (pipeline/meta/labels.py), the code, the settings."""
    from ..meta.labels import label_files

    digest = hashlib.sha256(_code_digest(META_CODE).encode())
    digest.update(settings.encode())
    for path in [Path(out_dir) / "studies.csv", Path(out_dir) / "outcomes.csv", *label_files(out_dir, input_dir)]:
        try:
            digest.update(hashlib.sha256(path.read_bytes()).hexdigest().encode())
        except OSError:
            digest.update(b"missing")
    return digest.hexdigest()


def _load(out_dir: Path) -> dict:
    try:
        data = json.loads((Path(out_dir) / STAMPS).read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(out_dir: Path, data: dict) -> None:
    atomic_write_text(Path(out_dir) / STAMPS, json.dumps(data, indent=1, ensure_ascii=True) + "\n")


def fresh(out_dir: Path, stage: str, source: str) -> dict | None:
    """The stage's stamp if its outputs are up to date with `source`, else None."""
    stamp = _load(out_dir).get(stage)
    if not isinstance(stamp, dict) or stamp.get("source") != source:
        return None
    outputs = stamp.get("outputs")
    if not isinstance(outputs, dict) or not outputs:
        return None
    for name, recorded in outputs.items():
        if file_stamp(Path(out_dir) / name) != recorded:
            return None
    return stamp


def begin(out_dir: Path, stage: str) -> None:
    """Forget the stage's stamp before it writes anything (see the module's docstring)."""
    data = _load(out_dir)
    if stage in data:
        del data[stage]
        _save(out_dir, data)


def done(out_dir: Path, stage: str, source: str, outputs: list[Path], **extra) -> None:
    """Stamp the stage as built from `source`, once all of `outputs` are written. `extra` is kept
    with the stamp (what the stage found, for a later run that does not redo it)."""
    out_dir = Path(out_dir)
    data = _load(out_dir)
    data[stage] = {"source": source,
                   "outputs": {Path(p).relative_to(out_dir).as_posix(): file_stamp(p) for p in outputs},
                   **extra}
    _save(out_dir, data)
