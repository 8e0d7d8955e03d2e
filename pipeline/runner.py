"""The batch: a folder of papers -> records, tables and a run report.

`process_file` is a pure function from one paper to its record (no output folder, no global
state), so any executor can map it; `run` streams papers through it, in this process or in a pool
of worker processes, and writes each record as soon as it is made. Papers whose bytes and rules
are unchanged since the last run are not extracted again (`pipeline.cache`).
"""
from __future__ import annotations

import collections
import gc
import itertools
import multiprocessing
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from multiprocessing import connection
from pathlib import Path
from typing import Callable, Iterable, Iterator

from . import __version__
from .cache import Cache, file_hash, rules_hash
from .read import SUFFIXES, ReadError, read_document
from .record import schema_ref_for
from .store import atomic_write_json, atomic_write_text

# The cache index is saved at least this often, so an interrupted run keeps most of its work.
INDEX_SAVE_SECONDS = 30.0


@dataclass
class Result:
    """What processing one paper gave: a record, or the one-line reason it failed."""
    file: str
    study_id: str
    status: str                       # ok | failed
    reason: str | None = None
    seconds: float = 0.0
    record: dict | None = None
    kept_text: str | None = None      # the text evidence offsets point into, when not the file itself
    curation: dict = field(default_factory=dict)  # what write_result did with the record file, for the run report
    written_text: bool = False        # a kept text (text/<study_id>.txt) went with the record
    cached: bool = False              # not extracted this run: unchanged since the last one
    notes: list[str] = field(default_factory=list)   # what of the file was not read (a PDF cut at max_pages)
    # Failed for a cause outside the paper and the rules (time limit, crashed worker): not cached,
    # so the next run tries again (perhaps with a longer --time-limit).
    transient: bool = False


@dataclass(frozen=True)
class BatchSettings:
    """How a batch runs. Unknown keys are rejected by name (`BatchSettings(jbos=2)` is a TypeError)."""
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)   # 1: in this process, no pool
    time_limit: float = 120.0         # seconds per paper; enforced by the pool (jobs >= 2)
    force: bool = False               # extract every paper, whatever the cache says

    def __post_init__(self):
        if not isinstance(self.jobs, int) or self.jobs < 1:
            raise ValueError(f"jobs must be a whole number >= 1, got {self.jobs!r}")
        if not self.time_limit > 0:
            raise ValueError(f"time_limit must be a positive number of seconds, got {self.time_limit!r}")


def list_papers(input_dir: Path) -> list[Path]:
    return sorted(p for p in Path(input_dir).iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def process_file(path: Path) -> Result:
    """One paper -> its record. Never raises for a bad paper: the reason goes into the Result."""
    # Imported here, not at the top: an unchanged re-run never extracts, and spaCy, wordfreq and
    # jsonschema take seconds to import.
    from .checks import run_checks
    from .extract import extract_all
    from .paper import document_to_paper
    from .record import build_record
    from .validate import record_issues

    path = Path(path)
    started = time.perf_counter()
    result = Result(str(path), path.stem, "failed")
    try:
        document = read_document(path)
        result.notes = document.notes
        paper = document_to_paper(document)
        figures, outcomes, percents = extract_all(paper)
        checks = run_checks(figures, outcomes, percents)
        is_pdf = path.suffix.lower() == ".pdf"
        record = build_record(document.study_id, str(path), figures, outcomes, checks,
                              text_file=f"text/{document.study_id}.txt" if is_pdf else None)
        issues = record_issues(record, file=path.name)
        if issues:
            # A bug in the rules, not in the paper; never write an invalid record as if valid.
            result.reason = f"record fails the schema: {issues[0].path}: {issues[0].message}"
        else:
            result.status, result.record = "ok", record
            result.kept_text = document.text if is_pdf else None
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
    totals: dict = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(1 for f in self.files if f["status"] != "ok")


def write_result(out_dir: Path, result: Result) -> None:
    """Write the record, merged with the one on disk: a curator's figures are never overwritten, and
    a file that fails validation after a hand edit is left byte for byte (see pipeline/curate.py)."""
    if result.record is None:
        return
    path = Path(out_dir) / "records" / f"{result.study_id}.json"
    result.record["$schema"] = schema_ref_for(path)
    # Imported here: validation imports jsonschema, needed only when writing.
    from .curate import holds_human_work, merge_with_file, write_merged

    merged = merge_with_file(path, result.record)
    # The kept text goes with the record: a kept record's evidence points into the old text.
    if result.kept_text is not None and merged.record is not None:
        # Flushed to disk with a curator's record, which points into it; else made again from the PDF
        # if a power cut damages it, like a machine-made record (store.py).
        atomic_write_text(Path(out_dir) / "text" / f"{result.study_id}.txt", result.kept_text,
                          durable=holds_human_work(merged.record))
    write_merged(path, merged)
    result.curation = merged.report()


# --- in this process (--jobs 1) -----------------------------------------------------------------

def extract_and_write(path: Path, out_dir: Path) -> Result:
    """process_file, then write_result, where the paper was extracted (the worker, in a pool): the
    parent then neither receives a whole record over the pipe nor spends its time writing it. The
    Result comes back without its record and text, which are on disk."""
    result = process_file(path)
    try:
        write_result(out_dir, result)
    except OSError as exc:
        result.status, result.reason = "failed", f"cannot write its record: {exc.strerror or exc}"
    result.written_text = result.kept_text is not None
    result.record = result.kept_text = None
    return result


@lru_cache(maxsize=1)
def prepare_process() -> None:
    """Build the spaCy pipeline before the first paper, so a paper's time is the paper's only, and
    freeze what is on the heap then: the garbage collector's full passes would otherwise scan
    spaCy's hundreds of thousands of long-lived objects again and again while records are built."""
    from .nlp import get_nlp

    get_nlp()
    gc.freeze()


def results_in_process(tasks: Iterable[tuple[int, Path]], out_dir: Path) -> Iterator[tuple[int, Result]]:
    for i, path in tasks:
        prepare_process()  # on the first paper: an unchanged re-run never loads spaCy
        yield i, extract_and_write(path, out_dir)


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
        conn.send(extract_and_write(*path))


class _Worker:
    def __init__(self, ctx, time_limit: float):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child,), daemon=True)
        self.process.start()
        child.close()   # so that the worker's death reads as EOF here
        self.ready = False
        # Given and not yet answered, in the order the worker takes them: the first is the one it is
        # extracting (once ready), its clock started when the worker took it.
        self.tasks: collections.deque[tuple[int, Path]] = collections.deque()
        self.time_limit = time_limit
        self.started = self.deadline = 0.0

    def _start_clock(self) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + self.time_limit

    def give(self, task: tuple[int, Path], out_dir: Path) -> None:
        if not self.tasks:
            self._start_clock()
        self.tasks.append(task)
        self.conn.send((task[1], out_dir))

    def answered(self) -> tuple[int, Path]:
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


