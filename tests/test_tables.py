"""Tables and plots a reviewer can trust at a glance: what studies.csv says about each value, study
labels, forest plots, the workbook, and `merge` keeping the pooled outputs in step."""
from __future__ import annotations

import copy
import json
import shutil

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.batch.runner import BatchSettings, process_file, run
from pipeline.cli import app
from pipeline.extract.citation import find_citation
from pipeline.meta import plots, pooling
from pipeline.meta import run as meta
from pipeline.tables.build import build_tables, read_table, write_tables

from .conftest import ABSTRACT, ARTICLE


@pytest.fixture
def seeds(seed_records):
    return copy.deepcopy(seed_records)


def test_studies_csv_flags_what_is_derived_in_conflict_or_low_confidence(tmp_path, seeds):
    """000 states its age at diagnosis twice, differently, and its multifocal count is derived from
    a percentage: neither may look settled in the table."""
    article, abstract = seeds[ARTICLE.stem], seeds[ABSTRACT.stem]
    abstract["figures"]["n_relapse"] = {**abstract["figures"]["n_patients"], "value": 3, "confidence": 0.3}
    abstract["figures"]["n_male"].update(value=9, status="curated")
    folder = tmp_path / "out"
    (folder / "records").mkdir(parents=True)
    for record in (article, abstract):
        (folder / "records" / f"{record['study_id']}.json").write_text(json.dumps(record), "utf-8")
    write_tables(folder)

    studies = read_table(folder / "studies.csv")
    flags = dict(zip(studies.study_id, studies["flags"]))   # .flags is pandas' own attribute
    assert {"n_multifocal: derived", "age_diagnosis: conflict"} <= set(flags[ARTICLE.stem].split("; "))
    assert {"n_male: curated", "n_relapse: low confidence"} <= set(flags[ABSTRACT.stem].split("; "))
    for record in (article, abstract):   # every flag is the figure's status, and every such figure is flagged
        figures = record["figures"]
        flagged = {}
        for part in flags[record["study_id"]].split("; "):
            name, flag = part.split(": ")
            flagged.update({n: flag for n in figures if n == name or n.rpartition("_")[0] == name})
        expected = {n: f["status"] if f["status"] != "extracted" else "low confidence" for n, f in figures.items()
                    if f["status"] != "extracted" or f["confidence"] < 0.5}
        assert flagged == expected
    # The paper's path as it was extracted is absolute; the table names it within the input folder.
    assert article["source_file"] == str(ARTICLE)
    assert studies.source_file.tolist() == [ARTICLE.name, ABSTRACT.name]

    # pandas alone reads a count column with an empty cell as floats (8.0); read_table as integers.
    plain = pd.read_csv(folder / "studies.csv")
    assert plain["n_relapse"].dtype == "float64"
    assert studies["n_relapse"].dtype == "Int64" and studies["n_male"].tolist() == [8, 9]
    assert all(studies[c].dtype == "Int64" for c in studies.columns if c.startswith(("n_", "site_")))
    outcomes = read_table(folder / "outcomes.csv")
    assert outcomes["n_responded"].dtype == "Int64" and outcomes["agent"].isna().any()


def test_first_author_and_year_are_read_from_the_front_matter():
    webb = find_citation("VESPA: Very large-scale Evolutionary and Selective Pressure Analyses\n\n"
                         "Andrew E. Webb1, Thomas A. Walsh1 and Mary J. O'Connell1,2\n1Dublin City University\n\n"
                         "ABSTRACT\nBackground. We ...\nReceived 25 March 2016\nPublished 5 June 2017\n")
    assert (webb.first_author, webb.year, webb.label) == ("Webb", 2017, "Webb 2017")
    assert [e.quote for e in webb.evidence] == ["Andrew E. Webb1, Thomas A. Walsh1 and Mary J. O'Connell1,2",
                                               "Published 5 June 2017"]
    kaiser = find_citation("Chronic nonbacterial osteomyelitis in childhood: a multicentre study\n\n"
                           "Cite this article as: Kaiser D, Bolt I, Hofer M, et al. Pediatr Rheumatol 2015;13:25.\n")
    assert kaiser.label == "Kaiser 2015"
    assert kaiser.evidence[0].quote.startswith("Cite this article as: Kaiser D")
    copyright_line = find_citation("Title\n\nRoss G. DOUGLAS∗1, Rajni K. SHARMA†1 and Kelly CHIBALE†\n\n"
                                   "© 2014 Agyeman-Duah et al.; licensee BioMed Central\n")
    assert copyright_line.label == "Agyeman-Duah 2014"      # the paper's own citation before its byline
    capitals = find_citation("Title\n\nRoss G. DOUGLAS∗1, Rajni K. SHARMA†1 and Kelly CHIBALE†\n\nAbstract\n")
    assert capitals.label == "Douglas"                      # no year stated: the author alone
    # A title, a sentence with a year and an affiliation are not a citation.
    assert find_citation("Chronic Recurrent Multifocal Osteomyelitis, Pain and Function in Children\n\n"
                         "Abstract\nTwelve children received pamidronate between 1996 and 2000.\n") is None
    assert find_citation(ARTICLE.read_text("utf-8")) is None and find_citation(ABSTRACT.read_text("utf-8")) is None


