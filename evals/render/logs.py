"""Log lines in the formats real services write: JSON Lines, nginx, Python logging, klog, syslog."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from evals.render.common import UTC, Ctx, curve_at, iso_ms, iso_us
from evals.scenarios.spec import LogEvent, RequestStream

SYSLOG_SEVERITY = {"CRITICAL": 2, "ERROR": 3, "WARNING": 4, "INFO": 6, "DEBUG": 7}
KLOG_LETTER = {"CRITICAL": "F", "ERROR": "E", "WARNING": "W", "INFO": "I", "DEBUG": "I"}
USER_AGENTS = ("python-requests/2.31.0", "openai-python/1.23.6", "Go-http-client/1.1",
               "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15")


@dataclass
class Request:
    ts: datetime
    status: int
    latency_ms: float
    request_id: str
    path: str
    anomalous: bool


@dataclass
class LogFile:
    """Lines of one file, sorted by time at write-out."""

    lines: list[tuple[datetime, int, str]] = field(default_factory=list)

    def add(self, ts: datetime, text: str) -> None:
        self.lines.append((ts, len(self.lines), text))

    def render(self) -> str:
        return "".join(t + "\n" for _, _, t in sorted(self.lines))


def local_zone(name: str) -> tzinfo:
    return UTC if name.upper() == "UTC" else ZoneInfo(name)


def fmt_line(fmt: str, ts: datetime, level: str, service: str, logger: str, message: str,
             fields: dict[str, object], pid: int, zone: tzinfo, host: str) -> str:
    level = level.upper()
    if fmt == "jsonl":
        rec: dict[str, object] = {"timestamp": iso_ms(ts), "level": level, "service": service}
        if logger:
            rec["logger"] = logger
        rec["message"] = message
        rec.update(fields)
        return json.dumps(rec, ensure_ascii=False)
    if fmt == "pylogging":
        # logging's "%(asctime)s - %(name)s - %(levelname)s - %(message)s": naive local time.
        loc = ts.astimezone(zone)
        return (f"{loc.strftime('%Y-%m-%d %H:%M:%S')},{loc.microsecond // 1000:03d} - "
                f"{logger or service} - {level} - {message}")
    if fmt == "klog":
        u = ts.astimezone(UTC)
        return (f"{KLOG_LETTER.get(level, 'I')}{u.strftime('%m%d %H:%M:%S')}.{u.microsecond:06d} "
                f"{pid:7d} {logger or 'main.go:1'}] {message}")
    if fmt == "syslog":
        pri = 16 * 8 + SYSLOG_SEVERITY.get(level, 6)  # facility local0
        return f"<{pri}>1 {iso_us(ts)} {host} {logger or service} {pid} - - {message}"
    raise ValueError(f"unknown log format {fmt}")


def simulate(ctx: Ctx, stream: RequestStream) -> list[Request]:
    """Per-request outcomes; error probability and latency follow the stream's curves."""
    rng = ctx.rng
    err_curve = [(ctx.t(a), v) for a, v in stream.error_curve]
    lat_curve = [(ctx.t(a), v) for a, v in stream.latency_curve]
    start, end = ctx.t(stream.start), ctx.t(stream.end)
    out: list[Request] = []
    minute = start
    while minute < end:
        n = max(0, int(round(rng.gauss(stream.rate_per_min, math.sqrt(stream.rate_per_min)))))
        offsets = sorted(rng.randrange(0, 60_000) for _ in range(n))
        for off in offsets:
            ts = minute + timedelta(milliseconds=off, microseconds=rng.randrange(1000))
            p_err = curve_at(err_curve, ts, 0.0)
            failed = rng.random() < p_err
            mult = curve_at(lat_curve, ts, 1.0)
            latency = stream.base_latency_ms * mult * math.exp(rng.gauss(0, 0.35))
            if failed and rng.random() < 0.5:
                latency = min(latency, stream.base_latency_ms * 0.2)  # fast-failing upstream errors
            status = rng.choice(stream.error_statuses) if failed else 200
            out.append(Request(ts=ts, status=status, latency_ms=round(latency, 1),
                               request_id=ctx.hexid(16), path=rng.choice(stream.paths),
                               anomalous=p_err > 0.0 or mult > 1.0))
        minute += timedelta(minutes=1)
    return out


def request_line(ctx: Ctx, stream: RequestStream, r: Request) -> str:
    if stream.fmt == "access":
        loc = r.ts.astimezone(_offset_zone(stream.tz_offset_min))
        stamp = loc.strftime("%d/%b/%Y:%H:%M:%S %z")
        ip = f"10.{ctx.rng.randrange(0, 4)}.{ctx.rng.randrange(0, 256)}.{ctx.rng.randrange(1, 255)}"
        size = 162 if r.status >= 500 else ctx.rng.randrange(600, 9000)
        ua = ctx.rng.choice(USER_AGENTS)
        return (f'{ip} - - [{stamp}] "{stream.method} {r.path} HTTP/1.1" {r.status} {size} "-" '
                f'"{ua}" {r.latency_ms / 1000:.3f}')
    fields: dict[str, object] = {"method": stream.method, "path": r.path, "status": r.status,
                                 "latency_ms": r.latency_ms, "request_id": r.request_id}
    if stream.model:
        fields["model"] = stream.model
    level = "ERROR" if r.status >= 500 else "INFO"
    msg = stream.error_message if r.status >= 500 else "request completed"
    return fmt_line("jsonl", r.ts, level, stream.service, "", msg, fields, 1, UTC, "")


def _offset_zone(minutes: int) -> tzinfo:
    from datetime import timezone

    return timezone(timedelta(minutes=minutes))


def event_times(ctx: Ctx, ev: LogEvent) -> list[datetime]:
    start = ctx.t(ev.at)
    if not ev.until or ev.every_s <= 0:
        return [start + timedelta(milliseconds=ctx.rng.randrange(0, 1000))]
    end = ctx.t(ev.until)
    out = []
    t = start
    while t <= end:
        jitter = ctx.rng.randrange(0, ev.jitter_s * 1000 + 1) if ev.jitter_s else 0
        out.append(t + timedelta(milliseconds=jitter + ctx.rng.randrange(0, 1000)))
        t += timedelta(seconds=ev.every_s)
    return out


def render_event(ctx: Ctx, ev: LogEvent, zone: tzinfo, files: dict[str, LogFile]) -> None:
    pid = 1000 + (sum(map(ord, ev.file)) % 8000)
    host = f"{(ev.service or 'worker').split('-')[0]}-{sum(map(ord, ev.file)) % 20:02d}"
    for i, ts in enumerate(event_times(ctx, ev)):
        msg = ev.message.format(i=i + 1, n=ctx.rng.randrange(1000, 10000))
        line = fmt_line(ev.fmt, ts, ev.level, ev.service, ev.logger, msg, dict(ev.fields), pid,
                        zone, host)
        files.setdefault(ev.file, LogFile()).add(ts, line)
