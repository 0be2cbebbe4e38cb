"""Field discovery for structured records nobody enumerated (generic JSON, CSV/TSV rows).

A file of objects is inspected once, from a sample of its first records, to decide which field
holds the time, the message, the level and the service. The decision is made by name *and* by
value: a `time` field holding 0.0004 (a request duration) is not a timestamp, a `summary` field
that is always null is not a message. Fields are addressed by a path of at most two keys, so
`metadata.creationTimestamp` or `jsonPayload.message` are found as well as top-level keys.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any

import orjson

from tools.readers.common import norm_level
from tools.readers.logs_jsonl import normalise_http
from tools.timeparse import from_epoch, parse_ts

Path_ = tuple[str, ...]

# Earliest and latest instant accepted as a real event time. Epoch numbers are judged by
# magnitude (s / ms / µs / ns); anything that lands outside these years is a duration, a counter or
# an id, never an invented date.
MIN_YEAR = 1990
MAX_YEAR = 2100

# Names are compared normalised (lower case, without `_`, `-`, `@`, `.`), so `createdAt`,
# `created_at` and `CreatedAt` are one name. Earlier names win ties.
TIME_NAMES = (
    "timestamp", "time", "ts", "eventtime", "occurredat", "createdat", "creationtimestamp",
    "starttimeunixnano", "timeunixnano", "observedtimeunixnano", "starttime", "receivetimestamp",
    "datetime", "date", "loggedat", "receivedat", "firsttimestamp", "lasttimestamp", "eventtimestamp",
    "startedat", "triggeredat", "publishedat", "updatedat", "modifiedat", "finishedat", "endedat",
    "endtime", "completedat", "resolvedat", "t",
)
MESSAGE_NAMES = (
    "message", "msg", "textpayload", "text", "body", "log", "event", "summary", "title", "subject",
    "description", "content", "detail", "details", "reason", "note", "comment", "statusmessage",
)
LEVEL_NAMES = ("level", "severity", "lvl", "levelname", "loglevel", "severitytext", "loglevelname", "status")
# `status` is a level in some exports (Datadog's log lists: info/warn/error) but an HTTP code in
# others: as a level it counts only when it holds a level word, never a number.
_WORD_ONLY_LEVELS = frozenset(("status",))
SERVICE_NAMES = (
    "service", "servicename", "app", "application", "component", "appname", "job", "container",
    "containername",
)
# Names that are not on the lists but still say "time": `finished_time`, `run_ts`, `deployedAt`.
_TIME_LIKE = re.compile(r"(?i)(time|timestamp|date|datetime)$|(_at|At)$|(^|_)ts$|timestamp")
_NORM = re.compile(r"[_\-@.\s]")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}$")
_NUMERIC = re.compile(r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$")

MAX_PATHS_PER_OBJECT = 200  # a sample object with thousands of keys is not inspected key by key
MAX_SERVICE_CHARS = 100


def norm_name(name: str) -> str:
    return _NORM.sub("", name).lower()


def _rank(names: tuple[str, ...]) -> dict[str, int]:
    return {n: i for i, n in enumerate(names)}


_TIME_RANK = _rank(TIME_NAMES)
_MESSAGE_RANK = _rank(MESSAGE_NAMES)
_LEVEL_RANK = _rank(LEVEL_NAMES)
_SERVICE_RANK = _rank(SERVICE_NAMES)


def get_path(obj: Any, path: Path_) -> Any:
    """The value at a path of one or two keys, or None."""
    cur = obj
    for key in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(key)
    return cur


def iter_paths(obj: dict[str, Any]) -> Iterator[Path_]:
    """Top-level keys and the keys of nested objects one level down (bounded)."""
    n = 0
    for k, v in obj.items():
        yield (k,)
        n += 1
        if isinstance(v, dict):
            for k2 in v:
                yield (k, k2)
                n += 1
                if n >= MAX_PATHS_PER_OBJECT:
                    return
        if n >= MAX_PATHS_PER_OBJECT:
            return


def plausible(dt: datetime) -> bool:
    return MIN_YEAR <= dt.year <= MAX_YEAR


def parse_time_value(
    value: Any, tz: tzinfo = timezone.utc, year_hint: int | None = None
) -> tuple[datetime, bool] | None:
    """A field value as (UTC time, assumed) when it is a plausible event time, else None.

    Numbers and numeric strings are epoch s/ms/µs/ns by magnitude; a bare date (no time of day)
    is not taken as a time, because midnight would be invented."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        dt = from_epoch(float(value))
        return (dt, False) if dt is not None and plausible(dt) else None
    if not isinstance(value, str):
        return None
    s = value.strip()
    if not s or len(s) > 64 or _DATE_ONLY.match(s):
        return None
    if _NUMERIC.match(s):
        try:
            dt = from_epoch(float(s))
        except ValueError:
            return None
        return (dt, False) if dt is not None and plausible(dt) else None
    parsed = parse_ts(s, tz, year_hint)
    return parsed if parsed is not None and plausible(parsed[0]) else None


