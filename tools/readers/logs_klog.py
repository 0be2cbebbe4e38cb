"""klog/glog lines (Kubernetes components, many Go services): "E0425 14:03:07.123456  1 file.go:42] msg".

The format has no year, so this reader runs after the dated sources; tools/yearless.py places each
time in the year nearest to, and not after, ctx.year_anchor (a Dec -> Jan step turns the year).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from typing import Any

from tools.models import Evidence
from tools.readers import common
from tools.readers.base import ReadContext
from tools.readers.logs_syslog import roller_for
from tools.timeparse import second_safe
from tools.yearless import YearRoller

KLOG = re.compile(
    r"([IWEF])(\d{2})(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s+(\d+)\s+([^\s:\]]+):(\d+)\] ?(.*)"
)
_LEVEL = {"I": "info", "W": "warning", "E": "error", "F": "critical"}


class KlogReader(common.LineFormatReader, name="log.klog", what="klog line", pattern=KLOG, needs_year=True):
    def line_parser(self, rel: str, ctx: ReadContext) -> common.LineParser:
        record, tz, match, roller = common.line_record(rel, ctx), ctx.default_tz, KLOG.match, roller_for(ctx)
        # Base (whole-second) UTC time per "MMDD HH:MM:SS" text, None for an impossible date. Only
        # for zones whose offset ignores microseconds; others are converted line by line. The
        # memo is emptied when the year turns, so a text met again a year on is placed anew.
        seconds: dict[str, datetime | None] | None = {} if second_safe(tz) else None
        year = [0]

        def place(mo: str, d: str, h: str, mi: str, s: str, us: int) -> datetime | None:
            ts = _utc(roller, mo, d, h, mi, s, us, tz)
            if ts is not None and ts.year != year[0]:
                if seconds is not None and year[0]:
                    seconds.clear()
                year[0] = ts.year
            return ts

        def parse(line: str, lineno: int) -> Evidence | None:
            m = match(line)
            if not m:
                return None
            sev, mo, d, h, mi, s, frac, thread, src, src_line, msg = m.groups()
            if seconds is not None:
                key = line[1:14]  # "MMDD HH:MM:SS": fixed width in the pattern
                base = seconds.get(key, _ABSENT)
                if base is _ABSENT:
                    base = place(mo, d, h, mi, s, 0)
                    if len(seconds) >= 8192:
                        seconds.clear()
                    seconds[key] = base
                if base is None:
                    return None
                delta = _FRACS.get(frac, _ABSENT)
                if delta is _ABSENT:
                    delta = _micros(frac)
                ts = base + delta if delta is not None else base
            else:
                ts = place(mo, d, h, mi, s, int((frac or "0").ljust(6, "0")[:6]))
                if ts is None:
                    return None
            return record(lineno, (ts, True), None, _LEVEL[sev], msg,
                          {"format": "klog", "thread": int(thread), "caller": f"{src}:{src_line}"})

        return parse


_ABSENT: Any = object()


def _utc(roller: YearRoller, mo: str, d: str, h: str, mi: str, s: str, us: int, tz: tzinfo) -> datetime | None:
    try:
        return roller.place(int(mo), int(d), int(h), int(mi), int(s), us, tz)[0]
    except ValueError:  # a date or time no year has: the line is not a klog record
        return None


def _micros(frac: str | None) -> timedelta | None:
    """The fraction as a timedelta (None for zero). Adding it to a whole-second UTC time equals
    .replace(microsecond=...), only cheaper; memoised since fractions repeat."""
    us = int((frac or "0").ljust(6, "0")[:6])
    delta = timedelta(microseconds=us) if us else None
    if len(_FRACS) < 8192:
        _FRACS[frac] = delta
    return delta


_FRACS: dict[str | None, timedelta | None] = {}


READER = KlogReader()
