"""Ways papers state a figure, kept as data: each line of tests/cases/*.jsonl is one construction in
our own words and the figures it must give (`expect`, or treatment `rows`) or must not give (`absent`)."""
import json
from pathlib import Path

import pytest

from pipeline.core.model import Document, usable
from pipeline.extract import extract
from pipeline.extract.quantities import read_quantities
from pipeline.extract.treatments import extract_outcomes
from pipeline.nlp.paper import document_to_paper

CASES = Path(__file__).parent / "cases"


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (CASES / name).read_text("utf-8").splitlines() if line.strip()]


def paper_of(text: str):
    return document_to_paper(Document("case", "case.txt", text, [(None, 0, len(text))]))


def figures_of(text: str) -> dict:
    """The figures the tables would show for a paper whose whole text is `text`."""
    figures, _ = extract(paper_of(text))
    return {name: fig.value for name, fig in figures.items() if usable(fig.to_json())}


def rows_of(text: str) -> list[dict]:
    """The treatment rows of a paper whose whole text is `text`, as outcomes.csv counts them."""
    paper = paper_of(text)
    _, ctx = extract(paper)
    return [{"drug": r.drug, "outcome": r.outcome, "n_treated": r.n_treated.value if r.n_treated else None,
             "n_responded": r.n_responded.value if r.n_responded else None} for r in extract_outcomes(paper, ctx)]


@pytest.mark.parametrize("case", load("study.jsonl"), ids=lambda c: f"{c['field']}: {c['shape']}")
def test_a_construction_gives_its_figures(case):
    got = figures_of(case["text"])
    assert {k: got.get(k) for k in case.get("expect", {})} == case.get("expect", {})
    assert [k for k in case.get("absent", []) if k in got] == []


@pytest.mark.parametrize("case", load("quantities.jsonl"), ids=lambda c: c["shape"])
def test_every_number_is_read_once_and_whole(case):
    assert [q.value for q in read_quantities(case["text"])] == case["values"]


@pytest.mark.parametrize("case", load("treatments.jsonl"), ids=lambda c: c["shape"])
def test_a_treatment_statement_gives_its_rows(case):
    # Each expected row names its drug (and outcome, when the statement gives one) and the counts.
    rows = rows_of(case["text"])
    for want in case.get("rows", []):
        same = [r for r in rows if r["drug"] == want["drug"] and r["outcome"] == want.get("outcome", r["outcome"])]
        assert [{k: r[k] for k in want} for r in same if all(r[k] == v for k, v in want.items())] == [want], rows
    assert [r["drug"] for r in rows if r["drug"] in case.get("absent", [])] == []
