"""The review page in a real browser: headless Chromium (Debian's chromium and chromium-driver)
driven by Selenium. A curator clicks figures, accepts, edits, rejects and resolves a conflict, and
the record on disk, its history and studies.csv are checked afterwards.

A screenshot of the study page is kept at tests/artifacts/review_study.png (gitignored) for a
person to look at; the path is printed (pytest -s, or in the report of a failure).
"""
import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from pipeline.review.server import ReviewServer
from pipeline.review.session import ReviewSettings

from .conftest import ARTICLE, ROOT
from .test_review import HOSTILE, hostile_study

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "tests" / "artifacts"
STUDY = ARTICLE.stem
WAIT = 30   # seconds a page may take to answer on a busy machine


@pytest.fixture(scope="module")
def driver():
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.skip(f"no browser to drive: {', '.join(missing)} not installed "
                    "(apt-get install chromium chromium-driver; .ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="review-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-extensions", "--no-first-run", "--no-default-browser-check",
                 "--window-size=1500,950", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # The driver is given, so Selenium Manager (which would try to download one) is not used.
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(WAIT)
    yield browser
    browser.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def server(seed_outputs, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(seed_outputs, out)
    running = ReviewServer(ReviewSettings(out, "ab"), port=0).start()
    yield running
    running.stop()


class Curator:
    """What a person does on the page, in Selenium's words."""

    def __init__(self, driver, url):
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        def wait(d, timeout):
            # A save reloads the page: an element found just before the reload is stale, so look again.
            return WebDriverWait(d, timeout, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))

        self.d, self.url, self.By, self.Wait = driver, url, By, wait

    def open(self, path):
        self.d.get(self.url + path)
        self.Wait(self.d, WAIT).until(lambda d: d.execute_script("return document.readyState") == "complete")

    def css(self, selector):
        return self.d.find_element(self.By.CSS_SELECTOR, selector)

    def all(self, selector):
        return self.d.find_elements(self.By.CSS_SELECTOR, selector)

    def item(self, item_id):
        return self.d.find_element(self.By.ID, f"item-{item_id}")

    def select(self, item_id):
        self.item(item_id).find_element(self.By.CSS_SELECTOR, ".summary").click()
        assert "selected" in self.item(item_id).get_attribute("class")

    def marked_text(self):
        return "".join(e.get_attribute("textContent") for e in self.all("#paper-text .marked"))

    @property
    def version(self):
        return self.css("body").get_attribute("data-version")

    def keys(self, keys):
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.d).send_keys(keys).perform()

    def saved(self, before, do):
        """Do something that saves; wait for the page to come back with the record's new version."""
        do()
        self.Wait(self.d, WAIT).until(lambda d: self.version != before)
        return self.flash()

    def flash(self):
        self.Wait(self.d, WAIT).until(lambda d: self.css("#flash").is_displayed())
        return self.css("#flash").text

    def refusal(self):
        self.Wait(self.d, WAIT).until(lambda d: "refused" in self.css("#flash").get_attribute("class")
                                      and self.css("#flash").is_displayed())
        return self.css("#flash").text


def record(out):
    return json.loads((out / "records" / f"{STUDY}.json").read_text("utf-8"))


