"""LLMClient against the fake OpenAI-compatible server, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from agent.llm.client import (
    BudgetExceeded,
    LLMClient,
    LLMConfig,
    LLMError,
    StructuredOutputError,
    tool_result_message,
)
from tests.fake_openai import FakeOpenAI, Reply, completion, delay, malformed, status


class Verdict(BaseModel):
    status: str
    evidence: list[str]


GOOD = json.dumps({"status": "likely", "evidence": ["log:app.log:12"]})
MSGS = [
    {"role": "system", "content": "You are a careful reviewer."},
    {"role": "user", "content": "Judge the hypothesis."},
]


def make_client(fake: FakeOpenAI, **overrides: Any) -> tuple[LLMClient, list[float]]:
    """A client with tiny, seeded backoff; sleeps are recorded instead of slept."""
    settings: dict[str, Any] = {
        "api_key": SecretStr("sk-test"),
        "base_url": fake.base_url,
        "model": "gpt-4o-mini",
        "timeout_s": 0.5,
        "max_retries": 3,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "retry_after_cap_s": 2.0,
        "jitter_seed": 7,
    }
    settings.update(overrides)
    slept: list[float] = []
    return LLMClient(LLMConfig(**settings), sleep=slept.append), slept


def test_structured_output_uses_strict_json_schema(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(completion(GOOD, usage=(120, 30)))
    client, _ = make_client(fake_openai)

    result = client.structured(MSGS, Verdict, stage="analysis")

    assert result == Verdict(status="likely", evidence=["log:app.log:12"])
    (body,) = fake_openai.bodies()
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["name"] == "Verdict"
    assert set(fmt["json_schema"]["schema"]["required"]) == {"status", "evidence"}
    assert body["model"] == "gpt-4o-mini"
    # The API key travels as a bearer token, and the SDK made exactly one attempt itself.
    req = fake_openai.requests[0]
    assert req.headers["authorization"] == "Bearer sk-test"
    assert req.headers.get("x-stainless-retry-count") == "0"


def test_falls_back_to_json_mode_when_json_schema_rejected(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(
        status(400, "response_format json_schema is not supported by this server"),
        completion(GOOD),
        completion(GOOD),
    )
    client, _ = make_client(fake_openai)

    assert client.structured(MSGS, Verdict, stage="analysis").status == "likely"
    first, second = fake_openai.bodies()
    assert first["response_format"]["type"] == "json_schema"
    assert second["response_format"] == {"type": "json_object"}
    # JSON mode carries the schema in the system prompt instead.
    system = second["messages"][0]
    assert system["role"] == "system" and '"evidence"' in system["content"]
    assert system["content"].startswith("You are a careful reviewer.")

    # The rejection is remembered: the next structured call goes straight to JSON mode.
    client.structured(MSGS, Verdict, stage="synthesis")
    assert fake_openai.bodies()[2]["response_format"] == {"type": "json_object"}


def test_invalid_answer_is_reasked_once_with_the_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(
        completion('{"status": "likely", "evidence": "not-a-list"'),  # truncated JSON
        completion("```json\n" + GOOD + "\n```"),  # fenced, as small models often answer
    )
    client, _ = make_client(fake_openai)

    assert client.structured(MSGS, Verdict, stage="analysis").evidence == ["log:app.log:12"]
    reask = fake_openai.bodies()[1]["messages"]
    assert reask[-2]["role"] == "assistant"
    assert reask[-2]["content"].startswith('{"status": "likely"')
    assert reask[-1]["role"] == "user" and "did not validate" in reask[-1]["content"]
    assert "Invalid JSON" in reask[-1]["content"]


def test_second_invalid_answer_raises_structured_output_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(
        completion('{"status": 3}'),
        completion('{"status": "likely"}'),
    )
    client, _ = make_client(fake_openai)

    with pytest.raises(StructuredOutputError) as info:
        client.structured(MSGS, Verdict, stage="analysis")
    assert "evidence" in str(info.value) and "after one re-ask" in str(info.value)
    assert info.value.last_content == '{"status": "likely"}'
    # The re-ask told the model which fields were wrong.
    assert "status" in fake_openai.bodies()[1]["messages"][-1]["content"]
    assert len(fake_openai.requests) == 2


def test_429_honours_retry_after_but_caps_it(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(
        status(429, "slow down", retry_after=1.5),
        status(429, "slow down", retry_after=120),  # absurd: capped to retry_after_cap_s
        completion(GOOD),
    )
    client, slept = make_client(fake_openai)

    assert client.structured(MSGS, Verdict, stage="scoping").status == "likely"
    assert slept == [1.5, 2.0]
    assert client.usage_dict()["stages"]["scoping"]["retries"] == 2
    assert len(fake_openai.requests) == 3


def test_500s_exhaust_retries_with_clear_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(*[status(500, "upstream exploded") for _ in range(4)])
    client, slept = make_client(fake_openai, max_retries=3)

    with pytest.raises(LLMError) as info:
        client.chat(MSGS, stage="timeline")
    err = info.value
    assert err.kind == "server_error" and err.status == 500
    assert "after 4 attempts" in str(err) and "upstream exploded" in str(err)
    assert len(fake_openai.requests) == 4
    # Exponential backoff with jitter: each delay within [ceiling/2, ceiling], ceiling doubling.
    ceilings = [0.01, 0.02, 0.04]
    assert len(slept) == 3
    assert all(c / 2 <= s <= c for s, c in zip(slept, ceilings, strict=True))


def test_backoff_is_reproducible_with_a_seed(fake_openai: FakeOpenAI) -> None:
    runs = []
    for _ in range(2):
        fake_openai.enqueue(status(503), status(502), completion("ok"))
        client, slept = make_client(fake_openai, jitter_seed=42)
        client.chat(MSGS, stage="chat")
        runs.append(slept)
    assert runs[0] == runs[1] and len(runs[0]) == 2


def test_timeout_is_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(delay(1.5), completion("in time", usage=(9, 3)))
    client, slept = make_client(fake_openai, timeout_s=0.3)

    result = client.chat(MSGS, stage="chat")

    assert result.content == "in time"
    assert len(slept) == 1
    assert client.usage_dict()["stages"]["chat"]["retries"] == 1


def test_timeouts_exhausted_tell_the_user_what_to_do(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(delay(1.5), delay(1.5))
    client, _ = make_client(fake_openai, timeout_s=0.2, max_retries=1)

    with pytest.raises(LLMError) as info:
        client.chat(MSGS, stage="chat")
    assert info.value.kind == "timeout"
    assert "POSTMORTEM_LLM_TIMEOUT" in str(info.value)


def test_malformed_body_is_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(malformed(), Reply(body={"object": "chat.completion"}), completion("fine"))
    client, slept = make_client(fake_openai)

    assert client.chat(MSGS, stage="chat").content == "fine"
    assert len(slept) == 2


@pytest.mark.parametrize(
    ("code", "kind", "hint"),
    [
        (400, "bad_request", "rejected the request"),
        (401, "auth", "OPENAI_API_KEY"),
        (403, "permission", "POSTMORTEM_MODEL"),
        (404, "not_found", "POSTMORTEM_MODEL"),
    ],
)
def test_client_errors_are_never_retried(
    fake_openai: FakeOpenAI, code: int, kind: str, hint: str
) -> None:
    fake_openai.enqueue(status(code, "nope"), completion("should not be reached"))
    client, slept = make_client(fake_openai)

    with pytest.raises(LLMError) as info:
        client.chat(MSGS, stage="chat")
    assert info.value.kind == kind and hint in str(info.value)
    assert len(fake_openai.requests) == 1 and slept == []
    assert "sk-test" not in str(info.value)


def test_unreachable_server_gives_clear_error() -> None:
    # A port we bound and closed: nothing listens there.
    with FakeOpenAI() as gone:
        url = gone.base_url
    client = LLMClient(
        LLMConfig(api_key=SecretStr("k"), base_url=url, max_retries=1, backoff_base_s=0.001),
        sleep=lambda _s: None,
    )
    with pytest.raises(LLMError) as info:
        client.chat(MSGS, stage="chat")
    assert info.value.kind == "unreachable"
    assert url in str(info.value) and "OPENAI_BASE_URL" in str(info.value)


def test_budget_on_calls_stops_before_sending(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(completion("one"), completion("two"), completion("three"))
    client, _ = make_client(fake_openai, max_calls=2)

    client.chat(MSGS, stage="a")
    client.chat(MSGS, stage="b")
    with pytest.raises(BudgetExceeded) as info:
        client.chat(MSGS, stage="c")
    assert "'c'" in str(info.value) and "POSTMORTEM_MAX_CALLS" in str(info.value)
    assert len(fake_openai.requests) == 2  # the third request never left the process
    assert client.usage_dict()["budget"]["calls_used"] == 2


def test_budget_on_input_tokens_counts_locally(fake_openai: FakeOpenAI) -> None:
    client, _ = make_client(fake_openai, max_input_tokens=200)
    big = [{"role": "user", "content": "timeout " * 400}]

    with pytest.raises(BudgetExceeded) as info:
        client.chat(big, stage="analysis")
    assert "input-token budget" in str(info.value)
    assert fake_openai.requests == []
    assert client.budget.input_tokens_used == 0  # a refused call reserves nothing


def test_usage_accounting_per_stage(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(
        completion("a", usage=(1000, 200)),
        completion("b", usage=(3000, 100)),
        completion("c", usage=(50, 5)),
    )
    client, _ = make_client(fake_openai)
    client.chat(MSGS, stage="timeline")
    client.chat(MSGS, stage="timeline")
    client.chat(MSGS, stage="analysis")

    usage = client.usage_dict()
    timeline = usage["stages"]["timeline"]
    assert (timeline["calls"], timeline["input_tokens"], timeline["output_tokens"]) == (2, 4000, 300)
    # gpt-4o-mini in the price table: 0.15 / 0.60 USD per 1M tokens.
    assert timeline["cost_usd"] == pytest.approx((4000 * 0.15 + 300 * 0.60) / 1e6)
    assert usage["total"]["calls"] == 3 and usage["total"]["input_tokens"] == 4050
    assert usage["cost_known"] is True
    assert timeline["latency_s"] > 0
    assert usage["budget"]["calls_used"] == 3


def test_unknown_model_costs_zero_and_missing_usage_is_estimated(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(completion("four words of output", usage=None))
    client, _ = make_client(fake_openai, model="local-llama")
    client.chat(MSGS, stage="chat")

    usage = client.usage_dict()
    chat = usage["stages"]["chat"]
    assert usage["cost_known"] is False and chat["cost_usd"] == 0
    assert chat["estimated_calls"] == 1
    assert chat["input_tokens"] > 0 and chat["output_tokens"] == 4


def test_tool_calling_round_trip(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(
        completion(
            None,
            tool_calls=[
                ("call_1", "search_evidence", {"query": "OOMKilled", "limit": 5}),
                ("call_2", "search_evidence", "{not json"),
            ],
        ),
        completion("The pod was OOMKilled at 14:02 [log:app.log:88]."),
    )
    client, _ = make_client(fake_openai)
    tools = [
        {
            "type": "function",
            "function": {
                "name": "search_evidence",
                "description": "Full-text search over the evidence store.",
                "parameters": {
                    "type": "object",
                    "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
                    "required": ["query"],
                },
            },
        }
    ]

    first = client.chat(MSGS, tools, stage="data_collection")
    assert first.finish_reason == "tool_calls"
    good, bad = first.tool_calls
    assert (good.name, good.arguments, good.error) == (
        "search_evidence",
        {"query": "OOMKilled", "limit": 5},
        None,
    )
    assert bad.arguments == {} and bad.error is not None and "not valid JSON" in bad.error

    followup = [
        *MSGS,
        first.assistant_message(),
        tool_result_message("call_1", "log:app.log:88 OOMKilled"),
        tool_result_message("call_2", f"error: {bad.error}"),
    ]
    second = client.chat(followup, tools, stage="data_collection")
    assert second.content is not None and "OOMKilled" in second.content

    body = fake_openai.bodies()[1]
    assert body["tools"][0]["function"]["name"] == "search_evidence"
    sent = body["messages"]
    assert sent[2]["tool_calls"][0]["id"] == "call_1"
    assert sent[3] == {"role": "tool", "tool_call_id": "call_1", "content": "log:app.log:88 OOMKilled"}


def test_streaming_yields_deltas_and_records_usage(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(
        completion("Blameless summary.", usage=(40, 6), stream_chunks=["Blame", "less ", "summary."])
    )
    client, _ = make_client(fake_openai)

    deltas = list(client.stream(MSGS, stage="chat"))

    assert deltas == ["Blame", "less ", "summary."]
    body = fake_openai.bodies()[0]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    chat = client.usage_dict()["stages"]["chat"]
    assert (chat["calls"], chat["input_tokens"], chat["output_tokens"]) == (1, 40, 6)
    assert chat["estimated_calls"] == 0


def test_streaming_retries_before_first_delta(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(status(503), completion("ok then"))
    client, slept = make_client(fake_openai)

    assert "".join(client.stream(MSGS, stage="chat")) == "ok then"
    assert len(slept) == 1


def test_refusal_is_reported(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(completion(None, refusal="I can't help with that."))
    client, _ = make_client(fake_openai)
    with pytest.raises(LLMError) as info:
        client.structured(MSGS, Verdict, stage="analysis")
    assert info.value.kind == "refusal" and "can't help" in str(info.value)


def test_generations_reach_the_tracer(fake_openai: FakeOpenAI) -> None:
    from agent.llm.tracing import Tracer

    class Recorder(Tracer):
        def __init__(self) -> None:
            self.calls: list[tuple[str, str, dict[str, Any]]] = []

        def generation(self, stage: str, model: str, input: Any, output: Any, usage: Any) -> None:
            self.calls.append((stage, model, dict(usage)))

    fake_openai.enqueue(completion(GOOD, usage=(11, 4)))
    recorder = Recorder()
    cfg = LLMConfig(api_key=SecretStr("k"), base_url=fake_openai.base_url, model="gpt-4o")
    LLMClient(cfg, tracer=recorder).structured(MSGS, Verdict, stage="analysis")

    ((stage, model, usage),) = recorder.calls
    assert (stage, model, usage["input"], usage["output"]) == ("analysis", "gpt-4o", 11, 4)
    assert usage["cost_usd"] == pytest.approx((11 * 2.5 + 4 * 10.0) / 1e6)
