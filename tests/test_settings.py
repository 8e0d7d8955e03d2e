"""Every settings object is built from a dict the same way (pipeline/core/settings.py): a key it
does not have is refused by name, with the closest valid key and all of them, naming where the
values came from; comment keys ("_doc") are dropped; the object's own value checks still run."""
import ast
import dataclasses
from pathlib import Path

import pytest

from pipeline.batch.runner import BatchSettings
from pipeline.core.limits import Limits, limits
from pipeline.core.settings import Settings, SettingsError
from pipeline.extract.engine import Resolution, resolution
from pipeline.meta.run import MetaSettings
from pipeline.read.pdf import PdfSettings
from pipeline.record.checks import Bound, Plausibility, plausibility
from pipeline.review.session import ReviewSettings

# (class, values that build one, a misspelt key, the key it should suggest, a value its own checks refuse)
CASES = [
    (Limits, dataclasses.asdict(limits()), "word_peice_chars", "word_piece_chars", None),
    (Plausibility, {**vars(plausibility()), "ranges": {}}, "low_confidense", "low_confidence", None),
    (Bound, {"max": 50, "unit": "years"}, "maximum", "max", None),
    (PdfSettings, {"max_pages": 20}, "max_page", "max_pages", None),
    (BatchSettings, {"jobs": 2, "time_limit": 5}, "jbos", "jobs", {"jobs": 0}),
    (MetaSettings, {"min_confidence": 0.8}, "confidense", "min_confidence", {"forest_measure": "PR"}),
    (Resolution, dataclasses.asdict(resolution()), "conflict_confidense", "conflict_confidence", None),
    (ReviewSettings, {"out_dir": "out", "curator": "ana"}, "curater", "curator", {"out_dir": "out", "curator": " "}),
]
IDS = [case[0].__name__ for case in CASES]


def test_every_settings_object_is_built_the_one_way():
    """Each class named *Settings, with a from_dict of its own or built on Settings, is one of CASES:
    a new settings object gets the mixin and a row above."""
    import pipeline

    found = set()
    for path in Path(pipeline.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name != "Settings" and (
                    node.name.endswith("Settings")
                    or any(isinstance(b, ast.Name) and b.id == "Settings" for b in node.bases)
                    or any(isinstance(f, ast.FunctionDef) and f.name == "from_dict" for f in node.body)):
                found.add(node.name)
    assert found == set(IDS)
    assert all(issubclass(cls, Settings) and dataclasses.is_dataclass(cls) for cls, *_ in CASES)


@pytest.mark.parametrize("cls, values, typo, hint, bad", CASES, ids=IDS)
def test_a_valid_dict_builds_the_object_and_comments_are_dropped(cls, values, typo, hint, bad):
    built = cls.from_dict({"_doc": "a comment, as the data files have", **values})
    assert isinstance(built, cls)
    for key, value in values.items():
        if key != "ranges":
            assert getattr(built, key) == (Path(value) if key == "out_dir" else value)


@pytest.mark.parametrize("cls, values, typo, hint, bad", CASES, ids=IDS)
def test_a_misspelt_key_is_refused_naming_the_source_the_key_and_the_closest_valid_one(cls, values, typo, hint, bad):
    valid = ", ".join(f.name for f in dataclasses.fields(cls))
    with pytest.raises(SettingsError) as err:
        cls.from_dict({**values, typo: 1}, source="my/config.json")
    assert str(err.value) == (f"my/config.json: unknown {cls.key_word} {typo!r} (did you mean {hint!r}?); "
                              f"valid keys: {valid}")


@pytest.mark.parametrize("cls, values, typo, hint, bad", CASES, ids=IDS)
def test_keys_like_no_valid_one_are_all_named_without_a_hint(cls, values, typo, hint, bad):
    with pytest.raises(SettingsError) as err:
        cls.from_dict({**values, "zzz": 1, "qqq": 2})
    assert str(err.value).startswith(f"{cls.__name__}: unknown {cls.key_word}s 'zzz', 'qqq'; valid keys: ")


@pytest.mark.parametrize("cls, values, typo, hint, bad", [c for c in CASES if c[4]], ids=[c[0].__name__ for c in CASES if c[4]])
def test_each_object_keeps_its_own_value_checks(cls, values, typo, hint, bad):
    with pytest.raises(ValueError) as err:
        cls.from_dict(bad)
    assert not isinstance(err.value, SettingsError) and list(bad)[-1] in str(err.value)


def test_the_data_files_are_named_when_they_are_wrong():
    with pytest.raises(SettingsError) as err:
        Plausibility.from_dict({"ranges": {"followup": {"maximum": 3}}}, source="pipeline/data/plausibility.json")
    assert str(err.value) == ("pipeline/data/plausibility.json: range 'followup': unknown key 'maximum' "
                              "(did you mean 'max'?); valid keys: min, max, unit, why")
    with pytest.raises(SettingsError) as err:
        Limits.from_dict({"input_max_mb": 10}, source="pipeline/data/limits.json")
    assert str(err.value).startswith("pipeline/data/limits.json: missing limits 'pdf_size_factor', 'record_max_mb', ")
