"""The PDF stage on PDFs typeset from the seed texts, and on unreadable files."""
import logging
import re

import pdfplumber
import pytest

from pipeline.read.pdf import PdfReadError, PdfSettings, read_pdf
from pipeline.read.pdf.tables import split_rows

from .conftest import ABSTRACT, ARTICLE
from .pdf_fixtures import (
    LAYOUTS,
    NOTICE,
    article_blocks,
    article_pdf,
    encrypted_pdf,
    lines_pdf,
    rows_across_columns_pdf,
    scanned_pdf,
)


@pytest.fixture(scope="module")
def article_text():
    return ARTICLE.read_text("utf-8")


@pytest.fixture(scope="module")
def one_column(tmp_path_factory, article_text):
    return article_pdf(tmp_path_factory.mktemp("pdf") / "one.pdf", article_text, LAYOUTS["one_column_grid"])


@pytest.fixture(scope="module")
def two_column(tmp_path_factory, article_text):
    return article_pdf(tmp_path_factory.mktemp("pdf") / "two.pdf", article_text, LAYOUTS["two_column_grid"])


@pytest.fixture(scope="module")
def typeset(tmp_path_factory, article_text):
    """The seed article set in a layout of LAYOUTS, by name; each built once, named as the seed."""
    made = {}

    def build(name):
        if name not in made:
            made[name] = article_pdf(tmp_path_factory.mktemp(name) / f"{ARTICLE.stem}.pdf", article_text, LAYOUTS[name])
        return made[name]
    return build


@pytest.fixture(scope="module")
def pages_of():
    """read_pdf(path).pages, read once per PDF of this module."""
    read = {}

    def pages(path):
        if path not in read:
            read[path] = read_pdf(path).pages
        return read[path]
    return pages


def rows_of(pages):
    """Every line the PDF stage marked as a table row, with its page number."""
    return [(p.number, p.text[a:b]) for p in pages for a, b in p.table_spans]


def column_lines(path, page_no, left):
    """The text lines pdfplumber sees in one half of a page (ground truth from the layout)."""
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[page_no - 1]
        mid = page.width / 2
        box = (0, 50, mid, page.height - 50) if left else (mid, 50, page.width, page.height - 50)
        return [ln for ln in page.crop(box).extract_text(x_tolerance=1.5).splitlines() if ln.strip()]


def all_text(pages):
    return "\n".join(p.text for p in pages)


def test_single_column_keeps_every_line_and_order(one_column, pages_of):
    text = all_text(pages_of(one_column))
    first = text.index("There were 15 CRMO patients")
    later = text.index("Demographic, clinical and laboratory features")
    assert first < later
    assert "(8M/7F) with a median age at diagnosis" in text


def test_two_column_page_is_not_interleaved(two_column, pages_of):
    pages = pages_of(two_column)
    for page in (pages[0], pages[2]):  # the pages without a table
        left = column_lines(two_column, page.number, left=True)
        right = column_lines(two_column, page.number, left=False)
        lines = page.text.splitlines()
        # every line of the output lies within one column
        for line in left[:5] + right[:5]:
            assert line in lines, line
        assert lines.index(left[0]) < lines.index(left[-1]) < lines.index(right[0]) < lines.index(right[-1])


def test_text_flows_from_left_column_foot_to_right_column_head(two_column, pages_of):
    page = pages_of(two_column)[0]
    left = column_lines(two_column, 1, left=True)
    right = column_lines(two_column, 1, left=False)
    assert f"{left[-1]}\n{right[0]}" in page.text


def test_running_header_and_page_numbers_are_removed(two_column, pages_of):
    pages = pages_of(two_column)
    assert len(pages) >= 3
    for page in pages:
        assert "Pediatric Rheumatology 2019" not in page.text
        assert not page.text.startswith("Pediatric")
        lines = page.text.splitlines()
        assert str(page.number) not in lines
        assert not any(re.fullmatch(r"\d+", ln.strip()) for ln in lines)


@pytest.mark.parametrize("layout", ["one_column", "two_column"])
def test_table_rows_are_lines_once_and_inside_table_spans(layout, request, pages_of):
    pages = pages_of(request.getfixturevalue(layout))
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


