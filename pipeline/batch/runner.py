"""The batch: a folder of papers -> records, tables and a run report.

`process_file` is a pure function from one paper to its record (no output folder, no global
state), so any executor can map it; `run` streams papers through it, in this process or in a pool
of worker processes, and writes each record as soon as it is made. Papers whose bytes and rules
are unchanged since the last run are not extracted again (`pipeline.cache`).
"""
from __future__ import annotations

import collections
import contextlib
import gc
import itertools
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from multiprocessing import connection
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .. import __version__
from ..core.limits import limits
from ..core.names import natural_study_id, shown
from ..core.settings import Settings
from ..read.document import ReadError, read_document
from ..record.build import schema_ref_for
from ..record.store import WriteError, atomic_write_json, atomic_write_text, recover_set_aside
from . import lock, stamps
from .cache import Cache, rules_hash
from .inputs import SKIPPED, TODO, assign_study_ids, list_inputs

# The cache index is saved at least this often, so an interrupted run keeps most of its work.
INDEX_SAVE_SECONDS = 30.0


@dataclass
class Result:
    """What processing one paper gave: a record, or the one-line reason it failed."""
    file: str                         # the input file, shown safely (names.shown)
    study_id: str | None
    status: str                       # ok | failed | skipped
    reason: str | None = None
    seconds: float = 0.0
    record: dict | None = None
    kept_text: str | None = None      # the text evidence offsets point into, when not the file itself
    kept_pages: list | None = None    # [page, start, end] of each PDF page in kept_text (text/<id>.pages.json)
    curation: dict = field(default_factory=dict)  # what write_result did with the record file, for the run report
    written_text: bool = False        # a kept text (text/<study_id>.txt) went with the record
    cached: bool = False              # not extracted this run: unchanged since the last one
    # Failed for a cause outside the paper and the rules (time limit, crashed worker, an output
    # file that could not be written): not cached, so the next run tries again.
    transient: bool = False
    notes: list[str] = field(default_factory=list)   # what the reader left out (pages past the limit)
    renamed_from: str | None = None   # the file this paper was last seen as


@dataclass(frozen=True)
class BatchSettings(Settings):
    """How a batch runs. Unknown keys are rejected by name (`BatchSettings(jbos=2)` is a TypeError,
    `BatchSettings.from_dict({"jbos": 2})` a SettingsError that suggests `jobs`)."""
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)   # 1: in this process, no pool
    time_limit: float = 120.0         # seconds per paper, whatever `jobs` is
    force: bool = False               # extract every paper, whatever the cache says
    max_mb: float = field(default_factory=lambda: limits().input_max_mb)  # larger papers are failed unread
    keep_orphans: bool = False        # keep records whose paper is gone in the tables
    wait: float = 0.0                 # seconds to wait for another holder of the output folder's lock

    def __post_init__(self):
        if not isinstance(self.jobs, int) or self.jobs < 1:
            raise ValueError(f"jobs must be a whole number >= 1, got {self.jobs!r}")
        if not self.time_limit > 0:
            raise ValueError(f"time_limit must be a positive number of seconds, got {self.time_limit!r}")
        if not self.max_mb > 0:
            raise ValueError(f"max_mb must be a positive number of megabytes, got {self.max_mb!r}")
        if not self.wait >= 0:
            raise ValueError(f"wait must be a number of seconds >= 0, got {self.wait!r}")


class OutputFolderError(Exception):
    """The output folder cannot take the outputs at all (`records` is a file, ...); one line."""


