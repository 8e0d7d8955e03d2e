"""The review page over HTTP: every action, refused edits, the session token, the Host check, study
ids and escaping. Each test works on a copy of the seed outputs (conftest.seed_outputs)."""
import json
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.batch.runner import BatchSettings, run
from pipeline.cli import app as cli_app
from pipeline.review.app import allowed_hosts, create_app
from pipeline.review.model import study_items
from pipeline.review.server import RemoteRefused, ReviewServer
from pipeline.review.session import ReviewSession, ReviewSettings
from pipeline.tables.build import write_tables

from .conftest import ABSTRACT, ARTICLE, ROOT

STUDY = ARTICLE.stem          # the full article: n 15, 8 male, 7 female, age at diagnosis in conflict
PORT = 8750
BASE = f"http://127.0.0.1:{PORT}"
HOSTILE = "<script>alert(1)</script> and <img src=x onerror=alert(1)>"


@pytest.fixture
def out(seed_outputs, tmp_path):
    folder = tmp_path / "out"
    shutil.copytree(seed_outputs, folder)
    return folder


class Page:
    """A curator's browser, as far as HTTP goes: loads a study page, then sends its actions with
    the page's token, version and figure fingerprints."""

    def __init__(self, out, pool=False):
        self.session = ReviewSession(ReviewSettings(out, "ab", pool_after_save=pool))
        self.app = create_app(self.session, allowed_hosts(PORT))
        self.client = self.app.test_client()
        self.out = out
        self.html = ""

    def get(self, path, **kw):
        kw.setdefault("base_url", BASE)
        return self.client.get(path, **kw)

    def open(self, study=STUDY):
        response = self.get(f"/study/{study}")
        assert response.status_code == 200
        self.html = response.get_data(as_text=True)
        self.study = study
        return self.html

    @property
    def token(self):
        return re.search(r'name="review-token" content="([^"]+)"', self.html).group(1)

    @property
    def version(self):
        return re.search(r'data-version="([0-9a-f]+)"', self.html).group(1)

    def base(self, item):
        return re.search(rf'data-item="{re.escape(item)}" data-base="([0-9a-f]+)"', self.html).group(1)

    def post(self, payload, headers=None, study=None, **kw):
        headers = {"X-Review-Token": self.token} if headers is None else headers
        kw.setdefault("base_url", BASE)
        return self.client.post(f"/api/study/{study or self.study}/action", json=payload, headers=headers, **kw)

    def act(self, action, item=None, reload=True, **extra):
        payload = {"action": action, "version": self.version, **extra}
        if item:
            payload.update(item=item, base=self.base(item))
        response = self.post(payload)
        if reload and response.status_code == 200:
            self.open(self.study)
        return response


def load(out, study=STUDY):
    return json.loads((out / "records" / f"{study}.json").read_text("utf-8"))


def raw(out, study=STUDY):
    return (out / "records" / f"{study}.json").read_bytes()


def studies_row(out, study=STUDY):
    frame = pd.read_csv(out / "studies.csv")
    return frame[frame.study_id == study].iloc[0]


def history(out, study=STUDY):
    return [(h["field"], h["old"], h["new"], h["status"], h["who"], h["note"]) for h in load(out, study)["history"]]


def paper_text(study=STUDY):
    return (ARTICLE if study == STUDY else ABSTRACT).read_text("utf-8")


# ---- the studies list ---------------------------------------------------------------------------