def test_table_caption_is_prose_before_its_rows(two_column, pages_of):
    pages = pages_of(two_column)
    page = next(p for p in pages if "Femur 10 (66.7)" in p.text)
    caption = page.text.index("Table II. Distribution of Affected Bones")
    assert caption < page.text.index("Vertebra 10 (66.7)")
    assert not any(a <= caption < b for a, b in page.table_spans)


@pytest.mark.parametrize("layout", ["one_column", "two_column"])
def test_page_numbers_match_the_page_the_words_are_on(layout, request, pages_of):
    path = request.getfixturevalue(layout)
    with pdfplumber.open(path) as pdf:
        truth = {w: next(i + 1 for i, p in enumerate(pdf.pages) if w in (p.extract_text() or ""))
                 for w in ("lipopolysaccharide", "Calcaneus", "SPSS", "enlighten")}
    assert max(truth.values()) >= 2
    pages = pages_of(path)
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
        read = read_pdf(one_column, PdfSettings(max_pages=2))
    assert [p.number for p in read.pages] == [1, 2]
    assert "reading the first 2 of 4 pages" in caplog.text
    assert (read.page_count, read.notes) == (4, ["read the first 2 of 4 pages (max_pages)"])


def test_page_limit_is_stated_in_the_run_report_also_when_cached(one_column, tmp_path, monkeypatch):
    import json

    import pipeline.read.pdf
    from pipeline.batch.runner import BatchSettings, run

    monkeypatch.setattr(pipeline.read.pdf, "DEFAULT_SETTINGS", PdfSettings(max_pages=2))
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "long.pdf").write_bytes(one_column.read_bytes())
    for cached in (False, True):
        run(papers, tmp_path / "out", settings=BatchSettings(jobs=1))
        [entry] = json.loads((tmp_path / "out" / "run_report.json").read_text())["files"]
        assert (entry["status"], entry["cached"]) == ("ok", cached)
        assert entry["notes"] == ["read the first 2 of 4 pages (max_pages)"]


def test_modules_of_the_pdf_package_count_in_the_rules_hash():
    from pipeline.batch import cache

    names = {str(p.relative_to(cache.PACKAGE)) for p in cache.rule_files() if p.is_relative_to(cache.PACKAGE)}
    assert {"read/pdf/tables.py", "read/pdf/layout.py", "read/pdf/__init__.py", "data/pdf.json"} <= names
    assert "cli.py" not in names and "__init__.py" not in names


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
def test_pdf_of_the_seed_gives_the_same_figures_as_its_text(layout, request, tmp_path, seed_records):
    from pipeline.batch.runner import process_file

    source = request.getfixturevalue(layout)
    pdf = tmp_path / f"{ARTICLE.stem}.pdf"
    pdf.write_bytes(source.read_bytes())
    from_pdf = process_file(pdf)   # the text's record: seed_records, process_file(ARTICLE) once a session
    assert from_pdf.status == "ok", from_pdf.reason
    assert _values(from_pdf.record) == _values(seed_records[ARTICLE.stem])
    figures = from_pdf.record["figures"]
    assert (figures["n_patients"]["value"], figures["n_male"]["value"], figures["n_female"]["value"]) == (15, 8, 7)
    evidence = [e for f in figures.values() for e in f["evidence"]]
    assert evidence
    for e in evidence:
        assert from_pdf.kept_text[e["start"]:e["end"]] == e["quote"]
        assert isinstance(e["page"], int) and e["page"] >= 1
    assert {"8M/7F": 1, "Male gender 8 (53.4)": 2}.items() <= {e["quote"]: e["page"] for e in figures["n_male"]["evidence"]}.items()


@pytest.mark.parametrize("name", ["two_column_rules_notice", "two_column_unruled_n_and_pct",
                                  "two_column_wide_tables_caption_below", "three_column_rows_as_text"])
def test_typeset_layouts_of_the_seed_give_the_figures_of_its_text(name, typeset, seed_records):
    from pipeline.batch.runner import process_file
    from pipeline.record.compare import agreement

    result = process_file(typeset(name))
    assert result.status == "ok", result.reason
    text_record = seed_records[ARTICLE.stem]
    figures, disagreements = agreement(result.record, text_record)
    assert figures >= 40 and disagreements == []
    assert _values(result.record) == _values(text_record)


