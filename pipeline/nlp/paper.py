"""Document -> Paper: the normalised text cut into sections, prose sentences and table rows.

Every later rule reads a Paper, so the questions "which section is this in?", "does this sentence
speak of another cohort?" and "where is this in the kept text?" are answered once, here.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import lru_cache

from ..core import vocab
from ..core.model import Document, Evidence, Section
from ..read.sections import section_trust, text_to_sections
from ..read.text import Normalised, fold_case, normalise
from .fast_sentences import sentence_spans
from .language import sentence_docs

# A citation marker glued to a word: "group7 has", "et al.15 have", "lesions.7", "cohorts.7,8".
# The word's last character is matched, not looked behind at: the search then skips to letters.
_REF_MARK = re.compile(r"[a-z)%]\.?\d{1,2}(?:\s?[,\u2013-]\s?\d{1,2})*(?=[\s.,;:)]|$)")
_AUTHOR_YEAR = re.compile(r"\b[A-Z][a-z]+ (?:et al\.?|and [A-Z][a-z]+),? \(?(?:19|20)\d{2}")


@lru_cache(maxsize=1)
def _cue_patterns() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    c = vocab.cohort()
    def alt(words):  # line breaks fall anywhere: "in the current\nstudy"
        return r"\b(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words) + r")\b"
    # Matched against the case-folded sentence: three times faster than re.IGNORECASE.
    own = re.compile(alt(w.lower() for w in c["own_cues"]))
    other = re.compile(alt(w.lower() for w in c["other_cues"]))
    local = re.compile(alt(w.lower() for w in c["local_cues"]))
    return own, other, local


@dataclass
class Sentence:
    start: int          # offsets in the normalised text
    end: int
    text: str
    section: str
    table: bool         # a table row rather than prose
    own: bool           # speaks of this paper's cohort (or is neutral in a section that does)
    ents: list[Mention] = field(default_factory=list)  # vocabulary entities, offsets in `text`
    folded: str = ""    # `text` case-folded, white space collapsed (text.fold_case): what pre-tests and cues read


@dataclass(frozen=True)
class Mention:
    """A vocabulary entity in a sentence: a drug or a bone site, and whether NegEx negated it."""
    start: int          # offsets within the sentence's text
    end: int
    label: str          # DRUG, SITE, NOT_SITE
    key: str            # the vocabulary entry (agent, class or bone)
    negated: bool


@dataclass
class Paper:
    document: Document
    norm: Normalised
    sections: list[Section]
    sentences: list[Sentence] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.norm.text

    def evidence(self, start: int, end: int, section: str) -> Evidence:
        a, b = self.norm.span(start, end)
        kept = self.document.text
        # Trim the quote to whole non-blank text; offsets follow the trim.
        while a < b and kept[a].isspace():
            a += 1
        while b > a and kept[b - 1].isspace():
            b -= 1
        return Evidence(kept[a:b], section, a, b, self.document.page_at(a))


def classify(text: str, section: str, folded: str | None = None) -> bool:
    """Does this prose sentence describe the paper's own cohort?

    Other cohorts are cited with reference markers, author-year citations or cue words ("the French
    group7 has reported"); Introduction and Discussion only count with an own-cohort cue ("in our
    cohort"). An own cue outweighs a citation in the same sentence ("similar to other cohorts.7,8").
    A Background may introduce the centre's own series in the words of `local_cues`, uncited.
    """
    trust = section_trust(section)
    if trust == "none":
        return False
    own_re, other_re, local_re = _cue_patterns()
    folded = fold_case(text) if folded is None else folded
    if own_re.search(folded):
        return True
    # Searched only when no own cue is found: an own cue wins anyway.
    if any(not _counted_by(folded, m.end()) for m in other_re.finditer(folded)) \
            or _REF_MARK.search(text) or _AUTHOR_YEAR.search(text):
        return False
    return trust == "own" or (section == "background" and local_re.search(folded) is not None)


# "Pain was reported by 30 patients", "were reported in 12 (40%)": a report of this study's own count.
_BY_COUNT = re.compile(r"\s+(?:by|in)\s+(?:\d|all\b|each\b)")


def _counted_by(folded: str, end: int) -> bool:
    """Does the other-cohort cue ending at `end` ("was reported") go on to a count of people?"""
    return folded[:end].endswith("reported") and _BY_COUNT.match(folded, end) is not None


def document_to_paper(document: Document) -> Paper:
    norm = normalise(document.text)
    paper = Paper(document, norm, text_to_sections(norm.text))
    table_spans = [norm_range(norm, a, b) for a, b in document.table_spans]
    prose_chunks: list[tuple[int, int, str]] = []
    for sec in paper.sections:
        marked = sorted(s for s in table_spans if sec.start <= s[0] < sec.end)
        name = sec.name
        cursor = sec.start
        if sec.name == "table":
            # Text around a table is read as the section the table sits in.
            name = prose_chunks[-1][2] if prose_chunks else "results"
            if not marked:
                # A flattened table runs until its text turns into prose again.
                end = _table_end(norm.text, sec.start, sec.end)
                paper.sentences += _table_rows(norm.text, sec.start, end)
                if end < sec.end:
                    prose_chunks.append((end, sec.end, name))
                continue
            # A PDF's table: its caption line, unless that line is prose ("Table 2, which gives
            # both the number of lesions and ..."), then the rows its table finder marked.
            line_end = norm.text.find("\n", sec.start, marked[0][0])
            line_end = marked[0][0] if line_end < 0 else line_end
            if not _RUNS_ON.match(norm.text, sec.start, line_end):
                paper.sentences += _table_rows(norm.text, sec.start, line_end)
                cursor = line_end
        elif sec.heading and norm.text.startswith(sec.heading, sec.start):
            # Prose starts after a heading, so "MethodsThirty-seven children" reads "Thirty-seven children".
            cursor += len(sec.heading)
        # Table rows a PDF's table finder marked are read as rows, never again as prose.
        for a, b in marked:
            prose_chunks.append((cursor, a, name))
            paper.sentences += _table_rows(norm.text, a, b)
            cursor = b
        prose_chunks.append((cursor, sec.end, name))
    # Sentences are cut per prose chunk, not over the paper: a chunk starts after its heading, so a
    # run-in heading glued to the text ("outcome.ResultsNaproxen proved") does not hide a drug.
    for a, b, name in prose_chunks:
        chunk = norm.text[a:b]
        spans = bounded(chunk, _join_cut_sentences(chunk, sentence_spans(chunk)))
        mentions = _mentions_in(chunk, spans)
        starts = [m.start for m in mentions]
        for lo, hi in spans:
            sent_text = chunk[lo:hi]
            for s0, e0 in _split_after_citations(sent_text):
                text = sent_text[s0:e0]
                if text.strip():
                    folded = fold_case(text)
                    sentence = Sentence(a + lo + s0, a + lo + e0, text, name, False, classify(text, name, folded),
                                        folded=folded)
                    sentence.ents = _within(mentions, starts, lo + s0, lo + e0)
                    paper.sentences.append(sentence)
    # Table rows get entities too, for their drugs and sites, read as one text.
    rows = [s for s in paper.sentences if s.table]
    if rows:
        joined = "\n".join(r.text for r in rows)
        mentions = _mentions_in(joined, bounded(joined, sentence_spans(joined)))
        starts = [m.start for m in mentions]
        pos = 0
        for row in rows:
            row.ents = _within(mentions, starts, pos, pos + len(row.text))
            pos += len(row.text) + 1
    paper.sentences.sort(key=lambda s: s.start)
    return paper


def _join_cut_sentences(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentences cut inside an abbreviation go on in the next: one whose bracket is still open, or
    followed by one that starts in lower case (the sentencizer cuts "The median (min.-max.)
    follow-up time" after "(min." and again after "max.)")."""
    out: list[tuple[int, int]] = []
    depth = 0
    for lo, hi in spans:
        if out and (depth > 0 or text[lo:hi].lstrip()[:1].islower()):
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
            depth = 0
        part = text[lo:hi]
        depth = max(0, depth + part.count("(") - part.count(")"))
        if depth > 2:
            depth = 0  # unbalanced brackets in running text: stop joining
    return out


def bounded(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The sentence spans, each longer than `sentence_max_chars` cut into pieces of at most that
    many characters, at white space where there is some. A paper's sentences are far shorter (under
    a thousand characters in the seeds); a longer one is text without sentence ends (a garbled text
    layer, a pasted data dump), which the rules would read in time quadratic in its length."""
    from ..core.limits import limits

    most = limits().sentence_max_chars
    if all(hi - lo <= most for lo, hi in spans):
        return spans
    out = []
    for lo, hi in spans:
        while hi - lo > most:
            cut = max(text.rfind(" ", lo + 1, lo + most), text.rfind("\n", lo + 1, lo + most))
            cut = cut + 1 if cut > lo else lo + most
            out.append((lo, cut))
            lo = cut
        out.append((lo, hi))
    return out


def _mentions_in(text: str, spans: list[tuple[int, int]]) -> list[Mention]:
    """The vocabulary entities of `text`, cut into the sentences `spans`, with offsets in `text`.
    Each sentence is a doc of its own: NegEx's cue before a term reaches no further than its sentence."""
    out = []
    for (lo, _), doc in zip(spans, sentence_docs(text[lo:hi] for lo, hi in spans)):
        out += [Mention(e.start_char + lo, e.end_char + lo, e.label_, e.ent_id_, e._.negex) for e in doc.ents]
    return out


def _within(mentions: list[Mention], starts: list[int], lo: int, hi: int) -> list[Mention]:
    """The mentions starting in [lo, hi), offsets made relative to lo; `starts` are the mentions'
    starts, listed once per text (listing them per sentence made a long paper quadratic)."""
    i = bisect.bisect_left(starts, lo)
    out = []
    while i < len(mentions) and mentions[i].start < hi:
        m = mentions[i]
        out.append(Mention(m.start - lo, m.end - lo, m.label, m.key, m.negated))
        i += 1
    return out


# The tokenizer keeps "cases.16" as one token, so "...in five cases.16 In the current study, ..." is one
# spaCy sentence; a citation marker followed by a capital ends a sentence.
_CITATION_END = re.compile(r"(?<=[a-z)])\.\d{1,2}(?:\s?[,\u2013-]\s?\d{1,2})*\s+(?=[A-Z])")


def _split_after_citations(text: str) -> list[tuple[int, int]]:
    cuts = [m.end() for m in _CITATION_END.finditer(text)]
    bounds = [0, *cuts, len(text)]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1) if bounds[i + 1] > bounds[i]]