def test_studies_list_counts_each_status_and_filters_to_what_is_left_to_check(out):
    page = Page(out)
    html = page.get("/").get_data(as_text=True)
    record = load(out)
    items = study_items(record)
    # A described statistic is one figure: 29 record figures of four statistics count 4, not 20.
    stats = {name.rsplit("_", 1)[0] for name in record["figures"] if name.startswith(("age_", "diagnostic_delay_", "followup_"))}
    singles = [n for n in record["figures"] if not n.startswith(("age_", "diagnostic_delay_", "followup_"))]
    assert len(items) == len(stats) + len(singles) + len(record["outcomes"]) == 29
    row = re.search(rf'<a href="/study/{STUDY}">.*?</tr>', html, re.S).group(0)
    cells = [int(c) for c in re.findall(r'<td class="n[^"]*">(\d+)</td>', row)]
    # extracted, derived, conflict, low, curated, rejected, to check
    assert cells == [26, 2, 1, 0, 0, 0, 29]

    # Every figure of the abstract decided by hand: it leaves the "to check" list.
    abstract = load(out, ABSTRACT.stem)
    for fig in abstract["figures"].values():
        fig["status"] = "curated"
    for r in abstract["outcomes"]:
        for key in ("n_responded", "n_treated"):
            if r[key]:
                r[key]["status"] = "rejected"
    (out / "records" / f"{ABSTRACT.stem}.json").write_text(json.dumps(abstract, indent=2), "utf-8")
    listed = page.get("/?show=to-check").get_data(as_text=True)
    assert f"/study/{STUDY}" in listed and f"/study/{ABSTRACT.stem}" not in listed
    assert f"/study/{ABSTRACT.stem}" in page.get("/").get_data(as_text=True)
    assert f"/study/{STUDY}" not in page.get("/?q=003_").get_data(as_text=True)


def test_study_page_highlights_every_evidence_span_with_the_records_quote(out):
    page = Page(out)
    html = page.open()
    text = paper_text()
    record = load(out)
    segments = re.findall(r'<span class="seg( ev c-(\w+))?" data-s="(\d+)"(?: data-items="([^"]*)")?[^>]*>(.*?)</span>', html, re.S)
    # The segments are the whole text, in order (escaped as HTML).
    joined = "".join(s[4] for s in segments)
    assert joined == text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;").replace("'", "&#39;")
    # n_female's one quote ("8M/7F") is exactly the text its highlight covers.
    quote = record["figures"]["n_female"]["evidence"][0]
    covered = "".join(s[4] for s in segments if "f:n_female" in s[3].split())
    assert covered == quote["quote"] == text[quote["start"]:quote["end"]]
    # The conflict is coloured as one: the age at diagnosis's table quote is highlighted c-conflict.
    table_quote = next(e for e in record["figures"]["age_diagnosis_value"]["evidence"] if e["section"] == "table")
    colours = {s[1] for s in segments if "s:age_diagnosis" in s[3].split()}
    assert colours == {"conflict"} and table_quote["quote"] in html


# ---- actions --------------------------------------------------------------------------------------

def test_accept_makes_the_machines_value_curated_and_a_candidate_enters_the_tables(out):
    record = load(out)
    record["figures"]["mean_lesions_per_patient"]["confidence"] = 0.3   # a candidate, kept out of the tables
    (out / "records" / f"{STUDY}.json").write_text(json.dumps(record, indent=2), "utf-8")
    write_tables(out)
    page = Page(out)
    assert pd.isna(studies_row(out).mean_lesions_per_patient)
    page.open()
    assert "c-low" in re.search(r'<li class="item [^"]*" id="item-f:mean_lesions_per_patient"', page.html).group(0)

    response = page.act("accept", "f:mean_lesions_per_patient")
    assert response.status_code == 200, response.json
    fig = load(out)["figures"]["mean_lesions_per_patient"]
    assert (fig["value"], fig["status"], fig["curator"]) == (6, "curated", "ab")
    assert history(out) == [("mean_lesions_per_patient", 6, 6, "curated", "ab", None)]
    assert studies_row(out).mean_lesions_per_patient == 6
    assert response.json["rebuilt"].startswith("studies.csv (2 studies) and outcomes.csv")


