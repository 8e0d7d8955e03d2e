"""Tests for pipeline/meta/: row selection, outputs, and agreement with R's metafor."""
from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from pipeline.meta import selection
from pipeline.meta.pooling import pool_group
from pipeline.meta.run import METAFOR_COLUMNS, POOLED_COLUMNS, MetaResult, MetaSettings, run_meta
from pipeline.meta.selection import EXCLUDED_COLUMNS

POOL_R = Path(__file__).parent / "r" / "pool.R"
KEY = ["drug", "outcome", "measure", "method"]
COMPARED = ["pooled", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q"]
HEADER = "study_id,drug,agent,outcome,n_responded,n_treated,proportion,ci_low,ci_high,status,confidence\n"

# Groups: zero and full cells (methotrexate), one large study among small ones plus a study
# reported twice (tnf_inhibitor), two studies (bisphosphonate), homogeneous studies where the DL
# estimate would be negative (nsaid), all cells full (sulfasalazine), REML positive while DL is 0
# and metafor's default Fisher scoring fails to converge (other_biologic), REML at the tau² = 0
# boundary on the PFT scale (antibiotic), a single study (corticosteroid), and rows that must be
# left out (conflict, low confidence, missing count).
OUTCOMES = HEADER + """\
s01,methotrexate,methotrexate,clinical,0,9,0.0,0.0,0.3363,extracted,0.9
s02,methotrexate,methotrexate,clinical,7,7,1.0,0.5904,1.0,extracted,0.9
s03,methotrexate,methotrexate,clinical,5,12,0.4167,0.1517,0.7233,derived,0.8
s04,methotrexate,methotrexate,clinical,3,10,0.3,0.0667,0.6525,curated,1.0
s05,tnf_inhibitor,adalimumab,clinical,150,200,0.75,0.6844,0.8083,extracted,0.95
s05,tnf_inhibitor,infliximab,clinical,10,20,0.5,0.272,0.728,extracted,0.95
s06,tnf_inhibitor,infliximab,clinical,3,8,0.375,0.0852,0.7551,extracted,0.9
s07,tnf_inhibitor,etanercept,clinical,9,10,0.9,0.555,0.9975,extracted,0.9
s08,tnf_inhibitor,infliximab,clinical,2,12,0.1667,0.0209,0.4841,extracted,0.9
s09,bisphosphonate,pamidronate,mri,8,10,0.8,0.4439,0.9748,extracted,0.7
s10,bisphosphonate,zoledronate,mri,4,9,0.4444,0.137,0.788,extracted,0.5
s11,nsaid,naproxen,clinical,10,20,0.5,0.272,0.728,extracted,0.9
s16,nsaid,naproxen,clinical,11,21,,,,extracted,0.9
s17,nsaid,ibuprofen,clinical,10,19,,,,derived,0.6
s12,nsaid,naproxen,clinical,11,20,,,,conflict,0.9
s13,nsaid,naproxen,clinical,12,20,,,,extracted,0.3
s14,nsaid,ibuprofen,clinical,,15,,,,extracted,0.9
s15,corticosteroid,prednisolone,clinical,4,5,,,,extracted,0.9
s18,sulfasalazine,sulfasalazine,mri,5,5,,,,extracted,0.9
s19,sulfasalazine,sulfasalazine,mri,8,8,,,,extracted,0.9
s20,sulfasalazine,sulfasalazine,mri,3,3,,,,extracted,0.9
s21,other_biologic,anakinra,mri,3,8,,,,extracted,0.9
s22,other_biologic,anakinra,mri,55,150,,,,extracted,0.9
s23,other_biologic,anakinra,mri,3,5,,,,extracted,0.9
s24,other_biologic,canakinumab,mri,4,8,,,,extracted,0.9
s25,other_biologic,anakinra,mri,4,8,,,,extracted,0.9
s26,other_biologic,anakinra,mri,8,12,,,,extracted,0.9
s27,other_biologic,canakinumab,mri,3,5,,,,extracted,0.9
s28,other_biologic,anakinra,mri,1,3,,,,extracted,0.9
s29,antibiotic,azithromycin,clinical,3,40,,,,extracted,0.9
s30,antibiotic,azithromycin,clinical,0,3,,,,extracted,0.9
s31,antibiotic,azithromycin,clinical,1,3,,,,extracted,0.9
s32,antibiotic,azithromycin,clinical,0,8,,,,extracted,0.9
"""

# Printed by metafor 3.8-1 (R 4.2.2) via tests/r/pool.R on the groups above, so the estimator
# details are guarded even where R is not installed.
METAFOR_REFERENCE = [
    # drug, outcome, measure, method, pooled, ci_low, ci_high, pi_low, pi_high, tau2, i2, q
    ("methotrexate", "clinical", "PLO", "DL",
     0.394067, 0.127381, 0.74342, 0.041145, 0.907889, 1.342546, 62.464157, 7.992361),
    ("methotrexate", "clinical", "PLO", "REML",
     0.397885, 0.103669, 0.790599, 0.022847, 0.949177, 2.115977, 72.397105, 7.992361),
    ("methotrexate", "clinical", "PFT", "REML",
     0.416424, 0.011725, 0.903873, 0.0, 1.0, 0.223796, 89.852728, 25.68598),
    ("tnf_inhibitor", "clinical", "PFT", "DL",
     0.57294, 0.250036, 0.86802, 0.015711, 1.0, 0.082632, 86.318206, 21.926949),
    ("bisphosphonate", "mri", "PLO", "REML",
     0.628832, 0.259915, 0.890983, 0.142617, 0.945223, 0.757645, 58.498862, 2.409572),
    ("nsaid", "clinical", "PLO", "DL",
     0.51666, 0.391784, 0.63949, 0.391784, 0.63949, 0.0, 0.0, 0.033612),
    ("sulfasalazine", "mri", "PFT", "REML",
     1.0, 0.881908, 1.0, 0.881908, 1.0, 0.0, 0.0, 0.086487),
    ("other_biologic", "mri", "PLO", "REML",
     0.45381, 0.34355, 0.568795, 0.279919, 0.639751, 0.094573, 21.140664, 6.192974),
    ("antibiotic", "clinical", "PFT", "REML",
     0.024484, 0.0, 0.115374, 0.0, 0.115374, 0.0, 0.0, 2.355948),
]


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    (tmp_path / "outcomes.csv").write_text(OUTCOMES)
    return tmp_path


@pytest.fixture(scope="module")
def pooled_once(tmp_path_factory) -> tuple[Path, MetaResult]:
    """run_meta with the default settings on OUTCOMES, once for the tests that only read what it
    returns and writes (the forest plots are most of a run's time): read it, never change it."""
    out = tmp_path_factory.mktemp("pooled_once")
    (out / "outcomes.csv").write_text(OUTCOMES)
    return out, run_meta(out)


def _row(pooled: pd.DataFrame, drug: str, outcome: str, measure: str, method: str) -> pd.Series:
    hit = pooled[(pooled.drug == drug) & (pooled.outcome == outcome)
                 & (pooled.measure == measure) & (pooled.method == method)]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def test_settings_from_dict_rejects_unknown_key_by_name():
    with pytest.raises(ValueError) as err:
        MetaSettings.from_dict({"confidense": 1})
    message = str(err.value)
    assert "confidense" in message
    assert "min_confidence" in message and "forest_method" in message


def test_settings_from_dict_accepts_known_keys_and_checks_values():
    assert MetaSettings.from_dict({"min_confidence": 0.8}).min_confidence == 0.8
    with pytest.raises(ValueError, match="forest_measure"):
        MetaSettings.from_dict({"forest_measure": "PR"})


def test_pooled_rows_match_metafor_reference_values(pooled_once):
    pooled = pooled_once[1].pooled
    for drug, outcome, measure, method, *expected in METAFOR_REFERENCE:
        row = _row(pooled, drug, outcome, measure, method)
        if row.k < 3:   # pooled.csv gives no prediction interval from two studies
            expected[3:5] = [math.nan, math.nan]
        np.testing.assert_almost_equal(row[COMPARED].to_numpy(dtype=float), expected, decimal=4,
                                       err_msg=f"{drug} {outcome} {measure} {method}")
    # The interval itself is still metafor's (bisphosphonate/mri: k = 2).
    row, _ = pool_group(np.array([8, 4]), np.array([10, 9]), "PLO", "REML")
    np.testing.assert_almost_equal([row["pi_low"], row["pi_high"]], [0.142617, 0.945223], decimal=4)


def test_every_group_with_two_studies_gets_four_rows_in_fixed_order(pooled_once):
    out_dir, result = pooled_once
    pooled = pd.read_csv(out_dir / "pooled.csv")
    assert list(pooled.columns) == POOLED_COLUMNS
    assert result.groups_pooled == [
        ("nsaid", "clinical"), ("methotrexate", "clinical"), ("sulfasalazine", "mri"),
        ("tnf_inhibitor", "clinical"), ("other_biologic", "mri"), ("bisphosphonate", "mri"),
        ("antibiotic", "clinical"),
    ]
    assert len(pooled) == 7 * 4
    assert ("corticosteroid", "clinical") not in set(zip(pooled.drug, pooled.outcome))
    first = pooled[pooled.drug == "nsaid"]
    assert list(zip(first.measure, first.method)) == [
        ("PLO", "DL"), ("PLO", "REML"), ("PFT", "DL"), ("PFT", "REML")]
    assert (pooled.ci_low <= pooled.pooled).all() and (pooled.pooled <= pooled.ci_high).all()
    predicted = pooled[pooled.k >= 3]
    assert (predicted.pi_low <= predicted.ci_low + 1e-12).all() and (predicted.ci_high <= predicted.pi_high + 1e-12).all()
    assert pooled[pooled.k < 3][["pi_low", "pi_high"]].isna().all().all() and len(predicted) == 6 * 4


def test_conflict_low_confidence_and_missing_counts_are_excluded_and_listed(pooled_once):
    out_dir, result = pooled_once
    reasons = dict(zip(result.excluded.study_id, result.excluded.reason))
    assert reasons["s12"] == "status conflict"
    assert reasons["s13"] == "confidence below 0.5"
    assert "missing" in reasons["s14"]
    assert reasons["s15"] == selection.SINGLE_STUDY   # corticosteroid: the only study of its group
    listed = pd.read_csv(out_dir / "meta_excluded.csv", dtype={"study_id": str})
    assert list(listed.columns) == EXCLUDED_COLUMNS
    assert set(listed.study_id) == set(result.excluded.study_id)
    nsaid = _row(result.pooled, "nsaid", "clinical", "PLO", "DL")
    assert nsaid.k == 3 and nsaid.n_total == 60


def test_confidence_threshold_is_a_setting(out_dir, pooled_once, monkeypatch):
    from pipeline.meta import run as meta

    # What is pooled, not how it is drawn (the plots: test_outputs_are_written_with_plots_...):
    # no forest plots, most of a run's time.
    monkeypatch.setattr(meta, "forest_plot", lambda *args, **kwargs: [])
    strict = run_meta(out_dir, MetaSettings(min_confidence=0.75))
    assert ("bisphosphonate", "mri") not in strict.groups_pooled  # both rows below 0.75
    assert "s17" in set(strict.excluded.study_id)
    # the threshold is inclusive: s10 has confidence exactly 0.5 (the default threshold)
    assert MetaSettings().min_confidence == 0.5
    assert ("bisphosphonate", "mri") in pooled_once[1].groups_pooled


def test_study_reported_twice_in_a_group_keeps_row_with_largest_n_treated(pooled_once):
    out_dir, result = pooled_once
    tnf = _row(result.pooled, "tnf_inhibitor", "clinical", "PLO", "REML")
    assert tnf.k == 4 and tnf.n_total == 200 + 8 + 10 + 12
    dropped = result.excluded[result.excluded.study_id == "s05"]
    assert list(dropped.agent) == ["infliximab"]
    assert "largest n_treated" in dropped.reason.iloc[0]
    metafor = pd.read_csv(out_dir / "metafor.csv")
    assert metafor[metafor.study == "s05"].ni.tolist() == [200]


def test_dl_tau2_is_truncated_at_zero_when_studies_agree(pooled_once):
    # The DL formula gives a negative estimate here (Q < k - 1); metafor, and so pooled.csv, report 0.
    pooled = pooled_once[1].pooled
    for measure in ("PLO", "PFT"):
        row = _row(pooled, "nsaid", "clinical", measure, "DL")
        assert row.tau2 == 0 and row.i2 == 0
        assert (row.pi_low, row.pi_high) == (row.ci_low, row.ci_high)


def test_zero_and_full_cells_pool_to_finite_proportions():
    for xi, ni in (([0, 7, 5, 3], [9, 7, 12, 10]), ([5, 8, 3], [5, 8, 3]), ([0, 0], [6, 4])):
        for measure in ("PLO", "PFT"):
            for method in ("DL", "REML"):
                row, _ = pool_group(np.array(xi), np.array(ni), measure, method)
                values = np.array([row[c] for c in COMPARED], dtype=float)
                assert np.isfinite(values).all(), (xi, ni, measure, method, row)
                assert 0 <= row["pi_low"] <= row["pooled"] <= row["pi_high"] <= 1


def test_large_study_outweighs_small_ones_without_heterogeneity():
    row, fit = pool_group(np.array([150, 3, 4, 2]), np.array([200, 5, 6, 3]), "PLO", "REML")
    assert fit.tau2 == 0
    assert fit.weights[0] > 0.9
    assert abs(row["pooled"] - 0.75) < 0.02


def test_fewer_than_two_studies_everywhere_writes_header_only_and_no_plots(tmp_path):
    (tmp_path / "outcomes.csv").write_text(HEADER + """\
s01,methotrexate,methotrexate,clinical,3,10,,,,extracted,0.9
s02,methotrexate,methotrexate,mri,3,10,,,,extracted,0.9
s03,methotrexate,methotrexate,clinical,4,10,,,,conflict,0.9
""")
    (tmp_path / "forest_methotrexate_clinical.png").write_bytes(b"stale plot of an earlier run")
    result = run_meta(tmp_path)
    assert result.pooled.empty and result.groups_pooled == [] and result.plots == []
    assert "no drug x outcome group has two or more studies" in result.message
    assert (tmp_path / "pooled.csv").read_text().strip() == ",".join(POOLED_COLUMNS)
    assert list(tmp_path.glob("forest_*")) == []


def test_outputs_are_written_with_plots_workbook_and_metafor_input(out_dir):
    (out_dir / "studies.csv").write_text("study_id,title\ns01,First cohort\n")
    result = run_meta(out_dir)
    for drug, outcome in result.groups_pooled:
        for suffix in (".png", ".svg"):
            plot = out_dir / f"forest_{drug}_{outcome}{suffix}"
            assert plot in result.plots and plot.stat().st_size > 10_000
    assert (out_dir / "forest_methotrexate_clinical.svg").read_text().count("PLO REML") >= 1

    book = openpyxl.load_workbook(out_dir / "meta_table.xlsx", read_only=True)
    assert book.sheetnames == ["studies", "outcomes", "pooled"]
    assert next(book["studies"].iter_rows(values_only=True)) == ("study_id", "label", "title")
    assert book["pooled"].max_row == 1 + len(result.pooled)
    outcomes_header = next(book["outcomes"].iter_rows(values_only=True))
    assert outcomes_header[-1] == "meta"

    metafor = pd.read_csv(out_dir / "metafor.csv")
    assert list(metafor.columns) == METAFOR_COLUMNS
    assert len(metafor) == 28
    assert not list(out_dir.glob(".*")), "temporary files left behind"


def test_workbook_sheets_read_back_as_the_tables(pooled_once):
    """meta_table.xlsx is written cell by cell with xlsxwriter: read back, it must give the tables."""
    out_dir, result = pooled_once
    path = out_dir / "meta_table.xlsx"
    sheets = pd.read_excel(path, sheet_name=None)
    assert sheets["studies"].empty  # no studies.csv in this folder
    pd.testing.assert_frame_equal(sheets["pooled"], pd.read_csv(out_dir / "pooled.csv"))
    outcomes = pd.read_csv(out_dir / "outcomes.csv")
    pd.testing.assert_frame_equal(sheets["outcomes"].drop(columns=["label", "meta"]), outcomes)
    reasons = dict(zip(result.excluded.study_id, result.excluded.reason))
    status = dict(zip(sheets["outcomes"].study_id, sheets["outcomes"].meta))
    assert status["s01"] == "pooled" and status["s15"] == reasons["s15"] == selection.SINGLE_STUDY
    assert status["s12"] == reasons["s12"] == "status conflict"
    assert set(reasons) == {s for s, m in status.items() if m != "pooled"}   # every row not pooled
    header = next(openpyxl.load_workbook(path)["pooled"].iter_rows())
    assert all(cell.font.b for cell in header)


def test_workbook_keeps_what_pandas_wrote_for_awkward_values(tmp_path):
    from pipeline.meta.exports import write_workbook

    frame = pd.DataFrame({"text": ["x" * 40_000, None], "value": [math.inf, -math.inf],
                          "after": ["kept", "also kept"]})
    write_workbook(tmp_path / "t.xlsx", {"t": frame})
    rows = list(openpyxl.load_workbook(tmp_path / "t.xlsx")["t"].iter_rows(values_only=True))
    # Excel's cell limit cuts the string without losing the cells after it; infinities as text.
    assert rows[1:] == [("x" * 32_767, "inf", "kept"), (None, "-inf", "also kept")]


def test_metafor_reproduces_every_pooled_row(pooled_once, tmp_path_factory):
    """Runs tests/r/pool.R (metafor's rma + predict) on metafor.csv and compares every row."""
    rscript = shutil.which("Rscript")
    if rscript is None or subprocess.run([rscript, "-e", "library(metafor)"],
                                         capture_output=True).returncode != 0:
        pytest.skip("R with metafor not installed: apt-get install r-cran-metafor")
    out_dir, result = pooled_once
    ours = result.pooled
    theirs_csv = tmp_path_factory.mktemp("r") / "pooled_metafor.csv"
    done = subprocess.run([rscript, str(POOL_R), str(out_dir / "metafor.csv"), str(theirs_csv)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    theirs = pd.read_csv(theirs_csv)
    merged = ours.merge(theirs, on=KEY, suffixes=("", "_metafor"), validate="one_to_one")
    assert len(merged) == len(ours) == len(theirs) == 28
    assert (merged.k == merged.k_metafor).all() and (merged.n_total == merged.n_total_metafor).all()
    # metafor prints a prediction interval from two studies too; pooled.csv leaves it out.
    two = merged.k < 3
    assert merged.loc[two, ["pi_low", "pi_high"]].isna().all().all()
    assert merged.loc[two, ["pi_low_metafor", "pi_high_metafor"]].notna().all().all()
    for column in COMPARED:
        rows = ~two if column in ("pi_low", "pi_high") else slice(None)
        np.testing.assert_almost_equal(merged.loc[rows, column].to_numpy(),
                                       merged.loc[rows, f"{column}_metafor"].to_numpy(), decimal=4, err_msg=column)


def test_cli_meta_command_pools_and_reports_missing_outcomes(out_dir, tmp_path_factory, monkeypatch):
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.meta import run as meta

    # The command, its message and exit status, not the drawing (the plots have tests of their own).
    monkeypatch.setattr(meta, "forest_plot", lambda *args, **kwargs: [])
    done = CliRunner().invoke(app, ["meta", "--out", str(out_dir)])
    assert done.exit_code == 0, done.output
    assert "pooled 7 group(s)" in done.output
    assert (out_dir / "pooled.csv").is_file()
    empty = tmp_path_factory.mktemp("empty")
    missing = CliRunner().invoke(app, ["meta", "--out", str(empty)])
    assert missing.exit_code == 2
    assert "no outcomes.csv" in missing.output


def test_group_too_large_for_a_readable_forest_plot_is_pooled_without_one(tmp_path):
    from pipeline.meta.run import MetaSettings, run_meta

    rows = [{"study_id": f"s{i}", "drug": "nsaid", "agent": "", "outcome": "clinical", "n_responded": 3 + i % 4,
             "n_treated": 10, "proportion": "", "ci_low": "", "ci_high": "", "status": "extracted", "confidence": 0.9}
            for i in range(5)]
    pd.DataFrame(rows).to_csv(tmp_path / "outcomes.csv", index=False)
    result = run_meta(tmp_path, MetaSettings(max_forest_studies=4))
    assert len(result.pooled) == 4 and result.plots == []
    assert not list(tmp_path.glob("forest_*"))
    assert result.message.endswith("no forest plot for groups of more than 4 studies: nsaid/clinical (5 studies)")


def test_every_drug_class_of_the_vocabulary_is_pooled_and_plotted(tmp_path):
    """meta once kept its own copy of the class list and dropped mixed_second_line as unknown."""
    from pipeline.meta.run import run_meta

    rows = [{"study_id": f"s{i}", "drug": "mixed_second_line", "agent": "", "outcome": "clinical",
             "n_responded": 2 + i, "n_treated": 6, "proportion": "", "ci_low": "", "ci_high": "",
             "status": "extracted", "confidence": 0.9} for i in range(2)]
    pd.DataFrame(rows).to_csv(tmp_path / "outcomes.csv", index=False)
    result = run_meta(tmp_path)
    assert result.groups_pooled == [("mixed_second_line", "clinical")]
    assert (tmp_path / "forest_mixed_second_line_clinical.png").exists()


def test_treated_counted_in_courses_are_left_out_until_a_curator_accepts_them(seed_outputs, tmp_path):
    """The Danish abstract's "Sufficient clinical effect of TNF-a (n:31) 18" counts 31 treatment
    courses in a cohort of 25: flagged in outcomes.csv, left out of pooling with the reason, and
    pooled once a curator accepts n_treated."""
    import json

    from pipeline.batch.runner import build_tables, pool
    from pipeline.core.fields import NOT_PATIENTS

    out = tmp_path / "out"
    shutil.copytree(seed_outputs, out)
    outcomes = pd.read_csv(out / "outcomes.csv")
    danish = outcomes[(outcomes.drug == "tnf_inhibitor") & (outcomes.outcome == "clinical") & (outcomes.n_treated == 31)]
    assert danish["flags"].tolist() == [f"{NOT_PATIENTS} (31 > 25 patients): courses, lesions or episodes, not patients?"]
    excluded = pd.read_csv(out / "meta_excluded.csv")
    reason = excluded[(excluded.drug == "tnf_inhibitor") & (excluded.n_treated == 31)].reason.tolist()
    assert len(reason) == 1 and reason[0].startswith(NOT_PATIENTS) and "curator" in reason[0]
    assert not ((pd.read_csv(out / "pooled.csv").drug == "tnf_inhibitor")).any()

    path = next((out / "records").glob(f"{danish.study_id.iloc[0]}.json"))
    record = json.loads(path.read_text())
    row = next(o for o in record["outcomes"] if (o["drug"], o["outcome"]) == ("tnf_inhibitor", "clinical"))
    row["n_treated"].update(status="curated", curator="test")
    path.write_text(json.dumps(record, indent=2))
    build_tables(out, None, force=True)
    pool(out)
    assert pd.read_csv(out / "outcomes.csv")["flags"].isna().all()
    pooled = pd.read_csv(out / "pooled.csv")
    assert set(pooled[pooled.drug == "tnf_inhibitor"].k) == {2}
