"""klog/glog lines (Kubernetes components, many Go services): "E0425 14:03:07.123456  1 file.go:42] msg".

The format has no year, so this reader runs after the dated sources and uses ctx.year_hint.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import ReadContext
from tools.readers.common import id_part, make, mostly_matching, read_line_records, service_from_name
from tools.timeparse import UTC

KLOG = re.compile(
    r"([IWEF])(\d{2})(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s+(\d+)\s+([^\s:\]]+):(\d+)\] ?(.*)"
)
_LEVEL = {"I": "info", "W": "warning", "E": "error", "F": "critical"}


class KlogReader:
    name = "log.klog"
    needs_year = True
    splittable = True  # one record per line (plus continuations): big files are read in slices

    def sniff(self, path: Path, head: str) -> bool:
        return mostly_matching(head, lambda ln: bool(KLOG.match(ln)))

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        file_service = service_from_name(rel, ctx.services)
        rid = id_part(rel)
        tz, year = ctx.default_tz, ctx.year_hint

        def parse(line: str, lineno: int) -> Evidence | None:
            m = KLOG.match(line)
            if not m:
                return None
            sev, mo, d, h, mi, s, frac, thread, src, src_line, msg = m.groups()
            ts = None
            if year is not None:
                try:
                    us = int((frac or "0").ljust(6, "0")[:6])
                    naive = datetime(year, int(mo), int(d), int(h), int(mi), int(s), us)
                    ts = naive.replace(tzinfo=tz).astimezone(UTC)
                except ValueError:
                    return None
            return make(
                EvidenceKind.LOG, f"log:{rid}:{lineno}", rel, f"line {lineno}",
                ts=ts, assumed=True, service=file_service, level=_LEVEL[sev], text=msg,
                attrs={"format": "klog", "thread": int(thread), "caller": f"{src}:{src_line}"},
            )

        return read_line_records(path, rel, ctx, parse, what="klog line")


READER = KlogReader()
