"""Markdown / plain-text notes: one record per paragraph or list item.

A record is dated only when its text starts with a timestamp: a full one ("2024-04-25 14:05 UTC"),
or a time of day ("14:05 UTC") whose date comes from a dated heading above it or, failing that,
from the manifest window (then `ts_assumed`). Anything else stays undated; we never guess a date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import ReadContext
from tools.readers.common import clip, id_part, iter_lines, make
from tools.timeformats import leading_stamp
from tools.timeparse import TZINFOS, UTC, parse_ts

NOTE_SUFFIXES = (".md", ".markdown", ".txt", ".rst", ".notes", ".mdown")
# Suffixes that say "text", not "notes": a program's output saved as `.txt` is decided by content.
_PLAIN_SUFFIXES = (".txt",)
_HEADER_FIELD = re.compile(r"[^a-z\s]+|\[[^\]\s]*\]")  # `INFO`, `-`, `[main]`: no lower-case word
_NOT_LOG_LEAD = re.compile(r"\s{0,3}(?:#|[-*+>|]\s|\d{1,3}[.)]\s)")  # headings, list items, quotes, tables
_HEADING = re.compile(r"#{1,6}\s+(.*?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"\s{0,3}(?:[-*+]|\d{1,3}[.)])\s+")
_FENCE = re.compile(r"\s{0,3}(```|~~~)")
_LEAD = re.compile(r"(?:\s{0,3}(?:[-*+]|\d{1,3}[.)])\s+)?[*_`\[(]*")
_FULL_TS = re.compile(
    r"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s?(?:Z|[+-]\d{2}:?\d{2}|[A-Z]{2,5}\b))?)"
)
_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s?(Z|UTC|GMT|[A-Z]{3,4}|[+-]\d{2}:?\d{2})\b)?")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
MAX_PARAGRAPH_CHARS = 8000


def _zone(tok: str | None, default_tz: tzinfo) -> tuple[tzinfo, bool] | None:
    """(zone, stated) for a time-of-day suffix; None when the word is not a zone we know."""
    if not tok:
        return default_tz, False
    if tok in ("Z", "z"):
        return UTC, True
    if tok[0] in "+-":
        digits = tok[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        return timezone(-delta if tok[0] == "-" else delta), True
    z = TZINFOS.get(tok.upper())
    return (z, True) if z is not None else None


def date_for_time(
    hh: int, mm: int, ss: int, zone: tzinfo, heading_date: date | None, ctx: ReadContext
) -> tuple[datetime, bool] | None:
    """Attach a date to a time of day: the heading's date, else the manifest window's."""
    if heading_date is not None:
        return datetime.combine(heading_date, datetime.min.time()).replace(
            hour=hh, minute=mm, second=ss, tzinfo=zone).astimezone(UTC), True
    if ctx.window_start is None:
        return None
    ws = ctx.window_start
    we = ctx.window_end or ws
    candidates: list[date] = []
    d = ws.astimezone(zone).date()
    while d <= we.astimezone(zone).date() and len(candidates) < 8:
        candidates.append(d)
        d += timedelta(days=1)
    best: datetime | None = None
    for c in candidates:
        dt = datetime(c.year, c.month, c.day, hh, mm, ss, tzinfo=zone).astimezone(UTC)
        best = best or dt
        if ws - timedelta(hours=1) <= dt <= we + timedelta(hours=1):
            return dt, True
    return (best, True) if best else None


def _log_line(line: str) -> bool:
    """A line that opens with a dated timestamp, at its start or after one or two header fields
    (`INFO 12-30 22:00:00`, `- 1117838570 ...`), and is not a Markdown heading or list item. A time
    of day alone does not count: notes write `14:05 paged`, and only this reader dates those."""
    if _NOT_LOG_LEAD.match(line):
        return False
    pos = 0
    for _ in range(3):
        m = leading_stamp(line[pos:pos + 64])
        if m is not None:
            return "d" in m.re.groupindex or "E" in m.re.groupindex  # a date, or an epoch
        nxt = line.find(" ", pos)
        if nxt < 0 or not _HEADER_FIELD.fullmatch(line, pos, nxt):
            return False  # prose ("the 2024-04-25 rollback ...") is not a log header
        pos = nxt + 1
    return False


def looks_like_log(head: str) -> bool:
    """Two thirds of the first lines (two at least) are timestamped log lines: a log saved as
    text, not notes."""
    lines = [ln for ln in head.splitlines()[:20] if ln.strip()]
    hits = sum(1 for ln in lines if _log_line(ln))
    return hits >= 2 and hits * 3 >= len(lines) * 2


class NotesReader:
    name = "note"
    needs_year = False

    def sniff(self, path: Path, head: str) -> bool:
        suffix = path.suffix.lower()
        if suffix in _PLAIN_SUFFIXES:
            return not looks_like_log(head)
        if suffix in NOTE_SUFFIXES:
            return True
        # Extension-less notes: Markdown headings and prose, no JSON.
        lines = [ln for ln in head.splitlines()[:40] if ln.strip()]
        if not lines or head.lstrip().startswith(("{", "[")):
            return False
        headings = sum(1 for ln in lines if _HEADING.match(ln))
        return headings >= 1 and lines[0].startswith("#")

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        rid = id_part(rel)
        heading: str | None = None
        heading_date: date | None = None
        block: list[str] = []
        start = 0
        in_fence = False

        def flush() -> Evidence | None:
            text = "\n".join(block).strip()
            if not text:
                return None
            ts, assumed, tod = self._timestamp(text, heading_date, ctx)
            attrs: dict[str, object] = {"heading": heading}
            if tod and ts is None:
                attrs["time_of_day"] = tod
            return make(
                EvidenceKind.NOTE, f"note:{rid}:{start}", rel, f"line {start}", ts=ts, assumed=assumed,
                text=clip(text, MAX_PARAGRAPH_CHARS), attrs=attrs,
            )

        for lineno, line, problem in iter_lines(path, ctx.max_line_bytes, ctx.on_bytes):
            if problem is not None:
                yield Malformed(source=rel, locator=f"line {lineno}", reason=problem)
                if line is None:
                    continue
            assert line is not None
            if _FENCE.match(line):
                in_fence = not in_fence
            if in_fence or (block and _FENCE.match(line)):
                if not block:
                    start = lineno
                block.append(line)
                continue
            h = _HEADING.match(line)
            new_item = _LIST_ITEM.match(line) is not None
            if not line.strip() or h or new_item:
                ev = flush() if block else None
                block = []
                if ev is not None:
                    yield ev
                if h:
                    heading = h.group(1)
                    dm = _DATE.search(heading)
                    if dm:
                        try:
                            heading_date = date(int(dm.group(1)), int(dm.group(2)), int(dm.group(3)))
                        except ValueError:
                            heading_date = None
                    continue
                if not line.strip():
                    continue
            if not block:
                start = lineno
            block.append(line)
        ev = flush() if block else None
        if ev is not None:
            yield ev

    @staticmethod
    def _timestamp(
        text: str, heading_date: date | None, ctx: ReadContext
    ) -> tuple[datetime | None, bool, str | None]:
        pos = _LEAD.match(text)
        body = text[pos.end():] if pos else text
        m = _FULL_TS.match(body)
        if m:
            parsed = parse_ts(m.group(1), ctx.default_tz)
            if parsed is not None:
                return parsed[0], parsed[1], None
        m = _TIME_OF_DAY.match(body)
        if not m:
            return None, False, None
        hh, mm, ss = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if hh > 23 or mm > 59 or ss > 59:
            return None, False, None
        # A capitalised word after the time that is not a zone ("14:05 ALL hands") is just text.
        zone = _zone(m.group(4), ctx.default_tz) or (ctx.default_tz, False)
        dated = date_for_time(hh, mm, ss, zone[0], heading_date, ctx)
        if dated is None:
            return None, False, m.group(0)
        return dated[0], True, m.group(0)


READER = NotesReader()
