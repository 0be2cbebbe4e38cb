"""Prompt files and their loader.

Each prompt is a Markdown file in this package whose first line is a version header,
`<!-- prompt: <name> v<N> -->`. The files are the source of truth (versioned with the code, shipped
as package data); the version is recorded with each run so a report says which prompts wrote it.

Placeholders are `{name}` (letters, digits, underscore). `{{` and `}}` render as literal braces.
Other braces are left alone, so prompts may show JSON without escaping.

Which stage loads which prompt (agent/llm/engine.py, agent/facilitator/model.py), decided per stage:

- `system`: the persona and hard rules, first message of every request.
- `data_collection`: opens the analysis stage's bounded tool loop (the model searches the evidence).
- `analysis`: the structured `LLMAnalysis` request (hypotheses, five whys, contributing factors).
- `synthesis`: the first draft's prose (`LLMNarrative`: summary, went well, could improve).
- `review_repair`: repair rounds after validation; the same `LLMNarrative` schema, prose only.
- `chat`: the facilitator's replies in `postmortem chat` (and the older streaming hook).

Scoping, timeline and close have no prompt, on purpose: the scope comes from the dump's manifest
and is confirmed by people at the first gate; the timeline, durations and impact are computed by
code and are facts a model must not rewrite; closing turns the code-built action items into tracker
files. A prompt file nothing loads would be measured (in PROMPT_SET_VERSION) without ever being
used, so those files were deleted rather than kept as dead text.

Each prompt carries one or two short worked examples under an "Example" heading. PROMPT_SET_VERSION
digests every prompt's name, version and text; it is recorded in the LLM usage of each report, the
trace metadata and eval results, so a measured score names the exact prompts behind it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel

__all__ = ["PROMPT_NAMES", "PROMPT_SET_VERSION", "Prompt", "PromptError", "load", "load_all",
           "prompt_set_version"]

PROMPT_NAMES: tuple[str, ...] = (
    "system",
    "data_collection",
    "analysis",
    "synthesis",
    "review_repair",
    "chat",
)

_HEADER = re.compile(r"^<!--\s*prompt:\s*([a-z_]+)\s+v(\d+)\s*-->\s*$")
# `{{`, `}}` or a `{identifier}` placeholder.
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


class PromptError(ValueError):
    """A prompt file is missing or malformed, or a render lacks a value."""


class Prompt(BaseModel):
    name: str
    version: int
    text: str  # without the header line

    @property
    def id(self) -> str:
        """e.g. "analysis@v1", for usage records and traces."""
        return f"{self.name}@v{self.version}"

    @property
    def placeholders(self) -> list[str]:
        """Placeholder names in order of first appearance."""
        seen: dict[str, None] = {}
        for m in _TOKEN.finditer(self.text):
            if m.group(1):
                seen.setdefault(m.group(1), None)
        return list(seen)

    def render(self, values: dict[str, Any] | None = None, /, **kwargs: Any) -> str:
        """Fill every placeholder; raise PromptError naming all missing values.

        Values are substituted once: braces inside a value are never re-expanded, which matters
        because values carry untrusted evidence.
        """
        merged = {**(values or {}), **kwargs}
        missing = [p for p in self.placeholders if p not in merged]
        if missing:
            raise PromptError(
                f"prompt '{self.id}' needs a value for: {', '.join(missing)} "
                f"(given: {', '.join(sorted(merged)) or 'nothing'})"
            )

        def sub(m: re.Match[str]) -> str:
            token = m.group(0)
            if token == "{{":
                return "{"
            if token == "}}":
                return "}"
            return str(merged[m.group(1)])

        return _TOKEN.sub(sub, self.text)


def parse(name: str, raw: str) -> Prompt:
    """Split the header from the body and check the header names this prompt."""
    first, _, body = raw.partition("\n")
    m = _HEADER.match(first.strip())
    if m is None:
        raise PromptError(
            f"prompt file '{name}.md' must start with a header like '<!-- prompt: {name} v1 -->'"
        )
    if m.group(1) != name:
        raise PromptError(f"prompt file '{name}.md' declares the name '{m.group(1)}' in its header")
    return Prompt(name=name, version=int(m.group(2)), text=body.strip() + "\n")


@cache
def load(name: str) -> Prompt:
    """Load prompts/<name>.md from the installed package."""
    if not re.fullmatch(r"[a-z_]+", name):
        raise PromptError(f"invalid prompt name {name!r}")
    try:
        raw = resources.files(__name__).joinpath(f"{name}.md").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(
            f"no prompt named '{name}' (known: {', '.join(PROMPT_NAMES)})"
        ) from None
    return parse(name, raw)


def load_all() -> dict[str, Prompt]:
    return {name: load(name) for name in PROMPT_NAMES}


def prompt_set_version(prompt_set: Mapping[str, Prompt]) -> str:
    """A short digest of the whole set: any edit to any prompt (even one that forgot to bump its
    version header) gives a new value, and the sorted name@vN list keeps it readable."""
    h = hashlib.sha256()
    for name in sorted(prompt_set):
        p = prompt_set[name]
        h.update(f"{p.id}\n{p.text}\0".encode())
    ids = ",".join(prompt_set[n].id for n in sorted(prompt_set))
    return f"{h.hexdigest()[:12]} ({ids})"


PROMPT_SET_VERSION: str = prompt_set_version(load_all())
