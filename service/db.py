"""The database session per request, on the engine `create_app` opened from the settings.

One engine per app (in `app.state.sessionmaker`), migrated to head at start, so a request never
finds a missing table; a session per request, closed (and rolled back if not committed) at the end.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from incidents.db import current_revision, head_revision, make_engine, upgrade


def open_sessionmaker(url: str) -> sessionmaker[Session]:
    engine = make_engine(url)
    if current_revision(engine) != head_revision():
        upgrade(engine)
    return sessionmaker(engine, expire_on_commit=False)


def get_session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    with factory() as session:
        yield session
