"""Tokens -> count mentions: quantities combined into the shapes papers print counts in.

"29 (80.6%)", "14/40 (34.1%)", "72% (118/164)", "(n = 33)", "3 of 18", "3 17 %": each is one
mention that knows its count, its percentage and its denominator. The shapes are data
(`pipeline/data/shapes.json`), compiled here into patterns over a sentence's token string, in
which each quantity stands as "#<index>" and every other token as its lower-case text.

What a mention counts is not decided here: `Mention.before` and `Mention.after` are the words
around it, up to the neighbouring mention or the end of the clause, for the rules to read.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache

from ..core import vocab
from .quantities import Quantity
from .tokens import Token

ROLES = ("count", "denom", "pct", "lo", "hi")
# Tokens that end a clause: a mention's words never reach across them.
CLAUSE_ENDS = frozenset({";", ".", "whereas", "while", "but", "however"})
# Words a full stop after does not end: "vs.", "e.g.", "approx.".
ABBREVIATIONS = frozenset({"vs", "e", "g", "i", "approx", "ca", "cf", "fig", "no", "nos", "al", "resp", "min", "max", "yr", "yrs", "mo", "mos"})
# Words that start a sentence: printed with a capital after a lower-case word, they mark a full stop
# the text lost ("... an initial unifocal lesion In multifocal forms ...").
SENTENCE_STARTS = frozenset({"in", "the", "of", "among", "at", "all", "a", "an", "most", "only", "we", "our",
                             "this", "these", "there", "median", "mean", "overall", "during", "after"})


# Words after which a line break never ends a clause ("... (NSAIDs) and\n\nGlucocorticoid have ...").
CONTINUING = frozenset({"and", "or", "of", "the", "a", "an", "with", "in", "to", ",", "(", "for", "by", "from"})


def ends_clause(tokens: list[Token], j: int) -> bool:
    """Is token j a word or mark that ends a clause ("; ", ". ", "whereas")? A full stop inside
    an abbreviation ("(min.-max.)", "e.g.") is not one, nor a semicolon inside brackets
    ("(azithromycin, n = 7; doxycycline, n = 2)")."""
    if tokens[j].text == ";":
        return not _inside_brackets(tokens, j)
    if tokens[j].text != ".":
        return tokens[j].text in CLAUSE_ENDS
    if j and tokens[j - 1].text in ABBREVIATIONS:
        return False  # "31 vs. 27", "e.g. the tibia"
    nxt = tokens[j + 1] if j + 1 < len(tokens) else None
    return nxt is None or not (nxt.text[:1].islower() or nxt.text in ("-", ")", ",", "/"))


def _inside_brackets(tokens: list[Token], j: int) -> bool:
    depth = 0
    for t in reversed(tokens[max(0, j - 30):j]):
        if t.text in (")", "]"):
            depth += 1
        elif t.text in ("(", "["):
            if depth == 0:
                return True
            depth -= 1
    return False


def starts_clause(tokens: list[Token], j: int) -> bool:
    """Does token j start a sentence the text did not end with a full stop?"""
    t = tokens[j]
    if not (t.capital and j > 0):
        return False
    prev = tokens[j - 1]
    if prev.text == ":" and len(t.text) > 1 and j > 1 and len(tokens[j - 2].text) > 1:
        return True  # a heading run into its text: "Results: Forty-one children were included"
    if t.text in SENTENCE_STARTS and not prev.capital and prev.text[:1].isalpha() and not t.gap:
        return True  # "... an initial unifocal lesion In multifocal forms ..."
    # A line that starts with a capital after an empty line, or after a line that ends in a number
    # (a flattened table row, page furniture): "5 (17.2)\n\nMultifocal disease, n (%) 27 (93.1)".
    if t.gap == "blank" and prev.text not in CONTINUING:
        return True
    return t.gap == "line" and (prev.is_quantity or prev.text == ")")


def clause_start(tokens: list[Token], i: int, lo: int = 0) -> int:
    """Where the clause holding token i starts (not before `lo`)."""
    for j in range(i, lo - 1, -1):
        if j < i and ends_clause(tokens, j):
            return j + 1
        if starts_clause(tokens, j):
            return j
    return lo


def clause_stop(tokens: list[Token], i: int, hi: int | None = None) -> int:
    """Where the clause holding token i ends: the index of its first token past the clause."""
    hi = len(tokens) if hi is None else hi
    return next((j for j in range(i + 1, hi) if ends_clause(tokens, j) or starts_clause(tokens, j)), hi)


@dataclass(frozen=True)
class Mention:
    shape: str
    first: int                       # token index range [first, last) in the sentence
    last: int
    count: Quantity | None = None
    denom: Quantity | None = None
    pct: Quantity | None = None
    lo: Quantity | None = None
    hi: Quantity | None = None
    head: tuple[Token, ...] = ()     # words inside it, between a count and its bracket ("20 children (20/36)")
    before: tuple[Token, ...] = ()   # the words before it, back to the previous mention or clause start
    after: tuple[Token, ...] = ()    # the words after it, up to the next mention or clause end

    @property
    def value(self) -> int | None:
        """The count as a whole number of people, or None."""
        return self.count.count if self.count else None

    @property
    def percent(self) -> float | None:
        return self.pct.value if self.pct else None

    @property
    def total(self) -> int | None:
        return self.denom.count if self.denom else None


def _element(token: str) -> str:
    """One token of a shape as a pattern over the token string."""
    optional = token.endswith("?") and len(token) > 1
    token = token[:-1] if optional else token
    m = re.fullmatch(r"\{(\w+)\}", token)
    if m:
        if m.group(1) not in ROLES:
            raise ValueError(f"shapes.json: unknown role {{{m.group(1)}}}; roles are {', '.join(ROLES)}")
        body = rf"(?P<{m.group(1)}>#\d+)"
    else:
        alternatives = []
        for t in token.split("|"):
            alternatives += {"(": [r"\(", r"\["], ")": [r"\)", r"\]"]}.get(t, [re.escape(t)])
        body = "(?:" + "|".join(alternatives) + ")"
    return rf"(?: {body})?" if optional else f" {body}"


@lru_cache(maxsize=1)
def shapes() -> tuple[tuple[str, re.Pattern], ...]:
    out = []
    for name, shape in vocab.load("shapes.json")["shapes"].items():
        pattern = "".join(_element(t) for t in shape.split())
        out.append((name, re.compile(pattern + r"(?= |$)")))
    return tuple(out)


def token_string(tokens: list[Token]) -> tuple[str, list[int]]:
    """The tokens as one string (" " before each), and where each token's symbol starts in it."""
    parts, starts, pos = [], [], 0
    for i, t in enumerate(tokens):
        symbol = f"#{i}" if t.is_quantity else t.text
        starts.append(pos)
        parts.append(" " + symbol)
        pos += len(symbol) + 1
    return "".join(parts), starts


