"""Hostile inputs, records and concurrency (issue 16): nothing lost, mixed up or silently left out.

One test (at least) per numbered fault of the issue, named after it. Every test builds its own
folders in tmp_path from the seed papers, or starts from a copy of the session's first run of them
(`ran`: conftest.seed_run) where it changes outputs only; corpus/ is never written.
"""
import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import types

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.batch import lock
from pipeline.batch.runner import BatchSettings, process_file, run
from pipeline.cli import app
from pipeline.core.limits import limits
from pipeline.record.curate import MergeResult, write_merged
from pipeline.record.validate import validate_paths

from .conftest import ABSTRACT, ARTICLE, ROOT, distinct_copy

ONE = BatchSettings(jobs=1)


@pytest.fixture
def papers(tmp_path):
    folder = tmp_path / "papers"
    folder.mkdir()
    for seed in (ARTICLE, ABSTRACT):
        shutil.copy(seed, folder)
    return folder


@pytest.fixture
def ran(seed_papers, seed_run, tmp_path):
    """seed_papers (shared: read them, never change them) and a copy of seed_run in tmp_path: the
    output folder of a first run of them, its cache knowing both."""
    return seed_papers, shutil.copytree(seed_run, tmp_path / "out")


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def cli_process(*args, timeout=120):
    """The command in a process of its own, stopped if it hangs."""
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)


@contextlib.contextmanager
def fifo_watchdog(fifo, timeout):
    """While the block runs: after `timeout` seconds, open FIFO for writing (without blocking) and
    close it, which ends a reader's wait to open it. `.fired` says whether it had to."""
    state = types.SimpleNamespace(fired=False)
    done = threading.Event()

    def watch():
        while not done.wait(timeout):
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:   # no reader waiting (ENXIO), or the FIFO is gone
                continue
            state.fired = True
            os.close(fd)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield state
    finally:
        done.set()
        watcher.join()


def rows(out, table="studies.csv"):
    return pd.read_csv(out / table).set_index("study_id") if table == "studies.csv" else pd.read_csv(out / table)


def report(out):
    return json.loads((out / "run_report.json").read_text("utf-8"))


def by_name(out):
    return {os.path.basename(f["file"]): f for f in report(out)["files"]}


def load(path):
    return json.loads(path.read_text("utf-8"))


def save(path, record):
    path.write_text(json.dumps(record, indent=2) + "\n", "utf-8")


# ---- 1. a file name that is not UTF-8 ---------------------------------------------------------

def test_1_a_file_name_that_is_not_utf8_is_read_and_shown_escaped(papers, tmp_path):
    bad = os.fsdecode(bytes(papers) + b"/bad\xffbyte.txt")
    distinct_copy(ABSTRACT, bad, 1)
    out = tmp_path / "out"
    first = run(papers, out, settings=ONE)
    assert first.failed == 0 and first.totals["ok"] == 3
    entry = by_name(out)["bad\\xffbyte.txt"]
    assert (entry["status"], entry["study_id"]) == ("ok", "bad%FFbyte")
    record = load(out / "records" / "bad%FFbyte.json")
    assert record["source_file"].endswith("/bad\\xffbyte.txt") and record["figures"]["n_patients"]["value"] == 25
    assert set(rows(out).index) == {ARTICLE.stem, ABSTRACT.stem, "bad%FFbyte"}
    # The cache index keeps the name exactly: the next run finds all three unchanged.
    assert run(papers, out, settings=ONE).totals["cached"] == 3


# ---- 2. records nested 10,000 deep, holding a 5,000-digit number, or a FIFO ------------------

