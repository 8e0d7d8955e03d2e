"""Pages/s of bare pdfplumber extract_text() against read_pdf, on the same PDFs in one run.

    PYTHONPATH=. python benchmarks/bench_pdf.py [folder]   (default: ../shared/pdfs)

PDFs that pdfplumber cannot open are skipped. The bare pass runs first on
each file, so both see the same (warm) file cache.
"""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import pdfplumber

from pipeline.read.pdf import PdfReadError, read_pdf


def bare(path: Path) -> int:
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            page.extract_text()
            page.close()
        return len(pdf.pages)


def main(folder: Path) -> None:
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    bare_s = ours_s = 0.0
    pages = 0
    for path in sorted(folder.glob("*.pdf")):
        try:
            t = time.perf_counter()
            n = bare(path)
            b = time.perf_counter() - t
            t = time.perf_counter()
            read_pdf(path)
            o = time.perf_counter() - t
        except PdfReadError as exc:
            print(f"{path.name:42s} skipped: {exc}")
            continue
        except Exception as exc:  # bare pdfplumber on an unreadable file
            print(f"{path.name:42s} skipped: {type(exc).__name__}")
            continue
        pages += n
        bare_s += b
        ours_s += o
        print(f"{path.name:42s} {n:4d} pages  bare {n / b:6.1f} p/s  read_pdf {n / o:6.1f} p/s")
    if not pages:
        sys.exit("no readable PDFs")
    print(f"\n{pages} pages: bare extract_text {pages / bare_s:.1f} pages/s, "
          f"read_pdf {pages / ours_s:.1f} pages/s, ratio {bare_s / ours_s:.2f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / ".." / "shared" / "pdfs")
