"""The chat model through real HTTP to the local stub: every request carries the conversation so
far, the current stage's goal, questions and commands; the conversation survives /quit and resume;
history stays within its token budget; a rule-breaking reply never reaches the screen."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from agent.chat import ChatSession, build_chat_graph, new_initial_state, run_terminal
from agent.facilitator import model as fm
from agent.facilitator.model import ChatModel
from agent.facilitator.stages import GUIDES
from agent.graph import Context
from agent.llm.client import LLMConfig
from agent.llm.usage import Budget
from agent.runner import checkpointer
from tests.fake_openai import FakeOpenAI, completion

ROOT = Path(__file__).resolve().parents[2]
DUMP = ROOT / "examples" / "minor-eval-flake"
TODAY = date(2026, 4, 27)
FIRST = "the eval shard ran on a preemptible node pool that week"
SECOND = "why did nobody get paged for the flaky shard?"
THIRD = "why was the flake not visible on the eval dashboard?"


def _model(fake: FakeOpenAI, max_calls: int = 10) -> ChatModel:
    cfg = LLMConfig(api_key=SecretStr("sk-test-not-real"), base_url=fake.base_url, model="stub-model",
                    max_retries=0, timeout_s=5.0)
    return ChatModel(cfg, Budget(max_calls, 100_000))


def _session(saver: Any, sid: str, model: ChatModel) -> ChatSession:
    return ChatSession(build_chat_graph(saver), sid, Context(facilitator=model))


def _chat_bodies(fake: FakeOpenAI) -> list[dict[str, Any]]:
    return [b for b in fake.bodies() if not b.get("tools") and not b.get("response_format")]


def _system(body: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in body["messages"] if m["role"] == "system")


def _turns(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in body["messages"] if m["role"] != "system"]


def test_requests_carry_history_and_stage_and_history_survives_resume(tmp_path: Path) -> None:
    sid = "chat-model-1"
    with FakeOpenAI() as fake:
        fake.enqueue(completion("Which pool did the shard land on before that week?"),
                     completion("What page policy covers eval jobs today?"),
                     completion("Which signal would have shown the flake first?"))
        out: list[str] = []
        with checkpointer(tmp_path) as saver:
            s = _session(saver, sid, _model(fake))
            first = s.start(new_initial_state(DUMP, tmp_path / "runs" / sid, TODAY, False))
            answers = iter(["ok", FIRST, SECOND, "/quit"])  # scope ok, then two remarks at the evidence gate
            assert run_terminal(s, first, read=lambda _p: next(answers), write=out.append,
                                llm_available=True) == "quit"
            assert "Which pool did the shard land on before that week?" in out
            assert "What page policy covers eval jobs today?" in out
            saved = s.state().chat_history
        assert [t["role"] for t in saved] == ["user", "assistant"] * 2
        assert saved[0]["content"] == FIRST and saved[0]["gate"] == "confirm_evidence"
        assert "Which pool did the shard land on" in saved[1]["content"]

        # A new process: a new model client, the same checkpoint database.
        with checkpointer(tmp_path) as saver:
            s = _session(saver, sid, _model(fake))
            pending = s.current()
            assert pending is not None and pending.gate == "confirm_evidence"
            answers = iter([THIRD, "/quit"])
            run_terminal(s, pending, read=lambda _p: next(answers), write=out.append, llm_available=True)
        bodies = _chat_bodies(fake)

    assert len(bodies) == 3
    goal = GUIDES["confirm_evidence"].goal
    for body in bodies:
        system = _system(body)
        assert f"Stage goal: {goal}" in system
        assert "Commands the reviewer can type here: " + GUIDES["confirm_evidence"].commands in system
        assert "Questions open at this stage:" in system
        assert body["messages"][-1]["role"] == "user"
    # Each request ends with the remark it answers and carries every earlier turn before it.
    assert _turns(bodies[0]) == [("user", FIRST)]
    assert _turns(bodies[1])[:-1] == [(t["role"], t["content"]) for t in saved[:2]]
    assert _turns(bodies[1])[-1] == ("user", SECOND)
    # After the resume the earlier turns are still there, from the checkpoint.
    after_resume = _turns(bodies[2])
    assert after_resume[:-1] == [(t["role"], t["content"]) for t in saved]
    assert after_resume[-1] == ("user", THIRD)


def test_stage_questions_come_from_the_computed_facts(tmp_path: Path) -> None:
    sid = "chat-model-2"
    with FakeOpenAI() as fake:
        fake.enqueue(completion("Noted."))
        with checkpointer(tmp_path) as saver:
            s = _session(saver, sid, _model(fake))
            first = s.start(new_initial_state(DUMP, tmp_path / "runs" / sid, TODAY, False))
            answers = iter(["why is the window this long?", "/quit"])
            run_terminal(s, first, read=lambda _p: next(answers), write=lambda _t: None, llm_available=True)
            shown = s.current()
        body = _chat_bodies(fake)[0]
    assert shown is not None and shown.gate == "confirm_scope"
    system = _system(body)
    assert "Stage 1/7 - Scoping & safety" in system
    # The first scope question the reviewer was shown is also in front of the model.
    question = next(line for line in shown.body.splitlines() if line.startswith("Question: "))
    assert f"- {question.removeprefix('Question: ')}" in system


def test_history_is_cut_to_its_token_budget_from_the_oldest_turn() -> None:
    long = "word " * 900  # roughly 900 tokens per turn
    history = []
    for i in range(6):
        history += [{"role": "user", "content": f"remark {i} {long}", "gate": "confirm_timeline"},
                    {"role": "assistant", "content": f"reply {i}", "gate": "confirm_timeline"}]
    kept = fm.recent_turns(history)
    assert kept and kept[0]["role"] == "user"
    assert kept[-1]["content"] == "reply 5"  # the newest turn is always kept
    assert not any(t["content"].startswith("remark 0") for t in kept)  # the oldest was dropped
    from tools.tokens import count_tokens

    assert sum(count_tokens(t["content"]) for t in kept) <= fm.HISTORY_TOKENS
    assert all(set(t) == {"role", "content"} for t in kept)  # the gate tag is not sent


def test_a_reply_that_breaks_a_rule_is_replaced_and_the_turn_still_recorded(tmp_path: Path) -> None:
    sid = "chat-model-3"
    blame = "The on-call engineer was careless and should have known better."
    with FakeOpenAI() as fake:
        fake.enqueue(completion(blame))
        out: list[str] = []
        with checkpointer(tmp_path) as saver:
            model = _model(fake)
            s = _session(saver, sid, model)
            first = s.start(new_initial_state(DUMP, tmp_path / "runs" / sid, TODAY, False))
            answers = iter(["why is the window this long?", "/quit"])
            run_terminal(s, first, read=lambda _p: next(answers), write=out.append, llm_available=True)
            history = s.state().chat_history
    assert blame not in "\n".join(out)
    assert model.guarded == [{"gate": "confirm_scope", "rule": model.guarded[0]["rule"]}]
    assert history[-1]["role"] == "assistant" and blame not in history[-1]["content"]
