from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
ARTICLE = CORPUS / "000_d33954fccfbc9fe7.txt"     # Turkish cohort, full article
ABSTRACT = CORPUS / "003_c2fd9f538eddb657.txt"    # Danish cohort, conference abstract


@pytest.fixture(scope="session")
def seed_records():
    """Records the pipeline makes of the two seed papers, keyed by study id."""
    from pipeline.runner import process_file

    out = {}
    for path in (ARTICLE, ABSTRACT):
        result = process_file(path)
        assert result.status == "ok", result.reason
        out[path.stem] = result.record
    return out
