"""The readers' fast paths pinned against the general code they shortcut.

Each fast path (timestamp caches, the zone-less ISO line pattern, the klog second cache, key plans
for JSON lines, the bare JSON scanner) must give exactly what the slow route gives, value, type and
tzinfo included, for every input: these tests compare the two on tricky and on random inputs.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil import tz as dateutil_tz  # type: ignore[import-untyped]

from tools import timeparse
from tools.models import Evidence, Malformed
from tools.readers import logs_jsonl, logs_klog, logs_logfmt, logs_text
from tools.readers.base import ReadContext
from tools.readers.common import _LEVELS, as_float, iter_json_lines, make, norm_level, service_from_name
from tools.timeparse import UTC, parse_ts, second_safe

LA = ZoneInfo("America/Los_Angeles")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # a 30-minute DST shift
ZONES: list[tzinfo] = [
    UTC, LA, LORD_HOWE, ZoneInfo("Asia/Kolkata"), timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-7)), timezone(timedelta(seconds=30)), timezone(timedelta(microseconds=250)),
    dateutil_tz.gettz("America/New_York"), dateutil_tz.tzutc(),
]


def general(value: str, default_tz: tzinfo = UTC, year_hint: int | None = None) -> tuple[datetime, bool] | None:
    """parse_ts for a string as it was before the fast paths: the regex chain alone."""
    s = str(value).strip()
    if not s or len(s) > 64:
        return None
    try:
        return timeparse._parse_str(s, default_tz, year_hint)
    except (ValueError, OverflowError):
        return None


def typed(r: tuple[datetime, bool] | None) -> Any:
    if r is None:
        return None
    dt, assumed = r
    return type(dt), dt.isoformat(), dt.tzinfo, dt.fold, type(assumed), assumed


TRICKY = [
    # ISO-8601 with every fraction length, both separators and many zone spellings
    *(f"2024-10-08T12:00:00.{'123456789'[:k]}Z" for k in range(1, 10)),
    *(f"2024-10-08 12:00:00,{'987654321'[:k]}" for k in range(1, 10)),
    "2024-10-08T12:00:00Z", "2024-10-08T12:00:00z", "2024-10-08T12:00:00.5z", "2024-10-08T12:00:00",
    "2024-10-08T12:00:00.000Z", "2024-10-08T12:00:00.000000000Z", "2024-10-08T12:00:00.999999999Z",
    "2024-10-08T12:00:00+05:30", "2024-10-08T12:00:00.25+0530", "2024-10-08T12:00:00,25-07:00",
    "2024-10-08T12:00:00+05", "2024-10-08T12:00:00 +01:00", "2024-10-08T12:00:00\t-0800",
    "2024-10-08 12:00:00 PDT", "2024-10-08 12:00:00.1 CEST", "2024-10-08 12:00:00 XYZ", "2024-10-08 12:00:00 pdt",
    "2024-10-08T12:00:00+99:99", "2024-10-08T12:00:00+23:59", "2024-10-08T12:00:00-00:00", "2024-10-08T12:00:00+053",
    "2024-10-08T12:00:00.", "2024-10-08T12:00:00.Z", "2024-10-08T12:00:00.12a", "2024-10-08t12:00:00Z",
    "2024-10-08T12:00Z", "2024-10-08T12:00:00.12٣Z", "٢٠٢٤-10-08T12:00:00.5Z", "2024-10-08T12:00:00.5\u00a0Z",
    "  2024-10-08T12:00:00.5Z  ",
    # impossible dates and times: the general path refuses them, so must the cache
    "2024-02-30T12:00:00.5Z", "2023-02-29 01:00:00,123", "2024-02-29 01:00:00,123", "2024-13-01T00:00:00Z",
    "2024-00-10T00:00:00Z", "2024-10-08T24:00:00.1Z", "2024-10-08T23:60:00Z", "2024-12-31T23:59:60Z",
    "2024-12-31T23:59:60.5Z", "0001-01-01T00:00:00.5+01:00", "9999-12-31T23:59:59.999999-01:00",
    "0001-01-01T00:30:00.5", "9999-12-31T23:59:59.5",
    # local times in DST gaps and folds (naive: the default zone applies)
    "2024-03-10 02:30:00,500", "2024-11-03 01:30:00,500", "2024-11-03T01:59:59.999999", "2024-04-07 01:45:00,1",
    "2024-10-06 02:15:00.75",
    # Apache / nginx
    "08/Oct/2024:12:00:00 +0000", "08/Oct/2024:12:00:00 -0700", "08/oct/2024:12:00:00 +0530",
    "08/Oct/2024:12:00:00", "08/Oct/2024:12:00:00+0000", "08/Xyz/2024:12:00:00 +0000", "30/Feb/2024:12:00:00 +0000",
    "08/Oct/2024:24:00:00 +0000", "08/Oct/2024:12:00:60 +0000", "08/Oct/2024:12:00:00 +9999",
    "01/Jan/0001:00:00:00 +0100", "08/Oct/2024:12:00:00 +00:00", "08/Oct/2024:12:00:00 x",
    # other shapes take the general path untouched
    "1714053600", "1714053600.5", "E0425 14:03:07.123456", "Apr 25 14:03:07", "Thu, 25 Apr 2024 14:03:07 GMT",
    "", "   ", "x" * 70,
]


@pytest.mark.filterwarnings("ignore::dateutil.parser.UnknownTimezoneWarning")
@pytest.mark.parametrize("tz", ZONES, ids=lambda z: str(z))
def test_parse_ts_fast_paths_match_the_general_path(tz: tzinfo) -> None:
    for _ in range(2):  # the second round is served from the caches
        for s in TRICKY:
            for year in (None, 2024):
                assert typed(parse_ts(s, tz, year)) == typed(general(s, tz, year)), (s, tz, year)


def test_cached_seconds_with_different_fractions() -> None:
    for tz in (UTC, LA, timezone(timedelta(hours=5, minutes=30))):
        for k in range(10):
            for sep in ".,":
                frac = "".join(str((i * 7 + k) % 10) for i in range(k))
                s = f"2024-11-03 01:30:00{sep}{frac}" if k else "2024-11-03 01:30:00"
                assert typed(parse_ts(s, tz)) == typed(general(s, tz)), (s, tz)


def test_invalid_and_unknown_stay_refused() -> None:
    assert parse_ts("2024-02-30T12:00:00.5Z") is None
    assert parse_ts("2024-12-31T23:59:60Z") is None  # no leap seconds in datetime: refused as before
    assert parse_ts("2024-10-08 12:00:00 XYZ") is None  # an unknown zone word is never guessed
    assert parse_ts("30/Feb/2024:12:00:00 +0000") is None
    dt, assumed = parse_ts("2024-10-08 12:00:00,5", LA)  # type: ignore[misc]
    assert dt == datetime(2024, 10, 8, 19, 0, 0, 500000, tzinfo=UTC) and assumed is True and dt.tzinfo is UTC
    dt, assumed = parse_ts("08/Oct/2024:12:00:00 -0700")  # type: ignore[misc]
    assert dt == datetime(2024, 10, 8, 19, tzinfo=UTC) and assumed is False


@pytest.mark.filterwarnings("ignore::dateutil.parser.UnknownTimezoneWarning")
def test_parse_ts_random_against_general_path() -> None:
    rnd = random.Random(7)
    heads = [
        f"{y}-{mo}-{d}{sep}{h}:{mi}:{s}"
        for y, mo, d, sep, h, mi, s in (
            (rnd.choice(["2024", "2023", "0001", "9999"]), rnd.choice(["02", "03", "10", "11", "13"]),
             rnd.choice(["01", "03", "10", "29", "30", "31"]), rnd.choice("T "), rnd.choice(["00", "01", "02", "23", "24"]),
             rnd.choice(["00", "30", "59", "60"]), rnd.choice(["00", "59", "60"]))
            for _ in range(150)
        )
    ]
    tails = ["", "Z", "z", "+05:30", "-0700", " PDT", " XYZ", "+14:00", "+24:00"]
    for _ in range(6000):
        s = rnd.choice(heads)
        if rnd.random() < 0.8:
            s += rnd.choice(".,") + "".join(rnd.choice("0123456789") for _ in range(rnd.randint(0, 10)))
        s += rnd.choice(tails)
        tz = rnd.choice(ZONES)
        assert typed(parse_ts(s, tz)) == typed(general(s, tz)), (s, tz)


def test_caches_stay_bounded() -> None:
    for i in range(timeparse._CACHE_MAX + 50):
        parse_ts(f"2024-10-08T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z")
        parse_ts(f"{i % 28 + 1:02d}/Oct/2024:{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d} +0000")
    assert len(timeparse._ISO_CACHE) <= timeparse._CACHE_MAX
    assert len(timeparse._CLF_CACHE) <= timeparse._CACHE_MAX
    assert len(timeparse._FRAC) <= timeparse._CACHE_MAX


def test_second_safe_only_for_zones_the_caches_handle() -> None:
    assert second_safe(UTC) and second_safe(LA) and second_safe(timezone(timedelta(hours=5, minutes=30)))
    assert not second_safe(timezone(timedelta(microseconds=250)))
    assert not second_safe(dateutil_tz.gettz("America/New_York"))  # type: ignore[arg-type]


# --- ISO text lines: the pattern without the zone group ------------------------------------------


def iso_groups(line: str) -> Any:
    m = logs_text._ISO_NO_ZONE.match(line)
    if not m:
        return None
    if not logs_text._zone_impossible(line, m.end(1)):
        m = logs_text.ISO_LINE.match(line)
        assert m is not None
    return m.groups()


def test_iso_line_without_zone_group_matches_iso_line() -> None:
    rnd = random.Random(11)
    pieces = [
        " ", "  ", "\t", "\u00a0", "Z", "z", "+0000", "-07:00", "+5", "UTC", "utc", "UT", "Ut", "PDT", "pdt", "CEST",
        "WEST", "west", "WARN", "WARNING", "INFO", "info", "IST", "ERROR", "ERR", "EST", "EEST", "[", "]", "[api]",
        "[x/y.z-w]", ":", "ſ", "K", "ı", "k", "s", "AKST", "msg", "x", "1", "é", "-", "+", "GMT0", "DEBUG", "hkt",
    ]
    stamps = ["2024-10-08 12:00:00,000", "2024-10-08T12:00:00.5", "2024-10-08 12:00", "2024-10-08t12:00:00",
              "[2024-10-08T12:00:00Z]", "2024-10-08T12:00:00.", "٢٠٢٤-10-08 12:00:00"]
    for _ in range(20000):
        line = rnd.choice(stamps) + "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 6)))
        m = logs_text.ISO_LINE.match(line)
        assert iso_groups(line) == (m.groups() if m else None), line


# --- klog: the per-second cache ------------------------------------------------------------------


def read_all(reader: Any, path: Path, **ctx_kw: Any) -> list[Evidence | Malformed]:
    return list(reader.read(path, path.name, ReadContext(root=path.parent, **ctx_kw)))


@pytest.mark.parametrize("tz", [UTC, LA, LORD_HOWE, timezone(timedelta(microseconds=250)),
                                dateutil_tz.gettz("Europe/Berlin")], ids=str)
def test_klog_cached_seconds_match_direct_construction(tmp_path: Path, tz: tzinfo) -> None:
    rnd = random.Random(3)
    lines, expected = [], []
    # In calendar order: the reader now turns the year when the dates go backwards (tools/yearless.py),
    # so only a file that stays in one year can be checked against a fixed year here.
    days = sorted(rnd.choice([(3, 10), (11, 3), (4, 7), (10, 6), (2, 29), (2, 30), (13, 1), (12, 31)]) for _ in range(3000))
    for i in range(3000):
        mo, d = days[i]
        h, mi, s = rnd.choice([0, 1, 2, 3, 23, 24]), rnd.choice([0, 30, 59]), rnd.choice([0, 59, 60])
        frac = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(0, 9)))
        stamp = f"{mo:02d}{d:02d} {h:02d}:{mi:02d}:{s:02d}" + (f".{frac}" if frac else "")
        lines.append(f"I{stamp}    42 main.go:{i}] m{i}")
        try:
            us = int((frac or "0").ljust(6, "0")[:6])
            want: datetime | None = datetime(2024, mo, d, h, mi, s, us).replace(tzinfo=tz).astimezone(UTC)
        except ValueError:
            want = None
        expected.append(want)
    p = tmp_path / "k.log"
    p.write_text("\n".join(lines) + "\n")
    got = {
        int(e.attrs["caller"].split(":")[1]): e.ts
        for e in read_all(logs_klog.READER, p, year_hint=2024, default_tz=tz) if isinstance(e, Evidence)
    }
    for i, want in enumerate(expected):
        if want is None:
            assert i not in got  # an impossible date is not a klog record, as before
        else:
            ts = got[i]
            assert ts == want and ts is not None and ts.tzinfo is UTC and ts.fold == want.fold, lines[i]


# --- JSON lines and logfmt: key plans ------------------------------------------------------------


def reference_normalise_http(obj: dict[str, Any], attrs: dict[str, Any]) -> None:
    """normalise_http as written before key plans: every alias probed on every call."""
    first, as_int = logs_jsonl._first, logs_jsonl._as_int
    nested = obj.get("http") if isinstance(obj.get("http"), dict) else None
    for scope in (obj, nested):
        if not scope:
            continue
        cur = attrs.get("status")
        if not (type(cur) is int and 100 <= cur <= 599):
            _, v = first(scope, logs_jsonl._STATUS_KEYS)
            iv = as_int(v)
            if iv is not None and 100 <= iv <= 599:
                attrs["status"] = iv
        if "method" not in attrs and isinstance(scope.get("method"), str):
            attrs["method"] = scope["method"]
        if "path" not in attrs:
            _, v = first(scope, logs_jsonl._PATH_KEYS)
            if isinstance(v, str):
                attrs["path"] = v
        if "latency_ms" not in attrs or as_float(attrs.get("latency_ms")) is None:
            _, v = first(scope, logs_jsonl._LATENCY_MS_KEYS)
            f = as_float(v)
            if f is None:
                _, v = first(scope, logs_jsonl._LATENCY_S_KEYS)
                f = as_float(v)
                f = None if f is None else f * 1000.0
            if f is not None:
                attrs["latency_ms"] = f
        if "bytes" not in attrs or as_int(attrs.get("bytes")) is None:
            _, v = first(scope, logs_jsonl._BYTES_KEYS)
            iv = as_int(v)
            if iv is not None:
                attrs["bytes"] = iv
    st = attrs.get("status")
    if "status" in attrs and not (isinstance(st, int) and not isinstance(st, bool) and 100 <= st <= 599):
        attrs["status_text"] = attrs.pop("status")


def reference_jsonl(obj: dict[str, Any], file_service: str | None) -> dict[str, Any]:
    """One JSON log line as the reader built it before key plans."""
    first = logs_jsonl._first
    attrs = dict(obj)
    tk, tv = first(obj, logs_jsonl.TS_KEYS)
    parsed = parse_ts(tv, UTC, None) if tk else None
    if tk and parsed is not None:
        del attrs[tk]
    lk, lv = first(obj, logs_jsonl.LEVEL_KEYS)
    level = norm_level(lv)
    if lk and level is not None:
        del attrs[lk]
    mk, mv = first(obj, logs_jsonl.MSG_KEYS)
    if mk is not None and isinstance(mv, str):
        text = mv
        del attrs[mk]
    else:
        text = json.dumps(obj, ensure_ascii=False, default=str)[:2000]
    ek, evv = first(obj, logs_jsonl._ERROR_KEYS)
    if ek is not None and isinstance(evv, (str, dict)):
        err = evv if isinstance(evv, str) else json.dumps(evv, default=str)
        if err not in text:
            text = f"{text} | {ek}: {err[:4000]}"
    _, sv = first(obj, logs_jsonl.SERVICE_KEYS)
    service = sv if isinstance(sv, str) and sv else file_service
    if "logger" not in attrs:
        lg = obj.get("logger_name") or obj.get("name")
        if isinstance(lg, str):
            attrs["logger"] = lg
    reference_normalise_http(obj, attrs)
    attrs["format"] = "jsonl"
    return {"ts": typed(parsed), "level": level, "text": text, "service": service, "attrs": canon(attrs)}


def canon(v: Any) -> Any:
    """Values with their types and dict key order, so 1 / 1.0 / True and reorderings differ."""
    if isinstance(v, dict):
        return ("dict", tuple((k, canon(x)) for k, x in v.items()))
    if isinstance(v, list):
        return ("list", tuple(canon(x) for x in v))
    return (type(v).__name__, repr(v))


def random_object(rnd: random.Random) -> dict[str, Any]:
    values: list[Any] = [None, "", 0, 1, True, False, 3.5, "x", [1], {"a": 1}, "503", "2.5", 200, 404.0, "ok", -1,
                         "1_000", " 12 ", "nan", 1500.0]
    keys = [*logs_jsonl.TS_KEYS, *logs_jsonl.LEVEL_KEYS, *logs_jsonl.MSG_KEYS, *logs_jsonl._ERROR_KEYS,
            *logs_jsonl.SERVICE_KEYS, *logs_jsonl._STATUS_KEYS, *logs_jsonl._LATENCY_MS_KEYS,
            *logs_jsonl._LATENCY_S_KEYS, *logs_jsonl._PATH_KEYS, *logs_jsonl._BYTES_KEYS,
            "method", "logger", "logger_name", "name", "format", "status_text", "other"]
    obj: dict[str, Any] = {}
    for k in rnd.sample(keys, rnd.randint(0, 9)):
        if k in logs_jsonl.TS_KEYS:
            obj[k] = rnd.choice(["2024-10-08T12:00:00.5Z", "08/Oct/2024:12:00:00 +0000", 1714053600123, "bad", None, ""])
        elif k in logs_jsonl.LEVEL_KEYS:
            obj[k] = rnd.choice(["INFO", "warn", " Error ", "bogus", 30, 60, 5, None, "", True])
        elif k in logs_jsonl.MSG_KEYS:
            obj[k] = rnd.choice(["hello", "", None, 5, {"m": 1}, "boom here"])
        else:
            obj[k] = rnd.choice(values)
    if rnd.random() < 0.3:
        obj["http"] = rnd.choice([{"status_code": rnd.choice(values), "method": "GET", "url": "/h",
                                   "latency_ms": rnd.choice(values), "size": rnd.choice(values)},
                                  {}, "not a dict", {"request_time": "0.3"}])
    return obj


def test_normalise_http_matches_reference() -> None:
    rnd = random.Random(5)
    for _ in range(5000):
        obj = random_object(rnd)
        a, b = dict(obj), dict(obj)
        logs_jsonl.normalise_http(obj, a)
        reference_normalise_http(obj, b)
        assert canon(a) == canon(b), obj
        # logfmt hands attrs in as its own scope; the reference read a copy
        c, d = dict(obj), dict(obj)
        logs_jsonl.normalise_http(c, c)
        reference_normalise_http(dict(d), d)
        assert canon(c) == canon(d), obj


def test_jsonl_reader_matches_reference(tmp_path: Path) -> None:
    rnd = random.Random(9)
    objs = [random_object(rnd) for _ in range(3000)]
    # a few layouts repeated many times, as real logs are: plans are reused
    objs += [dict(objs[rnd.randrange(50)]) for _ in range(3000)]
    p = tmp_path / "app.jsonl"
    p.write_text("".join(json.dumps(o) + "\n" for o in objs))
    evs = [e for e in read_all(logs_jsonl.READER, p) if isinstance(e, Evidence)]
    assert len(evs) == len(objs)
    file_service = service_from_name(p.name, [])
    for ev, obj in zip(evs, objs):
        got = {"ts": typed((ev.ts, ev.ts_assumed)) if ev.ts else None, "level": ev.level, "text": ev.text,
               "service": ev.service, "attrs": canon(ev.attrs)}
        assert got == reference_jsonl(obj, file_service), obj


def test_logfmt_reader_matches_copying_scope(tmp_path: Path) -> None:
    lines = [
        'ts=2024-10-08T12:00:00.5Z level=info msg="ok" status=503 latency_ms=abc request_time=0.25 size=12',
        "time=bad ts=2024-10-08T12:00:01Z lvl=warn status=ok duration_ms=7 bytes=x body_bytes_sent=9 url=/u",
        "t=08/Oct/2024:12:00:00 severity=E message=m http=x status_code=200 path=/p method=GET",
    ]
    p = tmp_path / "app.logfmt"
    p.write_text("\n".join(lines) + "\n")
    evs = [e for e in read_all(logs_logfmt.READER, p) if isinstance(e, Evidence)]
    assert len(evs) == 3
    for ev, line in zip(evs, lines):
        attrs = logs_logfmt.parse_pairs(line)
        for k in logs_jsonl.TS_KEYS:
            if k in attrs and parse_ts(attrs[k]) is not None:
                del attrs[k]
                break
        for keys in (logs_jsonl.LEVEL_KEYS, logs_jsonl.MSG_KEYS):
            for k in keys:
                if k in attrs:
                    attrs.pop(k)
                    break
        reference_normalise_http(dict(attrs), attrs)
        attrs["format"] = "logfmt"
        assert canon(ev.attrs) == canon(attrs), line


# --- shared helpers ------------------------------------------------------------------------------


def test_iter_json_lines_scanner_matches_json_loads(tmp_path: Path) -> None:
    lines = ['{"a": 1}', '{"a": 1}   ', '  {"a": 2}', "[1, 2]", "5", '"s"', "null", "NaN", '{"a": Infinity}',
             '{"a": 1} x', '{"a": 1', "garbage", '{"big": 123456789012345678901234567890}', '{"a": "\\ud800"}',
             '{"a": 1}{"b": 2}', '{"a":1.5e400}', '{"dup": 1, "dup": 2}']
    p = tmp_path / "x.jsonl"
    p.write_text("\n".join(lines) + "\n")
    got = list(iter_json_lines(p, "x.jsonl", ReadContext(root=tmp_path)))
    assert len(got) == len(lines)
    for item, line in zip(got, lines):
        try:
            want: Any = json.loads(line)
        except ValueError as exc:
            assert isinstance(item, Malformed) and item.reason == f"invalid JSON: {exc}"[:200], line
        else:
            assert isinstance(item, tuple) and repr(item[1]) == repr(want) and type(item[1]) is type(want), line


def test_norm_level_memo_matches_table() -> None:
    for _ in range(2):
        for raw in [*_LEVELS, "WARN", " Error ", "E", "bogus", "", "INFO\n", "x" * 40]:
            assert norm_level(raw) == _LEVELS.get(raw.strip().lower()), raw


def test_make_builds_a_complete_model() -> None:
    from tools.models import EvidenceKind

    ev = make(EvidenceKind.LOG, "log:a:1", "a", "line 1", text="t", attrs={"k": 1})
    again = Evidence.model_validate(ev.model_dump())
    assert again == ev and ev.model_fields_set == set(Evidence.model_fields)
    ev.text = "changed"  # assignment still works on the slots set by hand
    assert ev.text == "changed" and ev.flags == [] and make(EvidenceKind.LOG, "x", "a", "b").flags is not ev.flags
