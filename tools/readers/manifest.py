"""incident.yaml: the optional manifest that scopes a dump (title, severity, window, timezone, ...).

A broken manifest is reported and ignored; ingestion then falls back to UTC and inferred scope.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import ReadContext
from tools.readers.common import make
from tools.timeparse import UTC, parse_ts, parse_zone

MANIFEST_NAMES = ("incident.yaml", "incident.yml")
_KEY = re.compile(r"^(title|severity|commander|timezone|window|services|opt_in_names):", re.MULTILINE)


class Manifest(BaseModel):
    """The manifest fields ingestion and scoping use; `raw` keeps every key as written."""

    title: str | None = None
    severity: str | None = None
    commander: str | None = None
    timezone: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    services: list[str] = Field(default_factory=list)
    opt_in_names: bool = False
    raw: dict[str, Any] = Field(default_factory=dict)
    problems: list[str] = Field(default_factory=list)

    def tz(self) -> tzinfo:
        return (parse_zone(self.timezone) if self.timezone else None) or UTC


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return v


# Parsed manifests by (file name, content digest). Scoping, ingest and this reader all ask for the
# same file during one run; each gets a copy of the one parse, so every fact (above all the zone
# applied to naive times) is computed once. Keyed by content, so an edited file is parsed again.
_PARSED: dict[tuple[str, str], Manifest] = {}
_PARSED_MAX = 32


def load_manifest(path: Path) -> Manifest:
    """Read a manifest; never raises. Problems are listed in `Manifest.problems`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Manifest(problems=[f"{path.name}: unreadable ({exc.strerror})"])
    key = (path.name, hashlib.sha256(data).hexdigest())
    parsed = _PARSED.get(key)
    if parsed is None:
        parsed = _redacted(_parse_manifest(path.name, data.decode("utf-8", errors="replace")))
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[key] = parsed
    return parsed.model_copy(deep=True)


# Placeholders of manifest values carry their own tag: the run's numbering starts after the
# manifest is read, so an untagged "#1" here could name a different value than "#1" in the logs.
_MANIFEST_TAG = "0"


def _redacted(m: Manifest) -> Manifest:
    """The manifest with its text redacted like any evidence, before anyone reads it: its title,
    commander and raw keys reach the inventory, the checkpoints and the report's header.
    Times, zone and services were parsed from the original text first, so they still apply."""
    from tools.redact import Redactor  # here, not at import: readers load before the redactor

    r = Redactor(tag=_MANIFEST_TAG)
    for key in ("title", "severity", "commander"):
        value = getattr(m, key)
        if value:
            setattr(m, key, r.redact_text(value))
    m.services = [r.redact_text(x) for x in m.services]
    m.raw = r.redact_obj(m.raw)
    m.problems = [r.redact_text(x) for x in m.problems]
    return m


def _parse_manifest(name: str, text: str) -> Manifest:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return Manifest(problems=[f"{name}: invalid YAML{where}; manifest ignored"])
    if data is None:
        return Manifest(problems=[f"{name}: empty manifest"])
    if not isinstance(data, dict):
        return Manifest(problems=[f"{name}: not a mapping of keys; manifest ignored"])
    m = Manifest(raw=_jsonable(data))
    problems: list[str] = []
    for key in ("title", "severity", "commander"):
        if data.get(key) is not None:
            setattr(m, key, str(data[key]).strip())
    _set_timezone(m, data, problems)
    tz = m.tz()  # after the timezone: naive window times are read in it
    _set_window(m, data.get("window"), tz, problems)
    if m.window_start is None and m.window_end is None:
        _window_from_keys(m, data, tz, problems)
    _set_services(m, data.get("services"))
    _set_opt_in(m, data.get("opt_in_names"), problems)
    m.problems = problems
    return m


