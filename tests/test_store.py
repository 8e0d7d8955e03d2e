import os

import pytest

from pipeline.record.store import atomic_write_text


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "record.json"
    target.write_text("old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_a_durable_write_is_flushed_before_the_rename_and_a_remakeable_one_is_not(tmp_path, monkeypatch):
    flushed = []
    monkeypatch.setattr(os, "fsync", flushed.append)
    atomic_write_text(tmp_path / "curated.json", "a")
    atomic_write_text(tmp_path / "machine.json", "b", durable=False)
    assert len(flushed) == 1
    assert (tmp_path / "curated.json").read_text() == "a" and (tmp_path / "machine.json").read_text() == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curated.json", "machine.json"]