def test_2_hostile_records_are_each_named_and_stop_nothing(ran):
    papers, out = ran   # as a first run of the papers leaves them
    records = out / "records"
    (records / "deep.json").write_text("[" * 10_000 + "]" * 10_000)
    big = records / f"{ABSTRACT.stem}.json"
    big.write_text(big.read_text().replace('"value": 25', '"value": ' + "9" * 5000, 1))
    os.mkfifo(records / "fifo.json")

    checked = cli_process("validate", records, timeout=60)
    assert checked.returncode == 1
    lines = checked.stdout.splitlines()
    assert f"{records}/deep.json: $: lists or objects nested more than {limits().record_max_depth} deep: not a record" in lines
    assert f"{records}/fifo.json: $: a FIFO (named pipe), not a record file" in lines
    assert f"{big}: $: a number of 5,000 digits (at most {limits().number_max_digits})" in lines

    merged = cli_process("merge", "--out", out, timeout=60)
    assert merged.returncode == 3, merged.stderr
    assert f"{big}: left out of the tables: a number of 5,000 digits" in merged.stderr
    # In this process (spaCy is loaded already; the edited record makes its paper extracted again),
    # with --jobs 1 on the main thread, as the command runs. Should the run hang opening the FIFO,
    # the watchdog opens its other end after a while, which lets the run go on, and the test fails.
    with fifo_watchdog(records / "fifo.json", timeout=120) as watchdog:
        again = cli("run", papers, "--out", out, "--jobs", "1")
    assert not watchdog.fired, "the run hung opening records/fifo.json"
    assert again.exit_code == 3, again.output
    studies = rows(out)
    assert studies.loc[ABSTRACT.stem, "n_patients"] == 25   # its last valid version, marked
    assert studies.loc[ABSTRACT.stem, "record_issue"].startswith("a number of 5,000 digits")
    assert pd.isna(studies.loc[ARTICLE.stem, "record_issue"])
    assert {o["record"] for o in report(out)["orphaned"]} == {"records/deep.json", "records/fifo.json"}


# ---- 3. an error reading a record that is not "not found", and over-long names ----------------

def test_3_records_a_plain_file_is_refused_in_one_line(papers, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "records").write_text("not a folder")
    done = cli("run", papers, "--out", out, "--jobs", "1")
    assert done.exit_code == 4
    assert done.output.strip().splitlines()[-1] == (
        f"error: {out}/records is not a folder: move it away, or give another --out")
    assert not (out / "run_report.json").exists()


def test_3_a_255_byte_file_name_gets_a_record_and_later_runs_work(papers, tmp_path):
    long_name = papers / ("L" * 251 + ".txt")
    distinct_copy(ARTICLE, long_name, 1)
    out = tmp_path / "out"
    first = run(papers, out, settings=ONE)
    entry = next(f for f in first.files if f["file"] == str(long_name))
    assert entry["status"] == "ok" and len(entry["study_id"].encode()) <= limits().study_id_max_bytes
    assert (out / "records" / f"{entry['study_id']}.json").is_file()
    assert entry["study_id"] in set(rows(out).index)
    again = run(papers, out, settings=ONE)
    assert again.totals["cached"] == 3 and again.failed == 0


# ---- 4. a curated record renamed onto another study -------------------------------------------

def test_4_a_record_renamed_onto_another_study_is_kept_untouched_and_reported(ran):
    papers, out = ran   # as a first run of the papers leaves them
    article, abstract = out / "records" / f"{ARTICLE.stem}.json", out / "records" / f"{ABSTRACT.stem}.json"
    record = load(article)
    record["figures"]["n_male"].update(value=9, status="curated")
    save(article, record)
    os.replace(article, abstract)   # the article's curated record now sits under the abstract's name
    moved = abstract.read_bytes()

    issues = [i.message for i in validate_paths([abstract])[0] if i.path == "$.study_id"]
    assert len(issues) == 1 and issues[0].startswith(f"its study_id is '{ARTICLE.stem}', not '{ABSTRACT.stem}'")

    again = run(papers, out, settings=ONE)
    entry = next(f for f in again.files if f["study_id"] == ABSTRACT.stem)
    assert (entry["record"], entry["invalid"]) == ("kept", True)
    assert entry["kept_reason"].startswith(f"its study_id is '{ARTICLE.stem}'")
    assert abstract.read_bytes() == moved
    studies = rows(out)
    # No curation crossed over: the abstract's row is its own last valid one, the article's is the machine's.
    assert studies.loc[ABSTRACT.stem, "n_patients"] == 25 and studies.loc[ABSTRACT.stem, "record_issue"]
    assert studies.loc[ARTICLE.stem, "n_male"] == 8 and studies.loc[ARTICLE.stem, "n_patients"] == 15
    assert again.kept_invalid == [ABSTRACT.stem]


