"""JSON Lines application logs (one JSON object per line)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import ReadContext
from tools.readers.common import (
    first_line_unterminated,
    id_part,
    iter_json_lines,
    json_lines_objects,
    make,
    norm_level,
    service_from_name,
)
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


def _as_float(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def normalise_http(obj: dict[str, Any], attrs: dict[str, Any]) -> None:
    """Lift HTTP fields (top level or under `http`/`request`) into the contract's attr names."""
    src = obj
    nested = obj.get("http") if isinstance(obj.get("http"), dict) else None
    for scope in (src, nested):
        if not scope:
            continue
        cur = attrs.get("status")
        if not (type(cur) is int and 100 <= cur <= 599):
            _, v = _first(scope, _STATUS_KEYS)
            iv = _as_int(v)
            if iv is not None and 100 <= iv <= 599:
                attrs["status"] = iv
        if "method" not in attrs and isinstance(scope.get("method"), str):
            attrs["method"] = scope["method"]
        if "path" not in attrs:
            _, v = _first(scope, _PATH_KEYS)
            if isinstance(v, str):
                attrs["path"] = v
        if "latency_ms" not in attrs or _as_float(attrs.get("latency_ms")) is None:
            _, v = _first(scope, _LATENCY_MS_KEYS)
            f = _as_float(v)
            if f is None:
                _, v = _first(scope, _LATENCY_S_KEYS)
                f = _as_float(v)
                f = None if f is None else f * 1000.0
            if f is not None:
                attrs["latency_ms"] = f
        if "bytes" not in attrs or _as_int(attrs.get("bytes")) is None:
            _, v = _first(scope, _BYTES_KEYS)
            iv = _as_int(v)
            if iv is not None:
                attrs["bytes"] = iv
    st = attrs.get("status")
    if "status" in attrs and not (isinstance(st, int) and not isinstance(st, bool) and 100 <= st <= 599):
        # A non-HTTP status ("ok", 1) stays out of the field the analysis reads as an HTTP code.
        attrs["status_text"] = attrs.pop("status")


class JsonLinesLogReader:
    name = "log.jsonl"
    needs_year = False
    splittable = True  # one record per line (plus continuations): big files are read in slices

    def sniff(self, path: Path, head: str) -> bool:
        objs = json_lines_objects(head)
        if not objs:
            # One log line longer than the sniff window: accept on a leading timestamp key.
            return first_line_unterminated(head) and _LONG_LINE.match(head.lstrip()) is not None
        hits = sum(
            1 for o in objs
            if any(k in o for k in TS_KEYS) or any(k in o for k in MSG_KEYS)
        )
        return hits * 2 >= len(objs)

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        file_service = service_from_name(rel, ctx.services)
        rid = id_part(rel)
        tz, year = ctx.default_tz, ctx.year_hint
        for item in iter_json_lines(path, rel, ctx):
            if isinstance(item, Malformed):
                yield item
                continue
            lineno, obj = item
            if not isinstance(obj, dict):
                yield Malformed(source=rel, locator=f"line {lineno}", reason="JSON line is not an object")
                continue
            attrs = dict(obj)
            tk, tv = _first(obj, TS_KEYS)
            parsed = parse_ts(tv, tz, year) if tk else None
            if tk and parsed is not None:
                del attrs[tk]
            lk, lv = _first(obj, LEVEL_KEYS)
            level = norm_level(lv)
            if lk and level is not None:
                del attrs[lk]
            mk, mv = _first(obj, MSG_KEYS)
            if mk is not None and isinstance(mv, str):
                text = mv
                del attrs[mk]
            else:
                text = json.dumps(obj, ensure_ascii=False, default=str)[:2000]
            ek, evv = _first(obj, _ERROR_KEYS)
            if ek is not None and isinstance(evv, (str, dict)):
                err = evv if isinstance(evv, str) else json.dumps(evv, default=str)
                if err not in text:
                    text = f"{text} | {ek}: {err[:4000]}"
            _, sv = _first(obj, SERVICE_KEYS)
            service = sv if isinstance(sv, str) and sv else file_service
            if "logger" not in attrs:
                lg = obj.get("logger_name") or obj.get("name")
                if isinstance(lg, str):
                    attrs["logger"] = lg
            normalise_http(obj, attrs)
            attrs["format"] = "jsonl"
            yield make(
                EvidenceKind.LOG, f"log:{rid}:{lineno}", rel, f"line {lineno}",
                ts=parsed[0] if parsed else None, assumed=parsed[1] if parsed else False,
                service=service, level=level, text=text, attrs=attrs,
            )


READER = JsonLinesLogReader()
