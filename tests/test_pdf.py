"""The PDF stage on PDFs typeset from the seed texts, and on unreadable files."""
import logging
import re

import pdfplumber
import pytest

from pipeline.pdf import PdfReadError, PdfSettings, read_pdf

from .conftest import ABSTRACT, ARTICLE
from .pdf_fixtures import LAYOUTS, article_pdf, encrypted_pdf, lines_pdf, scanned_pdf


@pytest.fixture(scope="module")
def article_text():
    return ARTICLE.read_text("utf-8")


@pytest.fixture(scope="module")
def one_column(tmp_path_factory, article_text):
    return article_pdf(tmp_path_factory.mktemp("pdf") / "one.pdf", article_text, LAYOUTS["one_column_grid"])


@pytest.fixture(scope="module")
def two_column(tmp_path_factory, article_text):
    return article_pdf(tmp_path_factory.mktemp("pdf") / "two.pdf", article_text, LAYOUTS["two_column_grid"])


def column_lines(path, page_no, left):
    """The text lines pdfplumber sees in one half of a page (ground truth from the layout)."""
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[page_no - 1]
        mid = page.width / 2
        box = (0, 50, mid, page.height - 50) if left else (mid, 50, page.width, page.height - 50)
        return [ln for ln in page.crop(box).extract_text(x_tolerance=1.5).splitlines() if ln.strip()]


def all_text(pages):
    return "\n".join(p.text for p in pages)


def test_single_column_keeps_every_line_and_order(one_column):
    text = all_text(read_pdf(one_column).pages)
    first = text.index("There were 15 CRMO patients")
    later = text.index("Demographic, clinical and laboratory features")
    assert first < later
    assert "(8M/7F) with a median age at diagnosis" in text


def test_two_column_page_is_not_interleaved(two_column):
    pages = read_pdf(two_column).pages
    for page in (pages[0], pages[2]):  # the pages without a table
        left = column_lines(two_column, page.number, left=True)
        right = column_lines(two_column, page.number, left=False)
        lines = page.text.splitlines()
        # every line of the output lies within one column
        for line in left[:5] + right[:5]:
            assert line in lines, line
        assert lines.index(left[0]) < lines.index(left[-1]) < lines.index(right[0]) < lines.index(right[-1])


def test_text_flows_from_left_column_foot_to_right_column_head(two_column):
    page = read_pdf(two_column).pages[0]
    left = column_lines(two_column, 1, left=True)
    right = column_lines(two_column, 1, left=False)
    assert f"{left[-1]}\n{right[0]}" in page.text


def test_running_header_and_page_numbers_are_removed(two_column):
    pages = read_pdf(two_column).pages
    assert len(pages) >= 3
    for page in pages:
        assert "Pediatric Rheumatology 2019" not in page.text
        assert not page.text.startswith("Pediatric")
        lines = page.text.splitlines()
        assert str(page.number) not in lines
        assert not any(re.fullmatch(r"\d+", ln.strip()) for ln in lines)


@pytest.mark.parametrize("layout", ["one_column", "two_column"])
def test_table_rows_are_lines_once_and_inside_table_spans(layout, request):
    pages = read_pdf(request.getfixturevalue(layout)).pages
    text = all_text(pages)
    for row in ("Femur 10 (66.7)", "Male gender 8 (53.4)", "Calcaneus 1 (6.6)",
                "Non-steroid anti-inflammatory drugs (NSAID), n (%) 1 (6.6)"):
        assert text.count(row) == 1, row
        page = next(p for p in pages if row in p.text)
        start = page.text.index(row)
        assert (start, start + len(row)) in page.table_spans
        assert page.text.splitlines().count(row) == 1
    # table words are not emitted again as prose
    assert text.count("Calcaneus") == 1
    # every span is a whole line
    for page in pages:
        for a, b in page.table_spans:
            assert (a == 0 or page.text[a - 1] == "\n") and (b == len(page.text) or page.text[b] == "\n")


def test_table_caption_is_prose_before_its_rows(two_column):
    pages = read_pdf(two_column).pages
    page = next(p for p in pages if "Femur 10 (66.7)" in p.text)
    caption = page.text.index("Table II. Distribution of Affected Bones")
    assert caption < page.text.index("Vertebra 10 (66.7)")
    assert not any(a <= caption < b for a, b in page.table_spans)


@pytest.mark.parametrize("layout", ["one_column", "two_column"])
def test_page_numbers_match_the_page_the_words_are_on(layout, request):
    path = request.getfixturevalue(layout)
    with pdfplumber.open(path) as pdf:
        truth = {w: next(i + 1 for i, p in enumerate(pdf.pages) if w in (p.extract_text() or ""))
                 for w in ("lipopolysaccharide", "Calcaneus", "SPSS", "enlighten")}
    assert max(truth.values()) >= 2
    pages = read_pdf(path).pages
    for word, number in truth.items():
        assert [p.number for p in pages if word in p.text] == [number], word


