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
        "data_collection": {"scope", "timeline", "data_gaps"},
        "analysis": {"facts", "evidence"},
        "synthesis": {"facts", "findings", "evidence", "today"},
        "review_repair": {"report", "violations", "evidence", "round", "max_rounds"},
        "chat": {"report"},
        "system": set(),
    }
    assert {n: set(load(n).placeholders) for n in PROMPT_NAMES} == expected


def test_render_fills_values_and_reports_every_missing_one() -> None:
    p = load("synthesis")
    with pytest.raises(PromptError) as info:
        p.render(facts="{}", today="2025-03-01")
    assert f"synthesis@v{p.version}" in str(info.value)
    assert "findings" in str(info.value) and "evidence" in str(info.value)

    text = p.render(facts="F-VALUE", findings="FINDINGS", evidence="EV", today="2025-03-01")
    assert "F-VALUE" in text and "FINDINGS" in text and "Postmortem date: 2025-03-01" in text
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


def test_every_prompt_has_a_short_worked_example() -> None:
    for name, prompt in load_all().items():
        head, sep, example = prompt.text.partition("\n## Example")
        assert sep, f"{name} has no '## Example' section"
        assert 40 < len(example) < 1400, f"{name}: the example should be short"


@pytest.mark.parametrize(("name", "schema_name"), [("analysis", "LLMAnalysis"), ("synthesis", "LLMNarrative"),
                                                   ("review_repair", "LLMNarrative")])
def test_a_prompt_asks_for_exactly_the_schema_it_is_parsed_into(name: str, schema_name: str) -> None:
    from agent.llm import engine

    schema = getattr(engine, schema_name)
    text = load(name).text
    for field in schema.model_fields:
        assert f"`{field}`" in text, f"{name} never names the field {field}"
    assert "exactly these three lists" in text and len(schema.model_fields) == 3
    blocks = re.findall(r"```json\n(.*?)```", text, re.S)
    for block in blocks:  # a worked example must itself parse into the schema
        schema.model_validate_json(block)
    if name == "analysis":  # a well-formed hypothesis and a five-whys step, shown as JSON
        example = schema.model_validate_json(blocks[0])
        assert example.hypotheses[0].evidence and example.five_whys[0].evidence


def test_prompt_set_version_changes_when_any_prompt_changes() -> None:
    base = load_all()
    assert prompts.PROMPT_SET_VERSION == prompts.prompt_set_version(base)
    for name in PROMPT_NAMES:  # every name@vN is readable in the value
        assert base[name].id in prompts.PROMPT_SET_VERSION
    edited = dict(base)
    edited["chat"] = base["chat"].model_copy(update={"text": base["chat"].text + "One more line.\n"})
    bumped = dict(base)
    bumped["analysis"] = base["analysis"].model_copy(update={"version": base["analysis"].version + 1})
    versions = {prompts.prompt_set_version(s) for s in (base, edited, bumped)}
    assert len(versions) == 3  # an edit without a version bump is caught too


def test_every_prompt_file_is_loaded_by_a_stage_in_a_run_through_the_stub(tmp_path: Path) -> None:
    """A draft through the local stub (analysis with a tool round, a first draft that breaks a rule,
    then a repair round) plus one chat reply: the prompts each stage recorded in its usage cover
    every file in the package, and usage names the prompt set."""
    import json
    from datetime import date

    from pydantic import SecretStr

    from agent.facilitator.model import ChatModel
    from agent.llm.client import LLMConfig
    from agent.llm.engine import LLMEngine
    from agent.llm.usage import Budget
    from agent.runner import run_draft
    from tests.fake_openai import FakeOpenAI, completion

    narratives = 0

    def answer(req: dict) -> dict:  # type: ignore[type-arg]
        nonlocal narratives
        if req.get("tools"):
            return completion("Nothing more to search.").body
        name = ((req.get("response_format") or {}).get("json_schema") or {}).get("name", "")
        if "Analysis" in name:
            return completion(json.dumps({"hypotheses": [], "five_whys": [], "contributing_factors": []})).body
        if req.get("response_format"):
            narratives += 1
            blame = ["The on-call engineer was careless."] if narratives == 1 else []
            return completion(json.dumps({"summary": ["Requests failed after the upgrade.", *blame],
                                          "went_well": [], "could_improve": []})).body
        return completion("What did the dashboards show?").body

    on_disk = {p.stem for p in Path(prompts.__file__).parent.glob("*.md")}
    assert on_disk == set(PROMPT_NAMES)
    with FakeOpenAI() as fake:
        fake.enqueue(*[answer] * 40)
        cfg = LLMConfig(api_key=SecretStr("sk-test"), base_url=fake.base_url, model="stub", max_retries=0)
        res = run_draft(ROOT / "examples" / "vllm-oom-upgrade", base=tmp_path, today=date(2026, 4, 27),
                        engine=LLMEngine(cfg))
        chat = ChatModel(cfg, Budget(2, 100_000))
        chat.reply("confirm_timeline", "why so late?", "{}", [], "offline reply")
    usage = res.report.usage
    assert usage["prompt_set"] == prompts.PROMPT_SET_VERSION == chat.usage()["prompt_set"]
    loaded = set(usage["prompts"].values()) | {chat.usage()["prompt"]}
    assert loaded == {load(n).id for n in PROMPT_NAMES}
    assert usage["prompts"]["synthesis"] == load("synthesis").id  # the first draft has its own prompt
    assert usage["prompts"]["review"] == load("review_repair").id
