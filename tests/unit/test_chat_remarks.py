"""Participants' chat remarks are checked by the hard-rule detectors and answered gently, offline."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from agent.chat import ChatSession, build_chat_graph, new_initial_state, run_terminal
from agent.graph import Context
from agent.runner import checkpointer
from agent.validators.remarks import REPLIES, classify_remark, remark_reply

DUMP = Path(__file__).resolve().parents[2] / "examples" / "minor-eval-flake"


@pytest.mark.parametrize(
    "remark,key",
    [
        ("honestly Lionel forgot to check the canary again", "no-blame"),
        ("it was the release manager who pushed it straight to prod", "no-blame"),
        ("we should've caught this in staging", "no-counterfactual"),
        ("if only the eval had run on the full split", "no-counterfactual"),
        ("this is clearly a breach of the DPA and we're liable", "scope-legal"),
        ("she should get a written warning for this", "scope-hr"),
        ("after the prompt fix the model won't make up citations anymore", "stochasticity"),
        ("quick fix: ```python\ndef retry(x):\n    return x\n```", "no-production-code"),
        ("just run `kubectl delete pod -l app=ranker` and move on", "no-production-code"),
    ],
)
def test_remark_breaking_a_rule_gets_its_reply(remark: str, key: str) -> None:
    assert classify_remark(remark) == key
    assert remark_reply(remark) == REPLIES[key]


@pytest.mark.parametrize(
    "remark",
    [
        "why is the window this long?",
        "the alert fired at 14:02 and paged the eval rotation",
        "we should add a canary step to the release pipeline",
        "can we show `SELECT count(*) FROM runs WHERE status = 'failed'` in the report?",
        "the model refused 3 of 200 sampled prompts in the replay",
    ],
)
def test_fine_remark_gets_no_reframing(remark: str) -> None:
    assert classify_remark(remark) is None


def test_replies_reframe_rather_than_repeat() -> None:
    assert "system" in REPLIES["no-blame"] and "?" in REPLIES["no-blame"]
    assert "at the time" in REPLIES["no-counterfactual"]
    assert "counsel" in REPLIES["scope-legal"] and "HR" in REPLIES["scope-hr"]
    assert "diagnostic query" in REPLIES["no-production-code"]
    assert "rate" in REPLIES["stochasticity"]


def test_chat_answers_a_blaming_remark_and_keeps_it_in_the_notes(tmp_path: Path) -> None:
    out: list[str] = []
    remarks = ["the on-call engineer ignored the first page", "why is the window this long?"]
    with checkpointer(tmp_path) as saver:
        s = ChatSession(build_chat_graph(saver), "chat-remarks", Context())
        first = s.start(new_initial_state(DUMP, tmp_path / "runs" / "r", date(2026, 4, 27), False))
        answers = iter([*remarks, "/quit"])
        run_terminal(s, first, read=lambda _p: next(answers), write=out.append, llm_available=False)
        assert s.state().notes == remarks
    assert any(REPLIES["no-blame"] in line for line in out)
    assert sum(REPLIES["no-blame"] in line for line in out) == 1
    # The question is kept as an open question for the meeting, not waved through with "Noted".
    assert any(line.startswith("Kept as open question 1") for line in out)
    assert not any(line.startswith("Noted") for line in out)