@dataclass(frozen=True)
class FieldPlan:
    """Which field plays which role in every record of one file (None: no such field)."""

    time: Path_ | None = None
    message: Path_ | None = None
    level: Path_ | None = None
    service: Path_ | None = None

    def describe(self) -> dict[str, str]:
        """The chosen fields as `role -> dotted path`, for attrs and reports."""
        out: dict[str, str] = {}
        for role in ("time", "message", "level", "service"):
            path = getattr(self, role)
            if path is not None:
                out[role] = ".".join(path)
        return out


def _tier(path: Path_, ranks: dict[str, int], time_like: bool) -> tuple[int, int] | None:
    """(0 known name | 1 time-like name, rank) for the last key of a path, None if unsuitable."""
    name = norm_name(path[-1])
    if name in ranks:
        return 0, ranks[name]
    if time_like and _TIME_LIKE.search(path[-1]):
        return 1, 0
    return None


def _choose(
    sample: list[dict[str, Any]], ranks: dict[str, int], accept: Callable[[str, Any], bool],
    time_like: bool = False,
) -> Path_ | None:
    """The best path for one role: values accepted in most of the sample, a known name before a
    merely time-like one, top level before nested, earlier names before later ones."""
    counts: dict[Path_, int] = {}
    present: dict[Path_, int] = {}
    for obj in sample:
        for path in iter_paths(obj):
            if _tier(path, ranks, time_like) is None:
                continue
            present[path] = present.get(path, 0) + 1
            if accept(path[-1], get_path(obj, path)):
                counts[path] = counts.get(path, 0) + 1
    best: tuple[Any, ...] | None = None
    chosen: Path_ | None = None
    n = len(sample)
    for path, hits in counts.items():
        if hits * 2 < present[path]:
            continue  # the field exists but mostly holds something else
        tier = _tier(path, ranks, time_like) or (9, 0)
        key = (hits * 2 < n, tier[0], len(path), tier[1], -hits)
        if best is None or key < best:
            best, chosen = key, path
    return chosen


