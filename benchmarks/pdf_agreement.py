"""How far a paper read from its PDF gives the figures it gives from its text, under the same code.

    PYTHONPATH=. python benchmarks/pdf_agreement.py [TEXT ...] [--layouts NAME,...]
    PYTHONPATH=. python benchmarks/pdf_agreement.py --pdfs ../shared/dev/pdf --texts ../shared/dev

The first form typesets each text (default: the seed papers in corpus/) in every layout of
tests/pdf_fixtures.LAYOUTS (one to three columns; tables ruled, between rules, unruled with n and
% in their own columns, or set as lines of text; in a column or across the page; caption above or
below; running header, page numbers, a "How to cite" notice), reads each PDF back with the
pipeline and compares its record with the record of the text, figure by figure: study figures
and outcome figures, by the value each puts in the tables. The second form compares PDFs made
elsewhere with the texts of the same stem.

Agreement is the share of figures (those that reach the tables from either reading) on which both
agree; it does not depend on the rules being right, only on the PDF stage giving the rules the
same text. Every disagreement is listed. Exit status 0 when overall agreement is at least --min
(default 0.97), else 1.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.batch.runner import process_file  # noqa: E402
from pipeline.record.compare import Disagreement, agreement  # noqa: E402
from tests.pdf_fixtures import LAYOUTS, article_pdf  # noqa: E402


@dataclass
class Pair:
    name: str
    figures: int = 0
    differences: list[Disagreement] = field(default_factory=list)
    failed: str | None = None

    @property
    def agreeing(self) -> int:
        return self.figures - len(self.differences)


def compare_pair(name: str, text: Path, pdf: Path) -> Pair:
    from_text, from_pdf = process_file(text), process_file(pdf)
    if from_text.status != "ok" or from_pdf.status != "ok":
        return Pair(name, failed=from_pdf.reason or from_text.reason)
    figures, differences = agreement(from_pdf.record, from_text.record)
    return Pair(name, figures, differences)


def typeset_pairs(texts: list[Path], layouts: list[str], work: Path) -> list[Pair]:
    pairs = []
    for text in texts:
        for name in layouts:
            # The PDF carries the text's stem, so both records have the same study_id.
            pdf = work / name / f"{text.stem}.pdf"
            pdf.parent.mkdir(parents=True, exist_ok=True)
            article_pdf(pdf, text.read_text("utf-8"), LAYOUTS[name])
            pairs.append(compare_pair(f"{text.stem} [{name}]", text, pdf))
    return pairs


def given_pairs(pdfs: Path, texts: Path) -> list[Pair]:
    pairs = []
    for pdf in sorted(pdfs.glob("*.pdf")):
        text = texts / f"{pdf.stem}.txt"
        if text.is_file():
            pairs.append(compare_pair(pdf.stem, text, pdf))
    return pairs


def report(pairs: list[Pair]) -> float:
    total = agreeing = 0
    for p in pairs:
        if p.failed:
            print(f"{p.name:60s} failed: {p.failed}")
            continue
        share = p.agreeing / p.figures if p.figures else 1.0
        print(f"{p.name:60s} {p.agreeing:4d} of {p.figures:4d} figures agree ({share:.3f})")
        for d in p.differences:
            print(f"    {d.field}: pdf {d.value_a!r} ({d.status_a}), text {d.value_b!r} ({d.status_b})")
        total += p.figures
        agreeing += p.agreeing
    overall = agreeing / total if total else 0.0
    print(f"\noverall: {agreeing} of {total} figures agree ({overall:.3f})")
    return overall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("texts", nargs="*", type=Path, help="text papers to typeset (default: corpus/*.txt)")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help="comma-separated names of tests/pdf_fixtures.LAYOUTS")
    parser.add_argument("--pdfs", type=Path, help="compare the PDFs in this folder ...")
    parser.add_argument("--texts", dest="text_dir", type=Path, help="... with the .txt files of the same stem here")
    parser.add_argument("--min", type=float, default=0.97, help="agreement below this exits with status 1")
    args = parser.parse_args(argv)
    if args.pdfs:
        pairs = given_pairs(args.pdfs, args.text_dir or args.pdfs)
    else:
        layouts = [n for n in args.layouts.split(",") if n]
        unknown = [n for n in layouts if n not in LAYOUTS]
        if unknown:
            parser.error(f"unknown layouts {', '.join(unknown)}; known: {', '.join(LAYOUTS)}")
        texts = args.texts or sorted((ROOT / "corpus").glob("*.txt"))
        with tempfile.TemporaryDirectory() as work:
            pairs = typeset_pairs(texts, layouts, Path(work))
    if not pairs:
        parser.error("no pairs of a PDF and a text to compare")
    return 0 if report(pairs) >= args.min else 1


if __name__ == "__main__":
    sys.exit(main())
