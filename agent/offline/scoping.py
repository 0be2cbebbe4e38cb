"""Scoping: incident boundaries, services and intent, from the manifest (when there is one)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from dateutil import parser as dateparser

from agent.state import Scope

MANIFEST_NAMES = ("incident.yaml", "incident.yml")
BLAMELESS_STATEMENT = (
    "This review is blameless: it looks for the conditions, controls and incentives that let the "
    "incident happen and persist, not for individuals to fault."
)


def find_manifest(dump: Path) -> Path | None:
    if dump.is_file():
        return None
    for name in MANIFEST_NAMES:
        candidate = dump / name
        if candidate.is_file():
            return candidate
    return None


def _as_utc(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        dt = value if isinstance(value, datetime) else dateparser.isoparse(str(value))
    except (ValueError, OverflowError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def read_manifest(path: Path | None) -> tuple[dict[str, Any], list[str]]:
    """The manifest as a dict and any problems found reading it (never raises)."""
    if path is None:
        return {}, ["[DATA GAP] No incident.yaml manifest: title, commander and window were inferred."]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError as exc:
        return {}, [f"incident.yaml could not be parsed ({exc.__class__.__name__}); it was ignored."]
    if not isinstance(data, dict):
        return {}, ["incident.yaml is not a mapping; it was ignored."]
    return data, []


def scope_from_manifest(dump: Path) -> Scope:
    data, notes = read_manifest(find_manifest(dump))
    window = data.get("window") if isinstance(data.get("window"), dict) else {}
    services = data.get("services") or []
    if isinstance(services, str):
        services = [services]
    title = str(data.get("title") or "").strip() or f"Incident review of {dump.name}"
    commander = str(data.get("commander") or "").strip() or "[DATA GAP]"
    return Scope(
        title=title,
        services=[str(s) for s in services],
        commander=commander,
        window_start=_as_utc(window.get("start")),
        window_end=_as_utc(window.get("end")),
        declared_severity=str(data["severity"]) if data.get("severity") else None,
        blameless_statement=BLAMELESS_STATEMENT,
        manifest_notes=notes,
    )
