"""Normalised text -> sections (abstract, methods, results, tables, discussion, ...).

The section a sentence sits in decides whether its figures describe this paper's cohort: a
Discussion that cites "the French cohort of 178 patients" must not fill this study's fields.
Headings are data (`data/sections.json`) so another field's papers can add their own.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

from ..core.model import Section


@lru_cache(maxsize=1)
def _vocab() -> tuple[dict[str, str], dict[str, str], re.Pattern]:
    data = json.loads(resources.files("pipeline").joinpath("data/sections.json").read_text("utf-8"))
    heading_to_name = {}
    trust = {"front": "own", "table": "own"}
    for name, spec in data["sections"].items():
        trust[name] = spec["trust"]
        for h in spec["headings"]:
            heading_to_name[h] = name
    return heading_to_name, trust, re.compile(data["table_caption"])


def section_trust(name: str) -> str:
    """'own', 'cue' or 'none': how far figures in this section describe the paper's own cohort."""
    return _vocab()[1].get(name, "own")


@lru_cache(maxsize=1)
def _heading_patterns() -> tuple[re.Pattern, re.Pattern, re.Pattern, re.Pattern]:
    # Longest first, so "Background and aims" wins over "Background"; white space in a heading
    # matches any run of it (a heading broken over two lines).
    headings = sorted(_vocab()[0], key=len, reverse=True)
    alt = "|".join(re.escape(h).replace(r"\ ", r"\s+") for h in headings)
    # A heading on a line of its own, maybe numbered ("2. Methods", "RESULTS:"). It starts at the
    # newline before the line rather than at ^, because the engine finds a leading character by a
    # fast scan but tries ^ at every position; _headings puts a newline before the first line.
    whole = re.compile(rf"\n[ \t]*(?:\d+(?:\.\d+)*\.?[ \t]+|[IVX]+\.[ \t]+)?(?P<h>{alt})[ \t]*:?[ \t]*$",
                       re.IGNORECASE | re.MULTILINE)
    # Run-in headings, as abstracts copied from web pages have them: "Results: Forty-one ...",
    # "...free of symptoms.ResultsNaproxen proved ...", "... patient Results 17 patients took part".
    run_in = re.compile(rf"(?:^|(?<=[.!?])|(?<=[.!?)])[ \t]+|(?<=[a-z])(?=[A-Z]))(?P<h>(?=[A-Z])(?i:{alt}))"
                        rf"(?=:|[ \t]+[A-Z0-9]|[A-Z])", re.MULTILINE)
    # Where a run-in heading can start: the capital of a heading (see _run_in).
    capital = re.compile(rf"(?=[A-Z])(?=(?i:{alt}))")
    # Major headings capitalised mid-line with no stop before them ("... every consecutive
    # patient Results 17 patients took part"): prose does not capitalise these words mid-sentence.
    # The look-behind follows the space so that the engine scans for the space.
    mid = re.compile(r" (?<=[a-z,] )(?P<h>Background|Objectives?|Methods|Results|Conclusions?)(?= [A-Z0-9])")
    return whole, run_in, capital, mid


def _headings(text: str) -> list[tuple[int, str, str, bool]]:
    """(offset, section name, heading, on a line of its own) for every heading in `text`, in order."""
    names = _vocab()[0]
    whole, run_in, capital, mid = _heading_patterns()
    matches = [*((m.start("h") - 1, m.group("h"), True) for m in whole.finditer("\n" + text)),
               *((m.start("h"), m.group("h"), False) for m in _run_in(text, run_in, capital)),
               *((m.start("h"), m.group("h"), False) for m in mid.finditer(text))]
    found = {}
    for at, head, alone in matches:
        name = names.get(re.sub(r"\s+", " ", head.lower()))
        if name and at not in found:
            found[at] = (name, head, alone)
    return sorted((at, *found[at]) for at in found)


