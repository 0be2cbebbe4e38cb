"""JSON Lines of LLM requests and responses (gateway logs, SDK traces, OpenAI-shaped exports)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers import common
from tools.readers.base import ReadContext
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


def _messages(rec: dict[str, Any]) -> list[Any] | None:
    """The chat messages of a request: top-level, under `request`, or as the `input`/`inputs` value
    (Langfuse observations log `input` as the message list; LangSmith runs nest it in `inputs`)."""
    for holder in (rec, common.as_dict(rec.get("request")), common.as_dict(rec.get("input")), common.as_dict(rec.get("inputs"))):
        msgs = holder.get("messages")
        if isinstance(msgs, list) and msgs and isinstance(msgs[0], list):
            msgs = msgs[0]  # LangSmith batches: [[message, ...]]
        if isinstance(msgs, list):
            return msgs
    value = rec.get("input")
    if isinstance(value, list) and value and all(isinstance(m, dict) and "role" in m for m in value):
        return value
    return None


def _role(m: dict[str, Any]) -> str:
    return str(m.get("role") or m.get("type") or common.as_dict(m.get("kwargs")).get("type") or "")


def _msg_content(m: dict[str, Any]) -> str:
    if "content" in m:
        return _content(m.get("content"))
    return _content(common.as_dict(m.get("kwargs")).get("content"))  # LangChain-serialised message


def last_user_message(rec: dict[str, Any]) -> str:
    msgs = _messages(rec)
    if isinstance(msgs, list):
        for m in reversed(msgs):
            if isinstance(m, dict) and _role(m) in ("user", "human"):
                return _msg_content(m)
        if msgs and isinstance(msgs[-1], dict):
            return _msg_content(msgs[-1])
    inputs = common.as_dict(rec.get("inputs"))
    for key, holder in (("prompt", rec), ("input", rec), ("prompts", inputs), ("input", inputs),
                        ("question", inputs)):
        if key in holder:
            v = holder[key]
            return _content(v[-1] if isinstance(v, list) and v and isinstance(v[-1], str) else v)
    return ""


def output_text(rec: dict[str, Any]) -> str:
    outputs = common.as_dict(rec.get("outputs"))
    gens = outputs.get("generations")
    if isinstance(gens, list) and gens:
        first = gens[0][0] if isinstance(gens[0], list) and gens[0] else gens[0]
        g = common.as_dict(first)
        return _content(g.get("text") or _msg_content(common.as_dict(g.get("message"))))
    for key in ("output", "content", "answer"):
        if key in outputs:
            return _content(outputs[key])
    body = _response_body(rec)
    if body is not None and isinstance(body.get("choices"), list):
        rec = {"choices": body["choices"]}
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


def _response_body(rec: dict[str, Any]) -> dict[str, Any] | None:
    """The completion object of an OpenAI Batch output line ({"response": {"body": {...}}})."""
    body = common.as_dict(rec.get("response")).get("body")
    return body if isinstance(body, dict) else None


def _usage_source(rec: dict[str, Any]) -> dict[str, Any]:
    """Where the token counts are: `usage` (OpenAI, Langfuse), `usageDetails` (Langfuse v3), the
    response or batch body's `usage`, else the record itself (LangSmith, LiteLLM, Langfuse v2)."""
    for cand in (rec.get("usage"), rec.get("usageDetails"), common.as_dict(rec.get("response")).get("usage"),
                 common.as_dict(_response_body(rec)).get("usage")):
        if isinstance(cand, dict) and cand:
            return cand
    return rec


def _usage(rec: dict[str, Any]) -> dict[str, int]:
    src = _usage_source(rec)
    out: dict[str, int] = {}
    for key, names in (
        ("prompt_tokens", ("prompt_tokens", "input_tokens", "input", "promptTokens", "inputTokens")),
        ("completion_tokens", ("completion_tokens", "output_tokens", "output", "completionTokens", "outputTokens")),
        ("total_tokens", ("total_tokens", "total", "totalTokens")),
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
    for key, scale in (("latency_ms", 1.0), ("duration_ms", 1.0), ("elapsed_ms", 1.0), ("latencyMs", 1.0),
                       ("latency_s", 1000.0), ("duration_s", 1000.0), ("latency", 1000.0), ("duration", 1000.0)):
        v = rec.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v) * scale
    return None


