"""Plausibility bounds (pipeline/data/plausibility.json): figures no reviewer would accept wait for a
curator, whatever rule produced them, and no non-finite number is ever written as JSON."""
from __future__ import annotations

import json
import math
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.batch.runner import BatchSettings, process_file, run
from pipeline.cli import app
from pipeline.core.model import Evidence, Figure, OutcomeRow
from pipeline.record.build import build_record
from pipeline.record.checks import Plausibility, bound_checks, plausibility, run_checks
from pipeline.record.store import atomic_write_json
from pipeline.record.validate import record_issues, validate_paths
from pipeline.tables.build import build_tables

from .conftest import ABSTRACT, ARTICLE

NOT_CRMO = ("COVID-19 vaccination and treatment in vulnerable populations\n\n"
            "Results\nTwo patients were included. The mean follow-up time for all participants was 70.8 years.\n")
CRMO = ("Results\nThere were 15 CRMO patients (8M/7F). The mean follow-up time was 70.8 years. "
        "The median age at diagnosis was 99999999999999999999 years.\n")


def _failed(record_or_checks) -> dict[str, list[str]]:
    checks = record_or_checks["checks"] if isinstance(record_or_checks, dict) else record_or_checks
    out: dict[str, list[str]] = {}
    for c in checks:
        if not c["ok"]:
            out.setdefault(c["check"], []).extend(c["fields"])
    return out


def test_implausible_figures_of_papers_stay_as_candidates_out_of_the_tables(tmp_path):
    """The Why's inputs: a follow-up of 70.8 years and n_patients 2 from a paper that is not about
    CRMO; an age of 99999999999999999999 years."""
    (tmp_path / "not_crmo.txt").write_text(NOT_CRMO)
    (tmp_path / "crmo.txt").write_text(CRMO)
    other = process_file(tmp_path / "not_crmo.txt").record
    ours = process_file(tmp_path / "crmo.txt").record
    assert record_issues(other) == [] and record_issues(ours) == []   # a valid record, not a failed paper

    figures = other["figures"]
    assert (figures["n_patients"]["value"], figures["followup_value"]["value"]) == (2, 70.8)
    assert all(fig["confidence"] < 0.5 for fig in figures.values())
    failed = _failed(other)
    assert "n_patients" in failed["names_disease"] and failed["within_bounds"] == ["followup_value"]

    figures = ours["figures"]
    assert figures["followup_value"]["value"] == 70.8 and figures["followup_value"]["confidence"] < 0.5
    assert figures["n_patients"]["confidence"] >= 0.5
    # The rules may not read the age at all; if one does, it waits for the curator too.
    age = figures.get("age_diagnosis_value")
    assert age is None or (age["confidence"] < 0.5 and "age_diagnosis_value" in _failed(ours)["within_bounds"])
    assert "followup_value" in _failed(ours)["within_bounds"]
    message = next(c["message"] for c in ours["checks"] if c["check"] == "within_bounds" and "followup" in c["message"])
    assert message.startswith("followup_value: 70.8 years is not at most 50 years")

    studies, _ = build_tables([other, ours])
    assert studies["n_patients"].tolist()[0] is not None and studies["n_patients"].isna().tolist() == [True, False]
    assert studies.loc[1, "n_patients"] == 15
    assert studies[["followup_value", "age_diagnosis_value"]].isna().all().all()


def _fig(value, confidence=0.9, rule="any_rule"):
    return Figure(value, [Evidence("stated", "results", 0, 6, None)], rule, confidence)


def test_bounds_act_on_the_figures_whatever_rule_made_them():
    figures = {
        "n_patients": _fig(15), "n_male": _fig(18), "n_female": _fig(7),
        "diagnostic_delay_stat": _fig("median"), "diagnostic_delay_value": _fig(-24),
        "diagnostic_delay_unit": _fig("months"),
        "age_diagnosis_stat": _fig("median"), "age_diagnosis_value": _fig(9.0), "age_diagnosis_max": _fig(15),
        "age_diagnosis_unit": _fig("years"),
        "age_onset_max": _fig(16), "age_onset_unit": _fig("years"),
        "followup_stat": _fig("mean"), "followup_value": _fig(math.inf), "followup_unit": _fig("years"),
        "mean_lesions_per_patient": _fig(0.4), "site_femur": _fig(7),
    }
    figures["n_female"].alternatives = [{"value": math.nan, "evidence": []}]
    outcomes = [OutcomeRow("nsaid", None, "clinical", _fig(3), _fig(-5))]
    checks = run_checks(figures, outcomes, [("site_femur", 7, 140.0)], text="CRMO in children")
    failed = _failed(checks)
    assert failed["not_negative"] == ["diagnostic_delay_value", "outcomes.nsaid.clinical.n_treated"]
    assert failed["exact_number"] == ["followup_value"]
    assert failed["count_within_cohort"] == ["n_male"]
    assert failed["within_bounds"] == ["mean_lesions_per_patient"]
    assert failed["not_above"] == ["age_onset_max"]            # 16 years at onset, 15 at diagnosis
    assert failed["percent_at_most_100"] == ["site_femur"]
    low = {name for name, fig in figures.items() if fig.confidence < 0.5}
    assert low == {"diagnostic_delay_value", "followup_value", "n_male", "mean_lesions_per_patient",
                   "age_onset_max", "site_femur"}
    # -5 treated is out of bounds; 3 responders of it fails the arithmetic too, which only lowers.
    assert outcomes[0].n_treated.confidence < 0.5 and outcomes[0].n_responded.confidence == pytest.approx(0.65)
    assert figures["diagnostic_delay_value"].value == -24          # kept, with its check
    # JSON has no Infinity or NaN: the value goes, its evidence and the check's message stay.
    assert figures["followup_value"].value is None and figures["n_female"].alternatives[0]["value"] is None
    assert "inf" in next(c["message"] for c in checks if c["check"] == "exact_number")

    record = build_record("s", "s.txt", figures, outcomes, checks)
    json.dumps(record, allow_nan=False)
    assert record_issues(record) == []
    studies, outcome_table = build_tables([record])
    assert studies[["n_male", "diagnostic_delay_value", "followup_value"]].isna().all().all()
    assert "site_femur" not in studies.columns   # no bone column for a figure the tables leave out
    assert studies.loc[0, "n_female"] == 7 and outcome_table.loc[0, "n_treated"] is pd.NA


