"""Ways papers state a figure, kept as data: each line of tests/cases/*.jsonl is one construction in
our own words and the figures it must give (`expect`) or must not give (`absent`)."""
import json
from pathlib import Path

import pytest

from pipeline.extract import extract
from pipeline.extract.quantities import read_quantities
from pipeline.paper import document_to_paper
from pipeline.records import Document, usable

CASES = Path(__file__).parent / "cases"


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (CASES / name).read_text("utf-8").splitlines() if line.strip()]


def figures_of(text: str) -> dict:
    """The figures the tables would show for a paper whose whole text is `text`."""
    document = Document("case", "case.txt", text, [(None, 0, len(text))])
    figures, _ = extract(document_to_paper(document))
    return {name: fig.value for name, fig in figures.items() if usable(fig.to_json())}


@pytest.mark.parametrize("case", load("study.jsonl"), ids=lambda c: f"{c['field']}: {c['shape']}")
def test_a_construction_gives_its_figures(case):
    got = figures_of(case["text"])
    assert {k: got.get(k) for k in case.get("expect", {})} == case.get("expect", {})
    assert [k for k in case.get("absent", []) if k in got] == []


@pytest.mark.parametrize("case", load("quantities.jsonl"), ids=lambda c: c["shape"])
def test_every_number_is_read_once_and_whole(case):
    assert [q.value for q in read_quantities(case["text"])] == case["values"]
