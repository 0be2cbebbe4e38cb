"""OpenTelemetry OTLP/JSON reader, and LLM trace exports (Langfuse, LangSmith, OpenAI Batch) with their times."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from tools.models import EvidenceKind
from tests.reader_support import read_picked

UTC = timezone.utc
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "otel"


read = read_picked


def test_collector_file_spans_map_genai_fields_and_errors() -> None:
    name, evs, bad = read(FIX / "collector-export.jsonl", "otel/collector-export.jsonl")
    assert name == "otel"
    spans = [e for e in evs if e.kind == EvidenceKind.TRACE]
    ok, timeout, http = spans
    assert ok.id == "trace:otel/collector-export.jsonl:eee19b7ec3c1b174"
    assert ok.ts == datetime(2024, 4, 25, 14, 0, tzinfo=UTC) and ok.service == "answer-api"
    assert ok.attrs["model"] == "gpt-4o-mini" and ok.attrs["response_model"] == "gpt-4o-mini-2024-07-18"
    assert (ok.attrs["prompt_tokens"], ok.attrs["completion_tokens"], ok.attrs["total_tokens"]) == (812, 64, 876)
    assert ok.attrs["latency_ms"] == 1250.0 and ok.attrs["status"] == "ok" and ok.level == "info"
    assert ok.attrs["operation"] == "chat" and ok.attrs["provider"] == "openai"
    assert ok.attrs["finish_reasons"] == ["stop"] and ok.attrs["temperature"] == 0.2
    assert ok.attrs["span_kind"] == "client" and ok.attrs["parent_span_id"] == "eee19b7ec3c1b173"
    assert timeout.level == "error" and timeout.attrs["status"] == "error"
    assert timeout.attrs["error"] == "APITimeoutError Request timed out." and timeout.attrs["latency_ms"] == 30000.0
    # A non-GenAI span with an unset status: no status attr (unset is not a failure), 5xx is an error.
    assert "status" not in http.attrs and http.attrs["http_status"] == 504 and http.level == "error"
    assert "model" not in http.attrs


def test_collector_file_log_records_and_bad_lines_cost_only_themselves() -> None:
    _, evs, bad = read(FIX / "collector-export.jsonl", "otel/collector-export.jsonl")
    logs = [e for e in evs if e.kind == EvidenceKind.LOG]
    err, retry = logs
    assert err.id == "log:otel/collector-export.jsonl:4.1" and err.level == "error"
    assert err.text == "upstream model call timed out" and err.attrs["span_id"] == "eee19b7ec3c1b175"
    assert err.ts == datetime(2024, 4, 25, 14, 0, 32, 50000, tzinfo=UTC) and err.service == "answer-api"
    # No timeUnixNano: the collector's observed time is used and said to be that.
    assert retry.ts == datetime(2024, 4, 25, 14, 0, 33, tzinfo=UTC) and retry.attrs["ts_source"] == "observedTimeUnixNano"
    assert retry.level == "warning" and json.loads(retry.text) == {"event": "retry", "attempt": 2}
    reasons = sorted(b.locator + ": " + b.reason for b in bad)
    assert len(bad) == 2 and reasons[0].startswith("line 2: invalid JSON") and "not an OTLP" in reasons[1]


def test_pretty_single_request_legacy_names_numbers_and_unset_times(tmp_path: Path) -> None:
    p = tmp_path / "spans.txt"  # the name says nothing: content decides
    p.write_bytes((FIX / "single-request.json").read_bytes())
    name, evs, bad = read(p, "spans.txt")
    assert name == "otel" and not bad
    first, retry = evs
    assert first.attrs["provider"] == "vllm" and first.attrs["prompt_tokens"] == 100
    assert first.attrs["completion_tokens"] == 20 and first.attrs["latency_ms"] == 500.0
    assert first.ts == datetime(2024, 4, 25, 16, 0, 0, 123456, tzinfo=UTC) and first.service == "rag-worker"
    assert first.attrs["span_kind"] == "SPAN_KIND_CLIENT" and "input: What is our refund policy?" in first.text
    # Start time 0 means "not set": undated, never 1970; a repeated span id still gets a unique id.
    assert retry.ts is None and "latency_ms" not in retry.attrs
    assert retry.id == "trace:spans.txt:b7ad6b7169203331~2" and first.id == "trace:spans.txt:b7ad6b7169203331"


def test_langfuse_observations_get_times_usage_and_errors(tmp_path: Path) -> None:
    obs = {"id": "obs-1", "traceId": "tr-1", "type": "GENERATION", "name": "answer", "startTime": "2024-04-25T14:00:00.000Z",
           "endTime": "2024-04-25T14:00:02.500Z", "completionStartTime": "2024-04-25T14:00:00.400Z", "model": "m-1",
           "input": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "what is a KV cache?"}],
           "output": {"role": "assistant", "content": "A cache of keys and values."},
           "usageDetails": {"input": 30, "output": 7, "total": 37}, "level": "DEFAULT", "statusMessage": None,
           "calculatedTotalCost": 0.0012, "metadata": {"variant": "b"}}
    failed = {**obs, "id": "obs-2", "startTime": "2024-04-25T14:01:00Z", "endTime": None, "completionStartTime": None,
              "level": "ERROR", "statusMessage": "context length exceeded", "output": None, "usageDetails": {}}
    p = tmp_path / "observations.jsonl"
    p.write_text(json.dumps(obs) + "\n" + json.dumps(failed) + "\n")
    name, (a, b), bad = read(p, "observations.jsonl")
    assert name == "trace.llm" and not bad
    assert a.ts == datetime(2024, 4, 25, 14, tzinfo=UTC) and a.attrs["latency_ms"] == 2500.0 and a.attrs["ttft_ms"] == 400.0
    assert (a.attrs["prompt_tokens"], a.attrs["completion_tokens"], a.attrs["total_tokens"]) == (30, 7, 37)
    assert a.attrs["cost_usd"] == 0.0012 and a.attrs["traceId"] == "tr-1" and a.attrs["metadata"] == {"variant": "b"}
    assert "user: what is a KV cache?" in a.text and "output: A cache of keys" in a.text and "be brief" not in a.text
    assert b.ts == datetime(2024, 4, 25, 14, 1, tzinfo=UTC) and b.level == "error"
    assert b.attrs["error"] == "context length exceeded" and "latency_ms" not in b.attrs


def test_langsmith_runs_and_openai_batch_lines_are_traces_with_times(tmp_path: Path) -> None:
    run = {"id": "run-1", "name": "ChatOpenAI", "run_type": "llm", "start_time": "2024-04-25T14:00:00.000000",
           "end_time": "2024-04-25T14:00:01.200000", "inputs": {"messages": [[{"role": "user", "content": "hi there"}]]},
           "outputs": {"generations": [[{"text": "hello!"}]]}, "error": None, "prompt_tokens": 5, "completion_tokens": 2,
           "total_tokens": 7, "extra": {"invocation_params": {"model": "gpt-4o"}}, "status": "success"}
    batch = {"id": "batch_req_1", "custom_id": "q-17", "response": {"status_code": 200, "request_id": "r9", "body": {
             "id": "chatcmpl-1", "object": "chat.completion", "created": 1714053600, "model": "gpt-4o-mini",
             "choices": [{"message": {"role": "assistant", "content": "ok"}}], "usage": {"prompt_tokens": 9, "completion_tokens": 1}}},
             "error": None}
    p = tmp_path / "runs.jsonl"
    p.write_text(json.dumps(run) + "\n" + json.dumps(batch) + "\n")
    name, (a, b), bad = read(p, "runs.jsonl")
    assert name == "trace.llm" and not bad
    # LangSmith writes naive UTC times: dated, marked as assumed zone.
    assert a.ts == datetime(2024, 4, 25, 14, tzinfo=UTC) and a.ts_assumed and a.attrs["latency_ms"] == 1200.0
    assert a.attrs["model"] == "gpt-4o" and a.attrs["total_tokens"] == 7 and "user: hi there" in a.text
    assert "output: hello!" in a.text and a.level == "info"
    assert b.ts == datetime(2024, 4, 25, 14, tzinfo=UTC) and b.attrs["model"] == "gpt-4o-mini"
    assert b.attrs["total_tokens"] == 10 and b.attrs["status"] == 200 and "output: ok" in b.text


def test_nested_llm_call_keeps_outer_context(tmp_path: Path) -> None:
    rec = {"timestamp": "2024-04-25T14:00:00Z", "request_id": "q1", "tenant": "t1",
           "retrieval": {"hits": [{"doc_id": "kb-7", "text": "refunds within 30 days"}]},
           "llm": {"model": "m-2", "messages": [{"role": "user", "content": "refund window?"}], "output": "30 days",
                   "usage": {"prompt_tokens": 40, "completion_tokens": 3}, "latency_ms": 900}}
    p = tmp_path / "rag.jsonl"
    p.write_text(json.dumps(rec) + "\n" + json.dumps({**rec, "request_id": "q2"}) + "\n")
    name, (a, _), _ = read(p, "rag.jsonl")
    assert name == "trace.llm" and a.attrs["model"] == "m-2" and a.attrs["latency_ms"] == 900
    assert a.ts == datetime(2024, 4, 25, 14, tzinfo=UTC) and a.attrs["tenant"] == "t1"
    assert "refunds within 30 days" in a.text and a.attrs["request_id"] == "q1"