# ---- 5. colliding study ids; entries that are not papers --------------------------------------

def test_5_collisions_and_entries_that_are_not_papers_are_each_reported(papers, tmp_path):
    from .pdf_fixtures import lines_pdf

    distinct_copy(ABSTRACT, papers / "x.txt", 1)
    lines_pdf(papers / "x.pdf", ARTICLE.read_text("utf-8").splitlines()[:60])
    (papers / "folder.pdf").mkdir()
    os.mkfifo(papers / "fifo.txt")
    os.symlink("loop.txt", papers / "loop.txt")
    os.symlink("nowhere.txt", papers / "dangling.txt")
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.parent.mkdir()
    distinct_copy(ARTICLE, secret, 7)
    os.symlink(secret, papers / "outside.txt")
    out = tmp_path / "out"
    result = run(papers, out, settings=ONE)
    entries = by_name(out)
    assert len(result.files) == 9   # every entry named *.txt / *.pdf is in the report
    assert {n: (e["status"], e["reason"]) for n, e in entries.items() if e["status"] == "skipped"} == {
        "folder.pdf": ("skipped", "not a regular file: a folder"),
        "fifo.txt": ("skipped", "not a regular file: a FIFO (named pipe)"),
        "loop.txt": ("skipped", "a symlink loop"),
        "dangling.txt": ("skipped", "a broken symlink (its target does not exist)"),
        "outside.txt": ("skipped", f"a symlink to a file outside the input folder ({secret}): copy the file in to read it"),
    }
    # x.pdf and x.txt would share records/x.json: the second by name is refused, naming the first.
    assert entries["x.pdf"]["status"] == "ok"
    assert (entries["x.txt"]["status"], entries["x.txt"]["reason"]) == (
        "failed", "its study id 'x' is already x.pdf's (records/x.json): rename one of the two files")
    assert load(out / "records" / "x.json")["source_file"] == str(papers / "x.pdf")
    assert sorted(p.name for p in (out / "text").iterdir()) == ["x.pages.json", "x.txt"]   # the PDF's text, nothing from outside
    assert set(rows(out).index) == {ARTICLE.stem, ABSTRACT.stem, "x"}


# ---- 6. deleted and renamed inputs ------------------------------------------------------------

def test_6_a_deleted_paper_is_orphaned_and_a_renamed_one_keeps_its_study(papers, tmp_path):
    out = tmp_path / "out"
    run(papers, out, settings=ONE)
    article = out / "records" / f"{ARTICLE.stem}.json"
    record = load(article)
    record["figures"]["n_male"].update(value=9, status="curated")
    save(article, record)
    # The article renamed, the abstract deleted.
    os.rename(papers / ARTICLE.name, papers / "renamed_article.txt")
    (papers / ABSTRACT.name).unlink()
    again = run(papers, out, settings=ONE)
    entry = again.files[0]
    assert (entry["file"], entry["study_id"], entry["status"]) == (str(papers / "renamed_article.txt"), ARTICLE.stem, "ok")
    assert entry["renamed_from"] == str(papers / ARTICLE.name)
    assert load(article)["figures"]["n_male"]["value"] == 9    # the curation stays with its study
    assert load(article)["source_file"] == str(papers / "renamed_article.txt")
    assert [(o["record"], o["in_tables"]) for o in again.orphaned] == [(f"records/{ABSTRACT.stem}.json", False)]
    assert (out / "records" / f"{ABSTRACT.stem}.json").is_file()   # never deleted
    assert list(rows(out).index) == [ARTICLE.stem]                   # one study, not two
    assert set(rows(out, "outcomes.csv").study_id) == {ARTICLE.stem}
    kept = run(papers, out, settings=BatchSettings(jobs=1, keep_orphans=True))
    assert kept.orphaned[0]["in_tables"] is True
    assert set(rows(out).index) == {ARTICLE.stem, ABSTRACT.stem}


# ---- 7. a broken curated record ---------------------------------------------------------------