def test_tables_between_rules_and_unruled_ones_come_out_one_line_per_row(typeset, pages_of):
    expected = ["Femur 10 (66.7)", "Pelvis 6 (40.0)", "Calcaneus 1 (6.6)", "Median age at diagnosis, years* 10.5 (3.0-16.5) years",
                "Non-steroid anti-inflammatory drugs (NSAID), n (%) 1 (6.6)", "WBC, /mm3 7,800 (6,300-20,600)"]
    for name in ("two_column_rules_notice", "two_column_unruled_n_and_pct"):
        rows = [text for _, text in rows_of(pages_of(typeset(name)))]
        for row in expected:
            assert rows.count(row) == 1, (name, row)
    # n and % in columns of their own under one header, read back as the text has them.
    rows = [text for _, text in rows_of(pages_of(typeset("two_column_unruled_n_and_pct")))]
    assert "Affected bones Results, n (%)" in rows


def test_caption_below_a_table_across_the_page_comes_before_its_rows(typeset, pages_of):
    text = all_text(pages_of(typeset("two_column_wide_tables_caption_below")))
    caption = text.index("Table II. Distribution of Affected Bones on Magnetic Resonance Imaging.")
    assert caption < text.index("Affected bones Results, n (%)") < text.index("Vertebra 10 (66.7)") < text.index("Calcaneus 1 (6.6)")
    # the rows are whole: label and value on one line, not the labels under one column, then the values
    assert "\n\nVertebra 10 (66.7)\n\nFemur 10 (66.7)\n\n" in text


def test_one_off_notice_and_running_header_are_dropped(typeset, pages_of):
    path = typeset("two_column_rules_notice")
    with pdfplumber.open(path) as pdf:
        raw = pdf.pages[0].extract_text()
    assert "How to cite this article" in raw and "Pediatric Rheumatology" in raw
    pages = pages_of(path)
    text = all_text(pages)
    assert "How to cite" not in text and NOTICE.split()[-1] not in text
    assert "Pediatric Rheumatology 2019" not in text
    assert "There were 15 CRMO patients" in pages[0].text


def test_three_columns_are_read_one_after_the_other(typeset, pages_of):
    path = typeset("three_column_rules")
    margin, gutter = 56, 20  # as pdf_fixtures.article_pdf sets three columns
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        col_w = (page.width - 2 * margin - 2 * gutter) / 3
        edges = [0, margin + col_w + gutter / 2, margin + 2 * col_w + 1.5 * gutter, page.width]
        columns = [[ln for ln in page.crop((edges[k], 50, edges[k + 1], page.height - 50)).extract_text(x_tolerance=1.5).splitlines()
                    if ln.strip()] for k in range(3)]
    lines = pages_of(path)[0].text.splitlines()
    for column in columns:
        for line in column[:3] + column[-3:]:
            assert line in lines, line
    order = [lines.index(c[0]) for c in columns] + [lines.index(columns[2][-1])]
    assert order == sorted(order)


def test_rows_broken_across_a_column_and_a_page_come_out_whole(tmp_path, article_text):
    across_column = "Erythrocyte sedimentation rate, mm/hour 29 (2-120)"
    across_page = "Non-steroid anti-inflammatory drugs (NSAID), n (%) 1 (6.6)"
    path = rows_across_columns_pdf(tmp_path / "rows.pdf", article_text, (across_column, across_page))
    with pdfplumber.open(path) as pdf:
        assert len(pdf.pages) == 2 and "(2-120)" in pdf.pages[0].crop((pdf.pages[0].width / 2, 0, pdf.pages[0].width, 100)).extract_text()
        assert pdf.pages[1].extract_text().startswith("n (%) 1 (6.6)")
    pages = read_pdf(path).pages
    rows = rows_of(pages)
    assert (1, across_column) in rows and (1, across_page) in rows and (2, "Pamidronate 1 (6.6)") in rows
    assert (1, "Features Results*") in rows and (1, "Median age at diagnosis, years* 10.5 (3.0-16.5) years") in rows
    # the prose around the table is not read as rows
    assert not any("biopsy-proven" in r or "initially treated" in r for _, r in rows)
    assert "Table I. Demographic, Clinical and Laboratory Features of Patients." in pages[0].text.splitlines()


