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
def seed_papers(tmp_path_factory):
    """The two seed papers, copied into a folder of the session's (corpus/ is never written). Shared
    by every test that asks for it: read it, never change it."""
    import shutil

    folder = tmp_path_factory.mktemp("seed_papers")
    for seed in (ARTICLE, ABSTRACT):
        shutil.copy(seed, folder)
    return folder


@pytest.fixture(scope="session")
def seed_run(seed_papers, tmp_path_factory):
    """The output folder of one `run` of seed_papers (in this process: the pool is
    tests/test_batch.py's), made once per session: records, tables, run report and cache. Copy it
    before changing it (shutil.copytree into tmp_path): the copy keeps the records' times, so its
    cache still knows every paper, and running seed_papers into the copy extracts only what
    changed since."""
    from pipeline.runner import BatchSettings, run

    out = tmp_path_factory.mktemp("seed_run") / "out"
    report = run(seed_papers, out, settings=BatchSettings(jobs=1))
    assert report.totals["ok"] == 2, report.files
    return out


@pytest.fixture(scope="session")
def seed_records():
    """Records the pipeline makes of the two seed papers, keyed by study id."""
    from pipeline.batch.runner import process_file

    out = {}
    for path in (ARTICLE, ABSTRACT):
        result = process_file(path)
        assert result.status == "ok", result.reason
        out[path.stem] = result.record
    return out


@pytest.fixture(scope="session")
def seed_outputs(seed_records, tmp_path_factory):
    """An output folder as `crmo-extract run corpus` leaves it (records, tables, pooling), made
    once from seed_records; copy it before changing it (shutil.copytree)."""
    import copy
    import json

    from pipeline.batch.runner import build_tables, pool
    from pipeline.record.build import schema_ref_for

    out = tmp_path_factory.mktemp("seed_outputs")
    for study_id, record in seed_records.items():
        path = out / "records" / f"{study_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        record = copy.deepcopy(record)
        record["$schema"] = schema_ref_for(path)
        path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", "utf-8")
    build_tables(out, None, force=True)   # stamped, as a run leaves them (pipeline.stamps)
    pool(out)
    return out
