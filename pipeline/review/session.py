"""One review session on an output folder: saving a curator's action, and keeping the tables and the
pooling up to date after it.

A save goes through the code a hand edit and a re-run go through: the edited record is checked by
`validate` (the schema, then the arithmetic checks) before anything is written, its history entries
are the ones `crmo-extract run` would add for the same change (`curate.curation_history`), and it
is written atomically and flushed (`store.atomic_write_json`) while holding the output folder's lock.
A refused save leaves the file byte for byte as it was. A record changed on disk since the page
loaded it is never overwritten blindly: the action is applied to the file as it is now when the
figure it touches is unchanged there (the page says so), and refused otherwise.
"""
from __future__ import annotations

import getpass
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..batch import lock
from ..core.settings import Settings
from ..record.curate import curation_history
from ..record.store import atomic_write_json
from ..record.validate import consistency_issues, record_issues
from .actions import Action, ActionError, apply_action
from .model import find_item, paper_text, read_record, record_files, study_items, version_of


def default_curator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "curator"


@dataclass
class ReviewSettings(Settings):
    out_dir: Path
    curator: str = field(default_factory=default_curator)
    papers_dir: Path | None = None       # where to look for papers whose source_file moved
    pool_after_save: bool = True         # pool again in the background after each save
    lock_wait: float = 10.0              # seconds to wait for a run holding the folder

    def __post_init__(self):
        self.out_dir = Path(self.out_dir)
        self.papers_dir = Path(self.papers_dir) if self.papers_dir else None
        self.curator = self.curator.strip()
        if not self.curator:
            raise ValueError("the curator's name is empty: give --curator NAME")


class Refused(Exception):
    """A save that was not made, and why (for the page); the record file is untouched."""

    def __init__(self, status: int, message: str, details: list[str] | None = None):
        super().__init__(message)
        self.status, self.message, self.details = status, message, details or []


@dataclass
class Saved:
    message: str
    version: str
    warnings: list[str]
    merged: bool          # the record had changed on disk: the action was applied to it as it is now
    tables: str


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Pooling:
    """The meta-analysis, redone in a background thread after saves (it takes about a second, and a
    curator should not wait for it between two figures); several saves in a row pool once."""

    def __init__(self, out_dir: Path, holder: str, wait: float):
        self.out_dir, self.holder, self.wait_for_lock = out_dir, holder, wait
        self.state, self.message = "idle", ""
        self._pending = False
        self._thread: threading.Thread | None = None
        self._cv = threading.Condition()

    def request(self) -> None:
        with self._cv:
            self._pending = True
            self.state = "updating"
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="review-pooling", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        from ..batch.runner import pool

        while True:
            with self._cv:
                if not self._pending:
                    self._thread = None
                    self._cv.notify_all()
                    return
                self._pending = False
            try:
                with lock.hold(self.out_dir, self.holder, wait=self.wait_for_lock):
                    result = pool(self.out_dir)
                state, message = "idle", result
            except lock.LockError as exc:
                state, message = "failed", str(exc)
            except Exception as exc:  # the page says so and offers to rebuild; the records are saved
                state, message = "failed", f"pooling failed: {type(exc).__name__}: {exc}"
            with self._cv:
                if not self._pending:
                    self.state, self.message = state, message

    def wait(self, timeout: float) -> bool:
        """Wait until no pooling is running or pending; False if it still is after `timeout` s."""
        with self._cv:
            return self._cv.wait_for(lambda: self._thread is None, timeout)

    @property
    def busy(self) -> bool:
        return self._thread is not None