def norm_range(norm: Normalised, a: int, b: int) -> tuple[int, int]:
    """Normalised span of the kept span [a, b)."""
    return bisect.bisect_left(norm.to_kept, a), bisect.bisect_left(norm.to_kept, b)


_DIGIT = re.compile(r"\d")


def _table_end(text: str, start: int, end: int) -> int:
    """Where a table section's rows stop: at the first line after its caption that reads as prose
    (a long line without numbers, a line of fourteen words or more, or a line that runs on into a
    line starting in lower case)."""
    lines = text[start:end].split("\n")
    pos = start + len(lines[0]) + 1
    for k in range(1, len(lines)):
        line = lines[k].strip()
        words = len(line.split())
        nxt = next((x.strip() for x in lines[k + 1:] if x.strip()), "")
        runs_on = bool(line) and (line[-1].isalpha() or line[-1] in ",-") and nxt[:1].islower()
        if (words >= 8 and not _DIGIT.search(line)) or words >= 14 or (runs_on and words >= 4):
            return pos + len(lines[k]) - len(lines[k].lstrip())
        pos += len(lines[k]) + 1
    return end


# "Table 2, which gives ...", "Table 3 shows ...": a sentence that names a table, not its caption.
_RUNS_ON = re.compile(r"\s*(?i:table)\s+\w+\s*(?:,|[a-z])")


def _table_rows(text: str, start: int, end: int) -> list[Sentence]:
    rows = []
    pos = start
    for line in text[start:end].split("\n"):
        if line.strip():
            lead = len(line) - len(line.lstrip())
            row = line.strip()
            rows.append(Sentence(pos + lead, pos + len(line.rstrip()), row, "table", True, True, folded=fold_case(row)))
        pos += len(line) + 1
    return rows
