"""A whole review of the bundled example in a real terminal (pexpect), offline and against the local
OpenAI-compatible stub (plain and adversarial). Each remark from issue 16 must get a fitting reply,
a correction in words must change the timeline, a note must be cited in the final report, closing
must write the report, the tracker files and the calendar file, and /report must work afterwards.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from agent.validators.remarks import REPLIES
from tests.fake_openai import FakeOpenAI, Reply, completion, malformed, status

ROOT = Path(__file__).resolve().parents[2]
DUMP = ROOT / "examples" / "vllm-oom-upgrade"
NOTE = "the staging cluster only has smaller GPUs, so the load test could not reproduce the memory profile"
ADVERSARIAL = "The engineer was careless and the company is legally liable for this outage."

# (remark, text the reply must contain)
REMARKS_AT_SCOPE = [
    ("honestly Priya just pushed a bad config without testing", REPLIES["no-blame"][:60]),
    ("Are we legally liable to our customers for this outage?", REPLIES["scope-legal"][:60]),
]
REMARKS_AT_TIMELINE = [
    ("entry 1 is wrong, the rollout only started at 13:48", "Entry 1 moved"),
    ("we should just set gpu_memory_utilization back to 0.90 and be done", "Parked as candidate action C1"),
    ("I reran it once, so it's safe", "One run shows"),
    ("can you write the production code for the fix?", REPLIES["no-production-code"][:60]),
]


def _spawn(args: list[str], env: dict[str, str]) -> pexpect.spawn:
    child = pexpect.spawn(sys.executable, ["-m", "cli.main", "chat", *args], cwd=str(ROOT), env=env,
                          encoding="utf-8", timeout=60, dimensions=(50, 200))
    child.logfile_read = io.StringIO()  # the whole screen, for assertions on what was (not) shown
    return child


def _base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI", "POSTMORTEM_"))}
    env.update({"PAGER": "cat", "COLUMNS": "200", "TERM": "xterm", "NO_COLOR": "1", **extra})
    return env


def _say(child: pexpect.spawn, text: str, expect: str | None = None) -> None:
    child.expect_exact("> ")
    child.sendline(text)
    if expect is not None:
        child.expect_exact(expect)


def _review(child: pexpect.spawn) -> str:
    """The script: remarks at the gates where people make them, then ok through to closing; returns
    the id the adopted candidate action got (it follows however many actions the draft has)."""
    child.expect_exact("Stage 1/7")
    for remark, reply in REMARKS_AT_SCOPE:
        _say(child, remark, reply)
    _say(child, "ok", "Stage 2/7")
    _say(child, NOTE, "Kept as evidence note:chat:1")
    _say(child, "ok", "Stage 3/7")
    for remark, reply in REMARKS_AT_TIMELINE:
        _say(child, remark, reply)
    _say(child, "ok", "Stage 4/7")
    _say(child, "reject 2 because the change never reached the serving path", "marked rejected")
    _say(child, "why did the alert fire only after five minutes?", "Kept as open question 1")
    _say(child, "ok", "Stage 6/7")
    _say(child, "the serving dashboards were not shared with the gateway on-call", "Kept as evidence note:chat:4")
    _say(child, "ok", "Stage 7/7")
    _say(child, "what does the load test cost to run per release?", "Kept as open question 2")
    _say(child, "owner AI-001 Priya", "Owners are roles")
    _say(child, "due AI-001 2020-01-01", "must be after the postmortem date")
    _say(child, "adopt C1")
    child.expect(r"C1 adopted as (AI-\d{3})")
    adopted = child.match.group(1).decode() if isinstance(child.match.group(1), bytes) else child.match.group(1)
    _say(child, f"verify {adopted} 20 of 20 load-test runs at peak batch pass", f"{adopted} verify set")
    _say(child, "ok", "Session closed")
    return adopted


def _after_close(child: pexpect.spawn) -> str:
    _say(child, "/report")
    child.expect_exact("Review Discussion")
    _say(child, "/export", "follow-up-review.ics")
    _say(child, "/quit")
    child.expect(pexpect.EOF)
    return child.logfile_read.getvalue()


def _check_outputs(folder: Path, adopted: str) -> dict[str, Any]:
    names = {p.name for p in folder.iterdir()}
    assert {"postmortem.md", "postmortem.json", "actions.csv", "actions.json", "follow-up-review.ics"} <= names
    md = (folder / "postmortem.md").read_text(encoding="utf-8")
    assert "note:chat:1" in md and "smaller GPUs" in md  # the note is cited in the final report
    assert "2024-10-08T13:48:00Z" in md  # the correction in words changed the timeline
    assert "Priya" not in md and "liable" not in md
    ics = (folder / "follow-up-review.ics").read_text(encoding="utf-8")
    assert ics.startswith("BEGIN:VCALENDAR") and "DTSTART;VALUE=DATE:" in ics
    csv_text = (folder / "actions.csv").read_text(encoding="utf-8")
    assert csv_text.splitlines()[0].startswith("Summary,Description") and adopted in csv_text
    data = json.loads((folder / "postmortem.json").read_text(encoding="utf-8"))
    assert data["review_discussion"]["notes"][0]["id"] == "note:chat:1"
    for item in data["action_items"]:
        assert item["due"] > data["postmortem_date"]  # due dates in the future
    return data


def test_offline_review_in_a_terminal(tmp_path: Path) -> None:
    out = tmp_path / "out"
    child = _spawn([str(DUMP), "--workdir", str(tmp_path / "wd"), "--llm", "offline", "-o", str(out)], _base_env())
    child.expect_exact("engine offline")
    adopted = _review(child)
    _after_close(child)
    _check_outputs(out, adopted)


def _stub(mode: str) -> Iterator[Any]:
    """Answers by request kind: draft stages get garbage (they must fall back), chat turns get a
    plain reply, or in adversarial mode a rule-breaking reply mixed with 429/500/garbage."""
    n = 0

    def step(body: dict[str, Any]) -> Reply:
        nonlocal n
        if body.get("tools"):
            return completion("no tool needed")
        if body.get("response_format"):
            return malformed()
        n += 1
        if mode == "plain":
            return completion(f"Thanks. What did the dashboards show at that point? (turn {n})")
        return [completion(ADVERSARIAL), status(429, retry_after=0), status(500), malformed()][(n - 1) % 4]

    while True:
        yield step


@pytest.mark.parametrize("mode", ["plain", "adversarial"])
def test_review_against_the_stub(tmp_path: Path, mode: str) -> None:
    out = tmp_path / "out"
    with FakeOpenAI() as fake:
        gen = _stub(mode)
        fake.enqueue(*[next(gen) for _ in range(200)])
        env = _base_env(OPENAI_BASE_URL=fake.base_url, OPENAI_API_KEY="test", POSTMORTEM_MODEL="stub-model",
                        POSTMORTEM_LLM_MAX_RETRIES="0", POSTMORTEM_LLM_TIMEOUT="10")
        child = _spawn([str(DUMP), "--workdir", str(tmp_path / "wd"), "--llm", "openai", "-o", str(out)], env)
        child.expect_exact("model stub-model")
        adopted = _review(child)
        screen = _after_close(child)
        chats = [b for b in fake.bodies() if not b.get("tools") and not b.get("response_format")]
    data = _check_outputs(out, adopted)
    assert chats, "free-form remarks reach the model"
    for body in chats:
        system = " ".join(m["content"] for m in body["messages"] if m["role"] == "system")
        assert "Stage goal:" in system and "Commands the reviewer can type here" in system
        assert "Questions open at this stage:" in system
    if len(chats) > 1:  # history: the earlier remark travels with the later request
        assert any(m["content"] == NOTE for m in chats[-1]["messages"] if m["role"] == "user")
    assert len(chats) == 4  # one model turn per free-form remark, none for commands or rule replies
    assert ADVERSARIAL not in screen and "legally liable" not in json.dumps(data)
    if mode == "plain":
        assert "What did the dashboards show at that point? (turn 4)" in screen
    else:  # one reply replaced by the guard, three failed calls (429, 500, garbage): run completed anyway
        assert "1 reply(ies) replaced by the guard, 3 failed call(s)" in screen
    # The chat spends its own budget: the draft's usage never lists a chat stage.
    assert "chat" not in json.dumps(data.get("usage", {}).get("stages", {}))
