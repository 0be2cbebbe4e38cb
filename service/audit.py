"""The audit trail of restricted incidents: who read or exported what, when, and whether allowed.

Written in its own commit right at the access check, before any content is produced, so a read
that later fails still leaves its row, and a denied attempt is recorded too.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.orm import Session

from service.models import AuditEntry, User


def record(session: Session, *, user: User | None, incident_id: int | None, action: str,
           outcome: str, client: str | None, detail: str = "") -> None:
    session.add(AuditEntry(at=datetime.now(timezone.utc), user_id=user.id if user else None,
                           username=user.username if user else None, incident_id=incident_id,
                           action=action, outcome=outcome, client=(client or "")[:64] or None,
                           detail=detail))
    session.commit()
