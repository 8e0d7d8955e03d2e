"""End to end: a folder of papers in, validated records, tables and a run report out."""
import json
import shutil
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.batch.runner import BatchSettings, run
from pipeline.cli import app
from pipeline.record.validate import record_issues

from .conftest import ABSTRACT, ARTICLE, CORPUS


def fig(record, name):
    return record["figures"][name]["value"]


def test_article_cohort_size_and_sex(seed_records):
    rec = seed_records[ARTICLE.stem]
    assert (fig(rec, "n_patients"), fig(rec, "n_male"), fig(rec, "n_female")) == (15, 8, 7)
    quotes = [e["quote"] for e in rec["figures"]["n_male"]["evidence"]]
    assert "8M/7F" in quotes


def test_abstract_cohort_size_and_sex_from_number_words(seed_records):
    rec = seed_records[ABSTRACT.stem]
    assert (fig(rec, "n_patients"), fig(rec, "n_male"), fig(rec, "n_female")) == (25, 9, 16)
    # "twenty-five chil-\ndren ... were diagnosed": the quote is the paper's own text, hyphen and all.
    quote = rec["figures"]["n_patients"]["evidence"][0]["quote"]
    assert quote.startswith("twenty-five chil-\ndren")


@pytest.mark.parametrize("seed", [ARTICLE, ABSTRACT])
def test_every_quote_stands_at_its_offsets_in_the_source(seed, seed_records):
    text = seed.read_text("utf-8")
    rec = seed_records[seed.stem]
    evidence = [e for f in rec["figures"].values() for e in f["evidence"]]
    evidence += [e for o in rec["outcomes"] for k in ("n_responded", "n_treated") if o[k] for e in o[k]["evidence"]]
    assert evidence
    for e in evidence:
        assert text[e["start"]:e["end"]] == e["quote"]
        assert e["page"] is None


@pytest.mark.parametrize("seed", [ARTICLE, ABSTRACT])
def test_seed_records_are_valid_against_the_schema(seed, seed_records):
    assert record_issues(seed_records[seed.stem]) == []


def test_invalid_record_is_reported_with_path_and_message(seed_records):
    rec = json.loads(json.dumps(seed_records[ARTICLE.stem]))
    rec["figures"]["n_male"]["value"] = "eight"
    issues = record_issues(rec)
    assert [(i.path, i.message) for i in issues] == [("$.figures.n_male.value", "n_male: expected an integer, got 'eight'")]


def make_batch(tmp_path):
    src = tmp_path / "papers"
    src.mkdir()
    for seed in (ARTICLE, ABSTRACT):
        shutil.copy(seed, src)
    (src / "garbage.txt").write_bytes(b"\x00\x01\x02\xff" * 100)
    (src / "empty.pdf").write_bytes(b"")
    (src / "notapdf.pdf").write_text("this is not a PDF at all")
    (src / "blank.txt").write_text("   \n\n  ")
    return src


def test_garbage_files_fail_alone_and_the_batch_goes_on(tmp_path):
    src = make_batch(tmp_path)
    out = tmp_path / "out"
    report = run(src, out, settings=BatchSettings(jobs=1))   # in a pool: tests/test_batch.py
    status = {f["study_id"]: (f["status"], f["reason"]) for f in report.files}
    assert status[ARTICLE.stem] == ("ok", None)
    assert status[ABSTRACT.stem] == ("ok", None)
    assert status["garbage"][0] == "failed" and "binary" in status["garbage"][1]
    assert status["empty"] == ("failed", "empty file")
    assert status["notapdf"][0] == "failed"
    assert status["blank"][0] == "failed"
    assert sorted(p.name for p in (out / "records").iterdir()) == [f"{ARTICLE.stem}.json", f"{ABSTRACT.stem}.json"]
    saved = json.loads((out / "run_report.json").read_text())
    assert saved["totals"] == {**saved["totals"], "papers": 6, "ok": 2, "failed": 4}
    studies = pd.read_csv(out / "studies.csv")
    assert studies.set_index("study_id").loc[ABSTRACT.stem, "n_patients"] == 25


def crmo_extract(capfd, monkeypatch, *args):
    """`crmo-extract ARGS` in this process through the console script's own entry point
    (pipeline.cli.main, which turns an error into one line, never a traceback, as
    `python -m pipeline.cli` does): its exit status, stdout and stderr (file descriptors, so a
    worker's output is caught as well)."""
    from pipeline.cli import main

    monkeypatch.setattr(sys, "argv", ["crmo-extract", *map(str, args)])
    capfd.readouterr()
    with pytest.raises(SystemExit) as ended:
        main()
    out, err = capfd.readouterr()
    return ended.value.code, out, err