def test_edit_refused_by_the_checks_says_why_and_leaves_the_file_then_a_note_lets_it_through(out):
    page = Page(out)
    page.open()
    before = raw(out)
    response = page.act("edit", "f:n_male", values={"n_male": "9"})
    assert response.status_code == 422
    assert response.json["message"] == ("not saved: male + female does not add up to the cohort: n_male + n_female "
                                        "= 9 + 7 = 16; n_patients = 15 (correct the value, or add a note if the "
                                        "paper's own figures disagree)")
    assert raw(out) == before

    response = page.act("edit", "f:n_male", values={"n_male": "eight"})
    assert (response.status_code, response.json["message"]) == (422, "not saved: n_male: expected an integer, got 'eight'")
    assert raw(out) == before

    response = page.act("edit", "f:n_male", values={"n_male": "9"}, note="Table 1 says 9 boys")
    assert response.status_code == 200, response.json
    assert response.json["warnings"] == ["male + female does not add up to the cohort: n_male + n_female = 9 + 7 = 16; "
                                         "n_patients = 15"]
    fig = load(out)["figures"]["n_male"]
    assert (fig["value"], fig["status"], fig["note"], fig["suggestion"]["value"]) == (9, "curated", "Table 1 says 9 boys", 8)
    assert history(out) == [("n_male", 8, 9, "curated", "ab", "Table 1 says 9 boys")]
    assert studies_row(out).n_male == 9


def test_edit_of_a_described_statistic_is_one_action_for_its_five_figures(out):
    page = Page(out)
    page.open()
    response = page.act("edit", "s:age_onset", values={"stat": "mean", "value": "9.5", "min": "0.6", "max": "15",
                                                       "unit": "years"})
    assert response.status_code == 200, response.json
    figures = load(out)["figures"]
    assert [(figures[f"age_onset_{p}"]["value"], figures[f"age_onset_{p}"]["status"])
            for p in ("stat", "value", "min", "max", "unit")] == [
        ("mean", "curated"), (9.5, "curated"), (0.6, "curated"), (15, "curated"), ("years", "curated")]
    assert [h[:3] for h in history(out)] == [("age_onset_stat", "median", "mean"), ("age_onset_value", 9.0, 9.5),
                                             ("age_onset_min", 0.6, 0.6), ("age_onset_max", 15.0, 15),
                                             ("age_onset_unit", "years", "years")]
    row = studies_row(out)
    assert (row.age_onset_stat, row.age_onset_value) == ("mean", 9.5)

    response = page.act("edit", "s:age_onset", values={"stat": "average"})
    assert (response.status_code, response.json["message"]) == (
        422, "not saved: age_onset_stat: 'average' is not one of: median, mean, fixed")


def test_reject_keeps_the_figure_and_takes_it_out_of_the_tables(out):
    page = Page(out)
    page.open()
    response = page.act("reject", "f:n_female", note="the 7 are of another cohort")
    assert response.status_code == 200, response.json
    fig = load(out)["figures"]["n_female"]
    assert (fig["value"], fig["status"], fig["note"]) == (7, "rejected", "the 7 are of another cohort")
    assert history(out) == [("n_female", 7, 7, "rejected", "ab", "the 7 are of another cohort")]
    assert pd.isna(studies_row(out).n_female)