# Start of the request first: that is when the call happened (Langfuse startTime, LangSmith
# start_time, LiteLLM startTime); OpenAI objects only carry `created` (epoch seconds).
_START_KEYS = (*TS_KEYS, "startTime", "start_time", "startedAt", "started_at", "request_time",
               "createdAt", "created_at", "created")
_END_KEYS = ("endTime", "end_time", "endedAt", "ended_at", "completed_at")
_FIRST_TOKEN_KEYS = ("completionStartTime", "completion_start_time", "first_token_time")


def _when(rec: dict[str, Any], keys: tuple[str, ...], ctx: ReadContext) -> tuple[datetime, bool] | None:
    for k in keys:
        v = rec.get(k)
        if v is not None:
            parsed = parse_ts(v, ctx.default_tz)
            if parsed is not None:
                return parsed
    return None


def _model(rec: dict[str, Any]) -> Any:
    extra = common.as_dict(rec.get("extra"))
    for holder, key in ((rec, "model"), (common.as_dict(rec.get("response")), "model"),
                        (common.as_dict(_response_body(rec)), "model"), (common.as_dict(rec.get("request")), "model"),
                        (common.as_dict(extra.get("invocation_params")), "model"),
                        (common.as_dict(extra.get("invocation_params")), "model_name"),
                        (common.as_dict(extra.get("metadata")), "ls_model_name")):
        if holder.get(key):
            return holder[key]
    return None


def _is_call(obj: dict[str, Any]) -> bool:
    return "model" in obj and (
        any(k in obj for k in _INPUT_KEYS) or any(k in obj for k in _OUTPUT_KEYS) or "usage" in obj)


def nested_call(obj: dict[str, Any]) -> str | None:
    """The key of a sub-object that is itself an LLM call (a RAG or agent step record that logs its
    generation one level down), when the record has no model of its own."""
    if "model" in obj:
        return None
    for key, value in obj.items():
        if isinstance(value, dict) and _is_call(value):
            return key
    return None


def is_trace(obj: dict[str, Any]) -> bool:
    if "model" in obj:
        return _is_call(obj)
    if nested_call(obj) is not None:
        return True
    # LangSmith run exports and OpenAI Batch output lines name the model one level down.
    if "run_type" in obj and ("inputs" in obj or "outputs" in obj):
        return True
    body = _response_body(obj)
    return body is not None and "model" in body and "custom_id" in obj


def _long_trace(head: str) -> bool:
    """A first record longer than the sniff window (long RAG prompts): judged by its keys."""
    return head.lstrip().startswith("{") and _LONG_TRACE.search(head) is not None and _LONG_INPUT.search(head) is not None


class LlmTraceReader(common.JsonLinesFormatReader, name="trace.llm", is_record=is_trace, long_first_line=_long_trace):
    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        rid = common.id_part(rel)
        file_service = common.service_from_name(rel, ctx.services)
        for item in common.iter_json_lines(path, rel, ctx, not_object="trace line is not an object"):
            if isinstance(item, Malformed):
                yield item
                continue
            lineno, rec = item
            yield self._record(rec, lineno, rel, rid, file_service, ctx)

    def _record(
        self, rec: dict[str, Any], lineno: int, rel: str, rid: str, file_service: str | None, ctx: ReadContext
    ) -> Evidence:
        inner = nested_call(rec)
        outer: dict[str, Any] = {}
        if inner is not None and "run_type" not in rec:
            # The call's own fields win; the outer record adds its time, ids and context (retrieved
            # documents, tool results), which stay searchable in the text and in attrs.
            outer = {k: v for k, v in rec.items() if k != inner and k not in rec[inner]}
            rec = {**outer, **rec[inner], "call_key": inner}
        parsed = _when(rec, _START_KEYS, ctx) or _when(common.as_dict(_response_body(rec)), ("created",), ctx)
        model = _model(rec)
        error, status, failed = _failure(rec)
        attrs: dict[str, Any] = {"model": model, **_usage(rec)}
        lat = _timing(rec, parsed, attrs, ctx)
        if status is not None:
            attrs["status"] = status
        if error:
            attrs["error"] = common.clip(str(error), 1000)
        _ids_and_cost(rec, attrs)
        for key in ("temperature", "finish_reason", "tool_calls", "user", "session_id", "route", "prompt_version"):
            if key in rec and rec[key] is not None:
                attrs[key] = rec[key]
        user = common.clip(last_user_message(rec), SNIPPET)
        out = common.clip(output_text(rec), SNIPPET)
        head = f"model={model}"
        if status is not None:
            head += f" status={status}"
        if lat is not None:
            head += f" latency_ms={lat:g}"
        text = f"{head} | user: {user} | output: {out}"
        if error:
            text += f" | error: {common.clip(str(error), SNIPPET)}"
        if outer:
            text += _outer_context(outer, attrs)
        service = rec.get("service") if isinstance(rec.get("service"), str) else file_service
        level = "error" if failed else "warning" if str(rec.get("level") or "").upper() == "WARNING" else "info"
        return common.make(
            EvidenceKind.TRACE, f"trace:{rid}:{lineno}", rel, f"line {lineno}",
            ts=parsed[0] if parsed else None, assumed=parsed[1] if parsed else False,
            service=service, level=level, text=text, attrs=attrs,
        )


