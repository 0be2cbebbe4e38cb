"""Browser sessions: a random session id in a signed cookie, the session row on the server.

The cookie is signed with itsdangerous so a forged or altered value is rejected before any
database lookup; the server-side row (keyed by the id's sha256) makes logout and expiry real,
which a self-contained signed cookie could not do.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.auth.tokens import digest
from service.models import User, WebSession

COOKIE = "pm_session"
_SALT = "postmortem-session"


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=_SALT)


def _aware(at: datetime) -> datetime:
    # SQLite returns naive datetimes even for timezone-aware columns; they were written in UTC.
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def start(session: Session, user: User, secret_key: str, ttl_s: int) -> tuple[str, str]:
    """A new session row; returns (session id, signed cookie value)."""
    sid = secrets.token_urlsafe(32)
    now = datetime.now(timezone.utc)
    session.add(WebSession(sid_sha256=digest(sid), user_id=user.id, created_at=now,
                           expires_at=now + timedelta(seconds=ttl_s)))
    session.commit()
    return sid, _serializer(secret_key).dumps(sid)


def session_id(cookie: str, secret_key: str) -> str | None:
    try:
        value = _serializer(secret_key).loads(cookie)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def user_for_session(session: Session, sid: str) -> User | None:
    row = session.scalar(select(WebSession).where(WebSession.sid_sha256 == digest(sid)))
    if row is None:
        return None
    if _aware(row.expires_at) <= datetime.now(timezone.utc):
        session.delete(row)
        session.commit()
        return None
    return None if row.user.disabled else row.user


def end(session: Session, sid: str) -> None:
    session.execute(delete(WebSession).where(WebSession.sid_sha256 == digest(sid)))
    session.commit()


def end_all_for(session: Session, user_id: int) -> None:
    """Log a user out everywhere (password change, account disabled)."""
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    session.commit()
