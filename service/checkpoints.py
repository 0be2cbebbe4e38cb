"""Which LangGraph checkpointer a draft job uses.

Why PostgreSQL when the service database is PostgreSQL: with Celery, the worker that resumes a job
after another worker died may run on a different host, so the checkpoints must live where every
worker can reach them. The service database is the one store all processes already share, so the
checkpoints go there (`langgraph-checkpoint-postgres`, tables `checkpoint*` next to the incident
tables). With a SQLite database (single host, the in-process queue) the CLI's SQLite checkpointer
under the data dir is kept: same behaviour as `postmortem draft`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres import PostgresSaver
from psycopg.rows import dict_row
from sqlalchemy.engine import make_url

from agent.runner import checkpointer as sqlite_checkpointer
from agent.runner import serializer

# Any fixed 64-bit number: serialises `setup()` across processes (two workers starting at once
# would otherwise race on CREATE TABLE IF NOT EXISTS, which PostgreSQL does not make atomic).
_SETUP_LOCK_KEY = 0x706D6C636B7074  # "pmlckpt"
_SETUP_WAIT_S = 120.0
_setup_done: set[str] = set()
_setup_guard = threading.Lock()


def is_postgres(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL (`postgresql+psycopg://...`) as a plain libpq connection string."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _ensure_tables(conn: psycopg.Connection[dict[str, object]], saver: PostgresSaver, key: str) -> None:
    with _setup_guard:
        if key in _setup_done:
            return
        # Try-lock in a loop, not a blocking pg_advisory_lock: a session *waiting* for the lock sits
        # in an open transaction, and the holder's CREATE INDEX CONCURRENTLY waits for every open
        # transaction to end, a deadlock PostgreSQL breaks by failing one of them.
        deadline = time.monotonic() + _SETUP_WAIT_S
        while not _try_setup_lock(conn):
            if time.monotonic() > deadline:
                raise TimeoutError(f"another process held the checkpoint set-up lock for {_SETUP_WAIT_S:.0f}s")
            time.sleep(0.1)
        try:
            saver.setup()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))
        _setup_done.add(key)


def _try_setup_lock(conn: psycopg.Connection[dict[str, object]]) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (_SETUP_LOCK_KEY,)).fetchone()
    return bool(row and row["ok"])


@contextmanager
def open_checkpointer(database_url: str, data_dir: Path) -> Iterator[BaseCheckpointSaver]:
    """A checkpointer for one job, closed on exit. PostgreSQL: one connection per job (a saver
    serialises its calls on one connection, so sharing one across worker threads would make the
    jobs wait on each other); its tables are created on first use in each process."""
    if not is_postgres(database_url):
        with sqlite_checkpointer(data_dir) as saver:
            yield saver
        return
    conninfo = libpq_url(database_url)
    # autocommit and no prepared statements: what PostgresSaver requires (see its from_conn_string).
    with psycopg.connect(conninfo, autocommit=True, prepare_threshold=0, row_factory=dict_row) as conn:
        saver = PostgresSaver(conn, serde=serializer())  # type: ignore[arg-type]
        _ensure_tables(conn, saver, conninfo)
        yield saver


def has_checkpoint(saver: BaseCheckpointSaver, run_id: str) -> bool:
    """Has this run (thread) a checkpoint, i.e. should the job resume rather than start over?"""
    return saver.get_tuple({"configurable": {"thread_id": run_id}}) is not None