def test_the_bounds_are_data():
    bounds = plausibility()
    assert bounds.ranges["followup"].max == 50 and bounds.low_confidence < 0.5
    values = {"followup_value": 30, "followup_unit": "years"}
    assert bound_checks(values, bounds=bounds) == []
    stricter = Plausibility.from_dict({**json.loads(json.dumps(bounds, default=vars)),
                                       "ranges": {"followup": {"max": 20, "unit": "years"}}})
    assert [c["check"] for c in bound_checks(values, bounds=stricter)] == ["within_bounds"]
    # Stated in months, the same bound reads 600: 70 months is a plausible follow-up.
    assert bound_checks({"followup_value": 70, "followup_unit": "months"}, bounds=bounds) == []
    # "n = 1e308", however a rule reads it: not a cohort, and not an integer JSON keeps exactly.
    for value in (1e308, int(1e308)):
        assert [c["check"] for c in bound_checks({"n_patients": value})] == ["exact_number", "within_bounds"]
    with pytest.raises(ValueError, match="'low_confidense'"):
        Plausibility.from_dict({"low_confidense": 0.1})
    with pytest.raises(ValueError, match="'maximum'"):
        Plausibility.from_dict({"ranges": {"followup": {"maximum": 3}}})


@pytest.fixture
def records(tmp_path, seed_records):
    folder = tmp_path / "records"
    folder.mkdir()
    for study, record in seed_records.items():
        (folder / f"{study}.json").write_text(json.dumps(record, indent=2), "utf-8")
    return folder


def _edit(path, change):
    record = json.loads(path.read_text("utf-8"))
    change(record["figures"])
    path.write_text(json.dumps(record, indent=2), "utf-8")


def test_validate_refuses_a_curated_infinity_and_a_negative_count_with_their_paths(records):
    path = records / f"{ARTICLE.stem}.json"
    _edit(path, lambda f: f["n_male"].update(value=math.inf, status="curated"))
    text = path.read_text("utf-8")
    assert '"value": Infinity' in text   # what a curator's typo (or another tool) leaves
    issues, _ = validate_paths([path])
    line = text[:text.index("Infinity")].count("\n") + 1
    [issue] = [i for i in issues if i.severity == "error"]
    assert (issue.path, issue.line) == ("$.figures.n_male.value", line)
    assert "not a finite number" in issue.message

    # Negative: an error even with a note (no paper has -3 boys).
    _edit(path, lambda f: f["n_male"].update(value=-3, note="as printed"))
    [issue] = [i for i in validate_paths([path])[0] if i.severity == "error"]
    assert issue.path == "$.figures.n_male.value" and "-3 is negative" in issue.message

    # An age out of range is a range bound: an error, a warning once the curator notes why.
    _edit(path, lambda f: (f["n_male"].update(value=8, status="extracted"),
                           f["age_diagnosis_value"].update(value=150, status="curated")))
    [issue] = [i for i in validate_paths([path])[0] if "not at most 120 years" in i.message]
    assert (issue.path, issue.severity) == ("$.figures.age_diagnosis_value.value", "error")
    assert "150 years" in issue.message
    _edit(path, lambda f: f["age_diagnosis_value"].update(note="the paper's typo for 15.0"))
    [issue] = [i for i in validate_paths([path])[0] if "not at most 120 years" in i.message]
    assert issue.severity == "warning"


def _strict(text: str):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")
    return json.loads(text, parse_constant=refuse)


def test_a_run_never_writes_a_curated_infinity_into_records_or_the_report(tmp_path):
    papers = tmp_path / "papers"
    papers.mkdir()
    for seed in (ARTICLE, ABSTRACT):
        shutil.copy(seed, papers)
    out = tmp_path / "out"
    run(papers, out, settings=BatchSettings(jobs=1))
    path = out / "records" / f"{ARTICLE.stem}.json"
    _edit(path, lambda f: f["n_male"].update(value=math.inf, status="curated"))
    typed = path.read_bytes()
    run(papers, out, settings=BatchSettings(jobs=1))
    assert path.read_bytes() == typed            # the curator's file, left as it is to be fixed
    report = _strict((out / "run_report.json").read_text("utf-8"))
    entry = next(f for f in report["files"] if f["study_id"] == ARTICLE.stem)
    assert entry["record"] == "kept" and "not a finite number" in entry["kept_reason"]
    for other in (out / "records").glob("*.json"):
        if other != path:
            _strict(other.read_text("utf-8"))
    merged = CliRunner().invoke(app, ["merge", "--out", str(out)])
    assert f"{path}: left out of the tables" in merged.output
    # The study keeps the row of its last valid version, marked with why (issue 16).
    row = next(line for line in (out / "studies.csv").read_text("utf-8").splitlines() if line.startswith(ARTICLE.stem))
    assert "Infinity is not a finite number" in row

    with pytest.raises(ValueError):
        atomic_write_json(tmp_path / "x.json", {"value": math.nan})
    assert not (tmp_path / "x.json").exists()
