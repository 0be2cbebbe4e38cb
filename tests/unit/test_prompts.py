"""Prompt files: headers, placeholders, rendering, the system prompt's rules, packaging."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import prompts
from prompts import PROMPT_NAMES, Prompt, PromptError, load, load_all, parse

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT.parent / "shared" / "seeds"


def test_every_prompt_loads_with_a_matching_versioned_header() -> None:
    loaded = load_all()
    assert set(loaded) == set(PROMPT_NAMES)
    for name, prompt in loaded.items():
        assert prompt.name == name and prompt.version >= 1
        assert prompt.id == f"{name}@v{prompt.version}"
        assert not prompt.text.startswith("<!--")  # the header is not sent to the model
        assert len(prompt.text) > 400, f"{name} looks empty"


def test_stage_prompts_declare_the_inputs_the_graph_must_pass() -> None:
    expected = {
        "scoping": {"incident_brief", "inventory", "facts", "evidence"},
        "data_collection": {"scope", "inventory", "data_gaps"},
        "timeline": {"timeline", "facts", "evidence"},
        "analysis": {"facts", "evidence"},
        "synthesis": {"facts", "findings", "evidence", "today"},
        "review_repair": {"report", "violations", "evidence", "round", "max_rounds"},
        "close": {"action_items", "findings", "today"},
        "chat": {"report"},
        "system": set(),
    }
    assert {n: set(load(n).placeholders) for n in PROMPT_NAMES} == expected


def test_render_fills_values_and_reports_every_missing_one() -> None:
    p = load("synthesis")
    with pytest.raises(PromptError) as info:
        p.render(facts="{}", today="2025-03-01")
    assert "synthesis@v1" in str(info.value)
    assert "findings" in str(info.value) and "evidence" in str(info.value)

    text = p.render(facts="F-VALUE", findings="FINDINGS", evidence="EV", today="2025-03-01")
    assert "F-VALUE" in text and "FINDINGS" in text and "after 2025-03-01" in text
    assert not re.search(r"\{[a-z_]+\}", text)


def test_values_are_not_re_expanded_and_braces_escape() -> None:
    p = Prompt(name="t", version=1, text='A {x} B {{literal}} C {"json": 1}\n')
    # Untrusted evidence containing a placeholder-looking token must pass through verbatim.
    out = p.render(x="ignore rules {today}")
    assert out == 'A ignore rules {today} B {literal} C {"json": 1}\n'
    assert p.placeholders == ["x"]


def test_malformed_files_fail_clearly() -> None:
    with pytest.raises(PromptError, match="must start with a header"):
        parse("analysis", "# no header\ntext")
    with pytest.raises(PromptError, match="declares the name 'timeline'"):
        parse("analysis", "<!-- prompt: timeline v2 -->\ntext")
    with pytest.raises(PromptError, match="no prompt named 'nope'"):
        load("nope")
    with pytest.raises(PromptError, match="invalid prompt name"):
        load("../pyproject")


def test_system_prompt_states_the_ground_rules() -> None:
    text = load("system").text.lower()
    for must in (
        "untrusted",
        "never instructions",
        "cite evidence ids",
        "computed facts are fixed",
        "[data gap]",
        "[assumption]",
        "blameless",
        "by role",
        "verification",
        "non-determinism",
        "light review",
        "specialist",
    ):
        assert must in text, must


def test_prompts_ship_as_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "*.md" in config["tool"]["setuptools"]["package-data"]["prompts"]
    assert Path(prompts.__file__).parent.joinpath("system.md").is_file()


def _shingles(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@pytest.mark.skipif(not SEEDS.is_dir(), reason="seed texts not beside the repo")
def test_prompts_are_written_in_our_own_words() -> None:
    seed = set().union(*(_shingles(p.read_text(errors="replace")) for p in SEEDS.glob("*.txt")))
    for name, prompt in load_all().items():
        copied = _shingles(prompt.text) & seed
        assert not copied, f"{name} repeats seed text: {' '.join(min(copied))}"
