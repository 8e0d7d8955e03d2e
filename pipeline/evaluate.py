"""Records vs hand annotations -> per-field precision, recall, F1 and every miss.

Gold is a folder of NAME.gold.json files, or a folder of curated records (see
`curate.record_to_gold`). Gold files follow `../shared/dev/README.md`: scalar counts, described statistics as
{stat, value, min, max, unit}, sites as {bone: n}, treatments as a list. A figure is counted as
the tables would use it (curated first, candidates below the confidence threshold left out). A
wrong value is both a false positive and a false negative; a gold null with a predicted value is a
false positive; a field the gold file does not mention at all is not scored.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .core.fields import DESCRIBED_STATS, SITE_PREFIX
from .core.model import usable
from .record.curate import GOLD_COUNTS, record_to_gold
from .record.file import RecordFileError, read_record

PARTS = ("stat", "value", "min", "max", "unit")


def record_to_facts(record: dict) -> dict[str, object]:
    """Flat facts of a record: field -> value, with outcome figures as treat:<drug>:<outcome>:<count>."""
    facts = {}
    for name, fig in record.get("figures", {}).items():
        if usable(fig):
            facts[name] = fig["value"]
    for o in record.get("outcomes", []):
        for k in ("n_treated", "n_responded"):
            if usable(o.get(k)):
                facts[f"treat:{o['drug']}:{o['outcome']}:{k}"] = o[k]["value"]
    return facts


def _gold_outcome(value) -> str | None:
    if not value:
        return None
    return "mri" if str(value).lower().startswith("mri") else "clinical"


def gold_to_facts(gold: dict) -> dict[str, object]:
    """Flat facts of a gold annotation; only keys the annotator addressed."""
    facts: dict[str, object] = {}
    for name in GOLD_COUNTS:
        if name in gold:
            facts[name] = gold[name]
    for name in DESCRIBED_STATS:
        if name in gold:
            spec = gold[name] or {}
            for part in PARTS:
                facts[f"{name}_{part}"] = spec.get(part)
    for bone, n in (gold.get("sites") or {}).items():
        facts[f"{SITE_PREFIX}{bone}"] = n
    for t in gold.get("treatments") or []:
        outcome = _gold_outcome(t.get("outcome"))
        for k in ("n_treated", "n_responded"):
            if t.get(k) is not None:
                facts[f"treat:{t['drug']}:{outcome or '*'}:{k}"] = t[k]
    return facts


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 1e-6
    return a == b


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if not p or not r:
            return 0.0 if (self.fp or self.fn) else None
        return 2 * p * r / (p + r)


@dataclass
class Evaluation:
    per_field: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    misses: list[dict] = field(default_factory=list)

    @property
    def total(self) -> Score:
        s = Score()
        for v in self.per_field.values():
            s.tp, s.fp, s.fn = s.tp + v.tp, s.fp + v.fp, s.fn + v.fn
        return s


def _family(key: str) -> str:
    """Scores are reported per field family: site_femur -> site_*, treat:nsaid:clinical:n_treated -> treat:n_treated."""
    if key.startswith(SITE_PREFIX):
        return "site_*"
    if key.startswith("treat:"):
        return "treat:" + key.rsplit(":", 1)[1]
    return key


def compare(study: str, predicted: dict, gold: dict, ev: Evaluation) -> None:
    # Gold treatment facts whose outcome the annotator left open ('*') match any predicted outcome.
    for key, g in gold.items():
        fam = ev.per_field[_family(key)]
        if key.startswith("treat:") and ":*:" in key:
            drug, count = key.split(":")[1], key.split(":")[3]
            options = [v for k, v in predicted.items() if k.startswith(f"treat:{drug}:") and k.endswith(count)]
            p = next((v for v in options if _same(v, g)), options[0] if options else None)
        else:
            p = predicted.get(key)
            if p is None and key.endswith(":n_treated"):
                # The treated count of a drug holds for each of its outcomes.
                p = predicted.get(f"treat:{key.split(':')[1]}:None:n_treated")
        if g is None and p is None:
            continue
        if g is not None and p is not None and _same(p, g):
            fam.tp += 1
            continue
        if p is not None:
            fam.fp += 1
        if g is not None:
            fam.fn += 1
        ev.misses.append({"study": study, "field": key, "gold": g, "predicted": p})
    # Predicted facts the gold file does not mention: sites and treatments count as false positives
    # (an annotation lists all it saw); scalars the annotator did not address are not scored.
    for key, p in predicted.items():
        if key in gold or p is None:
            continue
        if key.startswith("treat:"):
            drug, _, count = key.split(":")[1:]
            if f"treat:{drug}:*:{count}" in gold or any(k.startswith(f"treat:{drug}:") and k.endswith(count) for k in gold):
                continue
        if key.startswith((SITE_PREFIX, "treat:")):
            ev.per_field[_family(key)].fp += 1
            ev.misses.append({"study": study, "field": key, "gold": None, "predicted": p})


def holds_records(gold_dir: Path) -> bool:
    """Is `gold_dir` a folder of curated records (NAME.json with a "figures" key) rather than annotations?"""
    if any(Path(gold_dir).glob("*.gold.json")):
        return False
    for path in Path(gold_dir).glob("*.json"):
        try:
            return "figures" in read_record(path)[0]
        except (OSError, RecordFileError, TypeError):
            continue
    return False


def gold_annotations(gold_dir: Path) -> list[tuple[str, dict]]:
    """(study, gold) pairs: NAME.gold.json annotations, or curated records turned into the same
    format by curate.record_to_gold, so curated records can serve as gold."""
    gold_dir = Path(gold_dir)
    if holds_records(gold_dir):
        return [(path.stem, record_to_gold(read_record(path)[0])) for path in sorted(gold_dir.glob("*.json"))]
    return [(path.name[: -len(".gold.json")], json.loads(path.read_text("utf-8")))
            for path in sorted(gold_dir.glob("*.gold.json"))]


def evaluate_dir(gold_dir: Path, records_dir: Path) -> Evaluation:
    ev = Evaluation()
    for study, gold in gold_annotations(gold_dir):
        record_path = Path(records_dir) / f"{study}.json"
        predicted = record_to_facts(read_record(record_path)[0]) if record_path.exists() else {}
        compare(study, predicted, gold_to_facts(gold), ev)
    return ev


def format_report(ev: Evaluation) -> str:
    def f(x):
        return "  -  " if x is None else f"{x:.3f}"

    lines = [f"{'field':32} {'tp':>4} {'fp':>4} {'fn':>4} {'prec':>6} {'rec':>6} {'f1':>6}"]
    for name in sorted(ev.per_field):
        s = ev.per_field[name]
        lines.append(f"{name:32} {s.tp:4} {s.fp:4} {s.fn:4} {f(s.precision):>6} {f(s.recall):>6} {f(s.f1):>6}")
    t = ev.total
    lines.append(f"{'ALL (micro)':32} {t.tp:4} {t.fp:4} {t.fn:4} {f(t.precision):>6} {f(t.recall):>6} {f(t.f1):>6}")
    if ev.misses:
        lines.append("")
        lines.append("misses (study, field, gold, predicted):")
        lines += [f"  {m['study']}: {m['field']}: gold={m['gold']!r} predicted={m['predicted']!r}" for m in ev.misses]
    return "\n".join(lines)
