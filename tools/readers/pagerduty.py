"""PagerDuty REST API v2 exports: {"incident": {...}}, {"incidents": [...]}, {"log_entries": [...]}."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.models import Evidence, EvidenceKind, Malformed
from tools.readers.base import ReadContext
from tools.readers.common import clip, load_json_doc, looks_like_jsonl, make
from tools.timeparse import parse_ts

_SNIFF = re.compile(r'"(incidents?|log_entries)"\s*:\s*[\[{]')
_PD_HINT = re.compile(r'_log_entry"|"incident_number"|"type"\s*:\s*"incident(?:_reference)?"|pagerduty\.com')
_ENTRY_LEVEL = {"trigger": "error", "escalate": "warning", "resolve": "info"}


def _summary(ref: Any) -> str | None:
    if isinstance(ref, dict):
        v = ref.get("summary") or ref.get("name") or ref.get("email") or ref.get("id")
        return str(v) if v else None
    return None


def _id(ref: Any) -> str | None:
    if isinstance(ref, dict) and ref.get("id"):
        return str(ref["id"])
    return None


class PagerDutyReader:
    name = "pagerduty"
    needs_year = False

    def sniff(self, path: Path, head: str) -> bool:
        return bool(_SNIFF.search(head[:4096])) and bool(_PD_HINT.search(head)) and not looks_like_jsonl(head)

    def read(self, path: Path, rel: str, ctx: ReadContext) -> Iterator[Evidence | Malformed]:
        doc, bad = load_json_doc(path, rel)
        if bad is not None:
            yield bad
            return
        if not isinstance(doc, dict):
            yield Malformed(source=rel, reason="PagerDuty export is not a JSON object")
            return
        incidents: list[Any] = []
        if isinstance(doc.get("incident"), dict):
            incidents.append(doc["incident"])
        if isinstance(doc.get("incidents"), list):
            incidents.extend(doc["incidents"])
        known: dict[str, dict[str, Any]] = {}
        for i, inc in enumerate(incidents):
            ev = self._incident(inc, rel, ctx)
            if ev is None:
                yield Malformed(source=rel, locator=f"incident {i}", reason="incident without id or created_at")
                continue
            known[ev.attrs["incident_id"]] = ev.attrs
            yield ev
            # Some exports embed the log entries inside each incident.
            for j, entry in enumerate(inc.get("log_entries") or []):
                yield self._entry(entry, rel, ctx, known, f"incident {i} entry {j}")
        entries = doc.get("log_entries")
        if isinstance(entries, list):
            for j, entry in enumerate(entries):
                yield self._entry(entry, rel, ctx, known, f"log entry {j}")

    def _incident(self, inc: Any, rel: str, ctx: ReadContext) -> Evidence | None:
        if not isinstance(inc, dict) or not inc.get("id"):
            return None
        parsed = parse_ts(inc.get("created_at"), ctx.default_tz)
        if parsed is None:
            return None
        iid = str(inc["id"])
        service = _summary(inc.get("service"))
        title = str(inc.get("title") or inc.get("summary") or "")
        status = inc.get("status")
        urgency = inc.get("urgency")
        attrs: dict[str, Any] = {
            "incident_id": iid, "entry_type": "incident", "urgency": urgency, "service": service,
            "title": title, "status": status, "incident_number": inc.get("incident_number"),
        }
        if inc.get("priority"):
            attrs["priority"] = _summary(inc["priority"])
        if inc.get("escalation_policy"):
            attrs["escalation_policy"] = _summary(inc["escalation_policy"])
        assignees = [
            _summary(a.get("assignee")) for a in inc.get("assignments") or [] if isinstance(a, dict)
        ]
        if any(assignees):
            attrs["assignees"] = [a for a in assignees if a]
        resolved = parse_ts(inc.get("resolved_at") or inc.get("last_status_change_at"), ctx.default_tz)
        if resolved is not None and status == "resolved":
            attrs["resolved_at"] = resolved[0].isoformat()
        num = inc.get("incident_number")
        text = f"PagerDuty incident {'#' + str(num) + ' ' if num else ''}{title}".strip()
        text += f" (status {status}, urgency {urgency}, service {service})"
        return make(
            EvidenceKind.PAGE, f"pd:{iid}", rel, f"incident {iid}", ts=parsed[0], assumed=parsed[1],
            service=service, level="critical" if urgency == "high" else "warning", text=text, attrs=attrs,
        )

    def _entry(
        self, entry: Any, rel: str, ctx: ReadContext, known: dict[str, dict[str, Any]], where: str
    ) -> Evidence | Malformed:
        if not isinstance(entry, dict) or not entry.get("id"):
            return Malformed(source=rel, locator=where, reason="log entry without id")
        parsed = parse_ts(entry.get("created_at"), ctx.default_tz)
        if parsed is None:
            return Malformed(source=rel, locator=where, reason="log entry without a valid created_at")
        inc_ref = entry.get("incident")
        iid = _id(inc_ref) or "unknown"
        inc = known.get(iid, {})
        etype = str(entry.get("type") or "").removesuffix("_reference").removesuffix("_log_entry")
        agent = _summary(entry.get("agent"))
        service = _summary(entry.get("service")) or inc.get("service")
        title = _summary(inc_ref) if isinstance(inc_ref, dict) and inc_ref.get("summary") else inc.get("title")
        attrs: dict[str, Any] = {
            "incident_id": iid, "entry_type": etype, "urgency": inc.get("urgency"),
            "service": service, "title": title, "status": inc.get("status"), "agent": agent,
        }
        _channel_and_people(entry, attrs)
        eid = str(entry["id"])
        return make(
            EvidenceKind.PAGE, f"pd:{iid}:{eid}", rel, f"log entry {eid}", ts=parsed[0], assumed=parsed[1],
            service=service, level=_ENTRY_LEVEL.get(etype, "info"), text=_entry_text(entry, etype, agent, attrs),
            attrs=attrs,
        )


def _channel_and_people(entry: dict[str, Any], attrs: dict[str, Any]) -> None:
    """The channel a log entry came through, and whom it assigned or notified."""
    if isinstance(entry.get("channel"), dict):
        ch = entry["channel"]
        attrs["channel"] = ch.get("type")
        if ch.get("summary") or ch.get("details"):
            attrs["channel_summary"] = clip(str(ch.get("summary") or ch.get("details")), 500)
    if entry.get("assignees"):
        attrs["assignees"] = [s for s in (_summary(a) for a in entry["assignees"]) if s]
    if entry.get("user"):
        attrs["user"] = _summary(entry["user"])


def _entry_text(entry: dict[str, Any], etype: str, agent: str | None, attrs: dict[str, Any]) -> str:
    """The entry's own summary, else what it did and who did it; an annotation adds its note."""
    if entry.get("summary"):
        text = str(entry["summary"])
    elif etype == "notify" and attrs.get("user"):
        text = f"Notified {attrs['user']}" + (f" via {attrs['channel']}" if attrs.get("channel") else "")
    else:
        text = f"{etype} by {agent or 'unknown'}"
    note = entry.get("note")
    if not note and isinstance(entry.get("channel"), dict):
        note = entry["channel"].get("summary")
    if etype == "annotate" and isinstance(note, str) and note and note not in text:
        text += f": {note}"
    return text


READER = PagerDutyReader()