def test_hyphenated_line_ends_are_not_joined(tmp_path):
    path = lines_pdf(tmp_path / "abstract.pdf", ABSTRACT.read_text("utf-8").splitlines())
    text = all_text(read_pdf(path).pages)
    assert "etiology, charac-\nterized by nonbacterial" in text
    assert "characterized" not in text


def test_paragraph_gap_becomes_blank_line(tmp_path):
    path = lines_pdf(tmp_path / "abstract.pdf", ABSTRACT.read_text("utf-8").splitlines())
    text = all_text(read_pdf(path).pages)
    assert "(NSAIDs) and\n\nGlucocorticoid" in text
    assert "unknown etiology, charac-\nterized" in text


def test_empty_file_fails_with_reason(tmp_path):
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    with pytest.raises(PdfReadError, match="^empty file$"):
        read_pdf(path).pages


def test_html_named_pdf_fails_as_not_a_pdf(tmp_path):
    path = tmp_path / "paper.pdf"
    path.write_text("<!DOCTYPE html><html><body>Access denied</body></html>")
    with pytest.raises(PdfReadError, match=r"^not a PDF: file starts with '<!DOCTYPE html>"):
        read_pdf(path).pages


def test_truncated_pdf_fails_as_unreadable(tmp_path, one_column):
    data = one_column.read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(PdfReadError, match="^not a readable PDF: "):
        read_pdf(path).pages


def test_corrupt_pdf_body_fails_as_unreadable_not_with_a_parser_exception(tmp_path):
    path = tmp_path / "junk.pdf"
    path.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n")
    with pytest.raises(PdfReadError, match="^not a readable PDF: "):
        read_pdf(path).pages


def test_encrypted_pdf_with_user_password_fails_with_reason(tmp_path):
    path = encrypted_pdf(tmp_path / "locked.pdf", user_password="secret")
    with pytest.raises(PdfReadError, match="^encrypted PDF: remove the password first$"):
        read_pdf(path).pages


def test_encrypted_pdf_with_empty_user_password_is_read(tmp_path):
    path = encrypted_pdf(tmp_path / "owner_only.pdf", user_password="")
    pages = read_pdf(path).pages
    assert "There were 15 CRMO patients (8M/7F)" in pages[0].text


def test_scanned_pdf_without_text_layer_fails_with_reason(tmp_path):
    path = scanned_pdf(tmp_path / "scan.pdf")
    with pytest.raises(PdfReadError, match="^no text layer: OCR it first$"):
        read_pdf(path).pages


def test_time_limit_stops_a_slow_paper_between_pages(one_column):
    with pytest.raises(PdfReadError, match=r"^time limit of 0 s exceeded at page 1$"):
        read_pdf(one_column, PdfSettings(timeout_seconds=0)).pages


def test_page_limit_reads_the_first_pages_and_warns(one_column, caplog):
    with caplog.at_level(logging.WARNING, logger="pipeline.pdf"):
        pages = read_pdf(one_column, PdfSettings(max_pages=2)).pages
    assert [p.number for p in pages] == [1, 2]
    assert "reading the first 2 of 4 pages" in caplog.text


def test_settings_from_dict_rejects_unknown_key_by_name():
    assert PdfSettings.from_dict({"max_pages": 10}).max_pages == 10
    with pytest.raises(ValueError, match="'max_page'.*valid settings: max_pages, timeout_seconds"):
        PdfSettings.from_dict({"max_page": 10})


def test_missing_file_fails_with_reason(tmp_path):
    with pytest.raises(PdfReadError, match="^cannot open file: "):
        read_pdf(tmp_path / "nope.pdf").pages


def _values(record):
    """Figures and outcomes without their evidence (offsets differ between .txt and PDF)."""
    return _strip_evidence({"figures": record["figures"], "outcomes": record["outcomes"]})


def _strip_evidence(obj):
    if isinstance(obj, dict):
        return {k: _strip_evidence(v) for k, v in obj.items() if k != "evidence"}
    if isinstance(obj, list):
        return [_strip_evidence(v) for v in obj]
    return obj


@pytest.mark.parametrize("layout", ["one_column", "two_column"])
def test_pdf_of_the_seed_gives_the_same_figures_as_its_text(layout, request, tmp_path):
    from pipeline.runner import process_file

    source = request.getfixturevalue(layout)
    pdf = tmp_path / f"{ARTICLE.stem}.pdf"
    pdf.write_bytes(source.read_bytes())
    from_text, from_pdf = process_file(ARTICLE), process_file(pdf)
    assert from_pdf.status == "ok", from_pdf.reason
    assert _values(from_pdf.record) == _values(from_text.record)
    figures = from_pdf.record["figures"]
    assert (figures["n_patients"]["value"], figures["n_male"]["value"], figures["n_female"]["value"]) == (15, 8, 7)
    evidence = [e for f in figures.values() for e in f["evidence"]]
    assert evidence
    for e in evidence:
        assert from_pdf.kept_text[e["start"]:e["end"]] == e["quote"]
        assert isinstance(e["page"], int) and e["page"] >= 1
    assert {"8M/7F": 1, "Male gender 8 (53.4)": 2}.items() <= {e["quote"]: e["page"] for e in figures["n_male"]["evidence"]}.items()