def process_file(path: Path, study_id: str | None = None) -> Result:
    """One paper -> its record (study id: `study_id`, else the file's stem). Never raises for a
    bad paper: the reason goes into the Result."""
    # Imported here, not at the top: an unchanged re-run never extracts, and spaCy, wordfreq and
    # jsonschema take seconds to import.
    from ..extract import extract_all
    from ..extract.citation import find_citation
    from ..nlp.paper import document_to_paper
    from ..record.build import build_record
    from ..record.checks import run_checks
    from ..record.validate import record_issues

    path = Path(path)
    started = time.perf_counter()
    study_id = study_id or natural_study_id(path.stem)
    result = Result(shown(path), study_id, "failed")
    try:
        document = read_document(path)
        result.notes = document.notes
        paper = document_to_paper(document)
        figures, outcomes, percents = extract_all(paper)
        checks = run_checks(figures, outcomes, percents, text=document.text)
        is_pdf = path.suffix.lower() == ".pdf"
        record = build_record(study_id, document.source_file, figures, outcomes, checks,
                              text_file=f"text/{study_id}.txt" if is_pdf else None,
                              citation=find_citation(document.text, document.page_at))
        issues = record_issues(record, file=path.name)
        if issues:
            # A bug in the rules, not in the paper; never write an invalid record as if valid.
            result.reason = f"record fails the schema: {issues[0].path}: {issues[0].message}"
        else:
            result.status, result.record = "ok", record
            result.kept_text = document.text if is_pdf else None
            result.kept_pages = [list(page) for page in document.pages] if is_pdf else None
    except ReadError as exc:
        result.reason = str(exc)
    except Exception as exc:  # one paper must never bring the batch down
        result.reason = f"internal error: {type(exc).__name__}: {exc}"
    result.seconds = round(time.perf_counter() - started, 3)
    return result


@dataclass
class RunReport:
    input_dir: str
    out_dir: str
    pipeline_version: str = __version__
    files: list[dict] = field(default_factory=list)
    # Records no input owns now (their paper was removed or renamed with other bytes): never
    # deleted, left out of the tables unless --keep-orphans.
    orphaned: list[dict] = field(default_factory=list)
    # Records of this run's studies the tables could not use (a broken hand edit): their rows
    # are those of their last valid version, marked in `record_issue`.
    left_out_of_tables: list[dict] = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    # Set when run_report.json itself could not be written (the rest of the run stands).
    write_error: str | None = None

    @property
    def failed(self) -> int:
        return sum(1 for f in self.files if f["status"] == "failed")

    @property
    def kept_invalid(self) -> list[str]:
        """Study ids whose record is kept as it is because it is not a valid record of the study."""
        found = {f["study_id"] for f in self.files if f.get("invalid")}
        return sorted(found | {r["study_id"] for r in self.left_out_of_tables})


def write_result(out_dir: Path, result: Result) -> None:
    """Write the record, merged with the one on disk: a curator's figures are never overwritten, and
    a file that fails validation after a hand edit is left byte for byte (see pipeline/record/curate.py)."""
    if result.record is None:
        return
    path = Path(out_dir) / "records" / f"{result.study_id}.json"
    result.record["$schema"] = schema_ref_for(path)
    # Imported here: validation imports jsonschema, needed only when writing.
    from ..record.curate import holds_human_work, merge_with_file, write_merged

    merged = merge_with_file(path, result.record)
    # The kept text goes with the record: a kept record's evidence points into the old text.
    if result.kept_text is not None and merged.record is not None:
        # Flushed to disk with a curator's record, which points into it; else made again from the PDF
        # if a power cut damages it, like a machine-made record (store.py).
        durable = holds_human_work(merged.record)
        atomic_write_text(Path(out_dir) / "text" / f"{result.study_id}.txt", result.kept_text, durable=durable)
        # Where each page starts in it, for the review page's page marks.
        atomic_write_json(Path(out_dir) / "text" / f"{result.study_id}.pages.json", result.kept_pages or [],
                          durable=durable)
    write_merged(path, merged)
    result.curation = merged.report()


# --- in this process (--jobs 1) -----------------------------------------------------------------

def extract_and_write(path: Path, out_dir: Path, study_id: str | None = None,
                      time_limit: float | None = None) -> Result:
    """process_file, then write_result, where the paper was extracted (the worker, in a pool): the
    parent then neither receives a whole record over the pipe nor spends its time writing it. The
    Result comes back without its record and text, which are on disk.

    `time_limit`: stop the extraction after that many seconds, by an alarm in this process (a
    pool's workers are killed by the parent instead, and get None)."""
    result = process_file_within(path, study_id, time_limit) if time_limit else process_file(path, study_id)
    try:
        write_result(out_dir, result)
    except OSError as exc:
        # The output folder's fault (full disk, no permission), not the paper's: not cached.
        record = Path(out_dir) / "records" / f"{result.study_id}.json"
        reason = str(exc) if isinstance(exc, WriteError) else f"cannot use {shown(record)}: {exc.strerror or exc}"
        result.status, result.reason, result.transient = "failed", reason, True
    except Exception as exc:  # a bug must not take the worker, and the batch, down with it
        result.status, result.transient = "failed", True
        result.reason = f"internal error writing its record: {type(exc).__name__}: {exc}"
    result.written_text = result.kept_text is not None
    result.record = result.kept_text = result.kept_pages = None
    return result


