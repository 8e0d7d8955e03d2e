"""Where a paper's time goes: CPU seconds of each stage, in multiples of bare spaCy tokenisation.

Runs the stages of `pipeline.batch.runner.process_file` one by one on text papers made as
`bench_batch.py` makes them (half full articles, half abstracts, their numbers varied), in this
process, and splits extraction into its parts: finding the own-cohort sentences (`Context.of`),
tokenising them (`extract/tokens.py`), finding count mentions (`extract/mentions.py`), and the
rules (study, described and treatment rules, resolution). Bare tokenisation is
`spacy.blank("en").pipe` over the same texts, as in `bench_batch.py`. CPU time, not wall time, so
that another program on the machine changes the figures less.

Usage: PYTHONPATH=. python benchmarks/bench_stages.py [--papers 200] [--dev ../shared/dev]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import DEV, bare_tokenisation_seconds, base_texts, paper_texts, write_texts  # noqa: E402

from pipeline.batch.runner import prepare_process  # noqa: E402
from pipeline.extract import extract_all  # noqa: E402
from pipeline.extract.citation import find_citation  # noqa: E402
from pipeline.extract.engine import Context  # noqa: E402
from pipeline.nlp.paper import document_to_paper  # noqa: E402
from pipeline.read.document import read_document  # noqa: E402
from pipeline.record.build import build_record  # noqa: E402
from pipeline.record.checks import run_checks  # noqa: E402
from pipeline.record.validate import record_issues  # noqa: E402

PARTS = ("read", "paper (spaCy, sentences, own/other)", "extract: own sentences", "extract: tokens",
         "extract: mentions", "extract: rules", "record (checks, build, schema)")


def stage_seconds(paths: list[Path]) -> dict[str, float]:
    """CPU seconds of each part, summed over the papers."""
    spent = dict.fromkeys(PARTS, 0.0)
    of = Context.of
    try:
        for path in paths:
            clock = [time.process_time()]
            document = read_document(path)
            clock.append(time.process_time())
            paper = document_to_paper(document)
            clock.append(time.process_time())
            ctx = of(paper)
            clock.append(time.process_time())
            for a in ctx.own:
                a.tokens
            clock.append(time.process_time())
            for a in ctx.own:
                a.mentions
            clock.append(time.process_time())
            # The rules, on the sentences analysed above: extraction asks for the context once.
            Context.of = classmethod(lambda cls, p, ctx=ctx: ctx)
            figures, outcomes, percents = extract_all(paper)
            Context.of = of
            clock.append(time.process_time())
            checks = run_checks(figures, outcomes, percents, text=document.text)
            record = build_record("bench", document.source_file, figures, outcomes, checks,
                                  citation=find_citation(document.text, document.page_at))
            record_issues(record, file=path.name)
            clock.append(time.process_time())
            for part, a, b in zip(PARTS, clock, clock[1:]):
                spent[part] += b - a
    finally:
        Context.of = of
    return spent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--papers", type=int, default=200)
    ap.add_argument("--dev", type=Path, default=DEV, help="development abstracts (default ../shared/dev)")
    args = ap.parse_args()
    articles, abstracts = base_texts(args.dev)
    texts = paper_texts(args.papers, articles, abstracts)
    with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
        folder = Path(tmp) / "papers"
        write_texts(folder, texts)
        paths = sorted(folder.glob("*.txt"))
        prepare_process()  # as a run's process: spaCy built, the heap frozen
        stage_seconds(paths[:2])  # loads the data files and the schema
        spent = stage_seconds(paths)
    bare = bare_tokenisation_seconds([t for _, t in texts])
    print(f"{args.papers} papers; bare tokenisation {bare:.2f} s\n")
    print("| stage | CPU s | x bare tokenisation |\n| --- | --- | --- |")
    for part, seconds in [*spent.items(), ("all", sum(spent.values()))]:
        print(f"| {part} | {seconds:.2f} | {seconds / bare:.2f} |")


if __name__ == "__main__":
    main()