def test_pick_resolves_a_conflict_in_one_action_and_restore_brings_back_the_machines_side(out):
    page = Page(out)
    page.open()
    assert studies_row(out).n_conflicts == 1
    response = page.act("pick", "s:age_diagnosis", side=1)
    assert response.status_code == 200, response.json
    figures = load(out)["figures"]
    parts = {p: figures[f"age_diagnosis_{p}"] for p in ("stat", "value", "min", "max", "unit")}
    assert {p: (f["value"], f["status"]) for p, f in parts.items()} == {
        "stat": ("median", "curated"), "value": (9.0, "curated"), "min": (0.6, "curated"),
        "max": (15.0, "curated"), "unit": ("years", "curated")}
    # The chosen statement is the figure's evidence; the other stays under alternatives.
    assert [e["quote"] for e in parts["value"]["evidence"]] == ["with a median age at diagnosis of 9.0 years (range: 0.6-15.0)"]
    assert parts["value"]["alternatives"][0]["value"] == 10.5
    assert parts["value"]["alternatives"][0]["evidence"][0]["quote"] == "Median age at diagnosis, years* 10.5 (3.0-16.5)"
    assert parts["value"]["suggestion"]["value"] == 10.5
    assert [h[:4] for h in history(out)] == [
        ("age_diagnosis_stat", "median", "median", "curated"), ("age_diagnosis_value", 10.5, 9.0, "curated"),
        ("age_diagnosis_min", 3.0, 0.6, "curated"), ("age_diagnosis_max", 16.5, 15.0, "curated"),
        ("age_diagnosis_unit", "years", "years", "curated")]
    row = studies_row(out)
    assert (row.age_diagnosis_value, row.age_diagnosis_min, row.age_diagnosis_max, row.n_conflicts) == (9.0, 0.6, 15.0, 0)

    response = page.act("restore", "s:age_diagnosis")
    assert response.status_code == 200, response.json
    figures = load(out)["figures"]
    assert [figures[f"age_diagnosis_{p}"]["value"] for p in ("value", "min", "max")] == [10.5, 3.0, 16.5]
    assert "suggestion" not in figures["age_diagnosis_value"]
    assert history(out)[-3:] == [("age_diagnosis_value", 9.0, 10.5, "curated", "ab", None),
                                 ("age_diagnosis_min", 0.6, 3.0, "curated", "ab", None),
                                 ("age_diagnosis_max", 15.0, 16.5, "curated", "ab", None)]
    response = page.act("restore", "s:age_diagnosis")
    assert response.status_code == 400 and "no machine suggestion" in response.json["message"]
    response = page.act("pick", "f:n_male", side=1)
    assert response.status_code == 400 and "not in conflict" in response.json["message"]


def test_note_on_a_machine_figure_keeps_its_status_and_on_a_curated_one_enters_history(out):
    page = Page(out)
    page.open()
    assert page.act("note", "f:n_patients", note="check Table 1").status_code == 200
    fig = load(out)["figures"]["n_patients"]
    assert (fig["status"], fig["note"], load(out)["history"]) == ("extracted", "check Table 1", [])
    page.act("accept", "f:n_patients")
    page.act("note", "f:n_patients", note="Table 1 agrees")
    assert history(out) == [("n_patients", 15, 15, "curated", "ab", "check Table 1"),
                            ("n_patients", 15, 15, "curated", "ab", "Table 1 agrees")]


def test_add_a_missing_figure_and_a_treatment_row_from_selected_evidence(out):
    page = Page(out)
    page.open()
    text = paper_text()
    phrase = "The distribution \nof the affected bones"
    start = text.index(phrase)
    end = start + len(phrase)
    response = page.act("add_figure", field="site_fibula", values={"value": "0"}, evidence={"start": start, "end": end},
                        note="no fibula in Table II")
    assert response.status_code == 200, response.json
    fig = load(out)["figures"]["site_fibula"]
    assert fig == {"value": 0, "evidence": [{"quote": phrase, "section": "results",
                                             "start": start, "end": end, "page": None}],
                   "rule": "curator", "status": "curated", "curator": "ab", "note": "no fibula in Table II"}
    assert studies_row(out).site_fibula == 0
    assert "f:site_fibula" in page.html   # the page shows it (and its highlight) after the save

    response = page.act("add_figure", field="site_fibula", values={"value": "1"})
    assert response.status_code == 400 and "already in the record" in response.json["message"]
    response = page.act("add_figure", field="site_Femur", values={"value": "1"})
    assert response.status_code == 400 and "unknown figure 'site_Femur'" in response.json["message"]

    start = text.index("Clinical remission was achieved in 12 patients")
    response = page.act("add_row", row={"drug": "corticosteroid", "agent": "prednisolone", "outcome": "clinical"},
                        values={"n_responded": "5", "n_treated": "6"}, evidence={"start": start, "end": start + 46})
    assert response.status_code == 200, response.json
    row = load(out)["outcomes"][-1]
    assert (row["drug"], row["agent"], row["n_responded"]["value"], row["n_treated"]["value"]) == (
        "corticosteroid", "prednisolone", 5, 6)
    assert row["n_treated"]["evidence"][0]["quote"] == "Clinical remission was achieved in 12 patients"
    outcomes = pd.read_csv(out / "outcomes.csv")
    added = outcomes[(outcomes.study_id == STUDY) & (outcomes.drug == "corticosteroid")].iloc[0]
    assert (added.n_responded, added.n_treated, added.status) == (5, 6, "curated")

    response = page.act("add_row", row={"drug": "steroids", "outcome": "clinical"}, values={"n_treated": "6"})
    assert response.status_code == 422 and "'steroids' is not one of" in response.json["message"]
    response = page.act("add_row", row={"drug": "nsaid", "outcome": "responders"}, values={"n_treated": "6"})
    assert response.status_code == 422
    response = page.act("add_figure", field="n_relapse", values={"value": "1"}, evidence={"start": 10, "end": 10 ** 6})
    assert response.status_code == 400 and "outside the paper's text" in response.json["message"]


