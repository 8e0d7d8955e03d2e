"""Measure what each speed-up of the pipeline saves on a whole run, against the plain library call.

A speed-up stays only where it is worth at least 10 % of a whole run at the sizes users run (issue
17). For each one, the same corpus (built as bench_batch.py builds it: seed articles and development
abstracts with their numbers varied) goes through `process_file` paper by paper, as a `--jobs 1`
run does, once as shipped and once with that speed-up replaced by the library call it stands for.
Each pass runs in a child process of its own (a fresh process, as a run is; start-up not timed) and
is timed in CPU seconds (`time.process_time`), not wall time, so other programs on the machine do
not count; every pass is repeated --repeat times, the rounds interleaved, and the median reported.
"share" is the part of a run without the speed-up that the speed-up saves: (without - with) /
without. "same records" says whether every record (but its time stamp) came out identical.

Usage: PYTHONPATH=. python benchmarks/bench_speedups.py [--papers 300] [--repeat 3] [--only NAME ...]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import DEV, ROOT, base_texts, paper_texts, write_texts  # noqa: E402

# name -> (what the speed-up is, the library call that replaces it in the "without" pass)
SPEEDUPS = {
    "sentences": ("sentence_spans: sentence ends found without tokenising the text",
                  "spaCy's sentencizer over the tokenised chunk"),
    "long words": ("make_doc: words over word_piece_chars tokenised in pieces (a safety limit)",
                   "nlp.make_doc"),
}


def without(names: str) -> None:
    """Replace speed-ups `names` ("sentences", "sentences+long words") by their library calls, before the
    pipeline is first used."""
    for name in names.split("+"):
        _without(name)


def _without(name: str) -> None:
    from pipeline.nlp import language, paper

    if name == "sentences":
        def sentencizer_spans(text: str) -> list[tuple[int, int]]:
            doc = language.make_doc(text)
            doc = language.get_nlp().get_pipe("sentencizer")(doc)
            return [(s.start_char, s.end_char) for s in doc.sents] if len(doc) else []
        paper.sentence_spans = sentencizer_spans
    elif name == "long words":
        language.make_doc = lambda text: language.get_nlp().make_doc(text)


def one_pass(folder: Path, name: str) -> dict:
    """In this process: every paper of `folder` through process_file, `name` replaced."""
    without(name)
    from pipeline.batch.runner import process_file
    from pipeline.nlp.language import get_nlp

    get_nlp()
    paths = sorted(folder.glob("*.txt"))
    # Imports, vocabularies and the schema are loaded on the first paper: a run's start-up, the
    # same with and without, kept off the clock so the share is the share of the papers' time.
    process_file(paths[0])
    digest = hashlib.sha256()
    failed = 0
    started = time.process_time()
    for path in paths:
        result = process_file(path)
        failed += result.status != "ok"
        record = dict(result.record or {"reason": result.reason}, extracted_at=None)
        digest.update(json.dumps(record, sort_keys=True, default=str).encode())
    cpu = time.process_time() - started
    return {"cpu": cpu, "digest": digest.hexdigest(), "failed": failed, "papers": len(paths)}


def child(folder: Path, name: str) -> dict:
    cmd = [sys.executable, __file__, "--child", name, "--folder", str(folder)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"error: {' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--papers", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", metavar="NAME",
                    help=f"measure these only ({', '.join(SPEEDUPS)}; a+b: both replaced in one pass)")
    ap.add_argument("--dev", type=Path, default=DEV, help="development abstracts (default ../shared/dev)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one_pass(args.folder, args.child)))
        return

    names = ["none", *(args.only or SPEEDUPS)]
    for name in names[1:]:
        if any(part not in SPEEDUPS for part in name.split("+")):
            sys.exit(f"error: no speed-up {name!r} (known: {', '.join(SPEEDUPS)})")
    with tempfile.TemporaryDirectory(prefix="bench-speedups-") as tmp:
        folder = Path(tmp) / "papers"
        write_texts(folder, paper_texts(args.papers, *base_texts(args.dev)))
        runs: dict[str, list[dict]] = {name: [] for name in names}
        for k in range(args.repeat):
            # Each round in another order: no pass is always the first after the corpus is written.
            for name in names[k % len(names):] + names[:k % len(names)]:
                runs[name].append(child(folder, name))
                print(f"round {k + 1}/{args.repeat}, {name}: {runs[name][-1]['cpu']:.2f} CPU s", file=sys.stderr)

    shipped = statistics.median(r["cpu"] for r in runs["none"])
    print(f"{args.papers} text papers, process_file one after another; CPU seconds, median of {args.repeat}; "
          f"as shipped: {shipped:.2f} s ({shipped / args.papers * 1000:.0f} ms a paper)\n")
    print("| speed-up | replaced by | CPU s with | CPU s without | share of the run without it | same records |")
    print("|---|---|---:|---:|---:|---|")
    for name in names[1:]:
        slow = statistics.median(r["cpu"] for r in runs[name])
        same = {r["digest"] for r in runs[name]} == {r["digest"] for r in runs["none"]}
        what = " + ".join(SPEEDUPS[part][0] for part in name.split("+"))
        library = " + ".join(SPEEDUPS[part][1] for part in name.split("+"))
        print(f"| {what} | {library} | {shipped:.2f} | {slow:.2f} | {(slow - shipped) / slow:.1%} | "
              f"{'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