def test_7_a_run_that_kept_an_invalid_record_says_so_and_keeps_its_rows_marked(ran):
    papers, out = ran   # as a first run of the papers leaves them
    path = out / "records" / f"{ARTICLE.stem}.json"
    before_outcomes = rows(out, "outcomes.csv").query("study_id == @ARTICLE.stem")
    path.write_text(path.read_text().replace('"value": 8,', '"value": "eight",', 1))
    done = cli("run", papers, "--out", out, "--jobs", "1", "--quiet")
    assert done.exit_code == 3, done.output
    assert f"1 record(s) kept as they are because they are not valid: {ARTICLE.stem}" in done.output
    studies = rows(out)
    assert studies.loc[ARTICLE.stem, "n_male"] == 8 and studies.loc[ARTICLE.stem, "n_patients"] == 15
    assert studies.loc[ARTICLE.stem, "record_issue"].startswith("fails the schema: $.figures.n_male.value")
    outcomes = rows(out, "outcomes.csv").query("study_id == @ARTICLE.stem")
    assert len(outcomes) == len(before_outcomes) > 0 and outcomes.record_issue.notna().all()
    assert list(outcomes.n_treated) == list(before_outcomes.n_treated)
    assert report(out)["totals"]["kept_invalid"] == 1


# ---- 8. cost: size limit, time limit with --jobs 1, one long token ----------------------------

def test_8_the_time_limit_holds_with_jobs_1_and_is_not_cached(papers, tmp_path):
    # Three megabytes of prose: seconds of work, past a 1 s limit.
    (papers / "0_huge.txt").write_text(("The children were treated. " * 20_000 + "\n\nResults\n\n") * 6)
    out = tmp_path / "out"
    result = run(papers, out, settings=BatchSettings(jobs=1, time_limit=1))
    status = {f["study_id"]: (f["status"], f["reason"]) for f in result.files}
    assert status["0_huge"] == ("failed", "time limit of 1 s exceeded")
    assert status[ARTICLE.stem] == status[ABSTRACT.stem] == ("ok", None)
    index = json.loads((out / ".cache" / "index.json").read_text())["files"]
    assert not any(key.endswith("0_huge.txt") for key in index)


def test_8_a_paper_over_the_size_limit_is_failed_unread(papers, tmp_path):
    assert BatchSettings().max_mb == limits().input_max_mb == 10   # the documented default
    for name, mb in (("big_text.txt", 3), ("big.pdf", 21), ("fine.pdf", 19)):
        with open(papers / name, "wb") as fh:
            fh.truncate(mb * 1024 * 1024)
    result = run(papers, tmp_path / "out", settings=BatchSettings(jobs=1, max_mb=2))
    reasons = {os.path.basename(f["file"]): f["reason"] for f in result.files}
    assert reasons["big_text.txt"] == "3.0 MB, over the size limit of 2 MB (--max-mb): split the file, or raise --max-mb"
    assert reasons["big.pdf"] == ("21.0 MB, over the size limit of 20 MB for a PDF (10 x --max-mb): "
                                  "split the file, or raise --max-mb")
    assert reasons["fine.pdf"].startswith("not a PDF")   # read: within a PDF's limit


def test_8_one_long_token_reaches_the_tokenizer_in_pieces(monkeypatch, tmp_path):
    from pipeline.nlp import fast_sentences
    from pipeline.nlp import language as nlp

    nlp.get_nlp()
    seen = []
    tokenizer = nlp.get_nlp().tokenizer

    class Spy:
        def __call__(self, text):
            seen.append(len(text))
            return tokenizer(text)

        def __getattr__(self, name):
            return getattr(tokenizer, name)

    monkeypatch.setattr(nlp.get_nlp(), "tokenizer", Spy())
    fast_sentences._word_tokens.cache_clear()
    paper = tmp_path / "parens.txt"
    paper.write_text("Results\n\nFifteen patients received naproxen " + ")" * 8000 + ". Ten of 15 patients improved.\n")
    result = process_file(paper)
    assert result.status == "ok"
    assert seen and max(seen) <= limits().word_piece_chars   # spaCy's cost is quadratic in one token's splits
    assert result.record["outcomes"]


# ---- 9. two runs, or a run and a save, at once ------------------------------------------------