def _run_in(text: str, run_in: re.Pattern, capital: re.Pattern):
    """The matches of run_in.finditer(text), trying run_in only where a heading's capital is: tried
    at every position, its look-behinds took two thirds of the time of the heading search."""
    end = 0
    for c in capital.finditer(text):
        at = c.start()
        if at < end:
            continue  # inside the last match
        # After a stop, the match starts at the spaces before the heading ("free of pain.  Results").
        start = at
        while start > end and text[start - 1] in " \t":
            start -= 1
        m = run_in.match(text, start)
        if m:
            yield m
            end = m.end()


def _is_title_like(line: str) -> bool:
    s = line.strip()
    return 0 < len(s) < 50 and not any(c.isdigit() for c in s) and s[0].isupper() and not s.endswith(".")


def text_to_sections(text: str) -> list[Section]:
    """Split `text` into consecutive sections covering all of it.

    Text before the first heading is the front matter (title, authors, an untitled abstract).
    A "Table N" caption opens a table section; it ends where running prose resumes (a paragraph of
    three or more lines), or at the next heading, since papers flatten tables into text anyway.
    """
    _, _, caption = _vocab()
    lines = []
    pos = 0
    for raw in text.split("\n"):
        lines.append((pos, raw))
        pos += len(raw) + 1

    marks: list[tuple[int, str, str]] = [(0, "front", "")]
    headings = _headings(text)
    h = 0
    in_table = False
    last = None  # the last non-blank line so far
    for i, (start, line) in enumerate(lines):
        end = start + len(line)
        while h < len(headings) and headings[h][0] < end + 1:
            at, name, head, alone = headings[h]
            h += 1
            # A table's header row is no run-in heading ("Outcome Baseline 6 months"); a run-in
            # heading that starts running prose ("Results: Forty children were ...") is.
            if in_table and not alone and not _starts_paragraph(lines, i):
                continue
            marks.append((at, name, head))
            in_table = False
        if not line.strip():
            continue
        prev, last = last, i
        # "Table I." at a line start is a caption only when it does not continue a sentence
        # ("... are summarized in\nTable I. The median diagnostic delay"): after a blank line or a
        # line that ends a sentence, or alone between a line of page furniture and a blank line.
        alone = i + 1 < len(lines) and not lines[i + 1][1].strip()
        if caption.match(line) and (prev is None or prev < i - 1 or lines[prev][1].rstrip()[-1:] in ".:)" or alone):
            marks.append((start, "table", line.strip()[:60]))
            in_table = True
            continue
        if in_table and _starts_paragraph(lines, i):
            # Prose resumes after the table: go back to the section the table interrupted,
            # starting at a title-like line just before the paragraph if there is one.
            at = start
            if prev is not None and _is_title_like(lines[prev][1]) and lines[prev][0] > marks[-1][0]:
                at = lines[prev][0]
            resumed = next((m[1] for m in reversed(marks) if m[1] != "table"), "front")
            marks.append((at, resumed, ""))
            in_table = False

    marks.sort(key=lambda m: m[0])
    sections = []
    for k, (start, name, heading) in enumerate(marks):
        end = marks[k + 1][0] if k + 1 < len(marks) else len(text)
        if end > start:
            sections.append(Section(name, heading, start, end))
    return sections


# A line that ends in a figure: a table row's value, or a page number.
_ENDS_IN_FIGURE = re.compile(r"\d[\d.,:;/%)\]-]*\s*$")


def _starts_paragraph(lines, i) -> bool:
    """Line i begins a run of three or more non-blank lines (running prose, not table rows):
    lines that end in a figure are rows ("1 3" / "60 European Journal ... 7:55-63" / "Sternum 3
    (10.3)", a page break's furniture inside a table)."""
    if i > 0 and lines[i - 1][1].strip():
        return False
    run = []
    for _, line in lines[i:i + 3]:
        if not line.strip():
            break
        run.append(line)
    # Page furniture inside a table ("7" / "MARSH ET AL." / "Zoledronic acid 10 7 (70.0)") is short:
    # prose has at least two lines of some words that end in no figure.
    worded = [line for line in run if len(line.split()) >= 4 and not _ENDS_IN_FIGURE.search(line)]
    return len(run) >= 3 and len(worded) >= 2