def _outcomes(tmp_path, rows):
    header = "study_id,drug,agent,outcome,n_responded,n_treated,proportion,ci_low,ci_high,status,confidence\n"
    (tmp_path / "outcomes.csv").write_text(header + "".join(f"{r},,,,extracted,0.9\n" for r in rows))


def test_studies_are_labelled_by_labels_csv_else_author_and_year_else_id(tmp_path):
    papers, out = tmp_path / "papers", tmp_path / "out"
    papers.mkdir()
    out.mkdir()
    (out / "run_report.json").write_text(json.dumps({"input_dir": str(papers)}))
    _outcomes(out, ["a,nsaid,naproxen,clinical,3,10", "b,nsaid,naproxen,clinical,5,9",
                    "c,nsaid,ibuprofen,clinical,4,8", "d,nsaid,,clinical,6,12", "e,nsaid,,clinical,2,7"])
    (out / "studies.csv").write_text("study_id,source_file,n_patients,flags,first_author,year\n"
                                     "a,a.txt,10,,Webb,2017\nb,b.txt,9,,Smith,2019\nc,c.txt,8,,Smith,2019\n"
                                     "d,d.txt,12,,,2001\ne,e.txt,7,,,\n")
    (papers / "labels.csv").write_text("study_id,label,year\na,Input folder's label,2010\nd,Jansson et al.,2007\n")
    (out / "labels.csv").write_text("study_id,label,year\na,Webb et al.,2016\n")
    result = meta.run_meta(out)
    assert f"studies labelled from {papers / 'labels.csv'}, {out / 'labels.csv'}" in result.message

    metafor = pd.read_csv(out / "metafor.csv")
    # Oldest first; the output folder's labels.csv wins over the input folder's; one author and year
    # twice is told apart; a study with neither keeps its id.
    assert metafor.study.tolist() == ["Jansson et al. 2007", "Webb et al. 2016", "Smith 2019a", "Smith 2019b", "e"]
    assert metafor.year.tolist()[:4] == [2007, 2016, 2019, 2019] and metafor.study_id.tolist()[-1] == "e"
    svg = (out / "forest_nsaid_clinical.svg").read_text("utf-8")
    assert "Jansson et al. 2007" in svg and "Smith 2019b" in svg
    book = pd.read_excel(out / "meta_table.xlsx", sheet_name=None)
    assert dict(zip(book["studies"].study_id, book["studies"].label))["b"] == "Smith 2019a"
    assert book["outcomes"].columns[:2].tolist() == ["study_id", "label"]

    (out / "labels.csv").write_text("no,columns\n1,2\n")
    result = meta.run_meta(out)
    assert f"{out / 'labels.csv'}: not read: no study_id or label column" in result.message
    assert pd.read_csv(out / "metafor.csv").study.tolist()[1] == "Input folder's label 2010"


def _group(labels, agents, xi, ni):
    return pd.DataFrame({"label": labels, "agent": agents, "n_responded": xi, "n_treated": ni})


def _draw(group):
    settings = meta.MetaSettings()
    row, fit = pooling.pool_group(group.n_responded.to_numpy(), group.n_treated.to_numpy(), "PLO", "REML")
    if len(group) < settings.min_prediction_studies:
        row["pi_low"] = row["pi_high"] = np.nan
    fig = plots.forest_figure(group, "tnf_inhibitor", "clinical", row, fit, settings)
    renderer = fig.canvas.get_renderer()
    texts = fig.axes[0].texts
    return fig, {t.get_text(): t.get_window_extent(renderer) for t in texts}, texts


def _interval_lines(fig) -> int:
    """The prediction interval is the one thick horizontal line under the diamond."""
    return sum(1 for line in fig.axes[1].lines if line.get_linewidth() == 2.5)


def test_forest_plot_keeps_agent_names_in_their_column_and_predicts_only_from_three_studies():
    long_agent = "etanercept followed by adalimumab after a flare (subcutaneous, weekly)"
    fig, boxes, texts = _draw(_group(["Borzutzky 2012", "Schnabel et al. 2016"], [long_agent, "infliximab"],
                                     [9, 150], [10, 200]))
    cut = next(t for t in boxes if t.startswith("etanercept"))
    assert cut.endswith("…") and len(cut) < len(long_agent)
    events_left = min(box.x0 for text, box in boxes.items() if " / " in text or text == "Events / n")
    assert boxes[cut].x1 < events_left
    agent_left = boxes["Agent"].x0
    assert all(boxes[label].x1 < agent_left for label in ("Borzutzky 2012", "Schnabel et al. 2016"))
    assert "No prediction interval from fewer than 3 studies" in boxes
    assert not any("% prediction interval" in t for t in boxes)
    assert _interval_lines(fig) == 0

    fig, boxes, _ = _draw(_group(["A", "B", "C"], ["", "", ""], [3, 5, 8], [10, 9, 12]))
    assert "95% prediction interval" in boxes and "Agent" not in boxes
    assert _interval_lines(fig) == 1


