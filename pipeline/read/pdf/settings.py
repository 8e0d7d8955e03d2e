"""How the PDF stage reads a page: limits, margins and the geometry thresholds, in points."""
from __future__ import annotations

from dataclasses import dataclass

from ...core.settings import Settings


@dataclass(frozen=True)
class PdfSettings(Settings):
    # Longer documents are theses or supplements; the cohort figures of a paper are in its first
    # pages, so the rest is skipped (and the run report says so) rather than failing the paper.
    max_pages: int = 300
    timeout_seconds: float = 120.0
    # Fractions of the page height where running headers/footers are looked for.
    header_margin: float = 0.08
    footer_margin: float = 0.08
    # Notices ("How to cite this article ...", pipeline/data/pdf.json) are dropped this far from
    # the top and bottom edge, a fraction of the page height, even when they appear once.
    furniture_margin: float = 0.15
    # A header/footer line is "running" when it recurs on this many pages.
    running_min_pages: int = 2
    # pdfplumber word grouping, in points. 3 pt merges the words of small fonts in PDFs without
    # space characters (LaTeX output).
    x_tolerance: float = 1.5
    y_tolerance: float = 3.0
    # Narrowest gap between two page columns, in points.
    min_gutter: float = 8.0
    # Each column must be at least this fraction of the text width; this keeps an unruled
    # two-column table from being read as page columns.
    min_column_fraction: float = 0.15
    # Columns are split again inside a column until no gutter is left (a sidebar beside two
    # columns, three columns); this bounds the depth.
    max_column_depth: int = 4
    # A vertical gap larger than this many line heights starts a paragraph.
    paragraph_gap: float = 0.7
    # Narrowest white gap between two cells of an unruled table row, in points: wider than the
    # spaces of justified prose.
    min_cell_gap: float = 7.0
    # Two lines of one table row (a wrapped cell) are closer than this fraction of the table's
    # gap between rows.
    row_continuation: float = 0.6
    # Fewer non-blank characters than this in the whole document means a scan without a text layer.
    min_text_chars: int = 20
