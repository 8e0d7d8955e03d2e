"""Sections of a text: where a flattened table ends, as the PDF stage writes tables too."""
from pipeline.read.sections import text_to_sections

PROSE = ("All patients were initially treated with NSAIDs and\n"
         "one patient achieved remission with only NSAIDs; the\n"
         "others needed second-line treatment in the first year.\n")


def section_of(text, fragment):
    at = text.index(fragment)
    return next(s.name for s in text_to_sections(text) if s.start <= at < s.end)


def test_a_tables_header_row_is_no_run_in_heading():
    text = ("Results\n\n" + PROSE + "\nTable 3 Outcomes 6 months after the first infusion (n = 29)\n\n"
            "Outcome Baseline 6 months\n\nComplete remission - 15 (51.7)\n\nPartial remission - 9 (31.0)\n\n"
            "Discussion\n\n" + PROSE)
    assert section_of(text, "Complete remission") == "table"
    assert section_of(text, "Partial remission") == "table"
    assert section_of(text, "others needed second-line treatment in the first year.\n", ) == "results"
    assert text_to_sections(text)[-1].name == "discussion"


def test_a_run_in_heading_that_starts_prose_still_ends_a_table():
    text = ("Table 1 Sites\n\nFemur 10 (66.7)\n\nResults: Thirty-six children were included and\n"
            "followed for a median of four years at one\ncentre in the province.\n")
    assert section_of(text, "Femur") == "table"
    assert section_of(text, "Thirty-six") == "results"


def test_page_furniture_inside_a_table_does_not_end_it():
    text = ("Table 2 Bones involved (patients, n = 29)\n\nBone n (%)\n\nTibia 16 (55.2)\n\nFibula 4 (13.8)\n\n"
            "1 3\n60 European Journal of Paediatric Bone and Joint Disease (2021) 7:55-63\n Sternum 3 (10.3)\n\n"
            "Humerus 3 (10.3)\n\n" + PROSE)
    assert section_of(text, "Sternum") == "table"
    assert section_of(text, "Humerus") == "table"
    assert section_of(text, "initially treated") != "table"
