"""Typed records that flow one way through the pipeline: file -> Document -> figures -> record JSON.

Every figure carries the same fixed evidence keys (quote, section, start, end, page), from the page
it was read on to the table row it ends in, so a curator can always find where a number came from.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The statuses a curator sets (the schema lists them all: extracted, derived, conflict, curated, rejected).
HUMAN_STATUSES = ("curated", "rejected")
# Below this confidence a figure is a candidate for the curator, not a table value.
TABLE_CONFIDENCE = 0.5


def usable(figure: dict | None) -> bool:
    """Does this figure (as stored in a record) go into the tables? Curated always; rejected never;
    others when confident. Here, not in tables/build.py, so deciding it needs no pandas."""
    if not figure:
        return False
    status = figure.get("status")
    if status == "rejected":
        return False
    if status == "curated":
        return True
    return figure.get("confidence", 0) >= TABLE_CONFIDENCE


@dataclass(frozen=True)
class Evidence:
    quote: str            # exact text of the paper's kept text between start and end
    section: str          # canonical section name (abstract, methods, results, table, ...)
    start: int            # character offsets into the kept text
    end: int
    page: int | None      # 1-based page for PDFs, None for text files

    def to_json(self) -> dict:
        # The fields are immutable, so a shallow copy equals what dataclasses.asdict makes; asdict
        # deep-copies field by field, at twenty times the cost.
        return dict(self.__dict__)


@dataclass
class Figure:
    value: Any
    evidence: list[Evidence]
    rule: str
    confidence: float
    status: str = "extracted"
    alternatives: list[dict] = field(default_factory=list)  # other stated values, for conflicts

    def to_json(self) -> dict:
        out = {
            "value": self.value,
            "evidence": [e.to_json() for e in self.evidence],
            "rule": self.rule,
            "confidence": round(self.confidence, 3),
            "status": self.status,
        }
        if self.alternatives:
            out["alternatives"] = self.alternatives
        return out


@dataclass(frozen=True)
class Section:
    name: str     # canonical name
    heading: str  # heading as printed ("" for the untitled front matter)
    start: int
    end: int


@dataclass
class Document:
    """A paper as the pipeline keeps it: one text, with the page of every character."""
    study_id: str
    source_file: str
    text: str
    # (page number, start, end) for each page of `text`; a text file is one page numbered None.
    pages: list[tuple[int | None, int, int]]
    # Offsets of lines that a PDF's table finder turned into table rows.
    table_spans: list[tuple[int, int]] = field(default_factory=list)
    # What of the file was not read (a PDF cut at max_pages), for the run report.
    notes: list[str] = field(default_factory=list)

    def page_at(self, offset: int) -> int | None:
        for number, start, end in self.pages:
            if start <= offset < end:
                return number
        return self.pages[-1][0] if self.pages else None


@dataclass
class OutcomeRow:
    """One drug x outcome response figure: responders of treated."""
    drug: str
    agent: str | None
    outcome: str
    n_responded: Figure | None
    n_treated: Figure | None

    def to_json(self) -> dict:
        return {
            "drug": self.drug,
            "agent": self.agent,
            "outcome": self.outcome,
            "n_responded": self.n_responded.to_json() if self.n_responded else None,
            "n_treated": self.n_treated.to_json() if self.n_treated else None,
        }
