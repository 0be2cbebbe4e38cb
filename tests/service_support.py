"""Shared by the service tests: a cheap argon2 cost so tests exercise the real hashing code paths
without spending seconds per login on a shared 2-core machine (the production parameters are
checked once, in test_service_auth.py)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from service.auth import passwords


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", hasher.hash("unused-dummy-password"))
