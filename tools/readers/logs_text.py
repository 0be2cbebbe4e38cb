"""Plain-text logs whose lines start with an ISO-8601/RFC 3339 timestamp, and Python logging output.

Python logging appears in two shapes: the documented default Formatter layout
"%(asctime)s - %(name)s - %(levelname)s - %(message)s" and basicConfig's "LEVEL:name:message",
which carries no timestamp at all (such records stay undated rather than get an invented time).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import ReadContext
from tools.readers.common import (
    mostly_matching,
    id_part,
    make,
    norm_level,
    read_line_records,
    service_from_name,
)
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
ISO_LINE = re.compile(
    r"\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?(?:Z|[+-]\d{2}:?\d{2}|(?:"
    + _ZONE_WORDS + r")\b))?)\]?"
    r"\s*(?:\[?(" + _LEVEL_WORDS + r")\b\]?:?\s*)?(?:\[([\w.\-/]+)\]:?\s*)?(.*)",
    re.IGNORECASE,
)


class PythonLoggingReader:
    name = "log.pylogging"
    needs_year = False
    splittable = True  # one record per line (plus continuations): big files are read in slices

    def sniff(self, path: Path, head: str) -> bool:
        return mostly_matching(head, lambda ln: bool(PYLOG_DEFAULT.match(ln) or PYLOG_BASIC.match(ln)))

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        file_service = service_from_name(rel, ctx.services)
        rid = id_part(rel)
        tz = ctx.default_tz

        def parse(line: str, lineno: int) -> Evidence | None:
            m = PYLOG_DEFAULT.match(line)
            if m:
                ts_s, logger, lvl, msg = m.groups()
                parsed = parse_ts(ts_s, tz)
            else:
                m = PYLOG_BASIC.match(line)
                if not m:
                    return None
                lvl, logger, msg = m.groups()
                parsed = None
            return make(
                EvidenceKind.LOG, f"log:{rid}:{lineno}", rel, f"line {lineno}",
                ts=parsed[0] if parsed else None, assumed=parsed[1] if parsed else False,
                service=file_service, level=norm_level(lvl), text=msg,
                attrs={"logger": logger, "format": "pylogging"},
            )

        return read_line_records(path, rel, ctx, parse, what="Python logging line")


class IsoTextLogReader:
    name = "log.iso"
    needs_year = False
    splittable = True  # one record per line (plus continuations): big files are read in slices

    def sniff(self, path: Path, head: str) -> bool:
        return mostly_matching(head, lambda ln: bool(ISO_LINE.match(ln)))

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        file_service = service_from_name(rel, ctx.services)
        rid = id_part(rel)
        tz = ctx.default_tz

        def parse(line: str, lineno: int) -> Evidence | None:
            m = ISO_LINE.match(line)
            if not m:
                return None
            ts_s, lvl, component, msg = m.groups()
            parsed = parse_ts(ts_s, tz)
            if parsed is None:
                return None
            attrs: dict[str, object] = {"format": "iso"}
            if component:
                attrs["component"] = component
            level = norm_level(lvl) if lvl else None
            return make(
                EvidenceKind.LOG, f"log:{rid}:{lineno}", rel, f"line {lineno}",
                ts=parsed[0], assumed=parsed[1], service=file_service, level=level,
                text=msg, attrs=attrs,
            )

        return read_line_records(path, rel, ctx, parse, what="timestamped log line")


PYLOGGING = PythonLoggingReader()
ISO = IsoTextLogReader()
