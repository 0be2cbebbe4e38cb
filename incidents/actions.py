"""Remediation actions to done: list them across incidents, move their status, find the overdue ones.

An action keeps the id it had in its report (AI-001) and the incident it came from, so the pair
(incident id, action key) names it everywhere: in the CLI, in tracker exports and when a tracker's
status is read back. `verified` is the only status that needs proof: the evidence of verification
(a game-day result, the alert that fired, a link) is stored with it, because an action marked
verified without saying how is the "checkbox compliance" the learning loop exists to avoid.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from incidents.models import Action, ActionStatus, Incident

# Statuses that close an action: nothing is overdue once it is in one of them.
CLOSED = frozenset({ActionStatus.done, ActionStatus.verified, ActionStatus.wont_do})


class ActionProblem(ValueError):
    """A status change that cannot be applied (unknown action, missing verification evidence)."""


class ActionView(BaseModel):
    """One action with the incident it belongs to, as the CLI, exports and the service show it."""

    incident_id: int
    incident_title: str
    key: str
    action: str
    owner: str | None
    due: date | None
    priority: str | None
    verification: str
    addresses: list[str]
    status: ActionStatus
    verified_evidence: str | None
    tracker_ref: str | None
    overdue: bool

    @classmethod
    def of(cls, row: Action, today: date) -> ActionView:
        return cls(incident_id=row.incident_id, incident_title=row.incident.title, key=row.action_key,
                   action=row.action, owner=row.owner, due=row.due, priority=row.priority,
                   verification=row.verification, addresses=list(row.addresses or []),
                   status=row.status, verified_evidence=row.verified_evidence,
                   tracker_ref=row.tracker_ref, overdue=is_overdue(row, today))


def is_overdue(row: Action, today: date) -> bool:
    return row.due is not None and row.due < today and row.status not in CLOSED


def list_actions(session: Session, today: date, *, overdue: bool = False, owner: str | None = None,
                 status: ActionStatus | None = None, incident_id: int | None = None) -> list[ActionView]:
    """Actions ordered by due date (undated last), then incident and key.

    `owner` matches case-insensitively anywhere in the owner field, because owners are roles
    ("serving platform lead") more often than exact names."""
    q = select(Action).options(joinedload(Action.incident)).join(Incident)
    if incident_id is not None:
        q = q.where(Action.incident_id == incident_id)
    if status is not None:
        q = q.where(Action.status == status)
    if owner:
        q = q.where(Action.owner.ilike(f"%{owner}%"))
    if overdue:
        q = q.where(Action.due < today, Action.status.not_in(list(CLOSED)))
    q = q.order_by(Action.due.is_(None), Action.due, Action.incident_id, Action.action_key)
    return [ActionView.of(row, today) for row in session.scalars(q).unique()]


def find_action(session: Session, incident_id: int, key: str) -> Action:
    row = session.scalar(select(Action).where(Action.incident_id == incident_id,
                                              Action.action_key == key.upper()))
    if row is None:
        raise ActionProblem(f"no action {key} on incident {incident_id}; "
                            f"`postmortem actions list --incident {incident_id}` shows its actions")
    return row


def set_status(session: Session, incident_id: int, key: str, status: ActionStatus, *,
               evidence: str | None = None, tracker_ref: str | None = None,
               now: datetime | None = None) -> Action:
    """Move one action to `status`; `verified` needs the evidence of verification."""
    row = find_action(session, incident_id, key)
    if status is ActionStatus.verified and not (evidence or row.verified_evidence or "").strip():
        raise ActionProblem(f"{key}: `verified` needs the evidence of verification "
                            f"(what showed it works: {row.verification or 'see the action'}); pass --evidence")
    if evidence:
        from tools.redact import Redactor  # evidence text is stored: same redaction as every import

        row.verified_evidence = Redactor().redact_text(evidence)
    if tracker_ref:
        row.tracker_ref = tracker_ref
    if row.status is not status:
        row.status = status
        row.status_changed_at = now or datetime.now(timezone.utc)
    return row
