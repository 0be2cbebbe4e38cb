"""User accounts: creation (with a generated password when none is given) and the first admin.

Shared by the admin routes and `postmortem serve` / `postmortem users add`, so the rules (name
format, password length, hashing) live once.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.auth.passwords import MIN_LENGTH, generate_password, hash_password
from service.errors import ApiError
from service.models import Role, User

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
FIRST_ADMIN = "admin"


def check_username(username: str) -> str:
    if not USERNAME_RE.match(username):
        raise ApiError(422, f"invalid username {username[:64]!r}",
                       "use 1-64 letters, digits, '_', '.', '@' or '-', starting with a letter or digit")
    return username


def check_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ApiError(422, "password too short", f"use at least {MIN_LENGTH} characters, or omit it "
                                                  "to have one generated")
    return password


def by_name(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def create(session: Session, username: str, role: Role, password: str | None = None) -> tuple[User, str | None]:
    """The new user, and its password if it was generated (to show once); the caller commits."""
    check_username(username)
    if by_name(session, username) is not None:
        raise ApiError(409, f"user {username!r} already exists", "choose another username")
    generated = None if password else generate_password()
    user = User(username=username, password_hash=hash_password(check_password(password or generated or "")),
                role=role, disabled=False, created_at=datetime.now(timezone.utc))
    session.add(user)
    session.flush()
    return user, generated


def ensure_first_admin(session: Session) -> tuple[str, str] | None:
    """When no user exists, create `admin` with a generated password: (username, password)."""
    if session.scalar(select(func.count()).select_from(User)):
        return None
    user, password = create(session, FIRST_ADMIN, Role.admin)
    session.commit()
    assert password is not None  # create() generates one when none is given
    return user.username, password
