"""Batch runs at scale: parallel workers, the content-hash cache, the time limit, progress output."""
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.batch import cache, runner
from pipeline.batch.runner import BatchSettings, run
from pipeline.cli import app

from .conftest import ABSTRACT, ARTICLE, distinct_copy


def make_papers(src):
    """Three copies of each seed under different names, and one unreadable file."""
    src.mkdir()
    for k in range(3):
        for seed in (ARTICLE, ABSTRACT):
            distinct_copy(seed, src / f"{seed.stem}_{k}.txt", k)
    (src / "garbage.txt").write_bytes(b"\x00\x01\x02\xff" * 100)
    return src


@pytest.fixture
def papers(tmp_path):
    """make_papers, for a test of its own to change or run as it likes."""
    return make_papers(tmp_path / "papers")


@pytest.fixture(scope="module")
def run_once(tmp_path_factory):
    """make_papers (shared by the module's tests: never change them) and the output of one run of
    them in this process."""
    papers = make_papers(tmp_path_factory.mktemp("batch") / "papers")
    out = papers.parent / "out"
    run(papers, out, settings=BatchSettings(jobs=1))
    return papers, out


@pytest.fixture
def ran(run_once, tmp_path):
    """The shared papers and a copy of the output of their first run (its cache knows them all)."""
    papers, out = run_once
    return papers, shutil.copytree(out, tmp_path / "out")


def records_without_time(out):
    records = {}
    for path in sorted((out / "records").glob("*.json")):
        record = json.loads(path.read_text())
        del record["extracted_at"]
        records[path.name] = record
    return records


def report_rows(out):
    rows = json.loads((out / "run_report.json").read_text())["files"]
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def extracted(report):
    return sorted(f["study_id"] for f in report.files if not f["cached"])


def test_jobs_1_and_jobs_2_give_the_same_outputs(run_once, tmp_path):
    papers, one = run_once   # the module's run with jobs=1, read only
    two = tmp_path / "two"
    run(papers, two, settings=BatchSettings(jobs=2))
    assert records_without_time(one) == records_without_time(two)
    assert len(records_without_time(one)) == 6
    assert report_rows(one) == report_rows(two)
    assert [r["file"] for r in report_rows(two)] == [str(p) for p in sorted(papers.iterdir())]  # input order
    for table in ("studies.csv", "outcomes.csv"):
        assert (one / table).read_text() == (two / table).read_text()


def test_unchanged_rerun_extracts_nothing_and_starts_no_worker(ran, monkeypatch):
    papers, out = ran
    first = json.loads((out / "run_report.json").read_text())
    tables = {t: (out / t).stat().st_mtime_ns for t in ("studies.csv", "outcomes.csv")}

    def no_extraction(*args):
        raise AssertionError(f"{args[0]} was extracted again")

    def no_worker(*args):
        raise AssertionError("a worker process was started")

    def no_spacy():
        raise AssertionError("spaCy was loaded")

    # What made an unchanged re-run slow: extracting, starting workers, loading spaCy.
    monkeypatch.setattr(runner, "process_file", no_extraction)
    monkeypatch.setattr(runner, "_Worker", no_worker)
    monkeypatch.setattr(runner, "prepare_process", no_spacy)
    again = run(papers, out, settings=BatchSettings(jobs=2))
    assert extracted(again) == [] and again.totals["cached"] == 7
    # The bad file is remembered as failed, with its reason, and not read again.
    assert [(f["status"], f["reason"]) for f in again.files] == [(f["status"], f["reason"]) for f in first["files"]]
    assert {t: (out / t).stat().st_mtime_ns for t in tables} == tables   # tables not rebuilt


def test_changing_one_file_extracts_only_that_file(papers, tmp_path):
    out = tmp_path / "out"
    run(papers, out, settings=BatchSettings(jobs=1))
    changed = papers / f"{ABSTRACT.stem}_1.txt"
    changed.write_text(ABSTRACT.read_text().replace("twenty-five", "twenty-six"))
    report = run(papers, out, settings=BatchSettings(jobs=1))
    assert extracted(report) == [changed.stem]
    record = json.loads((out / "records" / f"{changed.stem}.json").read_text())
    assert record["figures"]["n_patients"]["value"] == 26
    studies = (out / "studies.csv").read_text()
    assert f"{changed.stem},{changed.name}" in studies and ",26," in studies   # tables rebuilt


def test_deleted_record_is_made_again(ran):
    papers, out = ran
    (out / "records" / f"{ARTICLE.stem}_0.json").unlink()
    assert extracted(run(papers, out, settings=BatchSettings(jobs=1))) == [f"{ARTICLE.stem}_0"]


def test_force_extracts_everything(ran):
    papers, out = ran
    report = run(papers, out, settings=BatchSettings(jobs=1, force=True))
    assert len(extracted(report)) == 7


def test_changed_vocabulary_changes_the_rules_hash(tmp_path):
    copies = []
    for path in cache.rule_files():
        copy = tmp_path / path.name
        shutil.copy(path, copy)
        copies.append(copy)
    before = cache.rules_hash(copies)
    drugs = tmp_path / "drugs.json"
    data = json.loads(drugs.read_text())
    data["agents"]["newdrugumab"] = {"class": "other_biologic", "names": ["newdrugumab"]}
    drugs.write_text(json.dumps(data))
    assert cache.rules_hash(copies) != before
    assert drugs in copies and any(p.name == "study.py" for p in copies)