class _TimeUp(BaseException):
    """Raised by the alarm when a paper's time is up. Not an Exception, so that no `except
    Exception` in the pipeline or a library takes it for the paper's own error."""


def can_time_in_process() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def process_file_within(path: Path, study_id: str | None, time_limit: float) -> Result:
    """process_file, stopped after `time_limit` seconds by an alarm signal (main thread, POSIX).
    The signal is handled between two steps of Python code, so a paper stuck in one long call
    into a library is stopped when that call returns."""
    armed = True

    def on_alarm(signum, frame):
        if armed:
            raise _TimeUp

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, time_limit)
    started = time.perf_counter()
    try:
        return process_file(path, study_id)
    except _TimeUp:
        return Result(shown(path), study_id or natural_study_id(Path(path).stem), "failed",
                      f"time limit of {time_limit:g} s exceeded", round(time.perf_counter() - started, 3),
                      transient=True)
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@lru_cache(maxsize=1)
def prepare_process() -> None:
    """Build the spaCy pipeline before the first paper, so a paper's time is the paper's only, and
    freeze what is on the heap then: the garbage collector's full passes would otherwise scan
    spaCy's hundreds of thousands of long-lived objects again and again while records are built."""
    from ..nlp.language import get_nlp

    get_nlp()
    gc.freeze()


Task = tuple[int, Path, str]   # (position in the input order, file, study id)


def results_in_process(tasks: Iterable[Task], out_dir: Path, time_limit: float) -> Iterator[tuple[int, Result]]:
    for i, path, study_id in tasks:
        prepare_process()  # on the first paper: an unchanged re-run never loads spaCy
        yield i, extract_and_write(path, out_dir, study_id, time_limit)


# --- in worker processes (--jobs N) ------------------------------------------------------------
#
# A small pool of our own rather than concurrent.futures: each worker holds at most DEPTH papers, so
# the parent knows which paper is late, can kill just that worker at the time limit, and start a
# fresh one while the others go on. At most `jobs` x DEPTH papers are in flight, so memory does not
# grow with the folder. Workers are spawned (a fresh interpreter, on every platform): no worker
# inherits the parent's threads (the progress bar has one), and none shares pages with a preloaded
# fork server, which would count twice in every worker's RSS. A replacement worker takes about 2 s
# to import the pipeline, paid only after a paper hit the time limit or crashed its worker.

_READY = "ready"
# Papers queued at each worker. With two, a worker that sends a result goes straight on to the next
# paper, already in its pipe, instead of waiting for the parent to be scheduled and answer: with both
# cores busy that wait was 3 to 4 % of a worker's time.
DEPTH = 2


class WorkerStartError(RuntimeError):
    """A worker process died before it could take a paper: the pipeline cannot start at all."""