def test_rows_run_together_are_cut_where_a_value_meets_a_label(article_text):
    table = next(c for kind, c in article_blocks(article_text) if kind == "table" and c.caption.startswith("Table II"))
    rows = [" ".join(r) for r in table.rows]
    assert len(rows) == 13
    assert split_rows(" ".join(["Affected bones Results, n (%)", *rows])) == ["Affected bones Results, n (%)", *rows]
    # a caption's number does not end a row; a value before a label does
    assert split_rows("Table 2 Bones involved (n = 15) Femur 10 (66.7)") == ["Table 2 Bones involved (n = 15)", "Femur 10 (66.7)"]
    # a sentence's figures followed by the next sentence stay prose
    prose = "the median number of lesions per child was 4 (IQR 2-6). Disease was multifocal in 21 children (n = 21)"
    assert split_rows(prose) == [prose]


def test_a_paragraph_boxed_between_rules_stays_prose(tmp_path):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    lines = ABSTRACT.read_text("utf-8").splitlines()[:12]
    c = canvas.Canvas(str(tmp_path / "box.pdf"), pagesize=A4)
    c.line(72, 760, 520, 760)
    y = 745
    for line in lines:
        c.drawString(72, y, line.strip())
        y -= 13
    c.line(72, y, 520, y)
    c.save()
    pages = read_pdf(tmp_path / "box.pdf").pages
    assert pages[0].table_spans == ()
    assert lines[2].strip() in pages[0].text.splitlines()


def _pdf_document(blocks: list[tuple[str, bool]]):
    """A Document as the PDF stage gives it: blocks joined by blank lines, the rows marked as rows."""
    from pipeline.core.model import Document

    text, spans = "", []
    for block, row in blocks:
        if text:
            text += "\n\n"
        if row:
            spans.append((len(text), len(text) + len(block)))
        text += block
    return Document("t", "t.pdf", text, [(1, 0, len(text))], spans)


def test_a_pdf_table_with_its_title_and_header_on_lines_of_their_own_is_read_by_its_columns():
    """A caption label alone ("Table 2 -"), the title as a row, a header printed on two lines, and the
    rows apart by blank lines: the counts come from the children's column, as the text's table gives."""
    from pipeline.extract import extract_all
    from pipeline.nlp.paper import document_to_paper

    rows = [("Results\nTwenty children with CNO were included.", False), ("Table 2 -", False),
            ("Bones involved on whole-body MRI", True), ("Bone Lesions Children", True),
            ("(n = 41) (n = 20)", True), ("Tibia 12 9", True), ("Femur 8 6", True),
            ("Methotrexate was given to four children.", False)]
    figures, _, _ = extract_all(document_to_paper(_pdf_document(rows)))
    assert (figures["n_patients"].value, figures["site_tibia"].value, figures["site_femur"].value) == (20, 9, 6)


def test_a_sentence_naming_a_pdf_table_is_prose_and_a_header_with_two_n_labels_needs_no_caption():
    """ "Table 2, which gives ... The tibia was involved in nine children." is prose; the table's header
    ("Bone Lesions (n = 41) Children (n = 20)") still names its columns."""
    from pipeline.extract import extract_all
    from pipeline.nlp.paper import document_to_paper

    rows = [("Results\nTwenty children with CNO were included. Their lesions are shown in", False),
            ("Table 2, which gives the lesions and children per bone. The femur was involved in six children.", False),
            ("Bone Lesions (n = 41) Children (n = 20)", True), ("Tibia 12 9", True), ("Humerus 3 2", True)]
    paper = document_to_paper(_pdf_document(rows))
    prose = [s.text for s in paper.sentences if not s.table]
    assert any(t.startswith("Table 2, which gives") for t in prose)
    figures, _, _ = extract_all(paper)
    assert (figures["site_femur"].value, figures["site_tibia"].value, figures["site_humerus"].value) == (6, 9, 2)