def find_mentions(tokens: list[Token]) -> list[Mention]:
    """Every quantity of the sentence in exactly one mention, left to right."""
    if not any(t.is_quantity for t in tokens):
        return []
    string, starts = token_string(tokens)
    found: list[tuple[str, int, int, dict]] = []
    i = 0
    while i < len(tokens):
        for name, pattern in shapes():
            m = pattern.match(string, starts[i])
            if not m:
                continue
            last = bisect.bisect_left(starts, m.end())
            roles = {r: tokens[int(m.group(r)[1:])].quantity for r in ROLES if r in pattern.groupindex and m.group(r)}
            found.append((name, i, last, roles))
            i = last
            break
        else:
            i += 1
    found = _join_brackets(tokens, found)
    mentions = []
    for k, (name, first, last, roles, head) in enumerate(found):
        lo = found[k - 1][2] if k else 0
        hi = found[k + 1][1] if k + 1 < len(found) else len(tokens)
        start = clause_start(tokens, first, lo)
        end = clause_stop(tokens, last - 1, hi)
        mentions.append(Mention(name, first, last, head=head, before=tuple(tokens[start:first]),
                                after=tuple(tokens[last:end]), **roles))
    return mentions


def _join_brackets(tokens: list[Token], found: list) -> list:
    """A bare count and the bracket that follows it within a few words are one statement:
    "29 children (80.6%)", "20 children (20/36, 55.6%)", "Eight (63.6%) of 12"."""
    out = []
    for name, first, last, roles in found:
        if out:
            p_name, p_first, p_last, p_roles, _ = out[-1]
            between = tokens[p_last:first]
            bracket = tokens[first].text in ("(", "[") or (first and tokens[first - 1].text in ("(", "["))
            same = "count" not in roles or (p_roles.get("count") and roles["count"].value == p_roles["count"].value)
            closes = last >= len(tokens) or tokens[last].text in (")", "]") or tokens[last - 1].text in (")", "]")
            enclosed = p_first and tokens[p_first - 1].text in ("(", "[")
            if (p_name == "count" and bracket and same and closes and len(between) <= 4 and not enclosed
                    and not any(t.is_quantity or t.text in CLAUSE_ENDS or t.text in (")", "]", ",") for t in between)
                    and not any(starts_clause(tokens, j) for j in range(p_last, first + 1))):
                merged = dict(roles)
                merged["count"] = p_roles["count"]
                if last < len(tokens) and tokens[last].text in (")", "]") and tokens[first].text not in ("(", "["):
                    last += 1  # "(80.6%)": the pct shape stops before its closing bracket
                head = tuple(t for t in between if t.text not in ("(", "["))
                out[-1] = (f"count_words_{name}", p_first, last, merged, head)
                continue
        out.append((name, first, last, roles, ()))
    return out
