"""The database session per request, on the engine `create_app` opened from the settings.

One engine per app (in `app.state.sessionmaker`), migrated to head at start, so a request never
finds a missing table; a session per request, closed (and rolled back if not committed) at the end.

On PostgreSQL several processes (the app, `postmortem worker`s) may start together on an empty
database; the Alembic upgrade runs under an advisory lock so only one of them migrates and the
others wait and then find the schema at head (without it they race on CREATE TABLE).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from incidents.db import current_revision, head_revision, make_engine, upgrade

# Any fixed 64-bit number, distinct from service.checkpoints' set-up lock.
MIGRATION_LOCK_KEY = 0x706D6C6D696772  # "pmlmigr"
MIGRATION_WAIT_S = 300.0
_POLL_S = 0.2


def open_sessionmaker(url: str) -> sessionmaker[Session]:
    engine = make_engine(url)
    if current_revision(engine) != head_revision():
        with migration_lock(engine):
            # Whoever held the lock before us may have migrated already.
            if current_revision(engine) != head_revision():
                upgrade(engine)
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def migration_lock(engine: Engine, wait_s: float = MIGRATION_WAIT_S) -> Iterator[None]:
    """Hold the migration advisory lock on PostgreSQL (nothing to hold on SQLite: one host, and
    SQLite serialises writers itself).

    A try-lock in a loop on an autocommit connection, not a blocking pg_advisory_lock: a session
    waiting inside a transaction would make the holder's CREATE INDEX CONCURRENTLY wait for it, a
    deadlock (see service.checkpoints)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as raw:
        conn = raw.execution_options(isolation_level="AUTOCOMMIT")
        deadline = time.monotonic() + wait_s
        while not conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}):
            if time.monotonic() > deadline:
                raise TimeoutError(f"another process held the database migration lock for {wait_s:.0f}s; "
                                   "check for a stuck `postmortem serve` or worker, then start again")
            time.sleep(_POLL_S)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})


def get_session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    with factory() as session:
        yield session
