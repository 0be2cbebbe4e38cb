"""OpenTelemetry OTLP/JSON files: ExportTraceServiceRequest / ExportLogsServiceRequest documents.

The collector's `file` exporter (and `otlpjsonfile` receiver input) writes one request per line;
SDK and hand-made exports often hold one (pretty-printed) request per file. Both are read here.
Spans become TRACE records (`trace:<rel>:<span id>`), log records LOG records
(`log:<rel>:<line>.<n>`, n counting records from 1 within that line or document).

Field names follow the OTLP/JSON mapping of opentelemetry-proto (lowerCamelCase, hex trace and span
ids, 64-bit integers and nanosecond times as decimal strings, enums as integers; some encoders
write enum names such as "STATUS_CODE_ERROR", which are accepted too). GenAI spans are mapped to
the LLM trace fields of the evidence contract using the GenAI semantic conventions
(`gen_ai.*`), including their deprecated names, and the OpenInference `llm.*` names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers import common
from tools.readers.base import ReadContext

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# A collector batch is one line; lines far beyond the usual log-line limit are still one request.
MAX_REQUEST_LINE_BYTES = 64 * 1024 * 1024
_HEAD_KEY = re.compile(r'^\s*\[?\s*\{\s*"resource(Spans|Logs)"\s*:')
_MAX_DEPTH = 8  # AnyValue nesting kept when decoding attributes
_MAX_ATTRS = 60  # span / log attributes copied into evidence attrs
_ATTR_CHARS = 500  # each copied string attribute is clipped to this
_SNIPPET = 300

# Span status codes (opentelemetry.proto.trace.v1.Status.StatusCode).
_STATUS = {0: None, 1: "ok", 2: "error", "STATUS_CODE_UNSET": None, "STATUS_CODE_OK": "ok",
           "STATUS_CODE_ERROR": "error", "UNSET": None, "OK": "ok", "ERROR": "error"}
_SPAN_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
# SeverityNumber ranges: 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL.
_SEVERITY = ((21, "critical"), (17, "error"), (13, "warning"), (9, "info"), (1, "debug"))

# GenAI semantic conventions (current name first, then deprecated / OpenInference spellings).
_MODEL_KEYS = ("gen_ai.request.model", "gen_ai.response.model", "llm.model_name", "llm.request.model")
_INPUT_TOKEN_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt",
                     "llm.usage.prompt_tokens")
_OUTPUT_TOKEN_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
                      "llm.token_count.completion", "llm.usage.completion_tokens")
_TOTAL_TOKEN_KEYS = ("gen_ai.usage.total_tokens", "llm.token_count.total", "llm.usage.total_tokens")
_PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
_INPUT_TEXT_KEYS = ("gen_ai.input.messages", "gen_ai.prompt", "gen_ai.prompt.0.content", "input.value",
                    "llm.input_messages.0.message.content")
_OUTPUT_TEXT_KEYS = ("gen_ai.output.messages", "gen_ai.completion", "gen_ai.completion.0.content",
                     "output.value", "llm.output_messages.0.message.content")
_HTTP_STATUS_KEYS = ("http.response.status_code", "http.status_code")


def any_value(v: Any, depth: int = 0) -> Any:
    """Decode an OTLP AnyValue ({"stringValue": ...}, {"intValue": "3"}, arrays, kvlists)."""
    if not isinstance(v, dict) or depth > _MAX_DEPTH:
        return v
    if "stringValue" in v:
        return v["stringValue"]
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "intValue" in v:
        return _as_int(v["intValue"])
    if "doubleValue" in v:
        return common.as_float(v["doubleValue"])
    if "arrayValue" in v:
        vals = common.as_dict(v["arrayValue"]).get("values")
        return [any_value(x, depth + 1) for x in vals] if isinstance(vals, list) else []
    if "kvlistValue" in v:
        return kv_list(common.as_dict(v["kvlistValue"]).get("values"), depth + 1)
    if "bytesValue" in v:
        return v["bytesValue"]  # base64 text as exported
    return None  # an empty AnyValue


def kv_list(items: Any, depth: int = 0) -> dict[str, Any]:
    """[{key, value: AnyValue}, ...] as a plain dict (later duplicates win, as in the SDKs)."""
    out: dict[str, Any] = {}
    if not isinstance(items, list):
        return out
    for kv in items:
        if isinstance(kv, dict) and isinstance(kv.get("key"), str):
            out[kv["key"]] = any_value(kv.get("value"), depth)
    return out


def _as_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    try:
        return int(str(v).strip())
    except ValueError:
        return None



def nanos_to_dt(v: Any) -> datetime | None:
    """A `*TimeUnixNano` value as UTC; 0 or absent means "not set" in OTLP, never 1970."""
    ns = _as_int(v)
    if ns is None or ns <= 0:
        return None
    try:
        return _EPOCH + timedelta(microseconds=ns // 1000)
    except OverflowError:
        return None


def _first(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        v = attrs.get(k)
        if v is not None and v != "":
            return v
    return None


def _first_int(attrs: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    for k in keys:
        v = attrs.get(k)
        if isinstance(v, float):
            if v == v and abs(v) != float("inf"):
                return int(v)
            continue
        n = _as_int(v) if v is not None else None
        if n is not None:
            return n
    return None


def _text_of(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False, default=str)


def _bounded(attrs: dict[str, Any]) -> dict[str, Any]:
    """The record's own attributes, bounded: long strings clipped, at most _MAX_ATTRS keys."""
    out: dict[str, Any] = {}
    for i, (k, v) in enumerate(attrs.items()):
        if i >= _MAX_ATTRS:
            out["attributes_truncated"] = len(attrs) - _MAX_ATTRS
            break
        if isinstance(v, str):
            v = common.clip(v, _ATTR_CHARS)
        elif isinstance(v, (list, dict)):
            s = _text_of(v)
            v = v if len(s) <= _ATTR_CHARS else common.clip(s, _ATTR_CHARS)
        out[k] = v
    return out