def test_a_rerun_after_page_saves_keeps_them_and_adds_no_history_twice(out, tmp_path):
    page = Page(out)
    page.open()
    page.act("pick", "s:age_diagnosis", side=1)
    page.act("reject", "f:n_female")
    saved = load(out)["history"]
    papers = tmp_path / "papers"
    papers.mkdir()
    for seed in (ARTICLE, ABSTRACT):
        shutil.copy(seed, papers)
    run(papers, out, settings=BatchSettings(jobs=1))
    record = load(out)
    assert record["history"] == saved
    assert record["figures"]["age_diagnosis_value"]["value"] == 9.0
    assert record["figures"]["age_diagnosis_value"]["suggestion"]["value"] == 10.5
    assert record["figures"]["n_female"]["status"] == "rejected"


def test_a_pdf_papers_kept_text_shows_its_page_marks(tmp_path):
    from .pdf_fixtures import lines_pdf

    papers = tmp_path / "papers"
    papers.mkdir()
    lines_pdf(papers / "article.pdf", ARTICLE.read_text("utf-8").splitlines())
    out = tmp_path / "out"
    run(papers, out, settings=BatchSettings(jobs=1))
    pages = json.loads((out / "text" / "article.pages.json").read_text("utf-8"))
    text = (out / "text" / "article.txt").read_text("utf-8")
    assert len(pages) >= 2 and pages[0][:2] == [1, 0]
    page = Page(out)
    html = page.open("article")
    marks = [(int(s), int(p)) for s, p in re.findall(r'data-s="(\d+)"(?: data-items="[^"]*")? data-page="(\d+)"', html)]
    assert marks == [(start, number) for number, start, _ in pages]
    # Evidence on a later page says which.
    record = load(out, "article")
    later = next(e for f in record["figures"].values() for e in f["evidence"] if e["page"] and e["page"] > 1)
    assert text[later["start"]:later["end"]] == later["quote"]
    assert f'{later["section"]}, page {later["page"]}, {later["start"]}-{later["end"]}' in html


# ---- a record changed on disk since the page loaded it -------------------------------------------

def test_a_record_changed_on_disk_is_merged_when_the_figure_is_untouched_and_refused_when_it_is_not(out):
    page = Page(out)
    page.open()
    stale = Page(out)
    stale.open()
    # A hand edit while the page is open.
    record = load(out)
    record["figures"]["n_female"].update(value=6, status="curated", note="by hand")
    (out / "records" / f"{STUDY}.json").write_text(json.dumps(record, indent=2), "utf-8")

    response = stale.act("reject", "f:n_female", reload=False)
    assert response.status_code == 409
    assert "f:n_female was changed in" in response.json["message"] and "reload the page" in response.json["message"]
    assert load(out)["figures"]["n_female"]["value"] == 6

    response = stale.act("accept", "f:n_patients", reload=False)
    assert response.status_code == 200 and response.json["merged"]
    assert "had changed on disk" in response.json["message"]
    figures = load(out)["figures"]
    assert (figures["n_patients"]["status"], figures["n_female"]["value"], figures["n_female"]["note"]) == (
        "curated", 6, "by hand")


