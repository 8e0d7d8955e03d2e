"""The one way a settings object is built from a dict: `SomeSettings.from_dict(values, source=...)`.

Every settings object (the limits, the plausibility bounds, the PDF reader's, the batch's, the
pooling's, the review page's) is a dataclass with this mixin. Its keys are its fields; a key it
does not have is refused by name, with the closest valid key ("did you mean 'min_confidence'?")
and the list of valid ones, and the message starts with where the values came from (a data file,
a config), so a typo in a JSON file is found when it is read, not as a default silently used. Keys
starting with "_" are comments ("_doc" in the data files) and are dropped. Checks of the values
themselves stay in each object's `__post_init__`.
"""
from __future__ import annotations

import dataclasses
import difflib
from typing import Any, ClassVar, Mapping


class SettingsError(ValueError):
    """Values that make no settings object: where they came from, the key and what is wrong."""


class Settings:
    """Mixin for a settings dataclass: `from_dict` checks the keys, then calls the constructor."""

    # How a message names one key ("unknown limit 'x'").
    key_word: ClassVar[str] = "setting"

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], source: str | None = None):
        return cls.build(cls.known_values(values, source), source)

    @classmethod
    def known_values(cls, values: Mapping[str, Any], source: str | None = None) -> dict[str, Any]:
        """`values` without comment keys; SettingsError for a key that is no field."""
        where = cls._where(source)
        if not isinstance(values, Mapping):
            raise SettingsError(f"{where}: must be an object of {', '.join(cls.valid_keys())}, "
                                f"got {type(values).__name__}")
        valid = cls.valid_keys()
        kept = {k: v for k, v in values.items() if not (isinstance(k, str) and k.startswith("_"))}
        unknown = [k for k in kept if k not in valid]
        if unknown:
            named = []
            for key in unknown:
                close = difflib.get_close_matches(str(key), valid, n=1)
                named.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise SettingsError(f"{where}: unknown {cls.key_word}{'s' if len(unknown) > 1 else ''} "
                                f"{', '.join(named)}; valid keys: {', '.join(valid)}")
        return kept

    @classmethod
    def build(cls, values: dict[str, Any], source: str | None = None):
        """The object of checked `values`; SettingsError naming a required key that is missing."""
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in values and f.init
                   and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        if missing:
            raise SettingsError(f"{cls._where(source)}: missing {cls.key_word}{'s' if len(missing) > 1 else ''} "
                                f"{', '.join(map(repr, missing))}")
        return cls(**values)

    @classmethod
    def valid_keys(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.init]

    @classmethod
    def _where(cls, source: str | None) -> str:
        return source or cls.__name__   # values from no file: the object they are for
