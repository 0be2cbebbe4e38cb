"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile).

Why argon2: memory-hard, the current OWASP first choice, and the library checks parameters in the
hash itself so `needs_rehash` upgrades old hashes on the next successful login.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verifying against this when the username is unknown keeps the timing of "no such user" and
# "wrong password" alike, so login does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def generate_password() -> str:
    return secrets.token_urlsafe(18)  # 24 characters, 144 bits
