"""Login rate limit: failed attempts counted per username and per client address, in the database.

Why the database and not memory: the service scales out to several API processes behind one
address, and a per-process counter would give an attacker N times the budget (and forget it on
every restart). The incident database is the one thing all instances share, and one indexed
count per login is cheap next to the argon2 verification it guards.

A window of `login_window_s` seconds: after `login_max_failures_per_user` failures for a username,
or `login_max_failures_per_address` from one address, further attempts are refused with 429 until
the oldest failure leaves the window (without even checking the password, so a correct guess
during the lockout is not confirmed). A successful login clears that username's failures.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from service.errors import ApiError
from service.models import LoginFailure
from service.settings import ServiceSettings


def _key(username: str) -> str:
    return username.strip().lower()[:64]


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _blocked_for(session: Session, where: ColumnElement[bool], limit: int, since: datetime,
                 window_s: int, now: datetime) -> int | None:
    """Seconds until the next attempt is allowed, or None when under the limit."""
    count, oldest = session.execute(select(func.count(), func.min(LoginFailure.at))
                                    .where(where, LoginFailure.at > since)).one()
    if count < limit or oldest is None:
        return None
    return max(1, math.ceil((_aware(oldest) + timedelta(seconds=window_s) - now).total_seconds()))


def check(session: Session, username: str, client: str, settings: ServiceSettings) -> None:
    now = datetime.now(timezone.utc)
    since = now - timedelta(seconds=settings.login_window_s)
    waits = [w for w in (
        _blocked_for(session, LoginFailure.username == _key(username), settings.login_max_failures_per_user,
                     since, settings.login_window_s, now),
        _blocked_for(session, LoginFailure.client == client[:64], settings.login_max_failures_per_address,
                     since, settings.login_window_s, now)) if w is not None]
    if waits:
        wait = max(waits)
        raise ApiError(429, "too many failed logins", f"wait {wait} s before trying again",
                       headers={"Retry-After": str(wait)})


def record_failure(session: Session, username: str, client: str, settings: ServiceSettings) -> None:
    now = datetime.now(timezone.utc)
    # Rows older than the window no longer count; dropping them here keeps the table small.
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - timedelta(seconds=settings.login_window_s)))
    session.add(LoginFailure(username=_key(username), client=client[:64], at=now))
    session.commit()


def clear_user(session: Session, username: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.username == _key(username)))
    session.commit()