def _requests_in_file(path: Path, rel: str, ctx: ReadContext) -> Iterator[tuple[int, Any] | Malformed]:
    """(line number, request) per line of a collector file, or (1, document) for a whole-file one."""
    if _one_document(path):
        doc, bad = common.load_json_doc(path, rel)
        if bad is not None:
            yield bad
            return
        for item in doc if isinstance(doc, list) else [doc]:
            yield 1, item
        return
    limit = max(ctx.max_line_bytes, MAX_REQUEST_LINE_BYTES)
    for lineno, text, problem in common.iter_lines(path, limit, ctx.on_bytes):
        if problem is not None:
            yield Malformed(source=rel, locator=f"line {lineno}", reason=problem)
        if text is None or not text.strip():
            continue
        try:
            yield lineno, common.loads_bounded(text)  # a too-deep line costs that line only
        except ValueError as exc:
            yield Malformed(source=rel, locator=f"line {lineno}", reason=f"invalid JSON: {exc}"[:200])


def _one_document(path: Path) -> bool:
    """Pretty-printed (its first line is not a whole JSON value) means one request per file."""
    with open(path, "rb") as f:
        head = f.read(65536).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if "\n" not in head:
        return False  # one long line: line mode reads it the same way
    try:
        common.loads_bounded(head.split("\n", 1)[0])
        return False
    except ValueError:
        return True


class OtlpJsonReader:
    name = "otel"
    needs_year = False

    def sniff(self, path: Path, head: str) -> bool:
        s = head.lstrip("\ufeff \t\r\n")
        if _HEAD_KEY.match(s):
            return True
        doc = common.first_json_value(s)
        if isinstance(doc, list) and doc:
            doc = doc[0]
        return isinstance(doc, dict) and ("resourceSpans" in doc or "resourceLogs" in doc)

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        state = _FileState(rel, common.id_part(rel), common.service_from_name(rel, ctx.services))
        for item in _requests_in_file(path, rel, ctx):
            if isinstance(item, Malformed):
                yield item
                continue
            lineno, req = item
            if not isinstance(req, dict) or not ("resourceSpans" in req or "resourceLogs" in req):
                yield Malformed(source=rel, locator=f"line {lineno}",
                                reason="not an OTLP export request (no resourceSpans/resourceLogs)")
                continue
            yield from _spans(req, lineno, state)
            yield from _logs(req, lineno, state)


class _FileState:
    """Per-file bookkeeping: span ids already used (ids must stay unique) and the fallback service."""

    def __init__(self, rel: str, rid: str, file_service: str | None) -> None:
        self.rel = rel
        self.rid = rid
        self.file_service = file_service
        self.seen: dict[str, int] = {}

    def unique(self, base: str) -> str:
        n = self.seen.get(base, 0) + 1
        self.seen[base] = n
        return base if n == 1 else f"{base}~{n}"


def _resource(block: dict[str, Any]) -> dict[str, Any]:
    return kv_list(common.as_dict(block.get("resource")).get("attributes"))


class _Nesting(NamedTuple):
    """Where one OTLP signal keeps its items: resource blocks, scope blocks (current key, pre-1.0 key),
    the scope's name holders, the item list, and how a bad item is named."""

    resources: str
    scopes: tuple[str, str]
    scope_names: tuple[str, ...]
    items: str
    locator: str  # "span" -> "line 3 span 2"
    reason: str  # "span is not an object"


