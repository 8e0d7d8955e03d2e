"""The bad-input batch: hostile file names, entries, texts and records through the real command,
and the cost of the cases that used to grow with the square of the input.

Builds, in a temporary folder, a corpus of the inputs issue 16 found faults with (a name that is
not UTF-8, a 255-byte name, x.txt beside x.pdf, a folder named a.pdf, a FIFO, a symlink loop, a
dangling symlink, a symlink out of the folder, a copy of another paper, 8,000 closing brackets
before a full stop, 10,000 "x of y patients", a sentence of 1.2 million characters, a 200 MB
file, UTF-16 text, empty, binary and truncated files, a hidden file) beside two seed papers, and
runs `crmo-extract run` on it (--jobs 2 by default, each run a child process, its peak memory the
sum of the RSS of it and its workers, sampled every 50 ms). Then breaks the records as a hostile
curator would (nested 10,000 deep, a 5,000-digit number, a FIFO, a curated record renamed onto
another study, a broken edit, a 20 MB note) and runs `validate`, `merge` and `run` again, each
with a time-out, and a second `run` while one holds the output folder.

Checks: every input is in run_report.json, every record is accounted for, peak memory under
1.5 GB, each run under 60 s. Then times `process_file` on each formerly quadratic case at n, 2n
and 4n (a ratio near 2 per doubling is linear, near 4 quadratic).

Usage: PYTHONPATH=. python benchmarks/bench_hostile.py [--jobs 2] [--no-cases]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import PeakMemory  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "corpus").glob("*.txt"))
ARTICLE = next(p for p in SEEDS if p.stat().st_size > 10_000)
ABSTRACT = next(p for p in SEEDS if p.stat().st_size <= 10_000)
MEMORY_MB, SECONDS = 1536, 60.0
FILLER = "the children were followed up for years and some had pain "


def parens(n: int) -> str:
    return "Results\n\nFifteen patients received naproxen " + ")" * n + ". Ten of 15 patients improved.\n"


def x_of_y(n: int) -> str:
    # One statement n times: n pieces of evidence for one figure (cohort size and overall response).
    return " ".join("8 of 15 patients improved." for _ in range(n)) + "\n"


def long_sentence(chars: int) -> str:
    half = FILLER * (chars // len(FILLER) // 2)
    return "Methods\n\nFifteen children with CRMO were included. " + half + "naproxen " + half + "\n"


def build_corpus(folder: Path, outside: Path) -> None:
    folder.mkdir()
    for seed in (ARTICLE, ABSTRACT):
        shutil.copy(seed, folder)
    article = ARTICLE.read_bytes()
    (folder / os.fsdecode(b"bad\xffbyte.txt")).write_bytes(article + b"\nCopy b.\n")
    (folder / ("L" * 251 + ".txt")).write_bytes(article + b"\nCopy c.\n")
    (folder / "x.txt").write_bytes(ABSTRACT.read_bytes() + b"\nCopy d.\n")
    _pdf(folder / "x.pdf", ARTICLE.read_text("utf-8"))
    (folder / "a.pdf").mkdir()
    os.mkfifo(folder / "fifo.txt")
    os.symlink("loop.txt", folder / "loop.txt")
    os.symlink("nowhere.txt", folder / "dangling.txt")
    outside.write_text(ABSTRACT.read_text("utf-8") + "\nCopy e.\n")
    os.symlink(outside, folder / "outside.txt")
    shutil.copy(ABSTRACT, folder / "copy_of_abstract.txt")
    (folder / "parens.txt").write_text(parens(8000))
    (folder / "x_of_y.txt").write_text(x_of_y(10_000))
    (folder / "long_sentence.txt").write_text(long_sentence(1_200_000))
    with open(folder / "huge.txt", "wb") as fh:
        fh.truncate(200 * 1024 * 1024)
    (folder / "utf16.txt").write_bytes((ABSTRACT.read_text("utf-8") + "\nCopy f.\n").encode("utf-16"))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (folder / "truncated.pdf").write_bytes((folder / "x.pdf").read_bytes()[:2000])
    (folder / "._hidden.pdf").write_bytes(b"\x00\x05\x16\x07 macOS metadata")


def _pdf(path: Path, text: str) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, text.encode("latin-1", "replace").decode("latin-1"))
    pdf.output(str(path))


def break_records(records: Path) -> None:
    """What a hostile curator can do to a records folder."""
    (records / "deep.json").write_text("[" * 10_000 + "]" * 10_000)
    os.mkfifo(records / "fifo.json")
    article, abstract = records / f"{ARTICLE.stem}.json", records / f"{ABSTRACT.stem}.json"
    record = json.loads(article.read_text())
    record["figures"]["n_male"].update(value=9, status="curated", note="n" * 20_000_000)   # a 20 MB note
    article.write_text(json.dumps(record))
    copy = records / "x.json"
    renamed = json.loads(abstract.read_text())
    renamed["figures"]["n_male"].update(value=4, status="curated")
    copy.write_text(json.dumps(renamed))      # the abstract's curated record moved onto x
    abstract.write_text(abstract.read_text().replace('"value": 25', '"value": ' + "9" * 5000, 1))
    utf16 = records / "utf16.json"
    utf16.write_text(utf16.read_text().replace('"value": 25,', '"value": "twenty-five",', 1))


def command(args: list[str], timeout: float = 300) -> dict:
    cmd = [sys.executable, "-m", "pipeline.cli", *map(str, args)]
    started = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, PYTHONPATH=str(ROOT)))
    sampler = PeakMemory(child.pid)
    try:
        stdout, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        stdout, stderr = child.communicate()
        stderr += f"\n(killed after {timeout:g} s)"
    sampler.stop()
    return {"rc": child.returncode, "seconds": time.perf_counter() - started, "rss": sampler.rss / 2**20,
            "stdout": stdout, "stderr": stderr}


def check_inputs(folder: Path, out: Path) -> list[str]:
    """Problems: inputs missing from the run report."""
    from pipeline.core.names import shown

    report = json.loads((out / "run_report.json").read_text())
    listed = {f["file"] for f in report["files"]}
    inputs = {shown(folder / name) for name in os.listdir(folder) if os.path.splitext(name)[1].lower() in (".txt", ".pdf")}
    return [f"not in the report: {name}" for name in sorted(inputs - listed)]


def check_records(out: Path) -> list[str]:
    """Problems: record files the run report does not account for (by an input, as orphaned, or as
    left out of the tables)."""
    report = json.loads((out / "run_report.json").read_text())
    owned = {f"{f['study_id']}.json" for f in report["files"] if f["study_id"]}
    named = {o["record"].split("/", 1)[1] for o in report["orphaned"]}
    names = {n for n in os.listdir(out / "records") if n.endswith(".json") and not n.startswith(".")}
    return [f"record not accounted for: {n}" for n in sorted(names - owned - named)]


def status_table(out: Path) -> list[str]:
    report = json.loads((out / "run_report.json").read_text())
    lines = ["| input | status | reason / record |", "| --- | --- | --- |"]
    for f in report["files"]:
        name = os.path.basename(f["file"])
        name = name if len(name) < 40 else name[:20] + "..." + name[-12:]
        what = f["reason"] or (f"record {f.get('record')}" + (f": {f['kept_reason'][:90]}" if f.get("kept_reason") else ""))
        lines.append(f"| `{name}` | {f['status']} | {what} |")
    for o in report["orphaned"]:
        lines.append(f"| `{o['record']}` | orphaned | {o['reason']} |")
    for left in report["left_out_of_tables"]:
        lines.append(f"| `{left['record']}` | left out of the tables (rows: {left['rows']}) | {left['reason'][:90]} |")
    return lines


def time_cases() -> list[str]:
    from pipeline.batch.runner import prepare_process, process_file

    prepare_process()
    process_file(ABSTRACT)   # the first paper imports the rules' modules: not a case's cost
    cases = [("8,000 closing brackets (one token)", parens, (4000, 8000, 16000)),
             ("'x of y patients' statements", x_of_y, (2500, 5000, 10000)),   # extract._dedupe: the lead's
             ("one sentence without a full stop (characters)", long_sentence, (300_000, 600_000, 1_200_000))]
    lines = ["| case | n | seconds | x per doubling |", "| --- | --- | --- | --- |"]
    with tempfile.TemporaryDirectory(prefix="bench-cases-") as tmp:
        for title, make, sizes in cases:
            previous = None
            for n in sizes:
                path = Path(tmp) / "case.txt"
                path.write_text(make(n))
                started = time.perf_counter()
                result = process_file(path)
                seconds = time.perf_counter() - started
                ratio = f"{seconds / previous:.2f}" if previous else ""
                lines.append(f"| {title} | {n:,} | {seconds:.2f} ({result.status}) | {ratio} |")
                previous = seconds
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-cases", action="store_true", help="skip timing the formerly quadratic cases")
    args = ap.parse_args()
    problems: list[str] = []
    out_lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        tmp = Path(tmp)
        folder, out = tmp / "papers", tmp / "out"
        build_corpus(folder, tmp / "outside.txt")
        runs = []

        first = command(["run", folder, "--out", out, "--jobs", args.jobs, "--quiet"])
        runs.append(("run, hostile inputs", first))
        problems += check_inputs(folder, out)
        out_lines += ["", "First run:", "", *status_table(out)]

        break_records(out / "records")
        checked = command(["validate", out / "records"], timeout=120)
        runs.append(("validate, hostile records", checked))
        merged = command(["merge", "--out", out], timeout=120)
        runs.append(("merge, hostile records", merged))
        holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom pipeline.batch import lock\n"
                                   "with lock.hold(sys.argv[1], 'crmo-extract run'):\n"
                                   "    print('held', flush=True); time.sleep(60)", str(out)],
                                  cwd=ROOT, stdout=subprocess.PIPE, text=True)
        holder.stdout.readline()
        refused = command(["run", folder, "--out", out, "--jobs", args.jobs, "--quiet"], timeout=60)
        holder.kill()
        holder.wait()
        runs.append(("run while another holds the folder", refused))
        second = command(["run", folder, "--out", out, "--jobs", args.jobs, "--quiet"])
        runs.append(("run, hostile records", second))
        problems += check_inputs(folder, out) + check_records(out)
        out_lines += ["", "Second run, after the records were broken:", "", *status_table(out)]
        if refused["rc"] != 4:
            problems.append(f"a run while the folder was held exited {refused['rc']}, not 4")

    print("| command | exit | seconds | peak memory (sum of RSS) | first line of stderr |")
    print("| --- | --- | --- | --- | --- |")
    for title, r in runs:
        line = next((ln for ln in r["stderr"].splitlines() if ln.startswith("error")), r["stderr"].splitlines()[0] if r["stderr"] else "")
        print(f"| {title} | {r['rc']} | {r['seconds']:.1f} | {r['rss']:.0f} MB | {line[:110]} |")
        if r["rss"] > MEMORY_MB:
            problems.append(f"{title}: peak memory {r['rss']:.0f} MB over {MEMORY_MB} MB")
        if r["seconds"] > SECONDS:
            problems.append(f"{title}: {r['seconds']:.1f} s over {SECONDS:g} s")
        if "Traceback" in r["stderr"]:
            problems.append(f"{title}: a traceback on stderr")
    print("\n".join(out_lines))
    if not args.no_cases:
        print("\nFormerly quadratic cases, process_file in this process:\n")
        print("\n".join(time_cases()))
    print()
    print("all checks met" if not problems else "PROBLEMS:\n" + "\n".join(problems))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