def test_changed_rules_invalidate_the_cache(ran, monkeypatch):
    papers, out = ran
    monkeypatch.setattr(runner, "rules_hash", lambda: "rules edited since")
    assert len(extracted(run(papers, out, settings=BatchSettings(jobs=1)))) == 7


def test_non_terminal_output_is_one_plain_line_per_paper(papers, tmp_path):
    # In this process (typer's CliRunner, where spaCy is loaded already): its stderr is a stream of
    # its own and not a terminal, as a pipe or a log file is. color=True keeps any escape code the
    # command writes, so none can hide behind click's stripping them off a non-terminal.
    args = ["run", str(papers), "--out", str(tmp_path / "out"), "--jobs", "1"]
    done = CliRunner().invoke(app, args, color=True)
    assert done.exit_code == 1 and isinstance(done.exception, SystemExit), done.output
    lines = done.stderr.splitlines()
    assert len(lines) == 7 and "\x1b" not in done.stderr
    assert all(re.fullmatch(r"\[\d/7\] \S+_\d: ok \(\d+\.\d\d s\)", line) for line in lines if "garbage" not in line)
    assert any(re.fullmatch(r"\[\d/7\] \S+garbage\.txt: failed: binary content .*", line) for line in lines)
    assert done.stdout.startswith("6 of 7 papers ok, 1 failed (0 unchanged")
    quiet = CliRunner().invoke(app, [*args, "--quiet"], color=True)
    assert quiet.exit_code == 1 and isinstance(quiet.exception, SystemExit), quiet.output
    assert [line for line in quiet.stderr.splitlines()] == [
        line + " (cached; --force retries)" for line in lines if "garbage" in line]
    assert "6 of 7 papers ok, 1 failed (7 unchanged" in quiet.stdout


def test_failing_and_overlong_papers_in_a_pool_do_not_stop_the_batch(papers, tmp_path):
    # Nine megabytes of prose (under the 10 MB input limit), in sections within spaCy's length limit:
    # well over 10 s of work on an idle machine, past a 3 s limit, which the seeds (0.3 s at most on an
    # idle machine, a fresh worker's first paper included; about 1.5 s on a busy one) stay within. No
    # outcome here depends on how fast the machine is, only on the ratio of the two. The test lasts
    # about as long as the limit (and the workers' start), so the limit is no longer than that.
    # Named to come first: the worker that takes it has the next paper queued behind it, which must
    # go to another worker when this one is killed, not be lost or failed with it.
    (papers / "0_huge.txt").write_text(("The children were treated. " * 20_000 + "\n\nResults\n\n") * 18)
    out = tmp_path / "out"
    report = run(papers, out, settings=BatchSettings(jobs=2, time_limit=3))
    status = {f["study_id"]: (f["status"], f["reason"]) for f in report.files}
    assert status["0_huge"] == ("failed", "time limit of 3 s exceeded")
    assert status["garbage"][0] == "failed"
    assert sum(s == "ok" for s, _ in status.values()) == 6
    assert len(list((out / "records").iterdir())) == 6
    # Not remembered as failed: the next run (perhaps with a longer limit) tries it again.
    index = json.loads((out / ".cache" / "index.json").read_text())["files"]
    assert sorted(Path(k).stem for k in index) == sorted(p.stem for p in papers.iterdir() if p.stem != "0_huge")


def test_settings_reject_unknown_keys_and_bad_values():
    with pytest.raises(TypeError, match="jbos"):
        BatchSettings(jbos=2)
    with pytest.raises(ValueError, match="jobs"):
        BatchSettings(jobs=0)
    with pytest.raises(ValueError, match="time_limit"):
        BatchSettings(time_limit=0)


def test_a_curators_edit_makes_an_unchanged_paper_merge_again(ran):
    """The cache must not hide a hand edit from the curation merge (history, suggestions, validation)."""
    papers, out = ran
    path = out / "records" / f"{ARTICLE.stem}_0.json"
    record = json.loads(path.read_text())
    record["figures"]["n_male"].update(value=9, status="curated")
    path.write_text(json.dumps(record))
    again = run(papers, out, settings=BatchSettings(jobs=1))
    assert extracted(again) == [f"{ARTICLE.stem}_0"]
    assert json.loads(path.read_text())["history"][0]["new"] == 9


def test_tables_validate_again_a_record_edited_after_the_run(ran):
    """The tables skip validating records still as the run wrote them; an edit must end that trust."""
    from pipeline.tables.build import write_tables

    papers, out = ran
    stamps = cache.Cache(out, cache.rules_hash()).record_stamps()
    assert len(stamps) == 6
    path = out / "records" / f"{ARTICLE.stem}_0.json"
    record = json.loads(path.read_text())
    record["figures"]["n_male"]["value"] = "eight"
    path.write_text(json.dumps(record))
    skipped = []
    studies, _ = write_tables(out, skipped, trusted=stamps)
    assert [(p.name, reason.split(":")[0]) for p, reason in skipped] == [(path.name, "fails the schema")]
    # Its study keeps the row of its last valid version, marked.
    issues = dict(zip(studies.study_id, studies.record_issue))
    assert issues.pop(path.stem).startswith("fails the schema: $.figures.n_male.value")
    assert len(issues) == 5 and all(pd.isna(v) for v in issues.values())
