"""Every figure the two seed papers state about their own cohort, read off the papers by hand."""
import pytest

from .conftest import ABSTRACT, ARTICLE


def figures(record):
    return {k: v["value"] for k, v in record["figures"].items()}


def outcomes(record):
    return {(o["drug"], o["outcome"]): (o["n_responded"] and o["n_responded"]["value"],
                                        o["n_treated"] and o["n_treated"]["value"]) for o in record["outcomes"]}


def test_article_figures(seed_records):
    f = figures(seed_records[ARTICLE.stem])
    assert {k: f.get(k) for k in ("n_patients", "n_male", "n_female", "n_multifocal", "n_unifocal", "n_relapse",
                                  "mean_lesions_per_patient")} == {
        "n_patients": 15, "n_male": 8, "n_female": 7, "n_multifocal": 15, "n_unifocal": 0, "n_relapse": 4,
        "mean_lesions_per_patient": 6}
    assert [f.get(f"age_onset_{p}") for p in ("stat", "value", "min", "max", "unit")] == ["median", 9.0, 0.6, 15.0, "years"]
    assert [f.get(f"diagnostic_delay_{p}") for p in ("stat", "value", "min", "max", "unit")] == ["median", 23, 1.5, 68, "months"]
    # "The median (min.-max.) follow-up time": the sentencizer splits after "(min.", the stat is found anyway.
    assert [f.get(f"followup_{p}") for p in ("stat", "value", "min", "max", "unit")] == ["median", 5.0, 1.0, 9.5, "years"]
    sites = {k[5:]: v for k, v in f.items() if k.startswith("site_")}
    assert sites == {"vertebra": 10, "femur": 10, "pelvis": 6, "tibia": 6, "humerus": 5, "sternum": 4, "clavicle": 4,
                     "radius": 2, "ulna": 2, "mandible": 1, "talus": 1, "calcaneus": 1}


def test_sacroiliitis_is_not_a_bone_site(seed_records):
    assert not any("sacro" in k for k in seed_records[ARTICLE.stem]["figures"])


def test_article_age_at_diagnosis_conflict_prefers_table(seed_records):
    rec = seed_records[ARTICLE.stem]["figures"]
    value = rec["age_diagnosis_value"]
    assert (value["value"], value["status"]) == (10.5, "conflict")
    assert [a["value"] for a in value["alternatives"]] == [9.0]
    quotes = [e["quote"] for e in value["evidence"]]
    assert any("10.5 (3.0-16.5)" in q for q in quotes) and any("9.0 years (range: 0.6-15.0)" in q for q in quotes)
    assert (rec["age_diagnosis_min"]["value"], rec["age_diagnosis_max"]["value"]) == (3.0, 16.5)
    assert seed_records[ARTICLE.stem]["figures"]["n_patients"]["status"] == "extracted"
    from pipeline.tables.build import build_tables
    studies, _ = build_tables([seed_records[ARTICLE.stem]])
    assert studies.loc[0, "n_conflicts"] == 1  # one statistic in conflict, not its five parts


def test_article_treatment_responses(seed_records):
    o = outcomes(seed_records[ARTICLE.stem])
    assert o[("any", "clinical")] == (12, 15)
    assert o[("nsaid", "clinical")] == (1, 15)
    assert o[("methotrexate", "clinical")] == (3, 12)
    assert o[("tnf_inhibitor", "clinical")] == (7, 8)
    assert o[("bisphosphonate", "clinical")] == (1, 3)
    assert o[("sulfasalazine", None)] == (None, 1)


def test_other_cohorts_figures_are_absent(seed_records):
    """The Discussion's French cohort (178 patients, F/M 2/1, 9.8 and 16.4 years, 17.3 months) and
    Roderick et al.'s 11 pamidronate patients never fill this study's fields."""
    rec = seed_records[ARTICLE.stem]
    values = set()
    for fig in rec["figures"].values():
        values.add(fig["value"])
        values.update(a["value"] for a in fig.get("alternatives", []))
    for o in rec["outcomes"]:
        values.update(o[k]["value"] for k in ("n_responded", "n_treated") if o[k])
    assert values.isdisjoint({178, 9.8, 16.4, 17.3, 11, 60})
    assert rec["figures"]["n_female"]["value"] == 7  # not the French female predominance


def test_abstract_figures(seed_records):
    f = figures(seed_records[ABSTRACT.stem])
    assert {k: f.get(k) for k in ("n_patients", "n_male", "n_female", "n_unifocal", "n_multifocal",
                                  "mean_lesions_per_patient")} == {
        "n_patients": 25, "n_male": 9, "n_female": 16, "n_unifocal": 14, "n_multifocal": 11, "mean_lesions_per_patient": 1.6}
    assert {k[5:]: v for k, v in f.items() if k.startswith("site_")} == {"tibia": 8, "femur": 7, "clavicle": 7, "fibula": 4}


def test_abstract_unifocal_count_is_derived_from_percentage_with_both_statements(seed_records):
    fig = seed_records[ABSTRACT.stem]["figures"]["n_unifocal"]
    assert fig["status"] == "derived"
    quotes = [e["quote"] for e in fig["evidence"]]
    assert quotes[0] == "56% of the patients had unifocal" and quotes[1].startswith("twenty-five chil-")


def test_abstract_treatment_table_and_prose(seed_records):
    o = outcomes(seed_records[ABSTRACT.stem])
    assert o[("methotrexate", "clinical")] == (3, 18)
    assert o[("methotrexate", "mri")] == (4, 9)
    assert o[("tnf_inhibitor", "clinical")] == (18, 31)
    assert o[("tnf_inhibitor", "mri")] == (11, 13)
    assert o[("nsaid", "clinical")] == (7, 25)