def _outer_context(outer: dict[str, Any], attrs: dict[str, Any]) -> str:
    """Scalars of the enclosing record go to attrs; nested parts (retrieval hits, tool output) to
    the text as compact JSON, bounded like any record."""
    parts = []
    for k, v in outer.items():
        if isinstance(v, (dict, list)):
            parts.append(f"{k}: {json.dumps(v, ensure_ascii=False, default=str)}")
        elif v is not None and k not in attrs:
            attrs[k] = v
    return common.clip(" | " + " | ".join(parts), common.MAX_RECORD_CHARS) if parts else ""


def _failure(rec: dict[str, Any]) -> tuple[Any, Any, bool]:
    """(error message, status, failed): `error` fields, HTTP-ish statuses, Langfuse level ERROR."""
    error = rec.get("error")
    if isinstance(error, dict):
        error = error.get("message") or error.get("type") or str(error)
    status = rec.get("status") or rec.get("status_code")
    if status is None and isinstance(rec.get("response"), dict):
        status = rec["response"].get("status_code")
    langfuse_error = str(rec.get("level") or "").upper() == "ERROR"
    if langfuse_error and not error:
        error = rec.get("statusMessage") or "level ERROR"
    failed = bool(error) or str(status).lower() in ("error", "failed", "failure", "timeout") or (
        isinstance(status, int) and status >= 400
    )
    return error, status, failed


def _timing(rec: dict[str, Any], start: tuple[datetime, bool] | None, attrs: dict[str, Any],
            ctx: ReadContext) -> float | None:
    """latency_ms (from start and end times when both are given, else a latency field) and ttft_ms."""
    lat = None
    end = _when(rec, _END_KEYS, ctx)
    if start is not None and end is not None and end[0] >= start[0]:
        lat = (end[0] - start[0]).total_seconds() * 1000.0
    if lat is None:
        lat = _latency_ms(rec)
    if lat is not None:
        attrs["latency_ms"] = lat
    first = _when(rec, _FIRST_TOKEN_KEYS, ctx)
    if start is not None and first is not None and first[0] >= start[0]:
        attrs["ttft_ms"] = (first[0] - start[0]).total_seconds() * 1000.0
    elif isinstance(rec.get("timeToFirstToken"), (int, float)) and not isinstance(rec["timeToFirstToken"], bool):
        attrs["ttft_ms"] = float(rec["timeToFirstToken"]) * 1000.0  # Langfuse reports seconds
    return lat


def _ids_and_cost(rec: dict[str, Any], attrs: dict[str, Any]) -> None:
    for key in ("request_id", "id", "trace_id"):
        if rec.get(key):
            attrs["request_id"] = str(rec[key])
            break
    for key in ("traceId", "trace_id", "parentObservationId", "parent_run_id", "name", "type", "run_type",
                "promptName", "promptVersion", "custom_id"):
        v = rec.get(key)
        if v is not None and not isinstance(v, (dict, list)) and key not in attrs:
            attrs[key] = v
    meta = rec.get("metadata")
    if isinstance(meta, dict) and meta and len(json.dumps(meta, default=str)) <= 1000:
        attrs["metadata"] = meta  # small tags such as a variant or flag name; large blobs are left out
    cost_details = common.as_dict(rec.get("costDetails"))
    for v in (rec.get("cost_usd"), rec.get("cost"), rec.get("calculatedTotalCost"), rec.get("totalCost"),
              rec.get("total_cost"), rec.get("spend"), cost_details.get("total")):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            attrs["cost_usd"] = float(v)
            break


READER = LlmTraceReader()
