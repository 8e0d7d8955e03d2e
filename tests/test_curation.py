"""Curation: a curator's corrections are validated, kept across re-runs, audited and measured.

Every test works in tmp_path on a copy of one run of the seed papers (conftest.seed_run), and
re-runs in this process (jobs=1): the worker pool is tests/test_batch.py's. corpus/ is never written.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.batch.runner import BatchSettings, run
from pipeline.cli import app
from pipeline.evaluate import evaluate_dir
from pipeline.record import store
from pipeline.record.curate import merge_records, record_to_gold
from pipeline.record.validate import SCHEMA_PATH, record_issues

from .conftest import ABSTRACT, ARTICLE, ROOT, distinct_copy

STUDY = ARTICLE.stem  # n_patients 15, n_male 8, n_female 7


@pytest.fixture
def papers(seed_papers):
    """The seed papers (shared by the session: read, never changed)."""
    return seed_papers


@pytest.fixture
def out(tmp_path, seed_run):
    """An output folder after a first run of `papers`, ready for a curator (a copy of seed_run)."""
    return shutil.copytree(seed_run, tmp_path / "out")


def rerun(papers, out):
    """Run again in this process: only papers changed since (or records a curator edited) are
    extracted again."""
    return run(papers, out, settings=BatchSettings(jobs=1))


def record_path(out, study=STUDY):
    return out / "records" / f"{study}.json"


def load(out, study=STUDY):
    return json.loads(record_path(out, study).read_text("utf-8"))


def edit(out, change, study=STUDY):
    """Edit a record as a curator would: load, change, save (2-space JSON, like the pipeline)."""
    record = load(out, study)
    change(record)
    record_path(out, study).write_text(json.dumps(record, indent=2) + "\n", "utf-8")


def curate(figure, value, **extra):
    figure.update(value=value, status="curated", **extra)


def curator_figure(value):
    return {"value": value, "evidence": [], "rule": "curator", "status": "curated"}


def file_entry(out, study=STUDY):
    report = json.loads((out / "run_report.json").read_text("utf-8"))
    return next(f for f in report["files"] if f["study_id"] == study)


def studies_row(out, study=STUDY):
    frame = pd.read_csv(out / "studies.csv")
    return frame[frame.study_id == study].iloc[0]


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def mtime_ns(path):
    """The file's mtime, None while it is missing: a record being replaced is moved aside for a
    moment (store.replace_if_unchanged)."""
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def position_of(text, needle):
    """1-based line and column of the first character of `needle` in `text`."""
    offset = text.index(needle)
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


# ---- schema ---------------------------------------------------------------------------------

def test_every_schema_field_has_a_title_and_description():
    schema = json.loads(SCHEMA_PATH.read_text("utf-8"))
    missing = []

    def walk(node, where):
        if isinstance(node, dict):
            for key in ("properties", "patternProperties"):
                for name, sub in node.get(key, {}).items():
                    if not (sub.get("title") and sub.get("description")):
                        missing.append(f"{where}/{name}")
            for key, sub in node.items():
                if key != "if":  # the condition's status enum is not a field
                    walk(sub, f"{where}/{key}")
        elif isinstance(node, list):
            for sub in node:
                walk(sub, where)

    walk(schema, "")
    assert missing == []


def test_a_figure_a_curator_adds_needs_no_confidence(out):
    record = load(out)
    record["figures"]["n_unifocal"] = curator_figure(0)
    record["outcomes"].append({"drug": "nsaid", "agent": "naproxen", "outcome": "clinical",
                               "n_responded": curator_figure(5), "n_treated": curator_figure(12)})
    assert record_issues(record) == []
    record["figures"]["n_unifocal"]["status"] = "extracted"  # a machine figure must say how sure it is
    assert [i.message for i in record_issues(record)] == ["n_unifocal: missing required key 'confidence'"]


# ---- re-running keeps the curator's work ----------------------------------------------------

def test_edit_then_rerun_keeps_the_edit_and_the_tables_show_it(papers, out):
    def correct(record):
        curate(record["figures"]["n_male"], 9, curator="ab", note="Table 1 says 9")
        curate(record["figures"]["n_female"], 6)
        record["figures"]["n_unifocal"] = curator_figure(0)
        # A row the pipeline did not extract from this paper.
        record["outcomes"].append({"drug": "corticosteroid", "agent": "prednisolone", "outcome": "clinical",
                                   "n_responded": curator_figure(5), "n_treated": curator_figure(12)})
    edit(out, correct)
    report = rerun(papers, out)
    assert [f["study_id"] for f in report.files if not f["cached"]] == [STUDY]   # the edited one only

    figures = load(out)["figures"]
    assert (figures["n_male"]["value"], figures["n_male"]["status"], figures["n_male"]["curator"]) == (9, "curated", "ab")
    assert (figures["n_female"]["value"], figures["n_unifocal"]["value"]) == (6, 0)
    row = studies_row(out)
    assert (row.n_male, row.n_female, row.n_unifocal) == (9, 6, 0)
    outcomes = pd.read_csv(out / "outcomes.csv")
    added = outcomes[(outcomes.study_id == STUDY) & (outcomes.drug == "corticosteroid")]
    assert len(added) == 1
    row = added.iloc[0]
    assert (row.agent, row.n_responded, row.n_treated, row.status) == ("prednisolone", 5, 12, "curated")


def test_rejected_figure_stays_rejected_and_out_of_the_tables(papers, out):
    assert studies_row(out).n_female == 7
    edit(out, lambda r: r["figures"]["n_female"].update(status="rejected"))
    rerun(papers, out)
    assert load(out)["figures"]["n_female"]["status"] == "rejected"
    assert pd.isna(studies_row(out).n_female)


def test_merge_rebuilds_the_tables_with_curated_values_first(out):
    def correct(record):
        curate(record["figures"]["n_male"], 9)
        record["figures"]["n_patients"]["confidence"] = 0.1  # a candidate: not in the tables ...
        curate(record["figures"]["n_patients"], 16)           # ... until a curator confirms it
        record["figures"]["n_female"]["status"] = "rejected"
    edit(out, correct)
    result = cli("merge", "--out", out)
    assert result.exit_code == 0, result.output
    row = studies_row(out)
    assert (row.n_patients, row.n_male) == (16, 9) and pd.isna(row.n_female)


def test_merge_names_a_broken_record_and_keeps_its_last_valid_rows_marked(out):
    path = record_path(out)
    path.write_text(path.read_text("utf-8").replace('"value": 8,', '"value": "eight",', 1), "utf-8")
    result = cli("merge", "--out", out)
    assert result.exit_code == 3
    assert f"{path}: left out of the tables: fails the schema: $.figures.n_male.value" in result.output
    row = studies_row(out)
    assert row.n_male == 8 and row.record_issue.startswith("fails the schema: $.figures.n_male.value")


def test_machine_disagreement_becomes_a_suggestion_in_the_run_report(papers, out):
    edit(out, lambda r: curate(r["figures"]["n_male"], 9))
    rerun(papers, out)
    n_male = load(out)["figures"]["n_male"]
    assert (n_male["value"], n_male["suggestion"]["value"], n_male["suggestion"]["status"]) == (9, 8, "extracted")
    assert n_male["suggestion"]["evidence"]  # the machine's quotes, to check against the paper
    entry = file_entry(out)
    assert entry["record"] == "updated"
    assert entry["curation"] == [{"field": "n_male", "status": "curated", "curated": 9, "machine": 8}]

    # The curator agrees with the machine after all: the suggestion goes away.
    edit(out, lambda r: r["figures"]["n_male"].update(value=8))
    rerun(papers, out)
    assert "suggestion" not in load(out)["figures"]["n_male"]
    assert "curation" not in file_entry(out)


def test_history_grows_on_each_change_of_a_curated_value(papers, out):
    edit(out, lambda r: curate(r["figures"]["n_male"], 9, curator="ab", note="Table 1"))
    rerun(papers, out)
    history = load(out)["history"]
    assert [(h["field"], h["old"], h["new"], h["status"], h["who"], h["note"]) for h in history] == [
        ("n_male", 8, 9, "curated", "ab", "Table 1")]
    assert history[0]["when"]

    rerun(papers, out)  # nothing changed: nothing added
    assert len(load(out)["history"]) == 1

    edit(out, lambda r: r["figures"]["n_male"].update(value=10, curator="cd", note="Results say 10"))
    edit(out, lambda r: r["figures"]["n_female"].update(status="rejected"))
    rerun(papers, out)
    history = load(out)["history"]
    assert [(h["field"], h["old"], h["new"], h["status"], h["who"]) for h in history] == [
        ("n_male", 8, 9, "curated", "ab"), ("n_male", 9, 10, "curated", "cd"), ("n_female", 7, 7, "rejected", None)]
    assert file_entry(out)["history_added"] == ["n_male", "n_female"]


def test_merge_records_keeps_human_outcome_figures_keyed_by_drug_and_outcome(out):
    existing = load(out)
    new = json.loads(json.dumps(existing))
    existing["outcomes"] = [{"drug": "nsaid", "agent": "naproxen", "outcome": "clinical",
                             "n_responded": curator_figure(5), "n_treated": None}]
    machine = {"value": 6, "evidence": [], "rule": "response", "confidence": 0.9, "status": "extracted"}
    new["outcomes"] = [{"drug": "nsaid", "agent": None, "outcome": "clinical",
                        "n_responded": dict(machine), "n_treated": dict(machine, value=12)}]
    merged = merge_records(existing, new, "2026-01-01T00:00:00+00:00")
    row = merged.record["outcomes"][0]
    assert (row["agent"], row["n_responded"]["value"], row["n_responded"]["suggestion"]["value"]) == ("naproxen", 5, 6)
    assert row["n_treated"]["value"] == 12  # the machine's figure where the curator set none
    assert merged.curation == [{"field": "outcomes.nsaid.clinical.n_responded", "status": "curated",
                                "curated": 5, "machine": 6}]
    assert record_issues(merged.record) == []


# ---- invalid edits: a clear error, and the file left alone ----------------------------------

def test_invalid_value_gets_a_clear_error_and_run_leaves_the_file_untouched(papers, out):
    path = record_path(out)
    text = path.read_text("utf-8").replace('"value": 8,', '"value": "eight",', 1)
    path.write_text(text, "utf-8")
    line, col = position_of(text, '"eight"')

    result = cli("validate", path)
    assert result.exit_code == 1
    assert f"{path}:{line}:{col}: $.figures.n_male.value: n_male: expected an integer, got 'eight'" in result.output

    before = path.read_bytes()
    result = cli("run", papers, "--out", out, "--quiet", "--jobs", "1")
    assert result.exit_code == 3, result.output  # extraction succeeded; a record was kept invalid
    assert path.read_bytes() == before
    entry = file_entry(out)
    assert (entry["status"], entry["record"]) == ("ok", "kept")
    assert "n_male: expected an integer, got 'eight'" in entry["kept_reason"]


def test_broken_json_gets_line_and_column_and_run_leaves_the_file_untouched(papers, out):
    path = record_path(out)
    text = path.read_text("utf-8")
    broken = re.sub(r'("confidence": [0-9.]+),', r"\1", text, count=1)  # a comma deleted
    path.write_bytes(broken.encode("utf-8"))

    result = cli("validate", path)
    assert result.exit_code == 1
    message = next(line for line in result.output.splitlines() if line.startswith(str(path)))
    where, _, rest = message.partition(": $: ")
    assert rest.startswith("not valid JSON: Expecting ',' delimiter")
    line, col = map(int, where.rsplit(":", 2)[1:])
    assert broken.splitlines()[line - 1][col - 1:].lstrip().startswith('"')  # the key after the missing comma

    rerun(papers, out)
    assert path.read_bytes() == broken.encode("utf-8")
    assert file_entry(out)["kept_reason"].startswith(f"not valid JSON: Expecting ',' delimiter at line {line}")


def test_validate_checks_the_arithmetic_of_curated_figures(out):
    path = record_path(out)
    edit(out, lambda r: curate(r["figures"]["n_male"], 9))
    text = path.read_text("utf-8")
    line = text[:text.index('"value": 9')].count("\n") + 1

    result = cli("validate", path)
    assert result.exit_code == 1
    assert (f"{path}:{line}:16: $.figures.n_male.value: male + female does not add up to the cohort: "
            "n_male + n_female = 9 + 7 = 16; n_patients = 15") in result.output

    # The paper's own figures disagree: a curator's note turns the error into a warning.
    edit(out, lambda r: r["figures"]["n_male"].update(note="the paper says 9 boys and 7 girls of 15"))
    result = cli("validate", path)
    assert result.exit_code == 0
    assert "warning: male + female does not add up" in result.output


def test_validate_reports_a_file_that_is_not_a_record(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[]\n")
    result = cli("validate", path)
    assert result.exit_code == 1
    assert f"{path}:1:1: $: expected an object, got []" in result.output


def test_validate_checks_curated_responders_within_treated(out):
    def add_row(record):
        record["outcomes"].append({"drug": "corticosteroid", "agent": None, "outcome": "clinical",
                                   "n_responded": curator_figure(13), "n_treated": curator_figure(12)})
    edit(out, add_row)
    result = cli("validate", record_path(out))
    assert result.exit_code == 1
    assert ".n_responded.value: more responders than treated: corticosteroid/clinical: 13 responded of 12 treated" in result.output


# ---- dual extraction and evaluation ---------------------------------------------------------

def test_compare_finds_a_planted_disagreement_and_its_csv_has_it(tmp_path, out):
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(out / "records", a)
    shutil.copytree(out / "records", b)
    assert cli("compare", a, b).exit_code == 0

    record = json.loads((b / f"{STUDY}.json").read_text("utf-8"))
    curate(record["figures"]["n_male"], 9)
    record["outcomes"].append({"drug": "nsaid", "agent": None, "outcome": "mri",
                               "n_responded": curator_figure(3), "n_treated": curator_figure(4)})
    (b / f"{STUDY}.json").write_text(json.dumps(record, indent=2), "utf-8")
    csv = tmp_path / "disagreements.csv"
    result = cli("compare", a, b, "--csv", csv)
    assert result.exit_code == 1
    assert "n_male" in result.output
    rows = pd.read_csv(csv, dtype=str, keep_default_na=False).to_dict("records")
    assert {"study_id": STUDY, "field": "n_male", "value_a": "8", "value_b": "9",
            "status_a": "extracted", "status_b": "curated"} in rows
    assert {r["field"] for r in rows} >= {"outcomes.nsaid.mri.n_responded", "outcomes.nsaid.mri.n_treated"}


def test_record_to_gold_uses_the_values_the_tables_use(out):
    def correct(record):
        curate(record["figures"]["n_male"], 9)
        record["figures"]["n_female"]["status"] = "rejected"
        record["figures"]["site_femur"] = curator_figure(3)
        record["outcomes"].append({"drug": "bisphosphonate", "agent": "pamidronate", "outcome": "mri",
                                   "n_responded": curator_figure(3), "n_treated": curator_figure(4)})
    edit(out, correct)
    gold = record_to_gold(load(out))
    assert (gold["n_patients"], gold["n_male"], gold["n_female"]) == (15, 9, None)
    assert gold["sites"]["femur"] == 3
    assert {"drug": "bisphosphonate", "n_treated": 4, "n_responded": 3, "outcome": "mri", "notes": None} in gold["treatments"]
    assert gold["age_onset"] == {"stat": "median", "value": 9.0, "min": 0.6, "max": 15.0, "unit": "years"}


def test_evaluate_scores_machine_records_against_curated_records(tmp_path, out):
    gold = tmp_path / "curated"
    shutil.copytree(out / "records", gold)
    record = json.loads((gold / f"{STUDY}.json").read_text("utf-8"))
    curate(record["figures"]["n_male"], 9, note="planted")
    (gold / f"{STUDY}.json").write_text(json.dumps(record, indent=2), "utf-8")
    ev = evaluate_dir(gold, out / "records")
    assert {"study": STUDY, "field": "n_male", "gold": 9, "predicted": 8} in ev.misses
    assert len(ev.misses) == 1


# ---- an interrupted run ---------------------------------------------------------------------

def test_run_killed_midway_leaves_every_file_whole(tmp_path, out):
    papers = tmp_path / "many"
    papers.mkdir()
    # 24 papers: the run is killed a moment after its first record, with seconds of work left.
    for i in range(12):
        for seed in (ARTICLE, ABSTRACT):
            distinct_copy(seed, papers / f"{i:02d}_{seed.name}", i)
    target = tmp_path / "killed"
    run(papers, target, settings=BatchSettings(jobs=1))  # the old files the killed run overwrites
    first = {p: p.stat().st_mtime_ns for p in (target / "records").glob("*.json")}

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # --force: unchanged papers would otherwise not be extracted again (the cache).
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "run", str(papers), "--out", str(target), "-q",
                             "--force", "--jobs", "1"],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    # Kill as soon as the new run has rewritten a record: it is then midway through the batch.
    while time.monotonic() < deadline and proc.poll() is None:
        if any(mtime_ns(p) != m for p, m in first.items()):
            break
        time.sleep(0.01)
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"

    for path in target.rglob("*.json"):
        json.loads(path.read_text("utf-8"))  # old or new, never partial
    for path in target.glob("*.csv"):
        pd.read_csv(path)
    # A temporary file may remain from a write cut short; it is named .<file>.<random>.tmp and
    # nothing reads it (records are *.json); a record the kill caught set aside, .<file>.<random>.aside,
    # is put back by the next run. .lock is the output folder's lock.
    assert all(p.name == ".lock" or p.name.startswith(".") and p.suffix in (".tmp", ".aside")
               for p in target.rglob("*") if p.is_file() and p.suffix not in (".json", ".csv"))


def test_only_a_record_holding_a_curators_work_is_flushed_to_disk(papers, tmp_path, monkeypatch):
    """Flushing every machine-made record cost about 10 % of a --jobs 2 run; a machine record damaged
    by a power cut is made again, a curator's work could not be."""
    durable = {}
    fill_temporary = store._filled_temporary

    def spy(path, fill, durable_):
        durable[path.name] = durable_
        return fill_temporary(path, fill, durable_)

    monkeypatch.setattr(store, "_filled_temporary", spy)
    out = tmp_path / "out"
    run(papers, out, settings=BatchSettings(jobs=1))
    assert durable[f"{STUDY}.json"] is False and durable[f"{ABSTRACT.stem}.json"] is False
    assert durable["run_report.json"] is True and durable["index.json"] is True
    edit(out, lambda r: curate(r["figures"]["n_male"], 9))
    run(papers, out, settings=BatchSettings(jobs=1))
    assert durable[f"{STUDY}.json"] is True
    assert load(out)["figures"]["n_male"]["value"] == 9