@pytest.mark.parametrize("text, expected", [
    ("twenty-five", 25), ("Forty six", 46), ("1,6", 1.6), ("407,000", 407000), ("8", 8),
])
def test_numbers_as_papers_print_them(text, expected):
    from pipeline.extract.quantities import parse_number
    assert parse_number(text) == expected


def test_line_end_hyphen_joined_but_compounds_kept():
    from pipeline.read.text import normalise
    n = normalise("charac-\nterized by non-\nbacterial TNF-\na follow-\nup")
    assert n.text == "characterized by non-bacterial TNF-a follow-up"
    assert n.span(0, len("characterized")) == (0, len("charac-\nterized"))


def test_folded_text_holds_every_letter_a_case_insensitive_pattern_matches():
    """Pre-tests look for a pattern's words in the folded text: every character that re.IGNORECASE
    matches to an ASCII letter must fold to that letter, and folding keeps the text's length."""
    import re
    import string
    import sys

    from pipeline.read.text import fold_case as fold

    any_letter = re.compile("[a-z]", re.I)
    for c in map(chr, range(sys.maxunicode + 1)):
        if any_letter.fullmatch(c):
            assert [x for x in string.ascii_lowercase if re.fullmatch(x, c, re.I)] == [fold(c)], hex(ord(c))
    assert fold("İSTANBUL ſtudy,\n\t Done ") == "istanbul study, done"


def test_failed_check_lowers_confidence_and_is_listed_for_the_curator(seed_records):
    """Table 1 of the abstract counts 31 TNF-a treatments in a cohort of 25 patients."""
    rec = seed_records[ABSTRACT.stem]
    failed = [c for c in rec["checks"] if not c["ok"]]
    assert [(c["check"], c["fields"]) for c in failed] == [("treated_within_cohort", ["outcomes.tnf_inhibitor.clinical.n_treated"])]
    row = next(o for o in rec["outcomes"] if (o["drug"], o["outcome"]) == ("tnf_inhibitor", "clinical"))
    assert row["n_treated"]["confidence"] == pytest.approx(0.9 - 0.25)


def test_printed_percentages_are_checked_against_counts(seed_records):
    checks = {c["fields"][0]: c for c in seed_records[ARTICLE.stem]["checks"] if c["check"] == "percent_matches_count"}
    # "Male gender 8 (53.4)": 8/15 is 53.3%, within the rounding authors use.
    assert checks["n_male"]["ok"] and checks["n_male"]["message"] == "n_male: 8 of 15 is 53.3%, printed 53.4%"
    assert len(checks) == 13


def test_negation_comes_only_from_cues_before_the_drug():
    from pipeline.nlp.language import get_nlp

    nlp = get_nlp()
    doc = nlp("Naproxen proved effective: 43% of our patients were free of symptoms. No patient received etanercept.")
    assert [(e.text, e._.negex) for e in doc.ents] == [("Naproxen", False), ("etanercept", True)]


def test_outcome_rows_keep_the_agents_the_paper_names(seed_records):
    agents = {(o["drug"], o["outcome"]): o["agent"] for o in seed_records[ARTICLE.stem]["outcomes"]}
    assert agents[("tnf_inhibitor", "clinical")] == "etanercept, infliximab"
    assert agents[("bisphosphonate", "clinical")] == "pamidronate"
    assert agents[("nsaid", "clinical")] is None  # "NSAIDs" names the class only


def test_unsure_figure_is_a_low_confidence_candidate_kept_out_of_the_tables(tmp_path):
    """An age with no unit could be years or months: kept for the curator, not put in studies.csv."""
    from pipeline.batch.runner import process_file
    from pipeline.tables.build import build_tables

    paper = tmp_path / "unsure.txt"
    paper.write_text("Results\nTwenty children with CRMO were included. The median age at onset was 9.5 (range 2-14).\n")
    record = process_file(paper).record
    fig = record["figures"]["age_onset_value"]
    assert fig["value"] == 9.5 and fig["confidence"] < 0.5
    studies, _ = build_tables([record])
    assert studies.loc[0, "n_patients"] == 20
    assert studies["age_onset_value"].isna().all()


def test_a_count_in_another_denominator_gives_way_to_the_complement(tmp_path):
    """The boys' count of the cohort is stated; the girls' only in a comparison with the whole registry
    (whose percentage fails the check against the cohort): the girls are the complement, and usable."""
    from pipeline.core.model import usable
    from pipeline.runner import process_file

    paper = tmp_path / "registry.txt"
    paper.write_text("Results\n20 children with CNO were identified among 5120 registry patients. 14 (70%) of the "
                     "children were boys. CNO was commoner in boys than in girls (14/2650, 0.5% vs 6/2470, 0.2%).\n")
    figures = process_file(paper).record["figures"]
    assert (figures["n_male"]["value"], figures["n_female"]["value"]) == (14, 6)
    assert figures["n_female"]["rule"] == "n_female_complement"
    assert usable(figures["n_male"]) and usable(figures["n_female"])


def test_the_resolution_policy_is_data_and_a_misspelt_key_is_named(monkeypatch):
    from pipeline.core import vocab
    from pipeline.extract import engine

    assert engine.resolution().section_rank["results"] > engine.resolution().section_rank["discussion"]
    real = vocab.load

    def misspelt(name):
        data = real(name)
        if name == "figures.json":
            data["resolution"]["conflict_confidance"] = data["resolution"].pop("conflict_confidence")
        return data

    monkeypatch.setattr(vocab, "load", misspelt)
    engine.resolution.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"figures\.json: resolution: .*'conflict_confidance'"):
            engine.resolution()
    finally:
        monkeypatch.undo()
        engine.resolution.cache_clear()
