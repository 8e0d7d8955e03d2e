"""The package as a user installs it: a wheel, in a fresh virtual environment, run from elsewhere.

An editable install of a checkout once hid that the schema sat outside the package: `pip install .`
gave a tool that failed every paper. Here the wheel is built from a copy of the project (so the
checkout gains no build/ or egg-info), installed into a new venv outside the checkout, and its
`crmo-extract` runs on a copy of corpus/ from a third folder.

Offline and fast: the wheel is built with the setuptools of this environment (no build isolation,
so nothing is fetched), and installed with --no-deps --no-index into a venv that reaches this
environment's already installed dependencies through a .pth line. Such a line only appends the
folder to sys.path; the .pth files inside it (this checkout's editable install among them) are not
run, so the fresh venv cannot import the checkout.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from .conftest import CORPUS, ROOT

IGNORED = shutil.ignore_patterns(".git", ".venv", "outputs", "build", "dist", "*.egg-info", "__pycache__",
                                 ".pytest_cache", ".cache")

# Runs the build backend in a child process and prints the warnings it raised, one per line.
BUILD = """
import sys, warnings
from setuptools import build_meta
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    name = build_meta.build_wheel(sys.argv[1])
for w in caught:
    print(f"WARNING {w.category.__name__}: {str(w.message).strip().splitlines()[0]}")
print(name)
"""


def _env() -> dict:
    # Nothing from this process may leak into the fresh venv: no PYTHONPATH, no active venv.
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the project's wheel installed; returns its bin folder."""
    pytest.importorskip("setuptools", minversion="77")
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=IGNORED)
    dist = base / "dist"
    built = subprocess.run([sys.executable, "-c", BUILD, str(dist)], cwd=source, env=_env(),
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    lines = built.stdout.strip().splitlines()
    assert [line for line in lines if line.startswith("WARNING")] == [], "the build warned"
    wheel = dist / lines[-1]

    env_dir = base / "fresh"
    venv.create(env_dir, with_pip=False)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    fresh_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                capture_output=True, text=True, check=True, env=_env()).stdout.strip()
    Path(fresh_site, "deps_of_the_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                           "--no-index", "-q", str(wheel)], capture_output=True, text=True, env=_env(), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return python.parent


def test_the_wheel_carries_the_schema_and_runs_on_a_copy_of_the_corpus_from_another_folder(installed, tmp_path):
    where = subprocess.run([str(installed / "python"), "-c",
                            "import pipeline, schemas; print(pipeline.__file__); print(schemas.RECORD_SCHEMA)"],
                           cwd=tmp_path, capture_output=True, text=True, env=_env(), check=True).stdout.split()
    fresh = installed.parent.resolve()
    assert all(Path(p).resolve().is_relative_to(fresh) for p in where), where  # not the checkout's
    schema = Path(where[1])
    assert json.loads(schema.read_text("utf-8"))["title"] == "crmo-extract study record"
    # Every file the packages hold in the checkout (modules, vocabularies, bounds, the review page's
    # templates and scripts, the schema) is in the installed copy.
    site = Path(where[0]).parent.parent
    for package in ("pipeline", "schemas"):
        ours = {p.relative_to(ROOT) for p in (ROOT / package).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
        assert ours and all((site / p).is_file() for p in ours), sorted(p for p in ours if not (site / p).is_file())

    papers = tmp_path / "papers"
    shutil.copytree(CORPUS, papers)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cli = str(installed / "crmo-extract")
    run = subprocess.run([cli, "run", str(papers), "--out", "out", "--jobs", "1", "--quiet"], cwd=elsewhere,
                         capture_output=True, text=True, env=_env(), timeout=300)
    assert run.returncode == 0, run.stderr
    assert "2 of 2 papers ok" in run.stdout and "meta-analysis:" in run.stdout
    record_path = elsewhere / "out" / "records" / "003_c2fd9f538eddb657.json"
    record = json.loads(record_path.read_text("utf-8"))
    assert record["figures"]["n_patients"]["value"] == 25
    # The record names the installed schema, by a path an editor can follow from the record.
    assert (record_path.parent / record["$schema"]).resolve() == schema.resolve()
    report = json.loads((elsewhere / "out" / "run_report.json").read_text("utf-8"))
    assert [f["status"] for f in report["files"]] == ["ok", "ok"]

    checked = subprocess.run([cli, "validate", "out/records"], cwd=elsewhere, capture_output=True, text=True,
                             env=_env(), timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 of 2 records valid" in checked.stderr
