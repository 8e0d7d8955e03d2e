"""Which papers need extracting again: a content-hash index kept in OUT_DIR/.cache/index.json.

A paper is extracted again only when its bytes, or the rules that turn bytes into a record, have
changed. "The rules" is one hash over the pipeline's version, its vocabularies (`pipeline/data/*`),
the record schema, the source of every module that can change a record, and the versions of the
libraries that read and tokenise; it is computed once per run. Failed papers are remembered too, so
the same bad file is not read again until it or the rules change (or `--force`).

Looking a paper up costs one sha256 of its bytes and one stat of its record (a record whose size or
modification time changed since this run wrote it was edited by a curator, and is merged again): no
spaCy, no JSON parsing of records, so an unchanged run of a thousand papers takes well under a second here.
"""
from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path

from schemas import RECORD_SCHEMA

from .. import __version__
from ..record.store import atomic_write_text

INDEX = Path(".cache") / "index.json"
PACKAGE = Path(__file__).resolve().parent.parent   # pipeline/
# Modules that never change a record's content (paths below pipeline/): editing them must not
# invalidate every cache. Every other module counts (core/, read/ with read/pdf/, nlp/, extract/,
# record/, ...), so a new extraction module is covered without listing it here.
RECORD_NEUTRAL = {"__init__.py", "batch/cache.py", "cli.py", "meta/labels.py", "record/store.py", "tables/stats.py",
                  "tables/build.py", "batch/lock.py", "batch/stamps.py", "batch/inputs.py"}
# Libraries whose upgrade can change the text read or how it is tokenised.
LIBRARIES = ("spacy", "negspacy", "pdfplumber", "pdfminer.six", "wordfreq", "jsonschema")
INDEX_VERSION = 1


def rule_files() -> list[Path]:
    """The files whose content decides what a paper's record is (besides the paper itself)."""
    data = sorted(p for p in (PACKAGE / "data").iterdir() if p.is_file())
    # Every sub-package's modules count but the neutral ones, named by their path below pipeline/.
    modules = sorted(p for p in PACKAGE.rglob("*.py")
                     if p.relative_to(PACKAGE).as_posix() not in RECORD_NEUTRAL and "__pycache__" not in p.parts)
    return [*data, *modules, RECORD_SCHEMA]


def rules_hash(files: list[Path] | None = None) -> str:
    digest = hashlib.sha256(f"crmo-extract {__version__}\n".encode())
    for name in LIBRARIES:
        try:
            digest.update(f"{name} {metadata.version(name)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} missing\n".encode())
    for path in files if files is not None else rule_files():
        name = path.relative_to(PACKAGE) if path.is_relative_to(PACKAGE) else path.name
        digest.update(f"{name} {path.stat().st_size}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class Cache:
    """OUT_DIR's index: input file (its absolute path, inputs.Input.key, so `run corpus` and
    `run ./corpus` share entries) -> what extracting its current bytes gave."""

    def __init__(self, out_dir: Path, rules: str):
        self.out_dir = Path(out_dir)
        self.rules = rules
        self.path = self.out_dir / INDEX
        data = self._load()
        self.entries: dict[str, dict] = data.get("files", {})
        # The study ids the last run's inputs owned: the records `merge` builds the tables of.
        self.study_ids: list[str] | None = data.get("study_ids")
        self.dirty = False   # saved only when changed: an unchanged run writes no index

    def _load(self) -> dict:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError, RecursionError):
            return {}  # no index yet, or a damaged one: the cost is one full extraction
        if not isinstance(data, dict) or data.get("version") != INDEX_VERSION or not isinstance(data.get("files"), dict):
            return {}
        return data

    def lookup(self, path_key: str, digest: str, study_id: str) -> dict | None:
        """The cached outcome of this file (by its `key`), if it is still what extracting it would give now."""
        entry = self.entries.get(path_key)
        if not entry or entry.get("hash") != digest or entry.get("rules_hash") != self.rules:
            return None
        if entry.get("study_id") != study_id:
            return None
        if entry["status"] == "ok" and not self._outputs_present(entry):
            return None  # its record was deleted since: make it again
        if entry["status"] == "ok" and entry.get("record_stamp") != self._record_stamp(entry["study_id"]):
            # A curator edited the record (or it was kept invalid): extract again, so the merge adds
            # history and suggestions, and validates the edit (pipeline/record/curate.py).
            return None
        return entry

    def record_stamps(self) -> dict[str, list[int]]:
        """Record file name -> [size, mtime_ns] as the pipeline wrote it. Only records that passed
        the schema are written, so a record with its stamp unchanged needs no validating again."""
        return {f"{e['study_id']}.json": e["record_stamp"] for e in self.entries.values() if e.get("record_stamp")}

    def _record_stamp(self, study_id: str) -> list[int] | None:
        try:
            st = (self.out_dir / "records" / f"{study_id}.json").stat()
        except OSError:
            return None
        return [st.st_size, st.st_mtime_ns]

    def _outputs_present(self, entry: dict) -> bool:
        study_id = entry["study_id"]
        if not (self.out_dir / "records" / f"{study_id}.json").is_file():
            return False
        return not entry.get("text_file") or (self.out_dir / entry["text_file"]).is_file()

    def remember(self, path_key: str, digest: str, result) -> None:
        self.dirty = True
        self.entries[path_key] = {
            "hash": digest, "rules_hash": self.rules, "study_id": result.study_id, "status": result.status,
            "reason": result.reason, "notes": result.notes, "seconds": result.seconds,
            "text_file": f"text/{result.study_id}.txt" if result.written_text else None,
            # The record as this run left it; a record kept untouched because a hand edit broke it
            # gets no stamp, so every run looks at it again and reports it until it is fixed.
            "record_stamp": (self._record_stamp(result.study_id)
                             if result.status == "ok" and result.curation.get("record") != "kept" else None),
        }

    def forget(self, path_key: str) -> None:
        """Drop the entry of a file that is gone (a renamed paper's old name)."""
        if self.entries.pop(path_key, None) is not None:
            self.dirty = True

    def set_study_ids(self, study_ids: list[str]) -> None:
        if study_ids != self.study_ids:
            self.study_ids, self.dirty = study_ids, True

    def save(self) -> None:
        if not self.dirty:
            return
        # ASCII: a file name that is not UTF-8 is held as surrogate escapes, which JSON's \u
        # escapes keep exactly and UTF-8 cannot encode.
        atomic_write_text(self.path, json.dumps({"version": INDEX_VERSION, "rules_hash": self.rules,
                                                 "study_ids": self.study_ids, "files": self.entries},
                                                indent=2, ensure_ascii=True) + "\n")
        self.dirty = False

