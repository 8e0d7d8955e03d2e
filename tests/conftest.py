from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
ARTICLE = CORPUS / "000_d33954fccfbc9fe7.txt"     # Turkish cohort, full article
ABSTRACT = CORPUS / "003_c2fd9f538eddb657.txt"    # Danish cohort, conference abstract


def distinct_copy(seed: Path, dest: Path, k: int) -> Path:
    """A copy of a seed paper with bytes of its own: a batch reads a file with the same bytes as
    another input once (the other is a copy). The mark is letters only, so no rule reads it."""
    mark = ""
    while True:
        k, r = divmod(k, 26)
        mark = "abcdefghijklmnopqrstuvwxyz"[r] + mark
        if not k:
            break
    dest = Path(dest)
    dest.write_bytes(seed.read_bytes() + f"\nCopy {mark}.\n".encode())
    return dest


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