_SPAN_NESTING = _Nesting("resourceSpans", ("scopeSpans", "instrumentationLibrarySpans"),
                         ("scope", "instrumentationLibrary"), "spans", "span", "span is not an object")
_LOG_NESTING = _Nesting("resourceLogs", ("scopeLogs", "instrumentationLibraryLogs"), ("scope",),
                        "logRecords", "record", "log record is not an object")


def _walk(req: dict[str, Any], lineno: int, st: _FileState,
          nest: _Nesting) -> Iterator[tuple[dict[str, Any], Any, int, dict[str, Any]] | Malformed]:
    """The nesting OTLP traces and logs share; (resource attrs, scope name, item number, item) per item."""
    k = 0
    for rb in req.get(nest.resources) or []:
        if not isinstance(rb, dict):
            yield Malformed(source=st.rel, locator=f"line {lineno}", reason=f"{nest.resources} entry is not an object")
            continue
        res = _resource(rb)
        found = rb.get(nest.scopes[0]) or rb.get(nest.scopes[1]) or []
        for sb in found if isinstance(found, list) else []:
            block = common.as_dict(sb)
            scope = common.as_dict(next((block.get(n) for n in nest.scope_names if block.get(n)), None)).get("name")
            for item in block.get(nest.items) or []:
                k += 1
                if not isinstance(item, dict):
                    yield Malformed(source=st.rel, locator=f"line {lineno} {nest.locator} {k}", reason=nest.reason)
                    continue
                yield res, scope, k, item


def _spans(req: dict[str, Any], lineno: int, st: _FileState) -> Iterator[Evidence | Malformed]:
    for got in _walk(req, lineno, st, _SPAN_NESTING):
        yield got if isinstance(got, Malformed) else _span(got[3], got[0], got[1], lineno, got[2], st)


def _span_error(span: dict[str, Any], attrs: dict[str, Any]) -> tuple[str | None, str | None]:
    """(status ok|error|None, error message) from the span status, exception events, error.type."""
    status = common.as_dict(span.get("status"))
    code = status.get("code")
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    verdict = _STATUS.get(code) if isinstance(code, (int, str)) else None
    message = status.get("message") or None
    for event in span.get("events") or []:
        ev = common.as_dict(event)
        if ev.get("name") == "exception":
            ea = kv_list(ev.get("attributes"))
            exc = " ".join(str(x) for x in (ea.get("exception.type"), ea.get("exception.message")) if x)
            message = message or exc or None
    if verdict == "error" and not message:
        message = attrs.get("error.type") and str(attrs["error.type"])
    return verdict, (str(message) if message else None)


