"""Apply an understood remark to the chat state: every remark lands somewhere real.

Each handler returns a state update and a short reply that says what changed (never the whole stage
again). Statements people make become evidence (`note:chat:N`, redacted like any record, dated only
when the person gave a time), so what the report takes from the meeting is citable.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from agent.facilitator.understand import Intent
from agent.model import TimelineEvent, iso_z
from agent.validators.people import ROLE_WORDS
from tools.models import Evidence, EvidenceKind
from tools.redact import redact_text
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter



def add_note(store: EvidenceReader, state: Any, text: str, when: datetime | None, heading: str) -> tuple[str, dict[str, Any]]:
    """Store a reviewer statement as evidence; returns (id, state update with the new note)."""
    n = len(state.chat_notes) + 1
    ev_id = f"note:chat:{n}"
    clean = redact_text(text)
    if not store.exists(ev_id):  # a re-run node must not add it twice
        # Not finalize(): add_many already indexes the row, and the store's summaries (services,
        # per-minute log totals) do not change with a note. `store` sees the row once committed.
        writer = StoreWriter.open(store.path)
        try:
            writer.add_many([Evidence(id=ev_id, kind=EvidenceKind.NOTE, ts=when, source="chat session",
                                      locator=f"review remark {n}", text=clean, attrs={"heading": heading})])
        finally:
            writer.close()
    note = {"id": ev_id, "text": clean, "gate": heading, "at": iso_z(when) if when else ""}
    # The store changed: the window facts carried to the analysis are recomputed there.
    return ev_id, {"chat_notes": state.chat_notes + [note], "window_facts": None}


def incident_day(state: Any, row: TimelineEvent | None) -> date | None:
    """The day a bare time of day belongs to: the corrected row's day, else the incident's."""
    if row is not None:
        return row.timestamp.astimezone(timezone.utc).date()
    if state.scope is not None and state.scope.window_start is not None:
        return state.scope.window_start.astimezone(timezone.utc).date()
    return state.timeline[0].timestamp.date() if state.timeline else None


def resolve_time(intent: Intent, day: date | None) -> tuple[datetime | None, str]:
    """(aware UTC time, note for the reply) or (None, why not)."""
    if intent.when is not None:
        return intent.when, ""
    if intent.time_only is None or day is None:
        return None, "Give the time as ISO-8601 with its zone (e.g. 2024-01-01T13:48:00Z)."
    m = re.match(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-]\d{2}:?\d{2})?$", intent.time_only.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        return None, f"'{intent.time_only}' is not a time of day (HH:MM)."
    t = datetime(day.year, day.month, day.day, int(m.group(1)), int(m.group(2)), int(m.group(3) or 0),
                 tzinfo=timezone.utc)
    if m.group(4):
        off = m.group(4).replace(":", "")
        t -= timedelta(hours=int(off[:3]), minutes=int(off[0] + off[3:]))
        return t, f"(read as {m.group(4)} on {day})"
    return t, f"(read as UTC on {day}, the timeline's zone; say e.g. '13:48+02:00' if it was local time)"


def timeline_edit(intent: Intent, state: Any, store: EvidenceReader) -> dict[str, Any]:
    events = list(state.timeline)
    if intent.kind == "tl_add":
        return _tl_add(intent, state, store, events)
    idx = (intent.index or 0) - 1
    if not 0 <= idx < len(events):
        return {"last_reply": f"There is no entry {idx + 1}: the timeline has {len(events)} rows (/timeline)."}
    row = events[idx].model_copy(deep=True)
    if intent.kind == "tl_drop":
        events.pop(idx)
        return {"timeline": events, "last_reply": f"Dropped entry {idx + 1}: {short(row.event)}",
                "decisions": state.decisions + [f"Timeline entry dropped in review: {short(row.event)}"]}
    if intent.kind == "tl_reword":
        ev_id, upd = add_note(store, state, intent.text, None, "timeline correction")
        old, row.event = row.event, redact_text(intent.value)
        row.evidence = row.evidence + [ev_id]
        events[idx] = row
        return {**upd, "timeline": events, "last_reply": f"Entry {idx + 1} reworded (was: {short(old)}); cites {ev_id}."}
    when, how = resolve_time(intent, incident_day(state, row))
    if when is None:
        return {"last_reply": how}
    ev_id, upd = add_note(store, state, intent.text, when, "timeline correction")
    before = row.timestamp
    row.timestamp, row.evidence, row.assumed = when, row.evidence + [ev_id], False
    events[idx] = row
    events.sort(key=lambda e: e.timestamp)
    new_pos = events.index(row) + 1
    return {**upd, "timeline": events,
            "last_reply": f"Entry {idx + 1} moved: {iso_z(before)} -> {iso_z(when)} {how}; now entry {new_pos}, "
                          f"cites {ev_id}. ({short(row.event)})"}


def _tl_add(intent: Intent, state: Any, store: EvidenceReader, events: list[TimelineEvent]) -> dict[str, Any]:
    when, how = resolve_time(intent, incident_day(state, None))
    if when is None:
        return {"last_reply": how}
    ev_id, upd = add_note(store, state, intent.value, when, "responder-provided")
    events.append(TimelineEvent(timestamp=when, event=f"Responder-provided: {redact_text(intent.value)}",
                                evidence=[ev_id], category="context"))
    events.sort(key=lambda e: e.timestamp)
    pos = next(i for i, e in enumerate(events, 1) if ev_id in e.evidence)
    return {**upd, "timeline": events, "last_reply": f"Added as entry {pos} at {iso_z(when)} {how}; cites {ev_id}."}


def hypothesis_verdict(intent: Intent, state: Any, store: EvidenceReader) -> dict[str, Any]:
    a = state.analysis.model_copy(deep=True)
    idx = (intent.index or 0) - 1
    if not 0 <= idx < len(a.hypotheses):
        return {"last_reply": f"No hypothesis {idx + 1}: there are {len(a.hypotheses)}."}
    h = a.hypotheses[idx]
    if intent.value == "rejected" and not intent.reason:
        return {"last_reply": f"Why reject hypothesis {idx + 1}? Say 'reject {idx + 1} because ...': "
                              "the reason is recorded with the verdict."}
    h.status = intent.value
    upd: dict[str, Any] = {}
    cite = ""
    if intent.reason:
        ev_id, upd = add_note(store, state, f"Hypothesis {idx + 1} {intent.value}: {intent.reason}", None,
                              "hypothesis verdict")
        h.evidence = h.evidence + [ev_id]
        cite = f"; reason recorded as {ev_id}"
    return {**upd, "analysis": a, "last_reply": f"Hypothesis {idx + 1} marked {intent.value}{cite}.",
            "decisions": state.decisions + [f"Hypothesis {idx + 1} {intent.value} in review"
                                            + (f" because {intent.reason}" if intent.reason else "")]}


def scope_change(intent: Intent, state: Any) -> dict[str, Any]:
    scope = state.scope.model_copy(deep=True)
    if intent.kind == "severity" and not intent.reason:
        return {"last_reply": f"Why {intent.value}? Say 'severity should be {intent.value} because ...': "
                              "the reason is recorded with the change."}
    if intent.kind == "severity":
        scope.declared_severity = intent.value
        what = f"Declared severity set to {intent.value}"
        tail = " The measured impact still decides the report's severity; the team's view is recorded."
    else:
        key, value = intent.rule, intent.value
        if key == "services":
            scope.services = [v.strip() for v in value.split(",") if v.strip()]
        else:
            setattr(scope, key, redact_text(value))
        what, tail = f"{key} set to {value}", ""
    reason = f" because {intent.reason}" if intent.reason else ""
    scope.manifest_notes = scope.manifest_notes + [f"Changed in review: {what}{reason}."]
    # The scope bounds the incident window: the analysis recomputes the window facts.
    return {"scope": scope, "window_facts": None, "last_reply": f"{what}{reason}.{tail}",
            "decisions": state.decisions + [f"{what}{reason}"]}


def owner_problem(value: str, people: list[str], names_opt_in: bool) -> str | None:
    """Owners are roles unless the team opted in to names (--names)."""
    if names_opt_in:
        return None
    low = value.lower()
    named = any(p and re.search(rf"\b{re.escape(p.lower())}\b", low) for p in people)
    looks_like_name = bool(re.fullmatch(r"@?[A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2}|@[\w.-]+", value.strip()))
    if named or (looks_like_name and not ROLE_WORDS.search(value)):
        return ("Owners are roles here (e.g. 'serving platform on-call lead'), so the report stays blameless "
                "and survives re-orgs; names need the team's opt-in (--names).")
    return None


def due_problem(value: str, today: date) -> tuple[date | None, str | None]:
    try:
        due = datetime.strptime(value.strip(), "%Y-%m-%d").date()
    except ValueError:
        return None, "Due date must be YYYY-MM-DD."
    if due <= today:
        return None, f"A due date must be after the postmortem date ({today}); {due} is not."
    return due, None


def short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
