"""The LLM path end to end, through real HTTP to a scripted OpenAI-compatible server on 127.0.0.1:
tool-calling rounds, structured outputs, transient failures, resume after a hard failure, a model
that writes blame and invented facts, and evidence traps (secrets, injected canary)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from agent.llm.client import LLMClient, LLMConfig
from agent.llm.engine import LLMEngine
from agent.runner import run_draft
from evals.ground_truth import load_ground_truth
from tests.fake_openai import FakeOpenAI, completion, delay, malformed, status

ROOT = Path(__file__).resolve().parents[2]
DUMP = ROOT / "examples" / "vllm-oom-upgrade"
GT = load_ground_truth(ROOT / "evals" / "dataset" / "vllm-oom-upgrade" / "ground_truth.json")
TODAY = date(2026, 4, 27)


class ScriptedModel:
    """Answers like a cooperative model, by looking at what each request asks for."""

    def __init__(self, *, blame_first: bool = False) -> None:
        self.blame_first = blame_first
        self.narratives = 0

    def __call__(self, req: dict[str, Any]) -> Any:
        msgs = req.get("messages", [])
        if req.get("tools") and not any(m.get("role") == "tool" for m in msgs):
            return completion(None, tool_calls=[
                ("call_1", "search_logs", {"query": "out of memory", "limit": 5}),
                ("call_2", "list_commits", {}),
            ]).body
        if req.get("tools"):
            # Repeat one call: the engine must refuse the duplicate, then the model stops.
            if sum(m.get("role") == "tool" for m in msgs) < 3:
                return completion(None, tool_calls=[("call_3", "search_logs", {"query": "out of memory", "limit": 5})]).body
            return completion("I have what I need.").body
        fmt = req.get("response_format") or {}
        name = (fmt.get("json_schema") or {}).get("name", "")
        if "Analysis" in name:
            sha = "commit:" + GT.trigger.ref[:12]  # type: ignore[union-attr]
            return completion(json.dumps({
                "hypotheses": [{"statement": "The engine upgrade raised KV-cache memory use beyond the GPU budget.",
                                "status": "likely", "evidence": [sha]},
                               {"statement": "A hardware fault caused the crashes.", "status": "rejected",
                                "evidence": ["log:does-not-exist:1"]}],
                "five_whys": [{"question": "Why did requests fail?", "answer": "The engine ran out of GPU memory.", "evidence": [sha]},
                              {"question": "Why then?", "answer": "The upgrade changed memory accounting.", "evidence": [sha]},
                              {"question": "Why not caught?", "answer": "No load test at peak batch size.", "evidence": []}],
                "contributing_factors": [{"statement": "The rollout moved all replicas at once, so no replica kept the old memory profile.",
                                          "status": "likely", "evidence": [sha]}],
            })).body
        self.narratives += 1
        bad = self.blame_first and self.narratives == 1
        summary = ["Chat completions failed after the serving engine upgrade exhausted GPU memory."]
        if bad:
            summary += ["The on-call engineer was careless and forgot to check the canary.",
                        "At 2019-01-01T03:04:05Z the cluster lost 9999 GPUs."]
        return completion(json.dumps({
            "summary": summary,
            "went_well": ["The rollback path existed and was used."],
            "could_improve": ["Memory headroom was not part of the upgrade checklist."],
        })).body


def _engine(fake: FakeOpenAI, slept: list[float] | None = None, **kw: Any) -> LLMEngine:
    """An engine whose backoff waits are recorded in `slept` instead of slept (an injected clock):
    retry behaviour is tested without seconds of real sleeping."""
    kw.setdefault("max_retries", 3)
    kw.setdefault("timeout_s", 2.0)
    cfg = LLMConfig(api_key=SecretStr("sk-test-not-real"), base_url=fake.base_url, model="fake-model", **kw)
    waits = slept if slept is not None else []
    return LLMEngine(cfg, client=LLMClient(cfg, sleep=waits.append))


def _sent(fake: FakeOpenAI) -> str:
    return "\n".join(json.dumps(r.body) for r in fake.requests)


def test_full_draft_through_the_llm_path(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    model = ScriptedModel()
    fake_openai.enqueue(*[model] * 40)
    res = run_draft(DUMP, base=tmp_path, today=TODAY, engine=_engine(fake_openai))
    r = res.report
    assert r.validation.passed
    # Facts stay the code's: trigger, severity and timeline are the offline ones.
    assert r.suspected_triggers[0].ref == GT.trigger.ref  # type: ignore[union-attr]
    assert r.severity == GT.severity
    # The model's grounded additions are merged, the ungrounded one is not trusted.
    assert any("KV-cache memory" in h.statement and h.status == "likely" for h in r.hypotheses)
    assert any(h.statement.startswith("A hardware fault") and h.assumption and h.status == "inconclusive"
               for h in r.hypotheses)
    assert any("all replicas at once" in f.statement for f in r.contributing_factors)
    assert r.summary[0].startswith("Chat completions failed")
    # Tool calls ran, the duplicate was refused, usage was recorded.
    tool_msgs = [m for req in fake_openai.requests for m in req.body.get("messages", []) if m.get("role") == "tool"]
    assert any("[refused] identical call" in m["content"] for m in tool_msgs)
    assert any("<evidence id=" in m["content"] for m in tool_msgs)
    assert r.usage["tool_calls"] == 2 and r.usage["fallbacks"] == []
    assert r.usage["total"]["calls"] == len(fake_openai.requests)
    assert r.usage["total"]["input_tokens"] > 0 and set(r.usage["stages"]) >= {"data_collection", "analysis", "synthesis"}
    calls = len(fake_openai.requests)
    assert 3 <= calls <= 25


def test_blame_and_invented_facts_never_reach_the_report(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    model = ScriptedModel(blame_first=True)
    fake_openai.enqueue(*[model] * 40)
    res = run_draft(DUMP, base=tmp_path, today=TODAY, engine=_engine(fake_openai))
    md = res.markdown
    assert "careless" not in md and "forgot to check" not in md
    assert "2019-01-01T03:04:05Z" not in md
    assert res.report.validation.passed
    assert model.narratives >= 1


def test_secrets_and_canary_stay_out_of_requests_and_report(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    model = ScriptedModel()
    fake_openai.enqueue(*[model] * 40)
    res = run_draft(DUMP, base=tmp_path, today=TODAY, engine=_engine(fake_openai))
    sent = _sent(fake_openai)
    for s in GT.traps.secrets:
        assert s.value not in sent, s.kind
        assert s.value not in res.markdown
    assert GT.traps.canary.lower() not in sent.lower()
    assert GT.traps.canary.lower() not in res.markdown.lower()
    assert "evidence is" in sent.lower() or "untrusted" in sent.lower()  # the system prompt says so


def test_transient_failures_are_retried(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    model = ScriptedModel()
    fake_openai.enqueue(status(429, "slow down", retry_after=0), status(500, "boom"), malformed(),
                        delay(1.0), *[model] * 40)
    slept: list[float] = []
    # A real (short) client timeout: the stub answers after 1 s, the client gives up after 0.5 s.
    res = run_draft(DUMP, base=tmp_path, today=TODAY,
                    engine=_engine(fake_openai, slept, max_retries=5, timeout_s=0.5))
    assert res.report.validation.passed and res.report.usage["fallbacks"] == []
    assert res.report.usage["total"]["retries"] >= 4  # 429, 500, malformed body, timeout
    assert len(slept) >= 4 and all(w >= 0 for w in slept)  # one backoff wait per retry, none slept


def test_hard_failure_falls_back_and_resume_keeps_work(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    # Every call fails: each LLM stage falls back to the offline result and says so.
    fake_openai.enqueue(*[status(500, "down")] * 200)
    slept: list[float] = []
    res = run_draft(DUMP, base=tmp_path, today=TODAY, engine=_engine(fake_openai, slept))
    assert res.report.validation.passed
    assert res.report.usage["fallbacks"], "the fallback must be visible in usage"
    # Backoff grows between attempts of one call (exponential, capped) and was never really slept.
    assert slept and max(slept) > min(slept)
    # The finished run can be resumed by id (a no-op) and gives the same report.
    again = run_draft(None, base=tmp_path, run_id=res.run_id, resume=True, engine=_engine(fake_openai))
    assert again.markdown == res.markdown


def test_budget_exhaustion_is_a_fallback_not_a_crash(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    model = ScriptedModel()
    fake_openai.enqueue(*[model] * 40)
    res = run_draft(DUMP, base=tmp_path, today=TODAY, engine=_engine(fake_openai, max_calls=2))
    assert res.report.validation.passed
    assert any("Budget" in f or "budget" in f for f in res.report.usage["fallbacks"])
    assert len(fake_openai.requests) <= 2


def test_chat_reply_streams_from_the_model(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(completion("The alert fired first.", stream_chunks=["The alert ", "fired first."]))
    engine = _engine(fake_openai)
    assert "".join(engine.respond("what fired first?", '{"title": "x"}')) == "The alert fired first."
    body = fake_openai.requests[-1].body
    assert body["stream"] is True and "what fired first?" in json.dumps(body)