def _is_message(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def _message_field(_name: str, v: Any) -> bool:
    return _is_message(v)


def _level_field(name: str, v: Any) -> bool:
    if isinstance(v, (dict, list)) or (not isinstance(v, str) and norm_name(name) in _WORD_ONLY_LEVELS):
        return False
    return norm_level(v) is not None


def _service_field(_name: str, v: Any) -> bool:
    return _is_service(v)


def _is_service(v: Any) -> bool:
    return isinstance(v, str) and 0 < len(v.strip()) <= MAX_SERVICE_CHARS


def discover(
    sample: Iterable[dict[str, Any]], tz: tzinfo = timezone.utc, year_hint: int | None = None
) -> FieldPlan:
    """Decide the field of each role from a sample of a file's records."""
    objs = [o for o in sample if isinstance(o, dict)]
    if not objs:
        return FieldPlan()
    return FieldPlan(
        time=_choose(objs, _TIME_RANK, lambda _n, v: parse_time_value(v, tz, year_hint) is not None, True),
        message=_choose(objs, _MESSAGE_RANK, _message_field),
        level=_choose(objs, _LEVEL_RANK, _level_field),
        service=_choose(objs, _SERVICE_RANK, _service_field),
    )


# --- record shaping: bounded text and attrs, shared by the generic JSON and CSV readers ---------
MAX_ATTRS_BYTES = 16_000  # an object up to this size is kept whole in attrs
MAX_VALUE_BYTES = 2_000  # past the above, each bigger value is cut to this (and named in `truncated`)
MAX_ATTR_KEYS = 200
MAX_KV_CHARS = 600  # the `key=value` rendering that stands in for a missing message
MAX_KV_VALUE = 120
MAX_MESSAGE_CHARS = 8_000


def dumps(value: Any) -> str:
    """Compact JSON of any parsed value; never raises (ints past 64 bits, odd types go via json)."""
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def _kv_value(v: Any) -> str:
    t = type(v)
    if t is str:
        s = v
    elif t is float and v.is_integer() and abs(v) < 1e15:
        s = str(int(v))  # CSV numbers are floats; `count=3` reads better than `count=3.0`
    elif t is int or t is float:
        s = repr(v)
    else:
        s = dumps(v)
    return s if len(s) <= MAX_KV_VALUE else s[: MAX_KV_VALUE - 1] + "…"


_EMPTY = (None, "", [], {})


def render_kv(obj: dict[str, Any], skip: Iterable[Path_] = (), limit: int = MAX_KV_CHARS) -> str:
    """`key=value` pairs of an object's fields (nested objects one level as `a.b=`), bounded."""
    skipped = skip if isinstance(skip, frozenset) else frozenset(skip)
    parts: list[str] = []
    used = 0
    for k, v in obj.items():
        if v in _EMPTY or (k,) in skipped:
            continue
        pairs = ([(f"{k}.{k2}", v2) for k2, v2 in v.items() if v2 not in _EMPTY and (k, k2) not in skipped]
                 if type(v) is dict else ((k, v),))
        for name, val in pairs:
            part = f"{name}={_kv_value(val)}"
            used += len(part) + 1
            if used > limit + 1:
                parts.append("…")
                return " ".join(parts)
            parts.append(part)
    return " ".join(parts)


def bounded_attrs(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of an object fit to store: whole when small; else big values cut to a clipped JSON
    string and listed under `attrs_truncated`, and keys past MAX_ATTR_KEYS dropped (counted)."""
    whole = dumps(obj)
    if len(whole) <= MAX_ATTRS_BYTES and len(obj) <= MAX_ATTR_KEYS:
        return dict(obj)
    out: dict[str, Any] = {}
    cut: list[str] = []
    for i, (k, v) in enumerate(obj.items()):
        if i >= MAX_ATTR_KEYS:
            out["attrs_keys_dropped"] = len(obj) - MAX_ATTR_KEYS
            break
        s = v if isinstance(v, str) else dumps(v)
        if len(s) > MAX_VALUE_BYTES:
            out[k] = s[: MAX_VALUE_BYTES - 1] + "…"
            cut.append(k)
        else:
            out[k] = v
    if cut:
        out["attrs_truncated"] = cut
    return out


def clip_message(s: str) -> str:
    return s if len(s) <= MAX_MESSAGE_CHARS else s[: MAX_MESSAGE_CHARS - 1] + "…"


@dataclass
class Shaped:
    """One object turned into the parts of an Evidence record."""

    ts: tuple[datetime, bool] | None
    level: str | None
    service: str | None
    text: str
    attrs: dict[str, Any]


def shape(
    obj: dict[str, Any], plan: FieldPlan, fmt: str, file_service: str | None,
    tz: tzinfo = timezone.utc, year_hint: int | None = None,
) -> Shaped:
    """Text, time, level, service and bounded attrs of one record, by the file's field plan.

    The text is the message when there is one (followed by the other fields, short, so a search
    for a field value finds the record), else the compact `key=value` rendering."""
    ts = parse_time_value(get_path(obj, plan.time), tz, year_hint) if plan.time else None
    lv = get_path(obj, plan.level) if plan.level else None
    level = norm_level(lv) if plan.level and _level_field(plan.level[-1], lv) else None
    service = file_service
    if plan.service:
        sv = get_path(obj, plan.service)
        if _is_service(sv):
            service = sv.strip()
    msg = get_path(obj, plan.message) if plan.message else None
    attrs = bounded_attrs(obj)
    if _is_message(msg):
        rest = render_kv(obj, _skips(plan), limit=MAX_KV_CHARS // 2)
        text = clip_message(msg) + (f" | {rest}" if rest else "")
        if plan.message is not None and len(plan.message) == 1 and len(msg) <= MAX_MESSAGE_CHARS:
            attrs.pop(plan.message[0], None)  # kept whole in the text
    else:
        text = render_kv(obj, [plan.time] if ts is not None and plan.time else []) or dumps(obj)[:MAX_KV_CHARS]
    normalise_http(obj, attrs)  # status / method / path / latency_ms under the contract's names
    attrs["format"] = fmt
    note = fields_note(plan)
    if note:
        attrs["fields"] = note
    return Shaped(ts, level, service, text, attrs)


@functools.lru_cache(maxsize=256)
def _skips(plan: FieldPlan) -> frozenset[Path_]:
    """Fields a record's text already shows another way (its time, its message)."""
    return frozenset(p for p in (plan.time, plan.message) if p is not None)


@functools.lru_cache(maxsize=256)
def fields_note(plan: FieldPlan) -> str:
    """`time=a.b message=c ...`: the plan as one short string (the same for every record)."""
    return " ".join(f"{k}={v}" for k, v in plan.describe().items())