def test_a_save_waits_for_the_folder_lock_and_says_who_holds_it(out):
    from pipeline.batch import lock

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pipeline.batch import lock\n"
         f"with lock.hold({str(out)!r}, 'crmo-extract run'):\n    print('held', flush=True); sys.stdin.read()"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        page = Page(out)
        page.session.settings.lock_wait = 0.0
        page.open()
        before = raw(out)
        response = page.act("accept", "f:n_patients")
        assert response.status_code == 423
        assert "crmo-extract run" in response.json["message"]
        assert raw(out) == before
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    with lock.hold(out, "test"):
        pass  # released with its holder


# ---- tables and pooling ----------------------------------------------------------------------------

def test_pooling_is_redone_after_a_save_or_offered_as_stale(out):
    page = Page(out, pool=False)
    page.open()
    assert 'data-pooling="up to date"' in page.html
    page.act("edit", "o:0", values={"n_responded": "11"})   # any/clinical: 12 -> 11 of 15
    assert page.get("/api/status").json["pooling"] == "stale"
    assert 'data-pooling="stale"' in page.html and '<button type="button" id="rebuild" >' in page.html

    response = page.client.post("/api/rebuild", json={}, headers={"X-Review-Token": page.token}, base_url=BASE)
    assert response.status_code == 200
    assert page.session.pooling.wait(120)
    assert page.get("/api/status").json["pooling"] == "up to date"

    pooled = Page(out, pool=True)
    pooled.open()
    pooled.act("edit", "o:0", values={"n_responded": "10"})
    assert pooled.session.pooling.wait(120)
    assert pooled.get("/api/status").json == {"ok": True, "tables": "up to date", "pooling": "up to date",
                                              "pooling_message": pooled.session.pooling.message}
    metafor = pd.read_csv(out / "metafor.csv")
    outcomes = pd.read_csv(out / "outcomes.csv")
    row = outcomes[(outcomes.study_id == STUDY) & (outcomes.drug == "any") & (outcomes.outcome == "clinical")].iloc[0]
    assert (row.n_responded, row.status) == (10, "curated")
    assert set(metafor.study_id) <= set(outcomes.study_id)   # metafor.study is the label


# ---- security ----------------------------------------------------------------------------------------

def test_every_write_needs_the_session_token_a_json_body_and_no_foreign_origin(out):
    page = Page(out)
    page.open()
    before = raw(out)
    payload = {"action": "accept", "item": "f:n_patients", "base": page.base("f:n_patients"), "version": page.version}
    for headers, code in [({}, 403), ({"X-Review-Token": "guess"}, 403),
                          ({"X-Review-Token": page.token, "Origin": "http://evil.example"}, 403)]:
        response = page.post(payload, headers=headers)
        assert response.status_code == code, headers
    assert page.post(payload, headers={}).json["message"] == "missing or wrong session token: reload the page"
    form = page.client.post(f"/api/study/{STUDY}/action", data={"action": "accept"}, base_url=BASE,
                            headers={"X-Review-Token": page.token})
    assert form.status_code == 415
    other = Page(out)                    # another session: another token
    other.open()
    assert other.token != page.token
    assert other.post(payload, headers={"X-Review-Token": page.token}).status_code == 403
    assert raw(out) == before
    ok = page.post(payload, headers={"X-Review-Token": page.token, "Origin": BASE})
    assert ok.status_code == 200


def test_requests_naming_another_host_are_refused_without_the_token(out):
    page = Page(out)
    page.open()
    for base in ("http://evil.example:8750", f"http://127.0.0.1:{PORT + 1}", "http://127.0.0.1"):
        response = page.get(f"/study/{STUDY}", base_url=base)
        assert response.status_code == 421, base
        assert page.token not in response.get_data(as_text=True)
        assert response.mimetype == "text/plain"
    assert page.get("/", base_url=f"http://localhost:{PORT}").status_code == 200
    post = page.client.post(f"/api/study/{STUDY}/action", json={"action": "accept"}, base_url="http://evil.example:8750",
                            headers={"X-Review-Token": page.token})
    assert post.status_code == 421