def test_cli_exit_status_and_one_line_errors(tmp_path, capfd, monkeypatch):
    src = make_batch(tmp_path)
    out = tmp_path / "out"
    # The default --jobs: a pool of worker processes.
    code, _, stderr = crmo_extract(capfd, monkeypatch, "run", src, "--out", out)
    assert code == 1
    errors = [line for line in stderr.splitlines() if "failed:" in line]
    assert len(errors) == 4 and all("Traceback" not in line for line in stderr.splitlines())
    assert any(line.endswith("garbage.txt: failed: binary content in a .txt file: give the paper's text, or rename a PDF to .pdf") for line in errors)
    # A clean batch exits 0: in this process (typer's CliRunner), where spaCy is loaded already.
    ok = CliRunner().invoke(app, ["run", str(CORPUS), "--out", str(tmp_path / "ok"), "--jobs", "1"])
    assert ok.exit_code == 0, ok.output
    code, _, stderr = crmo_extract(capfd, monkeypatch, "run", tmp_path / "missing")
    assert code == 2 and stderr.strip().startswith("error: input folder not found")


def test_outputs_are_the_contract(seed_run):
    out = seed_run   # read, not changed
    studies = pd.read_csv(out / "studies.csv")
    assert list(studies.columns[:5]) == ["study_id", "source_file", "n_patients", "n_male", "n_female"]
    assert "n_conflicts" in studies.columns
    outcomes = pd.read_csv(out / "outcomes.csv")
    assert list(outcomes.columns[:10]) == ["study_id", "drug", "agent", "outcome", "n_responded", "n_treated",
                                           "proportion", "ci_low", "ci_high", "status"]
    record = json.loads((out / "records" / f"{ARTICLE.stem}.json").read_text())
    schema_path = (out / "records" / record["$schema"]).resolve()
    assert schema_path.name == "record.schema.json" and schema_path.exists()


@pytest.mark.parametrize("break_it", [
    lambda r: r["figures"]["n_male"].update(value="eight"),
    lambda r: r["figures"]["n_male"].update(status="guessed"),
    lambda r: r["figures"].update(site_femur={"value": 3}),
    lambda r: r["figures"].update(n_mael=r["figures"]["n_male"]),
    lambda r: r["outcomes"][0].update(drug="aspirin"),
    lambda r: r["outcomes"][0]["n_treated"]["evidence"][0].update(page=0),
    lambda r: r["figures"]["n_male"]["evidence"][0].update(quote=None),
    lambda r: r["figures"]["n_male"]["evidence"][0].update(line=3),
    lambda r: r["figures"]["age_onset_unit"].update(value="weeks"),
    lambda r: r.pop("history"),
])
def test_fast_schema_check_and_jsonschema_agree_on_broken_records(break_it, seed_records):
    """The compiled fast path may only say 'valid' where jsonschema finds nothing either."""
    from fastjsonschema import JsonSchemaValueException

    from pipeline.record.validate import _fast_check, validator

    rec = json.loads(json.dumps(seed_records[ARTICLE.stem]))
    break_it(rec)
    assert list(validator().iter_errors(rec))
    assert record_issues(rec)
    with pytest.raises(JsonSchemaValueException, match=r"^data\b"):
        _fast_check()(rec)


def test_schema_names_the_fields_and_classes_the_code_uses():
    """The schema file, the field list and the drug vocabulary are kept apart; they must not drift."""
    from pipeline.core.fields import COUNT, NUMBER, OUTCOMES, STUDY_FIELDS, kind
    from pipeline.core.vocab import drug_classes
    from pipeline.record.validate import SCHEMA_PATH

    schema = json.loads(SCHEMA_PATH.read_text())
    figures = schema["properties"]["figures"]["properties"]
    assert set(figures) == set(STUDY_FIELDS)
    for name, prop in figures.items():
        assert prop["$ref"] == f"#/$defs/{kind(name)}_figure"
    assert kind("site_femur") == COUNT and kind("mean_lesions_per_patient") == NUMBER
    outcome = schema["properties"]["outcomes"]["items"]["properties"]
    assert tuple(outcome["drug"]["enum"]) == drug_classes()
    assert outcome["outcome"]["enum"] == [*OUTCOMES, None]
