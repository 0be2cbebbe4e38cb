"""Tracing: what the Langfuse SDK actually sends to a local OTLP receiver, and the silent no-op."""

from __future__ import annotations

import base64
import gzip
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

import prompts
from agent.config import Settings
from agent.llm.tracing import LangfuseTracer, NoopTracer, get_tracer

TRACES_PATH = "/api/public/otel/v1/traces"


@dataclass
class SpanSeen:
    name: str
    span_id: str
    parent_id: str
    trace_id: str
    attrs: dict[str, str]


class Receiver:
    """Records every request the SDK makes; decodes OTLP/protobuf trace exports."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else b""
                if self.headers.get("Content-Encoding") == "gzip":
                    data = gzip.decompress(data)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append((self.path, headers, data))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = _record
            do_GET = _record

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list[SpanSeen]:
        seen: list[SpanSeen] = []
        for path, _headers, data in self.requests:
            if path != TRACES_PATH:
                continue
            req = ExportTraceServiceRequest()
            req.ParseFromString(data)
            for rs in req.resource_spans:
                for ss in rs.scope_spans:
                    for sp in ss.spans:
                        attrs = {a.key: a.value.string_value for a in sp.attributes}
                        seen.append(
                            SpanSeen(
                                sp.name,
                                sp.span_id.hex(),
                                sp.parent_span_id.hex(),
                                sp.trace_id.hex(),
                                attrs,
                            )
                        )
        return seen

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _tracer_for(receiver: Receiver) -> tuple[LangfuseTracer, str]:
    # Langfuse keeps one resource manager per public key: a fresh key per test keeps them apart.
    public = f"pk-lf-test-{uuid.uuid4().hex[:8]}"
    env = {"LANGFUSE_PUBLIC_KEY": public, "LANGFUSE_SECRET_KEY": "sk-lf-test", "LANGFUSE_HOST": receiver.host}
    tracer = get_tracer(Settings.from_env(env).langfuse)
    assert isinstance(tracer, LangfuseTracer)
    return tracer, public


def test_run_stages_generation_and_tool_arrive_as_one_trace(receiver: Receiver) -> None:
    tracer, public = _tracer_for(receiver)
    try:
        with tracer.run("postmortem", {"incident": "INC-42"}):
            with tracer.stage("timeline"):
                tracer.generation(
                    "timeline",
                    "gpt-4o-mini",
                    [{"role": "user", "content": "build the timeline"}],
                    "14:02 OOMKilled [log:app.log:88]",
                    {"input": 812, "output": 95, "cost_usd": 0.0002},
                )
                tracer.tool("search_evidence", {"query": "OOM"}, "3 hits: [REDACTED:email]")
            with tracer.stage("analysis"):
                pass
        tracer.flush()
    finally:
        tracer.shutdown()

    paths = {p for p, _, _ in receiver.requests}
    assert TRACES_PATH in paths
    _, headers, _ = next(r for r in receiver.requests if r[0] == TRACES_PATH)
    expected_auth = base64.b64encode(f"{public}:sk-lf-test".encode()).decode()
    assert headers["authorization"] == f"Basic {expected_auth}"

    spans = {s.name: s for s in receiver.spans()}
    assert {"postmortem", "timeline", "analysis", "timeline.llm", "search_evidence"} <= set(spans)
    root = spans["postmortem"]
    assert len({s.trace_id for s in spans.values()}) == 1  # one trace per run
    assert spans["timeline"].parent_id == root.span_id
    assert spans["analysis"].parent_id == root.span_id
    gen = spans["timeline.llm"]
    assert gen.parent_id == spans["timeline"].span_id
    assert gen.attrs["langfuse.observation.type"] == "generation"
    assert gen.attrs["langfuse.observation.model.name"] == "gpt-4o-mini"
    assert '"input": 812' in gen.attrs["langfuse.observation.usage_details"]
    assert "0.0002" in gen.attrs["langfuse.observation.cost_details"]
    tool = spans["search_evidence"]
    assert tool.parent_id == spans["timeline"].span_id
    assert tool.attrs["langfuse.observation.type"] == "tool"
    assert "[REDACTED:email]" in tool.attrs["langfuse.observation.output"]
    assert root.attrs.get("langfuse.trace.name") == "postmortem"
    # Which prompts spoke: on the trace and on each generation.
    assert json.dumps(prompts.PROMPT_SET_VERSION) in {v for k, v in root.attrs.items() if "metadata" in k}
    assert json.dumps(prompts.PROMPT_SET_VERSION) in {v for k, v in gen.attrs.items() if "metadata" in k}


def test_failed_stage_is_marked_and_the_error_propagates(receiver: Receiver) -> None:
    tracer, _ = _tracer_for(receiver)
    try:
        with (
            pytest.raises(ValueError, match="bad evidence"),
            tracer.run("postmortem"),
            tracer.stage("scoping"),
        ):
            raise ValueError("bad evidence")
        tracer.flush()
    finally:
        tracer.shutdown()
    scoping = next(s for s in receiver.spans() if s.name == "scoping")
    assert scoping.attrs.get("langfuse.observation.level") == "ERROR"
    assert "bad evidence" in scoping.attrs.get("langfuse.observation.status_message", "")


def test_without_keys_nothing_is_sent_and_nothing_warned(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # A host alone is not enough: without both keys the tracer is the silent no-op.
    tracer = get_tracer(Settings.from_env({"LANGFUSE_HOST": receiver.host}).langfuse)
    assert isinstance(tracer, NoopTracer) and not tracer.enabled

    with tracer.run("postmortem", {"incident": "INC-1"}), tracer.stage("timeline"):
        tracer.generation("timeline", "m", "in", "out", {"input": 1, "output": 1})
        tracer.tool("search_evidence", {"q": "x"}, "y")
    tracer.flush()

    assert receiver.requests == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_half_configured_tracing_says_what_is_missing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    tracer = get_tracer(Settings.from_env({"LANGFUSE_PUBLIC_KEY": "pk", "LANGFUSE_SECRET_KEY": "sk"}).langfuse)
    assert isinstance(tracer, NoopTracer)
    assert any("LANGFUSE_HOST" in r.getMessage() for r in caplog.records)
