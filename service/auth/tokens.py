"""Personal API tokens: `pml_<random>`, shown once at creation, stored as a sha256 digest.

sha256 (not argon2) is enough here: the token is 256 random bits, so there is nothing to brute
force, and a fast digest lets every API request be checked with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import ApiToken, User

PREFIX = "pml_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def issue(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token row for the user and the plain token (the only time it exists in clear)."""
    plain = new_token()
    row = ApiToken(user_id=user.id, name=name, token_sha256=digest(plain), prefix=plain[:10],
                   created_at=datetime.now(timezone.utc))
    session.add(row)
    session.flush()
    return row, plain


def user_for_token(session: Session, plain: str) -> User | None:
    if not plain.startswith(PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == digest(plain)))
    if row is None or row.revoked_at is not None or row.user.disabled:
        return None
    row.last_used_at = datetime.now(timezone.utc)
    session.commit()
    return row.user