def _set_timezone(m: Manifest, data: dict[Any, Any], problems: list[str]) -> None:
    if data.get("timezone") is not None:
        m.timezone = str(data["timezone"]).strip()
        if parse_zone(m.timezone) is None:
            problems.append(f"timezone {m.timezone!r} is not a known zone; UTC is assumed")


def _set_window(m: Manifest, window: Any, tz: tzinfo, problems: list[str]) -> None:
    """The `window` mapping's start and end; an end before the start drops both."""
    if window is None:
        return
    if not isinstance(window, dict):
        problems.append("window should be a mapping with start and end")
        return
    for key, attr in (("start", "window_start"), ("end", "window_end")):
        if window.get(key) is None:
            continue
        parsed = parse_ts(window[key], tz)
        if parsed is None:
            problems.append(f"window.{key} {window[key]!r} is not a timestamp")
        else:
            setattr(m, attr, parsed[0])
    if m.window_start and m.window_end and m.window_end < m.window_start:
        problems.append("window.end is before window.start; window ignored")
        m.window_start = m.window_end = None


def _set_services(m: Manifest, services: Any) -> None:
    """`services` as one name or a list of names (or of mappings with a `name`)."""
    if isinstance(services, str):
        m.services = [services]
    elif isinstance(services, list):
        m.services = [str(s.get("name") if isinstance(s, dict) else s) for s in services if s]


def _set_opt_in(m: Manifest, opt: Any, problems: list[str]) -> None:
    if opt is None:
        return
    if isinstance(opt, bool):
        m.opt_in_names = opt
    else:
        problems.append("opt_in_names should be true or false; names stay redacted")


# Manifests without a `window` mapping still say when: `started_at`, `impact_start`, `began`,
# `resolved_at`, `mitigated_at`, `end_time`... Any top-level key of these shapes whose value parses
# as a time is a window hint (scoping only narrows the search with it, never takes it as the onset).
_START_KEY = re.compile(r"^(?:incident_|impact_|window_)?(?:start(?:ed)?|began|begin|onset)(?:_at|_time|_ts)?$", re.I)
_END_KEY = re.compile(r"^(?:incident_|impact_|window_)?(?:end(?:ed)?|resolved|mitigated|recovered|closed)"
                      r"(?:_at|_time|_ts)?$", re.I)


def _window_from_keys(m: Manifest, data: dict[Any, Any], tz: tzinfo, problems: list[str]) -> None:
    for key, value in data.items():
        for pattern, attr in ((_START_KEY, "window_start"), (_END_KEY, "window_end")):
            if getattr(m, attr) is None and pattern.match(str(key)) and value is not None:
                parsed = parse_ts(value if isinstance(value, str) else _jsonable(value), tz)
                if parsed is not None:
                    setattr(m, attr, parsed[0])
    if m.window_start and m.window_end and m.window_end < m.window_start:
        problems.append("the manifest's end time is before its start time; window ignored")
        m.window_start = m.window_end = None


class ManifestReader:
    name = "manifest"
    needs_year = False

    def sniff(self, path: Path, head: str) -> bool:
        if path.name.lower() in MANIFEST_NAMES:
            return True
        return path.suffix.lower() in (".yaml", ".yml") and len(set(_KEY.findall(head))) >= 3

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        m = load_manifest(path)
        for p in m.problems:
            yield Malformed(source=rel, reason=p)
        if not m.raw:
            return
        parts = [f"Incident manifest: {m.title or '(untitled)'}"]
        if m.severity:
            parts.append(f"severity {m.severity}")
        if m.window_start or m.window_end:
            s = m.window_start.isoformat() if m.window_start else "?"
            e = m.window_end.isoformat() if m.window_end else "?"
            parts.append(f"window {s} to {e}")
        if m.services:
            parts.append("services " + ", ".join(m.services))
        yield make(
            EvidenceKind.MANIFEST, "manifest", rel, "", ts=None, assumed=False,
            text="; ".join(parts), attrs=dict(m.raw),
        )


READER = ManifestReader()