@pytest.fixture(scope="module")
def pooled_seeds(tmp_path_factory):
    """The seeds extracted and pooled once for this module's tests; copy before changing it."""
    base = tmp_path_factory.mktemp("pooled")
    papers, out = base / "papers", base / "out"
    papers.mkdir()
    for seed in (ARTICLE, ABSTRACT):
        shutil.copy(seed, papers)
    run(papers, out, settings=BatchSettings(jobs=1))
    meta.run_meta(out)
    return out


def test_workbook_is_formatted_for_reading(pooled_seeds):
    book = openpyxl.load_workbook(pooled_seeds / "meta_table.xlsx")
    for sheet in book:
        assert sheet.freeze_panes == "B2"
        assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(sheet.max_column)}{sheet.max_row}"
        assert all(cell.font.b for cell in sheet[1])

    def column(sheet, name):
        header = [c.value for c in sheet[1]]
        return openpyxl.utils.get_column_letter(header.index(name) + 1)

    studies, outcomes, pooled = book["studies"], book["outcomes"], book["pooled"]
    n = studies[f"{column(studies, 'n_patients')}2"]
    assert (n.value, type(n.value), n.number_format) == (15, int, "0")
    assert studies[f"{column(studies, 'age_diagnosis_value')}2"].number_format == "0.0##"
    assert outcomes[f"{column(outcomes, 'proportion')}2"].number_format == "0.0%"
    assert outcomes[f"{column(outcomes, 'confidence')}2"].number_format == "0.00"
    assert pooled[f"{column(pooled, 'pooled')}2"].number_format == "0.0%"
    assert pooled[f"{column(pooled, 'tau2')}2"].number_format == "0.0000"
    # Widths fit the values (within Excel's reason): the study id's 20 characters, the flags' text.
    widths = {c.value: studies.column_dimensions[c.column_letter].width for c in studies[1]}
    assert 20 < widths["study_id"] < 30 and widths["flags"] > 40 and widths["n_patients"] < 16
    meta_column = outcomes.column_dimensions[column(outcomes, "meta")].width
    assert meta_column == pytest.approx(60.7, abs=0.1)   # long reasons are capped


def test_merge_rebuilds_the_pooled_outputs_and_says_so(pooled_seeds, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(pooled_seeds, out)
    before = pd.read_csv(out / "pooled.csv")
    path = out / "records" / f"{ABSTRACT.stem}.json"
    record = json.loads(path.read_text("utf-8"))
    row = next(o for o in record["outcomes"] if (o["drug"], o["outcome"]) == ("methotrexate", "clinical"))
    row["n_responded"].update(value=9, status="curated")
    path.write_text(json.dumps(record, indent=2), "utf-8")

    done = CliRunner().invoke(app, ["merge", "--out", str(out)])
    assert done.exit_code == 0, done.output
    # NSAIDs and methotrexate; the TNF rows are not two studies to pool, since the Danish one counts
    # courses ("TNF-a (n:31)" of 25 patients) and waits for a curator.
    assert "meta-analysis: pooled 2 group(s)" in done.output
    after = pd.read_csv(out / "pooled.csv")
    mtx = (after.drug == "methotrexate") & (after.outcome == "clinical")
    assert (before[mtx].n_total == after[mtx].n_total).all()
    assert (after[mtx].pooled > before[mtx].pooled + 0.05).all()       # 9 of 18, not 3 of 18
    metafor = pd.read_csv(out / "metafor.csv")
    assert metafor[(metafor.study_id == ABSTRACT.stem) & (metafor.drug == "methotrexate")].xi.tolist() == [9]


def test_a_paper_stating_its_author_and_year_is_labelled_by_them(tmp_path):
    paper = tmp_path / "kaiser.txt"
    paper.write_text("Chronic nonbacterial osteomyelitis in children\n\n"
                     "Anna B. Kaiser1, Ida Bolt2 and Mark Hofer1\n\n"
                     "Published online: 19 June 2015\n\nAbstract\n" + ABSTRACT.read_text("utf-8"))
    record = process_file(paper).record
    assert (record["citation"]["first_author"], record["citation"]["year"]) == ("Kaiser", 2015)
    quote = record["citation"]["evidence"][0]
    assert paper.read_text("utf-8")[quote["start"]:quote["end"]] == quote["quote"]
    studies, _ = build_tables([record])
    assert (studies.first_author[0], studies.year[0]) == ("Kaiser", 2015)