class ReviewSession:
    def __init__(self, settings: ReviewSettings):
        self.settings = settings
        self.out_dir = settings.out_dir
        self.holder = f"crmo-extract review (curator {settings.curator})"
        self.pooling = Pooling(self.out_dir, self.holder, settings.lock_wait)
        self._saving = threading.Lock()   # one save at a time in this process (the folder lock is per process)

    def record_path(self, study_id: str) -> Path:
        """The record file of `study_id`, which must be one of the records in OUT/records: the id
        is looked up, never joined into a path."""
        path = record_files(self.out_dir).get(study_id)
        if path is None:
            raise Refused(404, f"no record {study_id!r} in {self.out_dir / 'records'}")
        return path

    def save(self, study_id: str, action: Action) -> Saved:
        path = self.record_path(study_id)
        try:
            with self._saving, lock.hold(self.out_dir, self.holder, wait=self.settings.lock_wait):
                saved = self._save_locked(path, action)
        except lock.Busy as exc:
            raise Refused(423, f"not saved: {exc}") from None
        except lock.LockError as exc:
            raise Refused(409, f"not saved: {exc}") from None
        if self.settings.pool_after_save:
            self.pooling.request()
        return saved

    def _save_locked(self, path: Path, action: Action) -> Saved:
        record, raw, problem = read_record(path)
        if record is None:
            raise Refused(409, f"not saved: {path.name} {problem}; fix it by hand first "
                               f"(crmo-extract validate {path})")
        merged = version_of(raw) != action.version
        if merged and action.action not in ("add_figure", "add_row"):
            item = find_item(study_items(record), action.item or "")
            if item is None or item.fingerprint != action.base:
                raise Refused(409, f"not saved: {action.item or 'this figure'} was changed in {path.name} "
                                   "since this page loaded it (by a run, an editor or another page); "
                                   "reload the page to see it as it is now, then redo your change")
        try:
            new, message = apply_action(record, action, self.settings.curator,
                                        paper_text(record, self.out_dir, self.settings.papers_dir))
        except ActionError as exc:
            raise Refused(400, f"not saved: {exc}") from None
        issues = record_issues(new, path.name)
        if issues:
            raise Refused(422, f"not saved: {issues[0].message}", [f"{i.path}: {i.message}" for i in issues])
        before = {i.message for i in consistency_issues(record)}
        checks = [i for i in consistency_issues(new, path.name) if i.message not in before]
        errors = [i for i in checks if i.severity == "error"]
        if errors:
            raise Refused(422, f"not saved: {errors[0].message}", [f"{i.path}: {i.message}" for i in errors])
        new["history"] = record["history"] + curation_history(record, new, _now())
        # An editor does not take the folder's lock: a save of theirs since the read above wins.
        if path.read_bytes() != raw:
            raise Refused(409, f"not saved: {path.name} was changed on disk while saving; reload the page")
        atomic_write_json(path, new, durable=True)
        tables = self._write_tables()
        if merged:
            message += (f" ({path.name} had changed on disk since the page loaded it: your change was made "
                        "to the file as it is now, the other changes kept)")
        return Saved(message, version_of(path.read_bytes()), [i.message for i in checks], merged, tables)

    def _write_tables(self) -> str:
        """The tables rebuilt as `crmo-extract merge` rebuilds them (runner.build_tables)."""
        from ..batch.cache import Cache
        from ..batch.runner import build_tables

        last = Cache(self.out_dir, rules="").study_ids
        left_out, (n_studies, n_outcomes) = build_tables(self.out_dir, None if last is None else set(last), force=True)
        text = f"studies.csv ({n_studies} studies) and outcomes.csv ({n_outcomes} rows) rebuilt"
        if left_out:
            text += "; left out (fails validation): " + ", ".join(left["record"] for left in left_out)
        return text

    def rebuild(self) -> str:
        """Tables now, pooling in the background (the page's Rebuild button)."""
        try:
            with self._saving, lock.hold(self.out_dir, self.holder, wait=self.settings.lock_wait):
                tables = self._write_tables()
        except lock.LockError as exc:
            raise Refused(423 if isinstance(exc, lock.Busy) else 409, f"not rebuilt: {exc}") from None
        self.pooling.request()
        return tables

    def status(self) -> dict:
        """Are the tables and the pooling up to date with the records on disk?"""
        from ..batch.runner import pooling_stale, tables_stale

        if self.pooling.busy:
            pooling = "updating"
        elif self.pooling.state == "failed":
            pooling = "failed"
        else:
            pooling = "stale" if pooling_stale(self.out_dir) else "up to date"
        return {"tables": "stale" if tables_stale(self.out_dir) else "up to date", "pooling": pooling,
                "pooling_message": self.pooling.message}
