"""Timestamp layouts of plain-text logs: one table row per layout.

Each `Layout` is a compiled regex that matches a timestamp where it starts (plus, for a few rows,
a level word the layout puts before it), using named groups a single decoder understands:

    Y four-digit year   y two-digit year   M month number   b month name   d day
    H hour   m minute   S second   f fraction digits   p AM/PM   z zone (Z, +hh:mm, +hhmm, UTC, PST, ...)
    E epoch digits (the row's `epoch_scale` says seconds/ms/us/ns)   L level word or letter
    P syslog PRI number

Adding a layout = one row in LAYOUTS + one line in tests/unit/test_timeformats.py.

`decode` turns a match into `Stamp` fields; `Decoder` turns those into aware UTC datetimes for one
file (a cache for dated layouts, a YearRoller for yearless ones). Zone words map through
tools.timeparse.TZINFOS (its documented readings of ambiguous abbreviations); a naive time takes
the dump's default zone and is marked assumed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import NamedTuple

from tools.timeparse import TZINFOS, MONTHS
from tools.yearless import YearRoller

UTC = timezone.utc

# --- regex fragments ----------------------------------------------------------------------------
_H = r"(?P<H>[01]\d|2[0-3])"
_H12 = r"(?P<H>1[0-2]|0?\d)"
_MI = r"(?P<m>[0-5]\d)"
_S = r"(?P<S>[0-5]\d)"
_F = r"(?:[.,](?P<f>\d{1,9}))?"
_HMS = _H + ":" + _MI + ":" + _S + _F
_MON = r"(?P<b>(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))"
_WDAY = r"(?i:mon|tue|wed|thu|fri|sat|sun)"
_M2 = r"(?P<M>0[1-9]|1[0-2])"
_D2 = r"(?P<d>0[1-9]|[12]\d|3[01])"
_Y4 = r"(?P<Y>(?:19|20|21)\d\d)"
_ZONE_WORDS = "|".join(sorted((z for z in TZINFOS if len(z) > 1), key=len, reverse=True))
_OFFSET = r"[+-](?:[01]\d|2[0-3]):?[0-5]\d|[+-](?:[01]\d|2[0-3])(?![\d:])"
# A zone after the time: Z glued on, or an offset / zone word after an optional space.
_ZONE = r"(?:(?P<z>Z|z)(?![\w])|\s?(?P<zz>" + _OFFSET + r"|(?:" + _ZONE_WORDS + r")(?![\w])))?"
_END = r"(?![\d:])"  # a timestamp never runs into more digits (keeps 10-digit epochs honest)
_LEVEL_WORD = r"(?P<L>TRACE|DEBUG|INFO|NOTICE|WARNING|WARN|ERROR|CRITICAL|FATAL)"


@dataclass(frozen=True)
class Layout:
    """One timestamp layout. `family` groups rows for the benchmark and for reader choices."""

    name: str
    family: str
    regex: re.Pattern[str]
    has_year: bool = True
    has_date: bool = True
    has_zone: bool = False  # the layout can state its zone (an offset, a zone word, or UTC by definition)
    epoch_scale: int = 0  # E digits per second: 1 (s), 1_000 (ms), 1_000_000 (us), 10**9 (ns)
    always_utc: bool = False  # epochs: UTC by definition


def _row(name: str, family: str, pattern: str, **kw: object) -> Layout:
    return Layout(name, family, re.compile(pattern), **kw)  # type: ignore[arg-type]


_EPOCH_FRAC = r"(?:\.\d{1,9})?"
LAYOUTS: tuple[Layout, ...] = (
    # ISO 8601 / RFC 3339: T or space, , or . fraction, Z / offset / zone word / none, in brackets.
    _row("iso8601", "iso", r"\[?" + _Y4 + "-" + _M2 + "-" + _D2 + r"[T ]" + _H + ":" + _MI
         + r"(?::" + _S + _F + ")?" + _ZONE + r"\]?" + _END, has_zone=True),
    # Airflow task logs: [2025-03-03, 17:09:55 UTC]
    _row("airflow", "iso", r"\[" + _Y4 + "-" + _M2 + "-" + _D2 + ", " + _HMS + _ZONE + r"\]", has_zone=True),
    # RFC 5424 syslog: <34>1 2024-04-25T14:03:07.123Z
    _row("rfc5424", "syslog", r"<(?P<P>\d{1,3})>1 " + _Y4 + "-" + _M2 + "-" + _D2 + "T" + _HMS + _ZONE, has_zone=True),
    # RFC 3164 syslog: <34>Apr 25 14:03:07 (PRI optional, as in /var/log files)
    _row("rfc3164", "syslog", r"(?:<(?P<P>\d{1,3})>)?" + _MON + r" {1,2}(?P<d>[12]\d|3[01]|0?[1-9]) " + _HMS + _END,
         has_year=False),
    # ctime / Apache error: [Sun Dec 04 04:47:44 2005], `date`: Sun Dec  4 04:47:44 UTC 2005
    _row("ctime", "apache", r"\[?" + _WDAY + " " + _MON + r" {1,2}(?P<d>[12]\d|3[01]|0?[1-9]) " + _HMS
         + r"(?: (?P<zz>" + _ZONE_WORDS + "))? " + _Y4 + r"\]?", has_zone=True),
    # Apache/nginx access: [10/Oct/2000:13:55:36 -0700]
    _row("clf", "access", r"\[?" + _D2 + "/" + _MON + "/" + _Y4 + ":" + _HMS + r"(?: (?P<zz>[+-]\d{4}))?\]?",
         has_zone=True),
    # nginx error log and Go's log package: 2024/01/02 03:04:05
    _row("ymd_slash", "nginx", _Y4 + "/" + _M2 + "/" + _D2 + " " + _HMS + _ZONE + _END, has_zone=True),
    # log4j / Spark: 17/06/09 20:10:40
    _row("yy_slash", "java", r"(?P<y>\d\d)/" + _M2 + "/" + _D2 + " " + _HMS + _END),
    # Tomcat / Java: 04-Dec-2005 04:47:44.123
    _row("dmy_mon", "java", _D2 + "-" + _MON + "-" + _Y4 + "[ :]" + _HMS + _ZONE + _END, has_zone=True),
    # java.util.logging: Dec 4, 2005 4:47:44 AM
    _row("jul", "java", _MON + r" (?P<d>[12]\d|3[01]|0?[1-9]), " + _Y4 + " " + _H12 + ":" + _MI + ":" + _S
         + r" (?P<p>AM|PM|am|pm)"),
    # RFC 2822 / HTTP dates: Sun, 04 Dec 2005 04:47:44 GMT
    _row("rfc2822", "mail", r"(?:" + _WDAY + r", )?(?P<d>[12]\d|3[01]|0?[1-9]) " + _MON + " " + _Y4 + " " + _HMS
         + _ZONE, has_zone=True),
    # German / European dotted: 04.12.2005 04:47:44
    _row("dmy_dot", "european", _D2 + r"\." + _M2 + r"\." + _Y4 + " " + _HMS + _END),
    # HDFS / MySQL 5: 081109 203615
    _row("yymmdd_hhmmss", "hadoop", r"(?P<y>\d\d)" + _M2 + _D2 + " " + _H + _MI + _S + r"(?!\d)"),
    # HealthApp: 20171223-22:15:29:606 (fields not always zero-padded)
    _row("ymd_dash_colon_ms", "mobile", _Y4 + _M2 + _D2 + r"-(?P<H>[01]?\d|2[0-3]):(?P<m>[0-5]?\d):(?P<S>[0-5]?\d)"
         + r":(?P<f>\d{1,3})(?!\d)"),
    # BGL: 2005-06-03-15.42.50.675872
    _row("bgl", "hpc", _Y4 + "-" + _M2 + "-" + _D2 + "-" + _H + r"\." + _MI + r"\." + _S + r"\.(?P<f>\d{6})"),
    # glog / klog: I0425 14:03:07.123456 (level letter, no year)
    _row("glog", "glog", r"(?P<L>[IWEF])" + _M2 + _D2 + " " + _HMS + _END, has_year=False),
    # glog since 0.7 with the year: I20240425 14:03:07.123456
    _row("glog_year", "glog", r"(?P<L>[IWEF])" + _Y4 + _M2 + _D2 + " " + _HMS + _END),
    # vLLM and other Python loggers: INFO 12-31 23:02:11
    _row("level_mmdd", "level_mmdd", _LEVEL_WORD + " " + _M2 + "-" + _D2 + " " + _HMS + _END, has_year=False),
    # Android logcat (threadtime/time): 03-17 16:13:38.811
    _row("logcat", "logcat", _M2 + "-" + _D2 + " " + _HMS + _END, has_year=False),
    # Proxifier: [10.30 16:49:06]
    _row("mmdd_dot_bracket", "proxifier", r"\[" + _M2 + r"\." + _D2 + " " + _HMS + r"\]", has_year=False),
    # Epoch as a field (2001..2286 for seconds: ten digits; the range check is in decode).
    _row("epoch_s", "epoch", r"\[?(?P<E>\d{10}" + _EPOCH_FRAC + r")\]?(?![\d.])", has_zone=True,
         epoch_scale=1, always_utc=True),
    _row("epoch_ms", "epoch", r"\[?(?P<E>\d{13})\]?(?![\d.])", has_zone=True, epoch_scale=1_000, always_utc=True),
    _row("epoch_us", "epoch", r"\[?(?P<E>\d{16})\]?(?![\d.])", has_zone=True, epoch_scale=1_000_000,
         always_utc=True),
    _row("epoch_ns", "epoch", r"\[?(?P<E>\d{19})\]?(?![\d.])", has_zone=True, epoch_scale=10**9, always_utc=True),
    # A time of day alone: splits records, but stays undated (no date is ever invented).
    _row("time_only", "time_only", r"\[?" + _HMS + r"\]?" + _END, has_year=False, has_date=False),
)

BY_NAME = {layout.name: layout for layout in LAYOUTS}

# Epochs outside these years are counters, ids or uptimes, not times.
EPOCH_MIN = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
EPOCH_MAX = datetime(2100, 1, 1, tzinfo=UTC).timestamp()


def leading_stamp(text: str) -> re.Match[str] | None:
    """The timestamp `text` starts with (any layout, a real time only), or None. For sniffing a
    few lines; the readers' per-line paths use one pre-compiled layout instead."""
    for layout in LAYOUTS:
        m = layout.regex.match(text)
        if m is not None and decode(layout, m) is not None:
            return m
    return None


