"""Word and phrase tables as data: one YAML file per concept family, each entry compiled once.

The rules and classifiers keep only their logic; what counts as a "rollback", a blame verb or a
legal word lives in `<family>.yaml` beside this file, so a list is edited in one place and two
modules that need the same concept read the same key.

An entry is `key: {regex: [piece, ...], flags: [IGNORECASE, ...]}`; the pieces are joined with
nothing between them (they are one regex split over lines for reading). A template family is a
list of entries with a `why` and `{slot}` placeholders filled at use (`templates("blame_structures")`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict

_FLAGS = {"IGNORECASE": re.IGNORECASE, "MULTILINE": re.MULTILINE, "DOTALL": re.DOTALL, "VERBOSE": re.VERBOSE}


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    regex: list[str]
    flags: list[str] = []

    def compile(self) -> re.Pattern[str]:
        return re.compile("".join(self.regex), self.flag_bits())

    def flag_bits(self) -> int:
        bits = 0
        for name in self.flags:
            bits |= _FLAGS[name]
        return bits


class Template(_Entry):
    """A pattern with `{slot}` placeholders (filled with regex text at use) and why it matters."""

    why: str = ""

    def fill(self, **slots: str) -> re.Pattern[str]:
        text = "".join(self.regex)
        for slot, value in slots.items():
            text = text.replace("{" + slot + "}", value)
        return re.compile(text, self.flag_bits())


class Vocabulary:
    """The compiled entries of one family, read by key: `vocabulary("statements").mitigate`."""

    def __init__(self, family: str, patterns: dict[str, re.Pattern[str]]) -> None:
        self._family = family
        self._patterns = patterns

    def __getattr__(self, key: str) -> re.Pattern[str]:
        try:
            return self._patterns[key]
        except KeyError:
            raise AttributeError(f"{self._family}.yaml has no entry {key!r}") from None

    def keys(self) -> list[str]:
        return list(self._patterns)

    def items(self) -> list[tuple[str, re.Pattern[str]]]:
        """Key and pattern of every entry, in file order (for tables where the first match wins)."""
        return list(self._patterns.items())


def _load(family: str) -> object:
    text = (resources.files(__package__) / f"{family}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@lru_cache(maxsize=None)
def vocabulary(family: str) -> Vocabulary:
    """The entries of `agent/vocabulary/<family>.yaml`, each compiled once per process."""
    raw = _load(family)
    assert isinstance(raw, dict), f"{family}.yaml must map keys to entries"
    return Vocabulary(family, {key: _Entry.model_validate(body).compile() for key, body in raw.items()})


@lru_cache(maxsize=None)
def templates(family: str) -> tuple[Template, ...]:
    """The template entries of `agent/vocabulary/<family>.yaml`, in file order."""
    raw = _load(family)
    assert isinstance(raw, list), f"{family}.yaml must list template entries"
    return tuple(Template.model_validate(body) for body in raw)