def _worker_main(conn) -> None:
    """A worker process: paths in, Results out over one pipe, until the pipe closes or says stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle
    prepare_process()
    conn.send(_READY)
    while True:
        try:
            path = conn.recv()
        except EOFError:
            return
        if path is None:
            return
        conn.send(extract_and_write(*path))   # (path, out_dir, study_id)


class _Worker:
    def __init__(self, ctx, time_limit: float):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child,), daemon=True)
        self.process.start()
        child.close()   # so that the worker's death reads as EOF here
        self.ready = False
        # Given and not yet answered, in the order the worker takes them: the first is the one it is
        # extracting (once ready), its clock started when the worker took it.
        self.tasks: collections.deque[Task] = collections.deque()
        self.time_limit = time_limit
        self.started = self.deadline = 0.0

    def _start_clock(self) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + self.time_limit

    def give(self, task: Task, out_dir: Path) -> None:
        if not self.tasks:
            self._start_clock()
        self.tasks.append(task)
        self.conn.send((task[1], out_dir, task[2]))

    def answered(self) -> Task:
        """The first task, whose Result just came. The worker went straight on to the next, if any:
        its clock starts now (a little after the worker's, so the limit is never cut short)."""
        task = self.tasks.popleft()
        if self.tasks:
            self._start_clock()
        return task

    def stop(self, kill: bool = False, wait: bool = True) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                pass
        if wait:
            self.join()

    def join(self) -> None:
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _failed(task: Task, reason: str, seconds: float) -> Result:
    return Result(shown(task[1]), task[2], "failed", reason, round(seconds, 3), transient=True)


def results_in_pool(tasks: Iterable[Task], out_dir: Path, jobs: int,
                    time_limit: float) -> Iterator[tuple[int, Result]]:
    """(index, Result) for every task, in the order they finish, from `jobs` worker processes that
    also write the records."""
    tasks = iter(tasks)
    first = next(tasks, None)
    if first is None:
        return  # nothing to extract: don't pay for starting workers
    tasks = itertools.chain([first], tasks)
    # Papers a stopped worker had queued but not begun: given to the next worker that asks.
    again: collections.deque[Task] = collections.deque()
    ctx = multiprocessing.get_context("spawn")
    workers = [_Worker(ctx, time_limit) for _ in range(jobs)]
    exhausted = False

    def feed(w: _Worker) -> None:
        nonlocal exhausted
        while len(w.tasks) < DEPTH:
            task = again.popleft() if again else None if exhausted else next(tasks, None)
            if task is None:
                exhausted = True
                return
            w.give(task, out_dir)

    def replace(w: _Worker, kill: bool) -> Task | None:
        """Stop `w` and start a fresh worker in its place; its queued papers go to others. Returns
        the paper it was extracting, if any."""
        task = w.tasks.popleft() if w.tasks else None
        again.extend(w.tasks)
        w.tasks.clear()
        w.stop(kill=kill)
        workers[workers.index(w)] = _Worker(ctx, time_limit)
        return task

    try:
        while True:
            busy = [w for w in workers if w.tasks]   # only ready workers are given papers
            if exhausted and not again and not busy:
                return
            timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic()) if busy else None
            for conn in connection.wait([w.conn for w in workers], timeout):
                w = next(w for w in workers if w.conn is conn)
                try:
                    message = conn.recv()
                except EOFError:
                    w.process.join(timeout=5)
                    if not w.ready:
                        raise WorkerStartError(f"a worker process could not start (exit code {w.process.exitcode})") from None
                    started, code = w.started, w.process.exitcode
                    task = replace(w, kill=False)
                    if task is not None:
                        yield task[0], _failed(task, f"worker process died (exit code {code})",
                                               time.monotonic() - started)
                    continue
                if message == _READY:
                    w.ready = True
                    feed(w)
                else:
                    task = w.answered()
                    feed(w)  # before the parent books this result, so the worker's queue stays full
                    yield task[0], message
            now = time.monotonic()
            for w in [w for w in busy if w.tasks and now >= w.deadline]:
                task = replace(w, kill=True)
                yield task[0], _failed(task, f"time limit of {time_limit:g} s exceeded", time_limit)
            # Papers taken back from a stopped worker go to those with room in their queue.
            for w in workers:
                if again and w.ready:
                    feed(w)
    finally:
        # All told to stop first, then waited for: their exits (each tearing down spaCy) overlap.
        for w in workers:
            w.stop(kill=bool(w.tasks), wait=False)
        for w in workers:
            w.join()


# --- the batch ---------------------------------------------------------------------------------

