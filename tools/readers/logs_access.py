"""nginx / Apache access logs in Common or Combined format, with an optional trailing request time."""

from __future__ import annotations

import re

from tools.models import Evidence
from tools.readers import common
from tools.readers.base import ReadContext
from tools.timeparse import parse_ts

ACCESS = re.compile(
    r'(\S+) (\S+) (\S+) \[([^\]]+)\] "(?:([A-Z]+) ([^" ]+)[^"]*|[^"]*)" (\d{3}) (\d+|-)'
    r'(?: "([^"]*)" "([^"]*)")?(.*)'
)
# nginx setups append $request_time as a bare float, or as rt=/request_time=/urt=.
_TRAILING_TIME = re.compile(r'\s*(?:(?:rt|request_time)=)?"?(\d+(?:\.\d+)?)"?(?:\s|$)')


class AccessLogReader(common.LineFormatReader, name="log.access", what="access log line", pattern=ACCESS,
                      multiline=False):
    def line_parser(self, rel: str, ctx: ReadContext) -> common.LineParser:
        record, tz, match, trailing = common.line_record(rel, ctx), ctx.default_tz, ACCESS.match, _TRAILING_TIME.match

        def parse(line: str, lineno: int) -> Evidence | None:
            m = match(line)
            if not m:
                return None
            client, _ident, user, ts_s, method, req_path, status, size, referer, agent, rest = m.groups()
            st = int(status)
            attrs: dict[str, object] = {"format": "access", "status": st, "client": client}
            if method:
                attrs["method"] = method
            if req_path:
                attrs["path"] = req_path
            if size != "-":
                attrs["bytes"] = int(size)
            if user != "-":
                attrs["user"] = user
            if referer and referer != "-":
                attrs["referer"] = referer
            if agent:
                attrs["user_agent"] = agent
            if rest:
                t = trailing(rest)
                if t:
                    attrs["latency_ms"] = round(float(t.group(1)) * 1000.0, 3)
            level = "error" if st >= 500 else "warning" if st >= 400 else "info"
            return record(lineno, parse_ts(ts_s, tz), None, level, line, attrs)

        return parse


READER = AccessLogReader()
