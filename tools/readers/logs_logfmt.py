"""logfmt lines (Go services, Prometheus, Loki): `ts=2024-04-25T14:03:07Z level=error msg="..." k=v`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tools.models import Evidence
from tools.readers import common
from tools.readers.base import ReadContext
from tools.readers.logs_jsonl import (
    LEVEL_KEYS,
    MSG_KEYS,
    SERVICE_KEYS,
    TS_KEYS,
    normalise_http,
)
from tools.timeparse import parse_ts

_PAIR = re.compile(r'([\w.\-/@]+)=("(?:[^"\\]|\\.)*"|\S*)')
_LINE = re.compile(r'\s*[\w.\-/@]+=(?:"(?:[^"\\]|\\.)*"|\S*)(?:\s+[\w.\-/@]+=(?:"(?:[^"\\]|\\.)*"|\S*))+\s*$')
_KEYS = frozenset((*TS_KEYS, *LEVEL_KEYS, *MSG_KEYS))


def parse_pairs(line: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in _PAIR.findall(line):
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[k] = v
    return out


class LogfmtReader(common.LineFormatReader, name="log.logfmt", what="logfmt line"):
    def sniff(self, path: Path, head: str) -> bool:
        return common.mostly_matching(head, lambda ln: bool(_LINE.match(ln) and _KEYS & parse_pairs(ln).keys()))

    def line_parser(self, rel: str, ctx: ReadContext) -> common.LineParser:
        record, tz, line_match = common.line_record(rel, ctx), ctx.default_tz, _LINE.match

        def parse(line: str, lineno: int) -> Evidence | None:
            if not line_match(line):
                return None
            attrs = parse_pairs(line)
            parsed = None
            for k in TS_KEYS:
                if k in attrs:
                    parsed = parse_ts(attrs[k], tz)
                    if parsed is not None:
                        del attrs[k]
                        break
            level = None
            for k in LEVEL_KEYS:
                if k in attrs:
                    level = common.norm_level(attrs.pop(k))
                    break
            text = line
            for k in MSG_KEYS:
                if k in attrs:
                    text = attrs.pop(k)
                    break
            service = None  # the file's
            for k in SERVICE_KEYS:
                v = attrs.get(k)
                if v:
                    service = v
                    break
            # The original passed a copy of attrs as the scope to read; attrs itself reads the same,
            # since no step writes a key a later step reads (values are strings: no nested "http").
            normalise_http(attrs, attrs)
            attrs["format"] = "logfmt"
            return record(lineno, parsed, service, level, text, attrs)

        return parse


READER = LogfmtReader()