class Stamp(NamedTuple):
    """The fields a match states. year None: yearless; month None: no date; epoch: UTC instant."""

    year: int | None
    month: int | None
    day: int
    hour: int
    minute: int
    second: int
    microsecond: int
    zone: tzinfo | None
    epoch: datetime | None


_ZONE_CACHE: dict[str, tzinfo | None] = {}


def zone_of(token: str) -> tzinfo | None:
    """A zone token (Z, +hh:mm, +hhmm, +hh, or a known abbreviation) as tzinfo; None if unknown."""
    hit = _ZONE_CACHE.get(token, _ZONE_CACHE)
    if hit is not _ZONE_CACHE:
        return hit  # type: ignore[return-value]
    tz: tzinfo | None
    if token in ("Z", "z"):
        tz = UTC
    elif token[:1] in ("+", "-"):
        digits = token[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        tz = UTC if not delta else timezone(-delta if token[0] == "-" else delta)
    else:
        tz = TZINFOS.get(token.upper())
    if len(_ZONE_CACHE) < 1024:  # bounded: the token set is small, hostile input must not grow it
        _ZONE_CACHE[token] = tz
    return tz


def _micro(frac: str | None) -> int:
    return int((frac + "00000")[:6]) if frac else 0


def _year(g: dict[str, str | None]) -> int | None:
    if g.get("Y"):
        return int(g["Y"])  # type: ignore[arg-type]
    y2 = g.get("y")
    if y2:
        # Two-digit years (log4j yy, HDFS yyMMdd): POSIX strptime's %y pivot, 69-99 -> 1900s.
        n = int(y2)
        return 1900 + n if n >= 69 else 2000 + n
    return None


def _month(g: dict[str, str | None]) -> int | None:
    if g.get("M"):
        return int(g["M"])  # type: ignore[arg-type]
    name = g.get("b")
    return MONTHS.get(name.lower()) if name else None


def _hour(g: dict[str, str | None]) -> int:
    hour = int(g["H"])  # type: ignore[arg-type]
    ampm = g.get("p")
    if ampm:
        pm = ampm.lower() == "pm"
        hour = (hour % 12) + (12 if pm else 0)
    return hour


def decode(layout: Layout, m: re.Match[str]) -> Stamp | None:
    """The fields of one match, or None when they are not a real time (month 13, epoch 1970)."""
    g = m.groupdict()
    if layout.epoch_scale:
        return _decode_epoch(layout, g["E"] or "")
    zone = None
    tok = g.get("z") or g.get("zz")
    if tok:
        zone = zone_of(tok)
        if zone is None:
            return None  # an unknown zone word: refuse rather than guess
    month = _month(g)
    if layout.has_date and month is None:
        return None
    day = int(g["d"]) if g.get("d") else 1
    return Stamp(_year(g), month, day, _hour(g), int(g["m"]), int(g["S"] or 0), _micro(g.get("f")), zone, None)  # type: ignore[arg-type]


def _decode_epoch(layout: Layout, digits: str) -> Stamp | None:
    try:
        value = float(digits) / layout.epoch_scale
    except ValueError:
        return None
    if not EPOCH_MIN <= value < EPOCH_MAX:
        return None
    dt = datetime.fromtimestamp(value, tz=UTC)
    return Stamp(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond, UTC, dt)


def sort_key(st: Stamp) -> float:
    """A number that grows with time within one layout (used to judge monotonicity while sniffing)."""
    if st.epoch is not None:
        return st.epoch.timestamp()
    days = (st.year or 0) * 372 + (st.month or 0) * 31 + st.day
    return days * 86400.0 + st.hour * 3600 + st.minute * 60 + st.second + st.microsecond / 1e6


class Decoder:
    """Turns matches of one layout into (UTC datetime | None, assumed) for one file, in file order.

    Dated layouts cache the whole-second result per timestamp text (big logs repeat each second
    many times); yearless ones go through one YearRoller per file; time-only ones give None."""

    def __init__(self, layout: Layout, default_tz: tzinfo, roller: YearRoller | None,
                 regex: re.Pattern[str] | None = None) -> None:
        """`regex`: the pattern the matches come from when it is not the layout's own (a reader
        may wrap it, e.g. to skip leading fields); its group T, if any, is the timestamp text."""
        self.layout = layout
        self.default_tz = default_tz
        self.roller = roller
        self._cache: dict[str, tuple[datetime, bool] | None] = {}
        groups = (regex or layout.regex).groupindex
        self._frac = groups.get("f")
        self._text = groups.get("T", 0)
        # The previous result of a yearless (or epoch) layout and its text: the same stamp placed
        # again right after its own placement (no other placement in between, by any decoder
        # sharing the roller) gets the same time and leaves the roller as it was, so it is reused.
        self._prev_text: str | None = None
        self._prev: tuple[datetime | None, bool] = (None, False)
        self._prev_placed = -1

    def __call__(self, m: re.Match[str]) -> tuple[datetime | None, bool]:
        """(UTC time or None, assumed). Raises ValueError for a match that is not a real time."""
        layout = self.layout
        if layout.has_year and not layout.epoch_scale:
            return self._dated(m)
        text = m.group(self._text)
        placed = self.roller.placed if self.roller is not None else 0
        if text == self._prev_text and placed == self._prev_placed:
            return self._prev
        out = self._undated(m)
        self._prev_text, self._prev = text, out
        self._prev_placed = self.roller.placed if self.roller is not None else 0
        return out

    def _undated(self, m: re.Match[str]) -> tuple[datetime | None, bool]:
        layout = self.layout
        st = decode(layout, m)
        if st is None:
            raise ValueError("not a real time")
        if st.epoch is not None:
            return st.epoch, False
        if st.month is None:
            return None, False  # a time of day alone: never dated
        if self.roller is None:
            raise ValueError("yearless time without a year roller")
        return self.roller.place(st.month, st.day, st.hour, st.minute, st.second, st.microsecond,
                                 st.zone if st.zone is not None else self.default_tz)

    def _dated(self, m: re.Match[str]) -> tuple[datetime | None, bool]:
        ti = self._text
        key = m.group(ti)
        us = 0
        fi = self._frac
        if fi is not None:
            a, b = m.span(fi)
            if a >= 0:
                off = m.start(ti)
                frac = key[a - off:b - off]
                us = int((frac + "00000")[:6])
                key = key[:a - off] + key[b - off:]
        hit = self._cache.get(key, _ABSENT)
        if hit is _ABSENT:
            hit = self._whole_second(m)
            if len(self._cache) >= 8192:
                self._cache.clear()  # logs are time-ordered: clearing keeps the hit rate high
            self._cache[key] = hit
        if hit is None:
            raise ValueError("not a real time")
        dt, assumed = hit  # type: ignore[misc]
        return (dt.replace(microsecond=us) if us else dt), assumed

    def _whole_second(self, m: re.Match[str]) -> tuple[datetime, bool] | None:
        st = decode(self.layout, m)
        if st is None or st.year is None or st.month is None:
            return None
        try:
            wall = datetime(st.year, st.month, st.day, st.hour, st.minute, st.second)
        except ValueError:
            return None
        zone, assumed = (st.zone, False) if st.zone is not None else (self.default_tz, True)
        if zone is UTC:
            return wall.replace(tzinfo=UTC), assumed
        return wall.replace(tzinfo=zone).astimezone(UTC), assumed


_ABSENT: object = object()