def run(input_dir: Path, out_dir: Path, on_result: Callable[[Result, int, int], None] | None = None,
        settings: BatchSettings | None = None, locked: bool = False) -> RunReport:
    """Extract every paper in `input_dir` that changed since the last run; write records, tables
    and run_report.json to `out_dir`. `on_result(result, done, total)` is called as inputs finish.

    Holds the output folder's lock (pipeline.lock) throughout, unless the caller holds it
    (`locked`); raises lock.Busy when another process holds it (after `settings.wait` seconds),
    OutputFolderError or store.WriteError when the folder cannot take the outputs."""
    settings = settings or BatchSettings()
    out_dir = Path(out_dir)
    with contextlib.nullcontext() if locked else lock.hold(out_dir, "crmo-extract run", settings.wait):
        return _run(Path(input_dir), out_dir, on_result, settings)


def _run(input_dir: Path, out_dir: Path, on_result, settings: BatchSettings) -> RunReport:
    started = time.perf_counter()
    records_dir = prepare_output(out_dir)
    cache = Cache(out_dir, rules_hash())
    inputs = list_inputs(input_dir, settings.max_mb)
    moved = assign_study_ids(inputs, cache.entries)
    entries: list[dict | None] = [None] * len(inputs)   # the run report's rows, in input order
    done = 0
    saved_at = time.monotonic()

    def finish(i: int, result: Result) -> None:
        nonlocal done
        done += 1
        entries[i] = report_row(result)
        if on_result:
            on_result(result, done, len(inputs))

    for i, item in enumerate(inputs):
        if item.status != TODO:   # skipped, or failed before it could be read
            finish(i, Result(item.file, item.study_id, item.status, item.reason))

    def to_extract() -> Iterator[Task]:
        for i, item in enumerate(inputs):
            if item.status != TODO:
                continue
            entry = None if settings.force else cache.lookup(item.key, item.digest, item.study_id)
            if entry is None:
                yield i, item.path, item.study_id
            else:
                finish(i, Result(item.file, item.study_id, entry["status"], entry["reason"], cached=True,
                                 notes=entry.get("notes", [])))

    jobs = min(settings.jobs, sum(1 for item in inputs if item.status == TODO)) or 1
    if jobs == 1 and can_time_in_process():
        results = results_in_process(to_extract(), out_dir, settings.time_limit)
    else:   # the time limit is kept by a pool, of one worker if need be
        results = results_in_pool(to_extract(), out_dir, jobs, settings.time_limit)
    owned = [item.study_id for item in inputs if item.study_id and item.status != SKIPPED]
    extracted = 0
    try:
        for i, result in results:
            extracted += 1
            item = inputs[i]
            result.renamed_from = item.renamed_from
            if not result.transient:
                cache.remember(item.key, item.digest, result)
            finish(i, result)
            if time.monotonic() - saved_at > INDEX_SAVE_SECONDS:
                cache.save()
                saved_at = time.monotonic()
    finally:
        for old, item in moved.items():
            if item.key in cache.entries:
                cache.forget(old)   # the renamed paper's entry is under its new name now
        cache.set_study_ids(owned)
        cache.save()
    left_out, _ = build_tables(out_dir, None if settings.keep_orphans else set(owned), cache.record_stamps())
    report = RunReport(shown(input_dir), shown(out_dir), files=entries,
                       orphaned=orphaned_records(records_dir, set(owned), cache, settings.keep_orphans),
                       left_out_of_tables=left_out)
    count = collections.Counter(f["status"] for f in entries)
    cached = sum(1 for f in entries if f["cached"])
    report.totals = {"papers": len(inputs), "ok": count["ok"], "failed": count["failed"], "skipped": count["skipped"],
                     "extracted": extracted,
                     "cached": cached, "kept_invalid": len(report.kept_invalid), "orphaned": len(report.orphaned),
                     "jobs": settings.jobs, "seconds": round(time.perf_counter() - started, 3)}
    try:
        atomic_write_json(out_dir / "run_report.json", asdict(report))
    except WriteError as exc:
        report.write_error = str(exc)
    return report


def report_row(result: Result) -> dict:
    row = {"file": result.file, "study_id": result.study_id, "status": result.status, "reason": result.reason,
           "seconds": result.seconds, "cached": result.cached, **result.curation}
    if result.renamed_from:
        row["renamed_from"] = result.renamed_from
    if result.notes:
        row["notes"] = result.notes
    return row


