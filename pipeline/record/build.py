"""Paper figures -> the record JSON a curator edits (and back, for the tables)."""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..core.model import Figure, OutcomeRow
from .validate import SCHEMA_PATH

if TYPE_CHECKING:  # importing the extract package loads spaCy, which an unchanged run never needs
    from ..extract.citation import Citation


def build_record(study_id: str, source_file: str, figures: dict[str, Figure], outcomes: list[OutcomeRow],
                 checks: list[dict], text_file: str | None = None, citation: Citation | None = None) -> dict:
    return {
        "$schema": SCHEMA_PATH.as_uri(),
        "study_id": study_id,
        "source_file": source_file,
        "text_file": text_file,
        "pipeline_version": __version__,
        "extracted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "citation": citation.to_json() if citation else None,
        "figures": {name: fig.to_json() for name, fig in figures.items()},
        "outcomes": [row.to_json() for row in outcomes],
        "checks": checks,
        "history": [],
    }


def schema_ref_for(record_path: Path) -> str:
    """The schema as a path relative to the record, so editors find it wherever the project lives."""
    return Path(os.path.relpath(SCHEMA_PATH, Path(record_path).resolve().parent)).as_posix()