def test_a_curator_checks_and_corrects_figures_in_the_browser(driver, server):
    out = server.session.out_dir
    machine = record(out)
    page = Curator(driver, server.url)

    page.open("")
    rows = page.all("table.study-list tbody tr")
    assert len(rows) == 2
    assert "29" in rows[0].text          # the full article's 29 figures, all left to check
    page.d.find_element(page.By.LINK_TEXT, STUDY).click()
    page.Wait(page.d, WAIT).until(lambda d: page.all("#paper-text"))

    # Selecting a figure marks its evidence: exactly the record's quote.
    page.select("s:age_onset")
    assert page.marked_text() == machine["figures"]["age_onset_value"]["evidence"][0]["quote"]
    page.select("f:n_female")
    assert page.marked_text() == machine["figures"]["n_female"]["evidence"][0]["quote"] == "8M/7F"
    # ... and selecting a highlight shows its figure.
    pelvis = next(s for s in page.all("#paper-text .ev") if s.get_attribute("data-items") == "f:site_pelvis")
    pelvis.click()
    assert "selected" in page.item("f:site_pelvis").get_attribute("class")
    assert page.item("f:site_pelvis").find_element(page.By.CSS_SELECTOR, ".detail").is_displayed()

    # Accept (keyboard a).
    page.select("f:n_patients")
    assert "n_patients: accepted 15" in page.saved(page.version, lambda: page.keys("a"))

    # Edit (keyboard e): refused by the arithmetic first, the file untouched; then with a note.
    before = (out / "records" / f"{STUDY}.json").read_bytes()
    page.select("f:n_male")
    page.keys("e")
    field = page.item("f:n_male").find_element(page.By.CSS_SELECTOR, "form.edit input[name=n_male]")
    field.clear()
    field.send_keys("9\n")
    assert "not saved: male + female does not add up to the cohort" in page.refusal()
    assert (out / "records" / f"{STUDY}.json").read_bytes() == before
    page.item("f:n_male").find_element(page.By.CSS_SELECTOR, "textarea[name=note]").send_keys("Table 1 says 9 boys")
    message = page.saved(page.version, lambda: page.item("f:n_male").find_element(
        page.By.CSS_SELECTOR, "form.edit button[type=submit]").click())
    assert "n_male: set to 9" in message

    # Reject (keyboard r).
    page.select("f:n_relapse")
    assert "n_relapse: rejected" in page.saved(page.version, lambda: page.keys("r"))

    # The conflict of the age at diagnosis: one key picks the paper's other statement for all five figures.
    page.select("s:age_diagnosis")
    assert len(page.item("s:age_diagnosis").find_elements(page.By.CSS_SELECTOR, "button.pick")) == 2
    assert "age_diagnosis: picked median 9.0 (0.6-15.0) years" in page.saved(page.version, lambda: page.keys("2"))
    assert "selected" in page.item("s:age_diagnosis").get_attribute("class")   # back on it after the save
    assert page.marked_text().startswith("with a median age at diagnosis of 9.0 years (range: 0.6-15.0)")
    assert "c-curated" in page.item("s:age_diagnosis").get_attribute("class")

    # Add a figure the machine missed by selecting its evidence in the text.
    phrase = "common presenting symptom"
    page.d.execute_script("""
        const phrase = arguments[0];
        const seg = Array.from(document.querySelectorAll('#paper-text .seg')).find(s => s.textContent.includes(phrase));
        const at = seg.textContent.indexOf(phrase);
        const range = document.createRange();
        range.setStart(seg.firstChild, at);
        range.setEnd(seg.firstChild, at + phrase.length);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        seg.dispatchEvent(new MouseEvent('mouseup', {bubbles: true, clientX: 200, clientY: 200}));
    """, phrase)
    page.css("#add-from-selection").click()
    assert page.css("#add-quote").text == phrase
    from selenium.webdriver.support.ui import Select
    Select(page.css("#add-form select[name=field]")).select_by_value("site_")   # a bone of the curator's choosing
    page.css("#add-form input[name=bone]").send_keys("fibula")
    page.css("#add-form input[name=value]").send_keys("0")
    assert "site_fibula: added 0" in page.saved(page.version, lambda: page.css("#add-form button[type=submit]").click())
    text = ARTICLE.read_text("utf-8")
    added = record(out)["figures"]["site_fibula"]
    start = text.index(phrase)   # the first segment holding it is the first occurrence
    assert (added["value"], added["evidence"][0]["quote"], added["evidence"][0]["start"]) == (0, phrase, start)
    page.select("s:age_diagnosis")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "review_study.png"
    page.d.save_screenshot(str(shot))
    print(f"screenshot of the study page: {shot}")

    # On disk: the record, its history and studies.csv.
    figures = record(out)["figures"]
    assert (figures["n_patients"]["value"], figures["n_patients"]["status"], figures["n_patients"]["curator"]) == (15, "curated", "ab")
    assert (figures["n_male"]["value"], figures["n_male"]["status"], figures["n_male"]["note"]) == (9, "curated", "Table 1 says 9 boys")
    assert figures["n_relapse"]["status"] == "rejected"
    assert [figures[f"age_diagnosis_{p}"]["value"] for p in ("stat", "value", "min", "max", "unit")] == [
        "median", 9.0, 0.6, 15.0, "years"]
    assert {figures[f"age_diagnosis_{p}"]["status"] for p in ("stat", "value", "min", "max", "unit")} == {"curated"}
    history = [(h["field"], h["old"], h["new"], h["status"], h["who"]) for h in record(out)["history"]]
    assert history == [
        ("n_patients", 15, 15, "curated", "ab"), ("n_male", 8, 9, "curated", "ab"), ("n_relapse", 4, 4, "rejected", "ab"),
        ("age_diagnosis_stat", "median", "median", "curated", "ab"), ("age_diagnosis_value", 10.5, 9.0, "curated", "ab"),
        ("age_diagnosis_min", 3.0, 0.6, "curated", "ab"), ("age_diagnosis_max", 16.5, 15.0, "curated", "ab"),
        ("age_diagnosis_unit", "years", "years", "curated", "ab"), ("site_fibula", None, 0, "curated", "ab")]
    studies = pd.read_csv(out / "studies.csv")
    row = studies[studies.study_id == STUDY].iloc[0]
    assert (row.n_male, row.age_diagnosis_value, row.age_diagnosis_min, row.n_conflicts) == (9, 9.0, 0.6, 0)
    assert pd.isna(row.n_relapse)
    assert server.session.pooling.wait(120)
    page.open(f"study/{STUDY}")
    page.Wait(page.d, WAIT).until(lambda d: page.css("#pooling-state").text == "up to date")


def test_markup_in_a_paper_and_a_record_shows_as_text(driver, server, tmp_path, seed_records):
    from selenium.common.exceptions import NoAlertPresentException

    hostile_study(server.session.out_dir, tmp_path, seed_records)
    page = Curator(driver, server.url)
    page.open("study/hostile")
    assert HOSTILE in page.css("#paper-text").get_attribute("textContent")
    page.select("f:n_patients")
    assert page.item("f:n_patients").find_element(page.By.CSS_SELECTOR, "textarea[name=note]").get_attribute("value") == HOSTILE
    page.select("f:n_relapse")
    assert page.marked_text() == HOSTILE
    assert page.all("img") == []
    assert page.d.execute_script("return document.querySelectorAll('#paper-text *:not(span), #panel script').length") == 0
    with pytest.raises(NoAlertPresentException):
        page.d.switch_to.alert.text
