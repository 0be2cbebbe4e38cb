"""Plain-text logs whose lines start with an ISO-8601/RFC 3339 timestamp, and Python logging output.

Python logging appears in two shapes: the documented default Formatter layout
"%(asctime)s - %(name)s - %(levelname)s - %(message)s" and basicConfig's "LEVEL:name:message",
which carries no timestamp at all (such records stay undated rather than get an invented time).
"""

from __future__ import annotations

import re
from pathlib import Path

from tools.models import Evidence
from tools.readers import common
from tools.readers.base import ReadContext
from tools.timeparse import TZINFOS, parse_ts

_LEVEL_WORDS = r"TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRITICAL|CRIT|FATAL|SEVERE|PANIC"
# 2024-04-25 14:03:07,123 - ranker.api - ERROR - message
PYLOG_DEFAULT = re.compile(
    r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:,\d{3})?) - (.+?) - "
    r"(DEBUG|INFO|WARNING|ERROR|CRITICAL|WARN|FATAL) - (.*)"
)
# ERROR:ranker.api:message
PYLOG_BASIC = re.compile(r"(DEBUG|INFO|WARNING|ERROR|CRITICAL):([\w.\-]*):(.*)")
# [2024-04-25T14:03:07.123Z] [ERROR] [component] message  (brackets, level, component optional)
_ZONE_WORDS = "|".join(sorted((z for z in TZINFOS if len(z) > 1), key=len, reverse=True))
_ISO_TS = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
_ISO_ZONE = r"(?:\s?(?:Z|[+-]\d{2}:?\d{2}|(?:" + _ZONE_WORDS + r")\b))?"
_ISO_REST = r"\]?\s*(?:\[?(" + _LEVEL_WORDS + r")\b\]?:?\s*)?(?:\[([\w.\-/]+)\]:?\s*)?(.*)"
ISO_LINE = re.compile(r"\[?(" + _ISO_TS + _ISO_ZONE + ")" + _ISO_REST, re.IGNORECASE)
# ISO_LINE without the zone group, whose case-insensitive alternation of ~30 words is most of the
# match time. Everything after the timestamp is optional, so the engine never backtracks into it:
# where the zone group cannot match, both patterns give the same groups (see _zone_impossible).
_ISO_NO_ZONE = re.compile(r"\[?(" + _ISO_TS + ")" + _ISO_REST, re.IGNORECASE)
_ZONE_STARTS = frozenset(z[:2].lower() for z in TZINFOS if len(z) > 1)
_ZONE_FIRST = ("z", "+", "-")


def _zone_impossible(line: str, p: int) -> bool:
    """Cheap proof that ISO_LINE's zone group cannot match at `p` (False when unsure).

    The group is an optional whitespace, then "Z", "+", "-" or a zone word (two letters or more).
    Only ASCII is judged: there case-insensitive matching is plain lower-casing (unlike, say, the
    Kelvin sign, which matches "k")."""
    c = line[p:p + 1]
    if not c:
        return True
    if c == " ":
        two = line[p + 1:p + 3]
    elif c.isspace():
        return False
    else:
        two = line[p:p + 2]
    if not two.isascii():
        return False
    two = two.lower()
    return two[:1] not in _ZONE_FIRST and two not in _ZONE_STARTS


class PythonLoggingReader(common.LineFormatReader, name="log.pylogging", what="Python logging line"):
    def sniff(self, path: Path, head: str) -> bool:
        return common.mostly_matching(head, lambda ln: bool(PYLOG_DEFAULT.match(ln) or PYLOG_BASIC.match(ln)))

    def line_parser(self, rel: str, ctx: ReadContext) -> common.LineParser:
        record, tz = common.line_record(rel, ctx), ctx.default_tz
        default_match, basic_match = PYLOG_DEFAULT.match, PYLOG_BASIC.match

        def parse(line: str, lineno: int) -> Evidence | None:
            m = default_match(line)
            if m:
                ts_s, logger, lvl, msg = m.groups()
                parsed = parse_ts(ts_s, tz)
            else:
                m = basic_match(line)
                if not m:
                    return None
                lvl, logger, msg = m.groups()
                parsed = None
            return record(lineno, parsed, None, common.norm_level(lvl), msg, {"logger": logger, "format": "pylogging"})

        return parse


class IsoTextLogReader(common.LineFormatReader, name="log.iso", what="timestamped log line", pattern=ISO_LINE):
    def line_parser(self, rel: str, ctx: ReadContext) -> common.LineParser:
        record, tz, zone_impossible = common.line_record(rel, ctx), ctx.default_tz, _zone_impossible
        fast_match, full_match = _ISO_NO_ZONE.match, ISO_LINE.match

        def parse(line: str, lineno: int) -> Evidence | None:
            m = fast_match(line)
            if not m:
                return None  # its timestamp does not match, so ISO_LINE fails too
            if not zone_impossible(line, m.end(1)):
                m = full_match(line)
                assert m is not None
            ts_s, lvl, component, msg = m.groups()
            parsed = parse_ts(ts_s, tz)
            if parsed is None:
                return None
            if component:
                attrs: dict[str, object] = {"format": "iso", "component": component}
            else:
                attrs = {"format": "iso"}
            return record(lineno, parsed, None, common.norm_level(lvl) if lvl else None, msg, attrs)

        return parse


PYLOGGING = PythonLoggingReader()
ISO = IsoTextLogReader()
