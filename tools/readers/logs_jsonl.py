"""JSON Lines application logs (one JSON object per line)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers import common
from tools.readers.base import ReadContext
from tools.timeparse import parse_ts

TS_KEYS = ("timestamp", "ts", "time", "@timestamp", "datetime", "date", "t")
LEVEL_KEYS = ("level", "severity", "lvl", "levelname", "log.level", "loglevel")
MSG_KEYS = ("message", "msg", "event", "log", "text")
SERVICE_KEYS = ("service", "app", "component", "service.name", "application")
_STATUS_KEYS = ("status", "status_code", "http_status", "response_code", "statusCode")
_LATENCY_MS_KEYS = ("latency_ms", "duration_ms", "elapsed_ms", "response_time_ms", "took_ms")
_LATENCY_S_KEYS = ("request_time", "latency_s", "duration_s", "elapsed_s", "upstream_response_time")
_PATH_KEYS = ("path", "url", "uri", "request_path", "route", "endpoint")
_BYTES_KEYS = ("bytes", "body_bytes_sent", "bytes_sent", "response_bytes", "size")
_LONG_LINE = re.compile(r'\{\s*"(timestamp|ts|time|@timestamp|level|severity|msg|message)"\s*:')
_ERROR_KEYS = ("error", "err", "exception", "exc_info", "stack", "stacktrace", "error.message")


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for k in keys:
        if k in obj:
            v = obj[k]
            if v is not None and v != "":
                return k, v
    return None, None


def _as_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.isdigit():
        return int(v)
    return None



# Which of a role's keys an object holds depends only on its keys, and a log repeats a few key
# layouts millions of times: plans below are cached per key tuple, so each role checks only the
# keys present instead of probing every alias. Looking at present keys in alias order is exactly
# what _first does.
_HttpPlan = tuple[tuple[str, ...], bool, tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]
_HTTP_PLANS: dict[tuple[str, ...], _HttpPlan] = {}
_ABSENT: Any = object()
_PLANS_MAX = 4096


def _present(keys: tuple[str, ...], scope: dict[str, Any]) -> tuple[str, ...]:
    return tuple(k for k in keys if k in scope)


def _http_plan(scope: dict[str, Any]) -> _HttpPlan:
    sig = tuple(scope)
    plan = _HTTP_PLANS.get(sig)
    if plan is None:
        plan = (
            _present(_STATUS_KEYS, scope), "method" in scope, _present(_PATH_KEYS, scope),
            _present(_LATENCY_MS_KEYS, scope), _present(_LATENCY_S_KEYS, scope), _present(_BYTES_KEYS, scope),
        )
        if len(_HTTP_PLANS) >= _PLANS_MAX:
            _HTTP_PLANS.clear()
        _HTTP_PLANS[sig] = plan
    return plan


def _value(scope: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """_first's value, over keys known to be present."""
    for k in keys:
        v = scope[k]
        if v is not None and v != "":
            return v
    return None


def _http_scope(scope: dict[str, Any], attrs: dict[str, Any], plan: _HttpPlan) -> None:
    # A step whose keys are all absent is skipped: it would look up None and change nothing.
    status_keys, has_method, path_keys, ms_keys, s_keys, bytes_keys = plan
    if status_keys:
        cur = attrs.get("status")
        if not (type(cur) is int and 100 <= cur <= 599):
            iv = _as_int(_value(scope, status_keys))
            if iv is not None and 100 <= iv <= 599:
                attrs["status"] = iv
    if has_method and "method" not in attrs and isinstance(scope.get("method"), str):
        attrs["method"] = scope["method"]
    if path_keys and "path" not in attrs:
        v = _value(scope, path_keys)
        if isinstance(v, str):
            attrs["path"] = v
    if (ms_keys or s_keys) and ("latency_ms" not in attrs or common.as_float(attrs.get("latency_ms")) is None):
        f = common.as_float(_value(scope, ms_keys))
        if f is None:
            f = common.as_float(_value(scope, s_keys))
            f = None if f is None else f * 1000.0
        if f is not None:
            attrs["latency_ms"] = f
    if bytes_keys and ("bytes" not in attrs or _as_int(attrs.get("bytes")) is None):
        iv = _as_int(_value(scope, bytes_keys))
        if iv is not None:
            attrs["bytes"] = iv


def _status_text(attrs: dict[str, Any]) -> None:
    if "status" in attrs:
        st = attrs["status"]
        if not (isinstance(st, int) and not isinstance(st, bool) and 100 <= st <= 599):
            # A non-HTTP status ("ok", 1) stays out of the field the analysis reads as an HTTP code.
            attrs["status_text"] = attrs.pop("status")


def normalise_http(obj: dict[str, Any], attrs: dict[str, Any]) -> None:
    """Lift HTTP fields (top level or under `http`/`request`) into the contract's attr names."""
    http = obj.get("http")
    nested = http if isinstance(http, dict) else None
    if obj:
        _http_scope(obj, attrs, _http_plan(obj))
    if nested:
        _http_scope(nested, attrs, _http_plan(nested))
    _status_text(attrs)


# Present keys for timestamp, level, message, error, service; has "logger"; the top-level HTTP plan
# (None when it has nothing to do); has "http".
_LinePlan = tuple[
    tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], bool, _HttpPlan | None, bool
]