def _failed(task: tuple[int, Path], reason: str, seconds: float) -> Result:
    path = task[1]
    return Result(str(path), path.stem, "failed", reason, round(seconds, 3), transient=True)


def results_in_pool(tasks: Iterable[tuple[int, Path]], out_dir: Path, jobs: int,
                    time_limit: float) -> Iterator[tuple[int, Result]]:
    """(index, Result) for every task, in the order they finish, from `jobs` worker processes that
    also write the records."""
    tasks = iter(tasks)
    first = next(tasks, None)
    if first is None:
        return  # nothing to extract: don't pay for starting workers
    tasks = itertools.chain([first], tasks)
    # Papers a stopped worker had queued but not begun: given to the next worker that asks.
    again: collections.deque[tuple[int, Path]] = collections.deque()
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

    def replace(w: _Worker, kill: bool) -> tuple[int, Path] | None:
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
        settings: BatchSettings | None = None) -> RunReport:
    """Extract every paper in `input_dir` that changed since the last run; write records, tables
    and run_report.json to `out_dir`. `on_result(result, done, total)` is called as papers finish."""
    settings = settings or BatchSettings()
    input_dir, out_dir = Path(input_dir), Path(out_dir)
    started = time.perf_counter()
    papers = list_papers(input_dir)
    cache = Cache(out_dir, rules_hash())
    entries: list[dict | None] = [None] * len(papers)   # the run report's rows, in input order
    digests: dict[int, str] = {}                        # of the papers in flight
    done = 0
    saved_at = time.monotonic()

    def finish(i: int, result: Result) -> None:
        nonlocal done
        done += 1
        entries[i] = {"file": result.file, "study_id": result.study_id, "status": result.status,
                      "reason": result.reason, "notes": result.notes, "seconds": result.seconds,
                      "cached": result.cached, **result.curation}
        if on_result:
            on_result(result, done, len(papers))

    def to_extract() -> Iterator[tuple[int, Path]]:
        # A generator, so papers are hashed as the workers ask for them, not all up front.
        for i, path in enumerate(papers):
            try:
                digest = file_hash(path)
            except OSError:
                digest = ""  # extracting it reports why it cannot be read; never a cache hit
            entry = None if settings.force or not digest else cache.lookup(path, digest)
            if entry is None:
                digests[i] = digest
                yield i, path
            else:
                finish(i, Result(str(path), entry["study_id"], entry["status"], entry["reason"], cached=True,
                                 notes=entry.get("notes", [])))

    if settings.jobs == 1:
        results = results_in_process(to_extract(), out_dir)
    else:
        results = results_in_pool(to_extract(), out_dir, min(settings.jobs, len(papers)), settings.time_limit)
    try:
        for i, result in results:
            digest = digests.pop(i)
            if not result.transient:
                cache.remember(papers[i], digest, result)
            finish(i, result)
            if time.monotonic() - saved_at > INDEX_SAVE_SECONDS:
                cache.save()
                saved_at = time.monotonic()
    finally:
        cache.save()
    if tables_stale(out_dir):
        from .tables import write_tables   # pandas and scipy: only when a table must change
        write_tables(out_dir, trusted=cache.record_stamps())
    report = RunReport(str(input_dir), str(out_dir), files=entries)
    cached = sum(1 for f in entries if f["cached"])
    report.totals = {"papers": len(papers), "ok": len(papers) - report.failed, "failed": report.failed,
                     "extracted": len(papers) - cached, "cached": cached, "jobs": settings.jobs,
                     "seconds": round(time.perf_counter() - started, 3)}
    atomic_write_json(out_dir / "run_report.json", asdict(report))
    return report


def tables_stale(out_dir: Path) -> bool:
    """Are the tables missing, or older than a record (made by this run, or edited by a curator)?"""
    tables = [out_dir / "studies.csv", out_dir / "outcomes.csv"]
    if not all(t.is_file() for t in tables):
        return True
    built = min(t.stat().st_mtime_ns for t in tables)
    records = out_dir / "records"
    if not records.is_dir():
        return False
    # The folder's own time changes when a record is added or removed.
    return records.stat().st_mtime_ns > built or any(e.stat().st_mtime_ns > built for e in os.scandir(records))