def test_study_ids_are_only_those_of_existing_records(out):
    page = Page(out)
    page.open()
    (out / "secret.json").write_text('{"study_id": "x"}')
    for path in ("/study/../secret", "/study/..%2Fsecret", "/study/%2e%2e%2fsecret", f"/study/{STUDY}.json",
                 "/study/nonexistent"):
        assert page.get(path).status_code == 404, path
    response = page.post({"action": "accept", "item": "f:n_patients", "version": ""}, study="..%2Fsecret")
    assert response.status_code == 404
    response = page.post({"action": "accept", "item": "f:n_patients", "version": ""}, study="nonexistent")
    assert (response.status_code, response.json["message"]) == (404, f"no record 'nonexistent' in {out / 'records'}")
    response = page.post({"action": "explode", "version": ""})
    assert response.status_code == 400 and "unknown action 'explode'" in response.json["message"]
    response = page.post({"action": "accept", "version": "", "path": "/etc/passwd"})
    assert response.status_code == 400 and "unknown key 'path'" in response.json["message"]


def hostile_study(out, tmp_path, seed_records):
    """A paper whose text holds markup, and a record whose strings do: the abstract seed with the
    markup appended (offsets unchanged), a curator's note and an agent of the same kind."""
    paper = tmp_path / "hostile.txt"
    paper.write_text(ABSTRACT.read_text("utf-8") + f"\n{HOSTILE}\n", "utf-8")
    record = json.loads(json.dumps(seed_records[ABSTRACT.stem]))
    record.update(study_id="hostile", source_file=str(paper))
    record["$schema"] = load(out, ABSTRACT.stem)["$schema"]
    record["figures"]["n_patients"].update(status="curated", note=HOSTILE, curator="<b>x</b>")
    record["outcomes"][0]["agent"] = HOSTILE
    start = len(ABSTRACT.read_text("utf-8")) + 1
    record["figures"]["n_relapse"] = {"value": 1, "status": "curated", "rule": "curator", "evidence": [
        {"quote": HOSTILE, "section": "front", "start": start, "end": start + len(HOSTILE), "page": None}]}
    (out / "records" / "hostile.json").write_text(json.dumps(record, indent=2), "utf-8")
    return paper


def test_paper_text_and_record_strings_are_escaped(out, tmp_path, seed_records):
    hostile_study(out, tmp_path, seed_records)
    page = Page(out)
    html = page.open("hostile")
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>x</b>" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt; and &lt;img src=x onerror=alert(1)&gt;"
    assert html.count(escaped) >= 4     # the paper text, the evidence quote, the note, the agent
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/review.js" defer>']
    csp = page.get("/study/hostile").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    listed = page.get("/").get_data(as_text=True)
    assert "<script>alert" not in listed


# ---- starting it -------------------------------------------------------------------------------------

def test_review_refuses_a_non_loopback_host_unless_asked_explicitly(out):
    result = CliRunner().invoke(cli_app, ["review", str(out), "--host", "0.0.0.0", "--no-browser"])
    assert result.exit_code == 2
    assert "refusing to listen on 0.0.0.0" in result.output and "--allow-remote" in result.output
    with pytest.raises(RemoteRefused):
        ReviewServer(ReviewSettings(out, "ab"), host="192.0.2.1")
    result = CliRunner().invoke(cli_app, ["review", str(out / "nowhere"), "--no-browser"])
    assert result.exit_code == 2 and "no records folder" in result.output
    assert "Example: crmo-extract review outputs --curator ab" in CliRunner().invoke(cli_app, ["review", "--help"]).output


def test_the_server_answers_on_loopback_with_the_port_it_bound(out):
    import urllib.error
    import urllib.request

    server = ReviewServer(ReviewSettings(out, "ab"), port=0).start()
    try:
        with urllib.request.urlopen(server.url + f"study/{STUDY}") as response:
            assert response.status == 200 and b"age_diagnosis" in response.read()
        request = urllib.request.Request(server.url, headers={"Host": f"attacker.example:{server.port}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request)
        assert refused.value.code == 421
    finally:
        server.stop()
