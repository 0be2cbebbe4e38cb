"""JSON Lines of LLM requests and responses (gateway logs, SDK traces, OpenAI-shaped exports)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import ReadContext
from tools.readers.common import (
    as_dict,
    clip,
    first_line_unterminated,
    id_part,
    iter_json_lines,
    json_lines_objects,
    make,
    service_from_name,
)
from tools.readers.logs_jsonl import TS_KEYS
from tools.timeparse import parse_ts

_INPUT_KEYS = ("messages", "prompt", "input")
_OUTPUT_KEYS = ("output", "response", "completion", "choices")
SNIPPET = 500
_LONG_TRACE = re.compile(r'^\{.{0,2000}?"model"\s*:', re.DOTALL)
_LONG_INPUT = re.compile(r'"(messages|prompt|input)"\s*:')


def _content(value: Any) -> str:
    """Text of a message `content`: a string or a list of typed parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(
            str(p.get("text") or "") if isinstance(p, dict) else str(p) for p in value
        ).strip()
    if isinstance(value, dict):
        return str(value.get("text") or value.get("content") or "")
    return "" if value is None else str(value)


def last_user_message(rec: dict[str, Any]) -> str:
    msgs = rec.get("messages")
    if not isinstance(msgs, list):
        req = rec.get("request")
        msgs = req.get("messages") if isinstance(req, dict) else None
    if isinstance(msgs, list):
        for m in reversed(msgs):
            if isinstance(m, dict) and m.get("role") in ("user", "human"):
                return _content(m.get("content"))
        if msgs and isinstance(msgs[-1], dict):
            return _content(msgs[-1].get("content"))
    for key in ("prompt", "input"):
        if key in rec:
            return _content(rec[key])
    return ""


def output_text(rec: dict[str, Any]) -> str:
    for key in _OUTPUT_KEYS:
        v = rec.get(key)
        if v is None:
            continue
        if isinstance(v, dict) and isinstance(v.get("choices"), list):
            v = v["choices"]
        if isinstance(v, list):  # OpenAI choices[]
            for ch in v:
                if isinstance(ch, dict):
                    msg = ch.get("message")
                    if isinstance(msg, dict):
                        return _content(msg.get("content"))
                    if "text" in ch:
                        return _content(ch["text"])
            continue
        return _content(v)
    return ""


def _usage(rec: dict[str, Any]) -> dict[str, int]:
    src: dict[str, Any] = (
        as_dict(rec.get("usage")) or as_dict(as_dict(rec.get("response")).get("usage")) or rec
    )
    out: dict[str, int] = {}
    for key, names in (
        ("prompt_tokens", ("prompt_tokens", "input_tokens", "input")),
        ("completion_tokens", ("completion_tokens", "output_tokens", "output")),
        ("total_tokens", ("total_tokens", "total")),
    ):
        for n in names:
            v = src.get(n)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out[key] = int(v)
                break
    if "total_tokens" not in out and "prompt_tokens" in out and "completion_tokens" in out:
        out["total_tokens"] = out["prompt_tokens"] + out["completion_tokens"]
    return out


def _latency_ms(rec: dict[str, Any]) -> float | None:
    for key, scale in (("latency_ms", 1.0), ("duration_ms", 1.0), ("elapsed_ms", 1.0),
                       ("latency_s", 1000.0), ("duration_s", 1000.0), ("latency", 1000.0), ("duration", 1000.0)):
        v = rec.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v) * scale
    return None


def is_trace(obj: dict[str, Any]) -> bool:
    return "model" in obj and (
        any(k in obj for k in _INPUT_KEYS) or any(k in obj for k in _OUTPUT_KEYS) or "usage" in obj
    )


class LlmTraceReader:
    name = "trace.llm"
    needs_year = False
    splittable = True  # one record per line (plus continuations): big files are read in slices

    def sniff(self, path: Path, head: str) -> bool:
        objs = json_lines_objects(head)
        if objs:
            return sum(1 for o in objs if is_trace(o)) * 2 >= len(objs)
        # A first record longer than the sniff window (long RAG prompts): judge by its keys.
        return (
            head.lstrip().startswith("{") and first_line_unterminated(head)
            and _LONG_TRACE.search(head) is not None and _LONG_INPUT.search(head) is not None
        )

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        rid = id_part(rel)
        file_service = service_from_name(rel, ctx.services)
        for item in iter_json_lines(path, rel, ctx):
            if isinstance(item, Malformed):
                yield item
                continue
            lineno, rec = item
            if not isinstance(rec, dict):
                yield Malformed(source=rel, locator=f"line {lineno}", reason="trace line is not an object")
                continue
            yield self._record(rec, lineno, rel, rid, file_service, ctx)

    def _record(
        self, rec: dict[str, Any], lineno: int, rel: str, rid: str, file_service: str | None, ctx: ReadContext
    ) -> Evidence:
        parsed = None
        for k in (*TS_KEYS, "created", "start_time", "started_at"):
            if k in rec:
                parsed = parse_ts(rec[k], ctx.default_tz)
                if parsed is not None:
                    break
        model = rec.get("model")
        if model is None and isinstance(rec.get("response"), dict):
            model = rec["response"].get("model")
        error = rec.get("error")
        if isinstance(error, dict):
            error = error.get("message") or error.get("type") or str(error)
        status = rec.get("status") or rec.get("status_code")
        failed = bool(error) or str(status).lower() in ("error", "failed", "failure", "timeout") or (
            isinstance(status, int) and status >= 400
        )
        attrs: dict[str, Any] = {"model": model, **_usage(rec)}
        lat = _latency_ms(rec)
        if lat is not None:
            attrs["latency_ms"] = lat
        if status is not None:
            attrs["status"] = status
        if error:
            attrs["error"] = clip(str(error), 1000)
        for key in ("request_id", "id", "trace_id"):
            if rec.get(key):
                attrs["request_id"] = str(rec[key])
                break
        for key in ("cost_usd", "cost"):
            v = rec.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                attrs["cost_usd"] = float(v)
                break
        for key in ("temperature", "finish_reason", "tool_calls", "user", "session_id", "route", "prompt_version"):
            if key in rec and rec[key] is not None:
                attrs[key] = rec[key]
        user = clip(last_user_message(rec), SNIPPET)
        out = clip(output_text(rec), SNIPPET)
        head = f"model={model}"
        if status is not None:
            head += f" status={status}"
        if lat is not None:
            head += f" latency_ms={lat:g}"
        text = f"{head} | user: {user} | output: {out}"
        if error:
            text += f" | error: {clip(str(error), SNIPPET)}"
        service = rec.get("service") if isinstance(rec.get("service"), str) else file_service
        return make(
            EvidenceKind.TRACE, f"trace:{rid}:{lineno}", rel, f"line {lineno}",
            ts=parsed[0] if parsed else None, assumed=parsed[1] if parsed else False,
            service=service, level="error" if failed else "info", text=text, attrs=attrs,
        )


READER = LlmTraceReader()