def test_9_a_second_run_is_refused_naming_the_holder_and_may_wait(papers, tmp_path):
    out = tmp_path / "out"
    holder = lock.acquire(out, "crmo-extract run")
    try:
        done = cli("run", papers, "--out", out, "--jobs", "1")
        assert done.exit_code == 4
        line = done.output.strip().splitlines()[-1]
        assert line.startswith(f"error: {out}/ is in use by `crmo-extract run` (pid {os.getpid()}, since ")
        assert not (out / "records").exists()
    finally:
        holder.release()
    assert cli("run", papers, "--out", out, "--jobs", "1", "--wait", "5").exit_code == 0


@pytest.mark.parametrize("moment", ["before the record is moved aside", "while it is aside"])
def test_9_a_save_landing_while_a_run_writes_the_record_is_never_overwritten(tmp_path, monkeypatch, moment):
    path = tmp_path / "x.json"
    path.write_text('{"old": true}\n')
    original = path.read_bytes()
    saved = '{"curator": "saved during the run"}\n'
    real_replace, real_link = os.replace, os.link
    done = []

    def curator_saves():
        if not done:
            done.append(True)
            fd, tmp = tempfile.mkstemp(dir=tmp_path)   # an editor's save: write aside, rename in place
            os.write(fd, saved.encode())
            os.close(fd)
            real_replace(tmp, path)

    def replace(src, dst):
        if moment == "before the record is moved aside" and os.fspath(path) in (os.fspath(src), os.fspath(dst)):
            curator_saves()
        return real_replace(src, dst)

    def link(src, dst):
        if moment == "while it is aside" and os.fspath(dst) == os.fspath(path):
            curator_saves()
        return real_link(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "link", link)
    result = MergeResult({"merged": True}, "updated", original=original)
    write_merged(path, result)
    assert done, "the save was not made at the moment tested"
    assert path.read_text() == saved
    assert (result.action, result.reason) == ("kept", "changed on disk during the run (a save wins; the next run merges it)")
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


# ---- 10. derived outputs rebuilt from stamps --------------------------------------------------

def test_10_pooled_outputs_are_redone_after_a_pooling_cut_short(seed_papers, seed_run, tmp_path, monkeypatch):
    from pipeline.meta import run as meta

    papers = seed_papers   # read, not changed
    out = shutil.copytree(seed_run, tmp_path / "out")   # its cache knows both papers
    assert cli("run", papers, "--out", out, "--jobs", "1").exit_code == 0   # tables as they are; pools them
    path = out / "records" / f"{ARTICLE.stem}.json"
    record = load(path)
    row = next(r for r in record["outcomes"] if (r["drug"], r["outcome"]) == ("methotrexate", "clinical"))
    row["n_treated"].update(value=13, status="curated")   # a pooled group (the abstract has one too)
    save(path, record)
    write_csv = meta.atomic_write_csv

    def killed_after_pooled(target, frame):
        write_csv(target, frame)
        if target.name == "pooled.csv":
            raise RuntimeError("killed right after pooled.csv was written")

    monkeypatch.setattr(meta, "atomic_write_csv", killed_after_pooled)
    assert isinstance(cli("run", papers, "--out", out, "--jobs", "1").exception, RuntimeError)
    monkeypatch.setattr(meta, "atomic_write_csv", write_csv)
    assert cli("run", papers, "--out", out, "--jobs", "1").exit_code == 0
    metafor = pd.read_csv(out / "metafor.csv")
    treated = metafor.query("study == @ARTICLE.stem and drug == @row['drug'] and outcome == @row['outcome']").ni
    assert list(treated) == [13]
    (out / "meta_table.xlsx").unlink()   # a derived output missing: made again by an unchanged run
    assert cli("run", papers, "--out", out, "--jobs", "1").exit_code == 0
    assert (out / "meta_table.xlsx").is_file()


# ---- 11. outputs that cannot be written -------------------------------------------------------

