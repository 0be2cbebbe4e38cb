"""A whole chat session through its interrupts: corrections, /quit, resume by id, finish."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from agent.chat import ChatSession, build_chat_graph, new_initial_state, run_terminal
from agent.graph import Context
from agent.runner import checkpointer

ROOT = Path(__file__).resolve().parents[2]
DUMP = ROOT / "examples" / "minor-eval-flake"
TODAY = date(2026, 4, 27)


def _session(saver, sid: str) -> ChatSession:  # type: ignore[no-untyped-def]
    return ChatSession(build_chat_graph(saver), sid, Context())


def test_session_survives_quit_and_applies_corrections(tmp_path: Path) -> None:
    sid = "chat-test-1"
    out: list[str] = []
    with checkpointer(tmp_path) as saver:
        s = _session(saver, sid)
        first = s.start(new_initial_state(DUMP, tmp_path / "runs" / sid, TODAY, False))
        assert first is not None and first.gate == "confirm_scope"
        answers = iter(["services: eval-runner, eval-scheduler", "ok", "ok", "/quit"])
        status = run_terminal(s, first, read=lambda _p: next(answers), write=out.append, llm_available=False)
        assert status == "quit"
        assert any("need a model" in line for line in out)  # offline says what a model would add
        assert s.state().scope.services == ["eval-runner", "eval-scheduler"]  # type: ignore[union-attr]
        assert s.current().gate == "confirm_timeline"  # type: ignore[union-attr]

    # A new process would open the same checkpoint database and find the session waiting.
    with checkpointer(tmp_path) as saver:
        s = _session(saver, sid)
        pending = s.current()
        assert pending is not None and pending.gate == "confirm_timeline"
        before = len(s.state().timeline)
        dropped = s.state().timeline[0]
        answers = iter([
            "drop 1",
            "add 2024-12-03T06:15:00Z eval on-call reran the failed shard by hand",
            "/timeline",
            "ok",              # timeline
            "reject 1 because the rerun of the shard passed",  # a verdict needs its reason
            "ok",              # hypotheses -> draft
            "/report",
            "ok",              # draft
            "owner AI-001 eval platform lead",
            "ok",              # actions -> close
        ])
        out.clear()
        status = run_terminal(s, pending, read=lambda _p: next(answers), write=out.append, llm_available=False)
        assert status == "closed"
        st = s.state()
        assert s.finished()
        assert len(st.timeline) == before  # one dropped, one added
        assert all((e.timestamp, e.event) != (dropped.timestamp, dropped.event) for e in st.timeline)
        added = [e for e in st.timeline if e.evidence == ["note:chat:1"]]
        assert added and "reran the failed shard" in added[0].event
        assert st.analysis is not None and st.analysis.hypotheses[0].status == "rejected"
        assert st.report is not None and st.report.action_items[0].owner == "eval platform lead"
        assert "eval platform lead" in st.markdown
        # The responder-provided event is citable evidence, so the report stays grounded.
        assert st.report.validation.passed, [f.message for f in st.report.validation.findings]
        assert st.tracker_export and st.tracker_export[0]["owner"] == "eval platform lead"
        assert any("# Postmortem:" in line for line in out)  # /report printed the draft


def test_chat_cli_quits_and_resumes_by_session_id(tmp_path: Path) -> None:
    def run(args: list[str], stdin: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        return subprocess.run([sys.executable, "-m", "cli.main", "chat", *args, "--workdir", str(tmp_path),
                               "--date", "2026-04-27"], input=stdin, capture_output=True, text=True,
                              cwd=tmp_path, env=env, timeout=300)

    first = run([str(DUMP)], "ok\n/quit\n")
    assert first.returncode == 0, first.stderr
    sid = first.stdout.split("--session ")[1].split()[0].rstrip(").")
    assert "Stage 2/7" in first.stdout
    second = run(["--session", sid], "ok\nok\nok\nok\nok\n")
    assert second.returncode == 0, second.stderr
    assert "Stage 3/7" in second.stdout and "Stage 1/7" not in second.stdout
    assert "Session closed" in second.stdout


def test_free_form_remarks_get_a_model_reply_when_an_llm_is_set(tmp_path: Path) -> None:
    sid = "chat-test-llm"
    out: list[str] = []
    seen: list[tuple[str, str]] = []

    def respond(text: str, context: str) -> "object":
        seen.append((text, context))
        yield "Good question: "
        yield "the timeline shows the alert first (alert:...)."

    with checkpointer(tmp_path) as saver:
        s = _session(saver, sid)
        first = s.start(new_initial_state(DUMP, tmp_path / "runs" / sid, TODAY, False))
        answers = iter(["why is the window this long?", "/quit"])
        run_terminal(s, first, read=lambda _p: next(answers), write=out.append, llm_available=True,
                     respond=respond)
        assert s.state().notes == ["why is the window this long?"]
    assert seen and seen[0][0] == "why is the window this long?" and "Title:" in seen[0][1]
    assert "Good question: the timeline shows the alert first (alert:...)." in out
