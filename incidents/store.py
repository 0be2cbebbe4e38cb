"""Writing incidents: redaction of every stored string, tag rows, and the SQLite FTS5 sync."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from incidents.models import Action, ActionStatus, Incident, Tag
from incidents.record import IncidentRecord
from tools.redact import Redactor

_MAX_TAG = 255


def _redact(obj: Any, red: Redactor) -> Any:
    """Redact every string inside a JSON-like value (dict keys included: they can carry secrets)."""
    if isinstance(obj, str):
        return red.redact_text(obj)
    if isinstance(obj, list):
        return [_redact(v, red) for v in obj]
    if isinstance(obj, dict):
        return {(_redact(k, red) if isinstance(k, str) else k): _redact(v, red) for k, v in obj.items()}
    return obj


def redacted(rec: IncidentRecord) -> IncidentRecord:
    """The record with all its text through tools.redact (one numbering per incident)."""
    data = rec.model_dump(mode="json")
    keep = {k: data.pop(k) for k in ("source", "source_ref")}  # keys, not evidence text
    clean = _redact(data, Redactor())
    return IncidentRecord.model_validate({**clean, **keep})


def norm_tag(value: str) -> str:
    return " ".join(value.lower().split())[:_MAX_TAG]


def search_text(rec: IncidentRecord) -> str:
    parts = [rec.summary, rec.body]
    parts += [str(f.get("statement", f)) if isinstance(f, dict) else str(f)
              for f in rec.root_causes + rec.contributing_factors]
    for values in rec.tags.values():
        parts.append(" ".join(values))
    return "\n".join(p for p in parts if p)


def _fields(rec: IncidentRecord) -> dict[str, Any]:
    skip = {"tags", "actions", "body"}
    return {k: v for k, v in rec.model_dump().items() if k not in skip}


def _tags(rec: IncidentRecord) -> list[Tag]:
    seen: set[tuple[str, str]] = set()
    out: list[Tag] = []
    for kind, values in rec.tags.items():
        for v in values:
            key = (kind, norm_tag(v))
            if key[1] and key not in seen:
                seen.add(key)
                out.append(Tag(kind=kind, value=key[1]))
    return out


def _merge_actions(inc: Incident, rec: IncidentRecord) -> None:
    """Update actions by key: a re-import refreshes the text but keeps the tracked status."""
    statuses = {s.value for s in ActionStatus}
    old = {a.action_key: a for a in inc.actions}
    keep: list[Action] = []
    for a in rec.actions:
        key = a.key[:32]
        act = old.pop(key, None)
        if act is None:
            act = Action(action_key=key, status=ActionStatus(a.status if a.status in statuses else "open"))
        act.action, act.owner, act.due, act.priority = a.action, a.owner, a.due, a.priority
        act.verification, act.addresses = a.verification, a.addresses
        if key not in {k.action_key for k in keep}:
            keep.append(act)
    inc.actions = keep


def save(session: Session, rec: IncidentRecord) -> Incident:
    """Insert or replace (same source and source_ref) one incident; the caller commits."""
    rec = redacted(rec)
    inc = session.scalar(select(Incident).where(Incident.source == rec.source,
                                                Incident.source_ref == rec.source_ref))
    if inc is None:
        inc = Incident(source=rec.source, source_ref=rec.source_ref)
        session.add(inc)
    for k, v in _fields(rec).items():
        setattr(inc, k, v)
    inc.search_text = search_text(rec)
    inc.imported_at = datetime.now(timezone.utc)
    inc.tags = _tags(rec)
    _merge_actions(inc, rec)
    inc.embeddings = []  # the text may have changed: embeddings are recomputed on demand
    session.flush()
    _sync_fts(session, inc)
    return inc


def _sync_fts(session: Session, inc: Incident) -> None:
    # PostgreSQL's tsvector is a generated column; SQLite's FTS5 table is kept by hand.
    if session.get_bind().dialect.name != "sqlite":
        return
    session.execute(text("DELETE FROM incident_fts WHERE rowid = :id"), {"id": inc.id})
    session.execute(text("INSERT INTO incident_fts(rowid, title, body) VALUES (:id, :t, :b)"),
                    {"id": inc.id, "t": inc.title, "b": inc.search_text})


def remove(session: Session, incident_id: int) -> None:
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("DELETE FROM incident_fts WHERE rowid = :id"), {"id": incident_id})
    session.execute(delete(Incident).where(Incident.id == incident_id))