def test_11_a_full_disk_names_the_file_and_is_not_cached_as_the_papers_failure(papers, tmp_path, monkeypatch):
    out = tmp_path / "out"
    mkstemp = tempfile.mkstemp

    def full_disk(*args, dir=None, **kwargs):
        if str(dir).endswith("records"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", full_disk)
    first = run(papers, out, settings=ONE)
    reasons = {f["study_id"]: f["reason"] for f in first.files}
    assert reasons[ARTICLE.stem] == f"cannot write {out}/records/{ARTICLE.stem}.json: No space left on device"
    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    again = run(papers, out, settings=ONE)   # the disk has room again
    assert [(f["status"], f["cached"]) for f in again.files] == [("ok", False), ("ok", False)]


def test_11_an_unchanged_run_on_a_read_only_output_succeeds_and_says_what_it_could_not_write(papers, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert cli("run", papers, "--out", out, "--jobs", "1").exit_code == 0

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    done = cli("run", papers, "--out", out, "--jobs", "1")
    assert done.exit_code == 0, done.output
    assert f"warning: cannot write {out}/run_report.json: Read-only file system" in done.output


# ---- 12. smaller ones -------------------------------------------------------------------------

def test_12_a_sentence_of_over_a_million_characters_is_read(tmp_path):
    paper = tmp_path / "endless.txt"
    words = "the children were followed up for years and some had pain "
    # One sentence: no full stop in 1.1 million characters, and a drug name, so spaCy must see it.
    paper.write_text("Methods\n\nFifteen children with CRMO were included. "
                     + words * 9_500 + "naproxen " + words * 9_500 + "\n")
    result = process_file(paper)
    assert (result.status, result.reason) == ("ok", None)
    assert result.record["figures"]["n_patients"]["value"] == 15


def test_12_utf16_text_is_read(tmp_path):
    paper = tmp_path / "unicode.txt"
    paper.write_bytes(ABSTRACT.read_text("utf-8").encode("utf-16"))
    result = process_file(paper)
    assert result.status == "ok" and result.record["figures"]["n_patients"]["value"] == 25


def test_12_a_valid_record_kept_because_it_changed_is_not_sent_to_validate(tmp_path, caplog):
    path = tmp_path / "x.json"
    path.write_text("{}")
    write_merged(path, MergeResult({"new": 1}, "updated", original=b"something else"))
    assert "changed on disk during the run" in caplog.text and "validate" not in caplog.text


def test_12_evidence_outside_the_text_is_an_error(ran):
    papers, out = ran   # as a first run of the papers leaves them
    path = out / "records" / f"{ABSTRACT.stem}.json"
    record = load(path)
    evidence = record["figures"]["n_patients"]["evidence"][0]
    evidence.update(start=10**7, end=10**7 + 5)
    record["figures"]["n_male"]["evidence"][0]["start"] += 1
    save(path, record)
    moved = record["figures"]["n_male"]["evidence"][0]
    messages = sorted((i.path, i.message.split(",")[0]) for i in validate_paths([path])[0] if i.severity == "error")
    assert messages == [("$.figures.n_male.evidence[0]", f"the quote is not the paper's text at {moved['start']}..{moved['end']}"),
                        ("$.figures.n_patients.evidence[0]", "evidence 10000000..10000005 is outside the paper's text (2")]


def test_12_a_pdf_cut_at_the_page_limit_says_so_in_the_run_report(tmp_path, monkeypatch):
    from pipeline.read import pdf

    from .pdf_fixtures import lines_pdf

    folder = tmp_path / "papers"
    folder.mkdir()
    lines_pdf(folder / "long.pdf", ARTICLE.read_text("utf-8").splitlines() * 2)
    monkeypatch.setattr(pdf, "DEFAULT_SETTINGS", pdf.PdfSettings(max_pages=2))
    result = run(folder, tmp_path / "out", settings=ONE)
    assert result.files[0]["status"] == "ok"
    assert result.files[0]["notes"][0].startswith("read the first 2 of ")


def test_12_a_huge_curator_note_is_not_copied_whole_into_history(ran):
    papers, out = ran   # as a first run of the papers leaves them
    path = out / "records" / f"{ARTICLE.stem}.json"
    record = load(path)
    note = "n" * 1_000_000
    record["figures"]["n_male"].update(value=9, status="curated", note=note)
    save(path, record)
    size = path.stat().st_size
    run(papers, out, settings=ONE)
    merged = load(path)
    assert merged["figures"]["n_male"]["note"] == note
    entry = merged["history"][0]
    assert len(entry["note"]) < limits().history_note_max_chars + 100 and "1,000,000 characters" in entry["note"]
    assert path.stat().st_size < size + 100_000