def prepare_output(out_dir: Path) -> Path:
    """OUT_DIR/records, made if need be; a file in its place is refused in one line. Files left
    aside by a run killed while saving a record are put back (store.replace_if_unchanged)."""
    records = Path(out_dir) / "records"
    if os.path.lexists(records) and not records.is_dir():
        raise OutputFolderError(f"{shown(records)} is not a folder: move it away, or give another --out")
    try:
        records.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(records, exc) from None
    recover_set_aside(records)
    return records


def build_tables(out_dir: Path, include: set[str] | None, trusted: dict[str, list[int]] | None = None,
                 force: bool = False) -> tuple[list[dict], tuple[int, int] | None]:
    """studies.csv and outcomes.csv of the records of `include` (None: every record), rebuilt when
    the records (or the studies they are built for) changed since they were last built, or they are
    missing or not as built (pipeline.stamps), or with `force`.

    Returns the records of these studies that the tables could not use, and the numbers of study
    and outcome rows written (None when the tables were up to date)."""
    source = stamps.tables_source(out_dir, sorted(include) if include is not None else None)
    stamp = None if force else stamps.fresh(out_dir, "tables", source)
    if stamp is not None:
        return stamp.get("left_out", []), None
    from ..tables.build import write_tables  # pandas and scipy: only when a table must change

    stamps.begin(out_dir, "tables")
    skipped: list[tuple[Path, str]] = []
    carried: list[str] = []
    studies, outcomes = write_tables(out_dir, skipped, trusted=trusted, include=include, carried=carried)
    left_out = [{"record": f"records/{shown(path.name)}", "study_id": shown(path.stem), "reason": reason,
                 "rows": "last valid version" if path.stem in carried else "none"} for path, reason in skipped]
    stamps.done(out_dir, "tables", source, [out_dir / "studies.csv", out_dir / "outcomes.csv"], left_out=left_out)
    return left_out, (len(studies), len(outcomes))


def orphaned_records(records_dir: Path, owned: set[str], cache: Cache, kept: bool) -> list[dict]:
    """The record files no input of this run owns, with where their paper went, if known."""
    gone = {e.get("study_id"): k for k, e in cache.entries.items()}
    out = []
    try:
        names = sorted(n for n in os.listdir(records_dir) if n.endswith(".json") and not n.startswith("."))
    except OSError:
        return out
    for name in names:
        sid = name[: -len(".json")]
        if sid in owned:
            continue
        where = gone.get(sid)
        reason = (f"its paper {shown(where)} is not among the inputs" if where
                  else "no input has this study id (its paper was removed, or the record was added by hand)")
        out.append({"record": f"records/{shown(name)}", "study_id": shown(sid), "reason": reason,
                    "in_tables": kept})
    return out


def pool(out_dir: Path, only_if_stale: bool = False, input_dir: Path | None = None) -> str | None:
    """Pool OUT_DIR/outcomes.csv (pipeline.meta) and stamp the pooled outputs; with
    `only_if_stale`, only when the tables (or the pooling code) changed since the last pooling, or
    one of its outputs is missing or not as it wrote it. Returns the pooling's message, or None
    when nothing was to be done."""
    source = stamps.meta_source(out_dir, input_dir=input_dir)
    if only_if_stale and stamps.fresh(out_dir, "meta", source):
        return None
    from ..meta.run import run_meta  # scipy, matplotlib: only when pooling

    stamps.begin(out_dir, "meta")
    result = run_meta(out_dir, input_dir=input_dir)
    stamps.done(out_dir, "meta", source, result.files)
    return result.message


def tables_stale(out_dir: Path) -> bool:
    """Are studies.csv and outcomes.csv missing, or older than the records (pipeline.stamps)?"""
    return stamps.fresh(out_dir, "tables", stamps.tables_source(out_dir, None)) is None


def pooling_stale(out_dir: Path, input_dir: Path | None = None) -> bool:
    """Is the pooling missing, or older than the tables or a labels.csv it reads?"""
    if not (Path(out_dir) / "outcomes.csv").is_file():
        return False
    return stamps.fresh(out_dir, "meta", stamps.meta_source(out_dir, input_dir=input_dir)) is None