def _genai_fields(attrs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    model = _first(attrs, _MODEL_KEYS)
    if model is not None:
        out["model"] = str(model)
        resp_model = attrs.get("gen_ai.response.model")
        if resp_model and str(resp_model) != out["model"]:
            out["response_model"] = str(resp_model)
    prompt, completion = _first_int(attrs, _INPUT_TOKEN_KEYS), _first_int(attrs, _OUTPUT_TOKEN_KEYS)
    total = _first_int(attrs, _TOTAL_TOKEN_KEYS)
    if prompt is not None:
        out["prompt_tokens"] = prompt
    if completion is not None:
        out["completion_tokens"] = completion
    if total is None and prompt is not None and completion is not None:
        total = prompt + completion
    if total is not None:
        out["total_tokens"] = total
    for key, names in (("operation", ("gen_ai.operation.name",)), ("provider", _PROVIDER_KEYS),
                       ("request_id", ("gen_ai.response.id",)),
                       ("finish_reasons", ("gen_ai.response.finish_reasons",)),
                       ("temperature", ("gen_ai.request.temperature",)),
                       ("conversation_id", ("gen_ai.conversation.id",))):
        v = _first(attrs, names)
        if v is not None:
            out[key] = v
    return out


def _span(span: dict[str, Any], res: dict[str, Any], scope: Any, lineno: int, k: int,
          st: _FileState) -> Evidence:
    attrs_in = kv_list(span.get("attributes"))
    start, end = nanos_to_dt(span.get("startTimeUnixNano")), nanos_to_dt(span.get("endTimeUnixNano"))
    span_id = str(span.get("spanId") or "") or f"{lineno}-{k}"
    verdict, error = _span_error(span, attrs_in)
    attrs: dict[str, Any] = _genai_fields(attrs_in)
    if start is not None and end is not None and end >= start:
        attrs["latency_ms"] = (end - start).total_seconds() * 1000.0
    if verdict is not None:
        attrs["status"] = verdict  # "unset" is left out: it is not a failure
    if error:
        attrs["error"] = common.clip(error, 1000)
    http = _first_int(attrs_in, _HTTP_STATUS_KEYS)
    if http is not None:
        attrs["http_status"] = http
    kind = span.get("kind")
    attrs.update({
        "name": span.get("name"), "span_kind": _SPAN_KINDS.get(_as_int(kind) if kind is not None else 0, kind),
        "trace_id": span.get("traceId"), "span_id": span.get("spanId"),
        "parent_span_id": span.get("parentSpanId") or None, "scope": scope,
        "events": len(span.get("events") or []), "format": "otlp", "attributes": _bounded(attrs_in),
    })
    if res:
        attrs["resource"] = _bounded(res)
    failed = verdict == "error" or (http is not None and http >= 500)
    service = res.get("service.name") or st.file_service
    return common.make(
        EvidenceKind.TRACE, st.unique(f"trace:{st.rid}:{common.id_part(span_id)}"), st.rel, f"line {lineno} span {k}",
        ts=start, service=str(service) if service else None, level="error" if failed else "info",
        text=_span_text(span, attrs, attrs_in), attrs=attrs,
    )


def _span_text(span: dict[str, Any], attrs: dict[str, Any], attrs_in: dict[str, Any]) -> str:
    parts = [f"span {span.get('name') or '?'}"]
    for key in ("operation", "provider", "model", "status", "http_status"):
        if attrs.get(key) is not None:
            parts.append(f"{key}={attrs[key]}")
    if "latency_ms" in attrs:
        parts.append(f"latency_ms={attrs['latency_ms']:g}")
    if "prompt_tokens" in attrs or "completion_tokens" in attrs:
        parts.append(f"tokens={attrs.get('prompt_tokens', '?')}/{attrs.get('completion_tokens', '?')}")
    text = " ".join(parts)
    user, out = _first(attrs_in, _INPUT_TEXT_KEYS), _first(attrs_in, _OUTPUT_TEXT_KEYS)
    if user is not None:
        text += f" | input: {common.clip(_text_of(user), _SNIPPET)}"
    if out is not None:
        text += f" | output: {common.clip(_text_of(out), _SNIPPET)}"
    if attrs.get("error"):
        text += f" | error: {common.clip(str(attrs['error']), _SNIPPET)}"
    return text


def _logs(req: dict[str, Any], lineno: int, st: _FileState) -> Iterator[Evidence | Malformed]:
    for got in _walk(req, lineno, st, _LOG_NESTING):
        yield got if isinstance(got, Malformed) else _log(got[3], got[0], got[1], lineno, got[2], st)


def _severity(rec: dict[str, Any]) -> str | None:
    """severityText when it names a level, else the SeverityNumber range (or its enum name)."""
    level = common.norm_level(rec.get("severityText")) if rec.get("severityText") else None
    if level is not None:
        return level
    num = rec.get("severityNumber")
    if isinstance(num, str) and not num.strip().isdigit():
        # Enum names such as "SEVERITY_NUMBER_WARN2".
        return common.norm_level(num.rsplit("_", 1)[-1].rstrip("0123456789"))
    n = _as_int(num) if num is not None else None
    if n is None:
        return None
    return next((name for floor, name in _SEVERITY if n >= floor), None)


def _log(rec: dict[str, Any], res: dict[str, Any], scope: Any, lineno: int, k: int, st: _FileState) -> Evidence:
    attrs_in = kv_list(rec.get("attributes"))
    ts = nanos_to_dt(rec.get("timeUnixNano"))
    attrs: dict[str, Any] = _bounded(attrs_in)
    if ts is None:
        # The collector's receive time is a real recorded time, not the event's: say which it is.
        ts = nanos_to_dt(rec.get("observedTimeUnixNano"))
        if ts is not None:
            attrs["ts_source"] = "observedTimeUnixNano"
    http = _first_int(attrs_in, _HTTP_STATUS_KEYS)
    if http is not None:
        attrs["status"] = http
    attrs.update({"format": "otlp", "trace_id": rec.get("traceId") or None, "span_id": rec.get("spanId") or None,
                  "scope": scope})
    if res:
        attrs["resource"] = _bounded(res)
    body = any_value(rec.get("body"))
    service = res.get("service.name") or st.file_service
    return common.make(
        EvidenceKind.LOG, f"log:{st.rid}:{lineno}.{k}", st.rel, f"line {lineno} record {k}",
        ts=ts, service=str(service) if service else None, level=_severity(rec),
        text=common.clip(_text_of(body), common.MAX_RECORD_CHARS), attrs=attrs,
    )


READER = OtlpJsonReader()
