"""Syslog: RFC 5424 (dated, structured) and RFC 3164/BSD (no year, read after the dated sources)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from tools.models import Evidence
from tools.readers import common
from tools.readers.base import ReadContext
from tools.timeparse import MONTHS, parse_ts
from tools.yearless import GRACE, YearRoller

# <34>1 2024-04-25T14:03:07.123Z host app 1234 ID47 [sd@1 k="v"] message
RFC5424 = re.compile(
    r"<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+) ?(.*)"
)
# <34>Apr 25 14:03:07 host app[1234]: message   (PRI optional, as in /var/log files)
RFC3164 = re.compile(
    r"(?:<(\d{1,3})>)?([A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}) (\S+) ([^\s:\[]+)(?:\[(\d+)\])?: ?(.*)"
)
# The same stamp and host with a content of any shape: RFC 3164 leaves the TAG free (BSD daemons
# write `name[pid] (detail):`, `--- last message repeated 2 times ---`, bare text), so a line with a
# valid header still gets its time; the program is taken only where a `name[pid]` leads the content.
RFC3164_LOOSE = re.compile(r"(?:<(\d{1,3})>)?([A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}) (\S+)(?: (.*))?$")
_TAG_PID = re.compile(r"([^\s:\[\]()]+)\[(\d+)\]")
_SD_PARAM = re.compile(r'(\S+?)="((?:[^"\\]|\\.)*)"')


def pri_level(pri: str | None) -> str | None:
    """Syslog severity (PRI mod 8) as a normalised level."""
    if pri is None:
        return None
    sev = int(pri) % 8
    if sev <= 2:
        return "critical"
    return _SEVERITY.get(sev, "debug")


_SEVERITY = {3: "error", 4: "warning", 5: "info", 6: "info"}


def _nil(v: str) -> str | None:
    return None if v == "-" else v


class Syslog5424Reader(common.LineFormatReader, name="log.syslog5424", what="RFC 5424 syslog line", pattern=RFC5424):
    def line_parser(self, rel: str, ctx: ReadContext) -> common.LineParser:
        record, tz, match = common.line_record(rel, ctx), ctx.default_tz, RFC5424.match

        def parse(line: str, lineno: int) -> Evidence | None:
            m = match(line)
            if not m:
                return None
            pri, ts_s, host, app, procid, msgid, sd, msg = m.groups()
            attrs: dict[str, object] = {"format": "syslog", "host": _nil(host), "pid": _nil(procid),
                                        "msgid": _nil(msgid)}
            if sd != "-":
                attrs["structured_data"] = dict(_SD_PARAM.findall(sd))
            when = parse_ts(ts_s, tz) if ts_s != "-" else None
            return record(lineno, when, _nil(app), pri_level(pri), msg.lstrip("\ufeff"), attrs)

        return parse


class Syslog3164Reader(common.LineFormatReader, name="log.syslog3164", what="RFC 3164 syslog line", pattern=RFC3164,
                       needs_year=True):
    def line_parser(self, rel: str, ctx: ReadContext) -> common.LineParser:
        record, place, match = common.line_record(rel, ctx), _Placer(ctx), RFC3164.match

        def parse(line: str, lineno: int) -> Evidence | None:
            m = match(line)
            fields = m.groups() if m else _loose_fields(line)
            if fields is None:
                return None
            pri, ts_s, host, app, pid, msg = fields
            # Always assumed: the year is placed, never read (an impossible date stays undated).
            return record(lineno, (place(ts_s), True), app, pri_level(pri), msg,
                          {"format": "syslog", "host": host, "pid": pid})

        return parse


def _loose_fields(line: str) -> tuple[str | None, str, str, str | None, str | None, str] | None:
    """PRI, stamp, host, program, pid and content of a line whose header is RFC 3164 but whose
    content does not open with `tag[pid]:`; the content is kept whole, as written."""
    m = RFC3164_LOOSE.match(line)
    if not m:
        return None
    pri, ts_s, host, msg = m.groups()
    msg = msg or ""
    tag = _TAG_PID.match(msg)
    return pri, ts_s, host, tag.group(1) if tag else None, tag.group(2) if tag else None, msg


def roller_for(ctx: ReadContext) -> YearRoller:
    """The year roller of one file (or slice). Without an anchor but with a year hint (a caller
    that knows only the year), the anchor is the end of that year, less the roller's grace so
    that 1 January stays in the hinted year."""
    anchor = ctx.year_anchor
    if anchor is None and ctx.year_hint is not None:
        anchor = datetime(ctx.year_hint + 1, 1, 1, tzinfo=timezone.utc) - GRACE
    return YearRoller(anchor)


class _Placer:
    """UTC time of an "Apr 25 14:03:07" stamp: the year from tools/yearless.py (nearest to, and not
    after, the dump's newest dated evidence; a Dec -> Jan step in the file turns the year).

    A second repeats on many lines, so placements are memoised by their text; the memo is cleared
    whenever the year turns, so a text met again a year later is placed anew."""

    def __init__(self, ctx: ReadContext) -> None:
        self.tz = ctx.default_tz
        self.roller = roller_for(ctx)
        self.memo: dict[str, datetime | None] = {}
        self.year: int | None = None

    def __call__(self, ts_s: str) -> datetime | None:
        memo = self.memo
        if ts_s in memo:
            return memo[ts_s]
        ts = self._place(ts_s)
        if ts is not None:
            if self.year is not None and ts.year != self.year or len(memo) >= 8192:
                memo.clear()
            self.year = ts.year
        memo[ts_s] = ts
        return ts

    def _place(self, ts_s: str) -> datetime | None:
        month = MONTHS.get(ts_s[:3].lower())
        if month is None:
            return None
        try:
            h, mi, sec = int(ts_s[7:9]), int(ts_s[10:12]), int(ts_s[13:15])
            return self.roller.place(month, int(ts_s[4:6]), h, mi, sec, 0, self.tz)[0]
        except ValueError:  # "Feb 30", "25:00:00": no such time in any year; the line stays undated
            return None


RFC5424_READER = Syslog5424Reader()
RFC3164_READER = Syslog3164Reader()