def _line_plan(obj: dict[str, Any]) -> _LinePlan:
    hp = _http_plan(obj)
    status_keys, has_method, path_keys, ms_keys, s_keys, bytes_keys = hp
    return (
        _present(TS_KEYS, obj), _present(LEVEL_KEYS, obj), _present(MSG_KEYS, obj), _present(_ERROR_KEYS, obj),
        _present(SERVICE_KEYS, obj), "logger" in obj,
        hp if obj and (status_keys or has_method or path_keys or ms_keys or s_keys or bytes_keys) else None,
        "http" in obj,
    )


def _is_log_line(obj: dict[str, Any]) -> bool:
    return any(k in obj for k in TS_KEYS) or any(k in obj for k in MSG_KEYS)


def _long_log_line(head: str) -> bool:
    """One log line longer than the sniff window: accepted on a leading timestamp key."""
    return _LONG_LINE.match(head.lstrip()) is not None


class JsonLinesLogReader(common.JsonLinesFormatReader, name="log.jsonl", is_record=_is_log_line,
                         long_first_line=_long_log_line):
    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        file_service, id_prefix = common.log_origin(rel, ctx)
        tz, year = ctx.default_tz, ctx.year_hint
        LOG = EvidenceKind.LOG
        plans: dict[tuple[str, ...], _LinePlan] = {}
        for item in common.iter_json_lines(path, rel, ctx, not_object="JSON line is not an object"):
            if isinstance(item, Malformed):
                yield item
                continue
            lineno, obj = item
            sig = tuple(obj)
            plan = plans.get(sig)
            if plan is None:
                plan = _line_plan(obj)
                if len(plans) >= _PLANS_MAX:
                    plans.clear()
                plans[sig] = plan
            ts_keys, level_keys, msg_keys, error_keys, service_keys, has_logger, http_plan, has_http = plan
            # Each helper takes the field it reads out of attrs, so attrs keeps only what is left.
            attrs = dict(obj)
            parsed = _take_ts(obj, attrs, ts_keys, tz, year)
            level = _take_level(obj, attrs, level_keys)
            text = _take_text(obj, attrs, msg_keys, error_keys)
            service = _service(obj, service_keys, file_service)
            _lift_attrs(obj, attrs, has_logger, http_plan, has_http)
            ts, assumed = parsed or common.UNDATED
            n = str(lineno)
            yield common.make(LOG, id_prefix + n, rel, "line " + n, ts=ts, assumed=assumed,
                              service=service, level=level, text=text, attrs=attrs)


# One helper per field of a line. Each loop is _first(obj, KEYS) over the keys the line plan found
# present: the first key with a value decides, even when that value does not parse.
def _take_ts(obj: dict[str, Any], attrs: dict[str, Any], keys: tuple[str, ...], tz: tzinfo,
             year: int | None) -> tuple[datetime, bool] | None:
    for k in keys:
        v = obj[k]
        if v is not None and v != "":
            parsed = parse_ts(v, tz, year)
            if parsed is not None:
                del attrs[k]
            return parsed
    return None


def _take_level(obj: dict[str, Any], attrs: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for k in keys:
        v = obj[k]
        if v is not None and v != "":
            level = common.norm_level(v)
            if level is not None:
                del attrs[k]
            return level
    return None


def _take_text(obj: dict[str, Any], attrs: dict[str, Any], msg_keys: tuple[str, ...],
               error_keys: tuple[str, ...]) -> str:
    """The message (a line without a text one is shown whole, as clipped JSON), with the line's
    error appended unless the message already says it."""
    text = None
    for k in msg_keys:
        v = obj[k]
        if v is not None and v != "":
            if isinstance(v, str):
                text = v
                del attrs[k]
            break
    if text is None:
        text = json.dumps(obj, ensure_ascii=False, default=str)[:2000]
    for k in error_keys:
        v = obj[k]
        if v is not None and v != "":
            if isinstance(v, (str, dict)):
                err = v if isinstance(v, str) else json.dumps(v, default=str)
                if err not in text:
                    text = f"{text} | {k}: {err[:4000]}"
            break
    return text


def _service(obj: dict[str, Any], keys: tuple[str, ...], file_service: str | None) -> str | None:
    for k in keys:
        v = obj[k]
        if v is not None and v != "":
            if isinstance(v, str) and v:
                return v
            break
    return file_service


def _lift_attrs(obj: dict[str, Any], attrs: dict[str, Any], has_logger: bool, http_plan: _HttpPlan | None,
                has_http: bool) -> None:
    """The logger and HTTP fields under the contract's attr names, and the format tag."""
    if not has_logger:
        lg = obj.get("logger_name") or obj.get("name")
        if isinstance(lg, str):
            attrs["logger"] = lg
    if http_plan is not None:
        _http_scope(obj, attrs, http_plan)
    if has_http:
        nested = obj["http"]
        if nested and isinstance(nested, dict):
            _http_scope(nested, attrs, _http_plan(nested))
    st = attrs.get("status", _ABSENT)
    if st is not _ABSENT and not (type(st) is int and 100 <= st <= 599):
        _status_text(attrs)
    attrs["format"] = "jsonl"


READER = JsonLinesLogReader()
