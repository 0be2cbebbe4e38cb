"""Timestamp parsing for every format the readers meet, always to aware UTC.

`parse_ts` returns `(datetime_utc, assumed)` or None. `assumed` is True whenever we had to apply a
rule the source did not state: a zone for a naive timestamp (`default_tz`) or a year for a yearless
one (`year_hint`). Hand-written regexes cover the hot formats (ISO-8601, epoch, Apache, klog,
RFC 3164) because dateutil's generic parser costs ~50 µs per call, far too slow per log line;
dateutil remains the fallback for the long tail.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import parser as _dateparser

UTC = timezone.utc


def _fixed(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


# Zone abbreviations appear in hand-written notes and some syslog/daemon formats. They are
# ambiguous in general (IST, CST); we pick the reading most common in ops tooling and document it.
TZINFOS: dict[str, tzinfo] = {
    "UTC": UTC, "GMT": UTC, "Z": UTC, "UT": UTC,
    "EST": _fixed(-5), "EDT": _fixed(-4),
    "CST": _fixed(-6), "CDT": _fixed(-5),
    "MST": _fixed(-7), "MDT": _fixed(-6),
    "PST": _fixed(-8), "PDT": _fixed(-7),
    "AKST": _fixed(-9), "AKDT": _fixed(-8),
    "HST": _fixed(-10),
    "WET": UTC, "WEST": _fixed(1),
    "BST": _fixed(1), "IST": _fixed(5.5),
    "CET": _fixed(1), "CEST": _fixed(2),
    "EET": _fixed(2), "EEST": _fixed(3),
    "MSK": _fixed(3),
    "JST": _fixed(9), "KST": _fixed(9),
    "SGT": _fixed(8), "HKT": _fixed(8),
    "AEST": _fixed(10), "AEDT": _fixed(11),
    "NZST": _fixed(12), "NZDT": _fixed(13),
}

MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?|[A-Z]{2,5})?$"
)
_EPOCH = re.compile(r"-?\d+(?:\.\d+)?$")
# Apache/nginx: 25/Apr/2024:14:03:07 +0000
_CLF = re.compile(r"(\d{2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\s*([+-]\d{4}))?$")
# klog/glog: "E0425 14:03:07.123456" (level letter optional when the caller strips it)
_KLOG = re.compile(r"[IWEF]?(\d{2})(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$")
# RFC 3164: "Apr 25 14:03:07" / "Apr  5 14:03:07"
_BSD = re.compile(r"([A-Za-z]{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$")


def _frac_us(frac: str | None) -> int:
    if not frac:
        return 0
    return int((frac + "000000")[:6])


_OFFSET_CACHE: dict[str, tzinfo | None] = {}


def _offset(tok: str) -> tzinfo | None:
    """Cached: a log repeats the same few zone tokens millions of times."""
    if tok in _OFFSET_CACHE:
        return _OFFSET_CACHE[tok]
    tz = _offset_uncached(tok)
    if len(_OFFSET_CACHE) < 4096:  # bounded: hostile input must not grow it without limit
        _OFFSET_CACHE[tok] = tz
    return tz


def _offset_uncached(tok: str) -> tzinfo | None:
    """A zone token (Z, +hh:mm, +hhmm, +hh, or a known abbreviation) as tzinfo; None if unknown."""
    if tok in ("Z", "z"):
        return UTC
    if tok[0] in "+-":
        digits = tok[1:].replace(":", "")
        hours = int(digits[:2])
        minutes = int(digits[2:4]) if len(digits) >= 4 else 0
        delta = timedelta(hours=hours, minutes=minutes)
        if not delta:
            return UTC
        return timezone(-delta if tok[0] == "-" else delta)
    return TZINFOS.get(tok.upper())


def _finish(dt: datetime, tz: tzinfo | None, default_tz: tzinfo, assumed: bool) -> tuple[datetime, bool]:
    if tz is None:
        tz = default_tz
        assumed = True
    if tz is UTC:  # the common case: skip the conversion
        return dt.replace(tzinfo=UTC), assumed
    return dt.replace(tzinfo=tz).astimezone(UTC), assumed


def from_epoch(value: float) -> datetime | None:
    """Epoch seconds, ms, µs or ns (told apart by magnitude) as UTC; None if out of range."""
    if not math.isfinite(value):
        return None
    a = abs(value)
    # Cut-offs sit between plausible ranges: 1e11 s is year 5138, 1e11 ms is 1973.
    if a >= 1e17:
        value /= 1e9
    elif a >= 1e14:
        value /= 1e6
    elif a >= 1e11:
        value /= 1e3
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_ts(
    value: Any,
    default_tz: tzinfo = UTC,
    year_hint: int | None = None,
) -> tuple[datetime, bool] | None:
    """Parse one timestamp value to (aware UTC datetime, assumed) or None when it is not one."""
    if type(value) is str:
        s = value.strip()
        n = len(s)
        if not n or n > 64:
            return None
        # Fast paths for the shapes that fill big logs (see below); the rest takes the general path.
        # The dispatch stays inline (no helper call): it runs once per line of every big log.
        if default_tz is UTC or second_safe(default_tz):
            if n >= 19 and s[16] == ":":
                r = _iso_fast(s, default_tz)
            elif n >= 20 and s[2] == "/":
                r = _clf_fast(s, default_tz)
            else:
                r = _MISS
            if r is not _MISS:
                return r
        return _parse_general(s, default_tz, year_hint)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        dt = from_epoch(float(value))
        return None if dt is None else (dt, False)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=default_tz).astimezone(UTC), True
        return value.astimezone(UTC), False
    s = str(value).strip()
    if not s or len(s) > 64:
        return None
    return _parse_general(s, default_tz, year_hint)


def _parse_general(s: str, default_tz: tzinfo, year_hint: int | None) -> tuple[datetime, bool] | None:
    """The general path for stripped text of at most 64 characters; None when it is not a time."""
    try:
        return _parse_str(s, default_tz, year_hint)
    except (ValueError, OverflowError):
        return None


# --- fast paths -------------------------------------------------------------------------------
# A big log repeats each second many times. The caches hold the general path's result for the text
# without its fraction (keyed with the zone text and the default zone), and the fraction is added
# back. That is exact: the fraction (1+ ASCII digits, which _ISO's \d+ takes whole) does not change
# what matches, every offset here is whole seconds, and zoneinfo picks an offset ignoring
# microseconds; second_safe keeps other zones on the general path. A cached _MISS means "not this
# shape": the general path decides, uncached.
_MISS: Any = object()
_ABSENT: Any = object()
_CACHE_MAX = 8192  # logs are time-ordered, so clearing when full keeps the hit rate high
_ISO_CACHE: dict[tuple[str, str, tzinfo], Any] = {}
_CLF_CACHE: dict[tuple[str, tzinfo], Any] = {}
_SAFE_TZ: dict[tzinfo, bool] = {}
_DIGITS = "0123456789"
_SCALE = (0, 100000, 10000, 1000, 100, 10, 1)
_FRAC: dict[str, timedelta] = {}  # fraction digits (at most 6) -> that many microseconds


def second_safe(tz: tzinfo) -> bool:
    """True for zones whose offset is whole seconds and ignores microseconds (what the caches need)."""
    if type(tz) is ZoneInfo:
        return True
    if type(tz) is not timezone:
        return False  # arbitrary tzinfo: may be unhashable or offset by fractions of a second
    ok = _SAFE_TZ.get(tz)
    if ok is None:
        off = tz.utcoffset(None)
        ok = off is not None and off.microseconds == 0
        if len(_SAFE_TZ) < 64:
            _SAFE_TZ[tz] = ok
    return ok


def _clf_fast(s: str, default_tz: tzinfo) -> Any:
    """An Apache/nginx time (`s[2]` is "/"): the cached result of the general path, or _MISS."""
    key = (s, default_tz)
    r = _CLF_CACHE.get(key, _ABSENT)
    if r is _ABSENT:
        r = _match_once(_CLF, _from_clf, s, default_tz)
        if len(_CLF_CACHE) >= _CACHE_MAX:
            _CLF_CACHE.clear()
        _CLF_CACHE[key] = r
    return r


def _iso_fast(s: str, default_tz: tzinfo) -> Any:
    """An ISO-8601 time with seconds (`s[16]` is ":"): the cached result plus the fraction, or _MISS."""
    head = s[:19]
    rest = s[19:]
    delta = None
    if rest and (rest[0] == "." or rest[0] == ","):
        tail = rest
        rest = tail[1:].lstrip(_DIGITS)
        nd = len(tail) - 1 - len(rest)
        if not nd:
            return _MISS
        frac = tail[1:7] if nd >= 6 else tail[1:1 + nd]
        delta = _FRAC.get(frac)
        if delta is None:
            delta = timedelta(microseconds=int(frac) * _SCALE[len(frac)])
            if len(_FRAC) < _CACHE_MAX:
                _FRAC[frac] = delta
    key = (head, rest, default_tz)
    r = _ISO_CACHE.get(key, _ABSENT)
    if r is _ABSENT:
        r = _match_once(_ISO, _from_iso, head + rest, default_tz)
        if len(_ISO_CACHE) >= _CACHE_MAX:
            _ISO_CACHE.clear()
        _ISO_CACHE[key] = r
    if r is None or r is _MISS or not delta:
        return r
    # Adding under a second to a whole-second time is .replace(microsecond=...), only cheaper.
    return r[0] + delta, r[1]


def _match_once(pattern: re.Pattern[str], convert: Any, s: str, default_tz: tzinfo) -> Any:
    """_MISS when the shape does not match, None when it matches but is not a real time."""
    m = pattern.match(s)
    if m is None:
        return _MISS
    try:
        return convert(m, default_tz)
    except (ValueError, OverflowError):
        return None


# --- general path -----------------------------------------------------------------------------
def _from_iso(m: re.Match[str], default_tz: tzinfo) -> tuple[datetime, bool] | None:
    y, mo, d, h, mi, sec, frac, tok = m.groups()
    tz = None
    if tok:
        tz = _offset(tok)
        if tz is None:
            return None  # an unknown zone word: refuse rather than guess
    dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec or 0), _frac_us(frac))
    return _finish(dt, tz, default_tz, False)


def _from_clf(m: re.Match[str], default_tz: tzinfo) -> tuple[datetime, bool] | None:
    d, mon, y, h, mi, sec, off = m.groups()
    month = MONTHS.get(mon.lower())
    if month is None:
        return None
    dt = datetime(int(y), month, int(d), int(h), int(mi), int(sec))
    return _finish(dt, _offset(off) if off else None, default_tz, False)


def _parse_str(s: str, default_tz: tzinfo, year_hint: int | None) -> tuple[datetime, bool] | None:
    m = _ISO.match(s)
    if m:
        return _from_iso(m, default_tz)
    if _EPOCH.match(s):
        ep = from_epoch(float(s))
        return None if ep is None else (ep, False)
    m = _CLF.match(s)
    if m:
        return _from_clf(m, default_tz)
    m = _KLOG.match(s)
    if m:
        mo, d, h, mi, sec, frac = m.groups()
        return _yearless(int(mo), int(d), int(h), int(mi), int(sec), _frac_us(frac), default_tz, year_hint)
    m = _BSD.match(s)
    if m:
        mon, d, h, mi, sec, frac = m.groups()
        month = MONTHS.get(mon.lower())
        if month is None:
            return None
        return _yearless(month, int(d), int(h), int(mi), int(sec), _frac_us(frac), default_tz, year_hint)
    return _fallback(s, default_tz)


def _yearless(
    month: int, day: int, h: int, mi: int, sec: int, us: int, default_tz: tzinfo, year_hint: int | None
) -> tuple[datetime, bool] | None:
    # No year in the source and none inferred: there is nothing honest to return.
    if year_hint is None:
        return None
    dt = datetime(year_hint, month, day, h, mi, sec, us)
    return dt.replace(tzinfo=default_tz).astimezone(UTC), True


def _fallback(s: str, default_tz: tzinfo) -> tuple[datetime, bool] | None:
    # Require a 4-digit year so dateutil never fills one in from today's date.
    if not re.search(r"\d{4}", s) or not re.search(r"\d{1,2}:\d{2}", s):
        return None
    try:
        dt = _dateparser.parse(s, tzinfos=TZINFOS)
    except (ValueError, OverflowError, _dateparser.ParserError):
        return None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=default_tz).astimezone(UTC), True
    return dt.astimezone(UTC), False


def parse_zone(name: str) -> tzinfo | None:
    """A manifest `timezone` value (IANA name, abbreviation, UTC offset) as tzinfo; None if unknown."""
    s = str(name).strip()
    if not s:
        return None
    if s.upper() in TZINFOS:
        return TZINFOS[s.upper()]
    m = re.fullmatch(r"(?:UTC|GMT)?\s*([+-]\d{1,2})(?::?(\d{2}))?", s, re.IGNORECASE)
    if m:
        hours = int(m.group(1))
        minutes = int(m.group(2) or 0)
        if abs(hours) > 14 or minutes >= 60:
            return None
        delta = timedelta(hours=abs(hours), minutes=minutes)
        return timezone(-delta if hours < 0 or m.group(1).startswith("-") else delta)
    try:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        return ZoneInfo(s)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
