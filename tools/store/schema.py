"""The store's tables, their version, and opening a store file.

Why SQLite: ingestion streams records straight to disk (memory stays flat however large the dump),
FTS5 gives sub-second full-text search over millions of log lines, and a single file is easy to
keep beside a run's checkpoint. Timestamps are stored as UTC epoch seconds (REAL) for range scans.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS evidence (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    ts REAL,
    ts_assumed INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL,
    locator TEXT NOT NULL,
    service TEXT,
    level TEXT,
    text TEXT NOT NULL,
    attrs TEXT NOT NULL,
    flags TEXT NOT NULL,
    status INTEGER  -- attrs.status as an HTTP code, lifted out so aggregates never parse JSON
);
-- Ids must be unique. Line records ("log:<file>:<line>", "trace:<file>:<line>") are unique by
-- construction, so only the other kinds (a Slack message or PagerDuty entry exported twice)
-- are checked while loading; millions of log ids would make that check the slowest part.
CREATE UNIQUE INDEX IF NOT EXISTS ux_evidence_id ON evidence(id) WHERE kind NOT IN ('log', 'trace');
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ix_evidence_id ON evidence(id);
CREATE INDEX IF NOT EXISTS ix_evidence_ts ON evidence(ts);
-- Kind-and-time lookups for everything but log lines: logs are the bulk of a big dump and are
-- found through ix_evidence_ts (most rows in any window are logs), while alerts, chat, traces and
-- the rest stay one index probe away however many logs surround them. Kept partial because
-- maintaining it for millions of log rows cost the merging parent ~7 s of CPU per 3M rows.
-- Queries must carry the term `kind != 'log'` verbatim for SQLite to use it (see rows.where).
CREATE INDEX IF NOT EXISTS ix_evidence_other_kind_ts ON evidence(kind, ts) WHERE kind != 'log';
-- External-content index, fed as rows arrive; columnsize=0 because nothing ranks by bm25.
-- Columns beyond `text` carry the words people search by that the text itself may lack: an
-- error-level line rarely says "error", a service name sits in its own column (see FTS_COLUMNS).
CREATE VIRTUAL TABLE IF NOT EXISTS evidence_fts USING fts5(
    text, level, service, kind, content='evidence', content_rowid='rowid', tokenize='unicode61',
    columnsize=0);
"""
# The bare evidence table: what an ingest worker's shard holds.
EVIDENCE_TABLE = SCHEMA.split(";")[0]
# Plain unicode61: "vllm-inference" and "upstream_error" index as separate words, so a search for
# "vllm" or "error" finds them; multi-part terms ("server.go") are matched as phrases.
# The indexed columns share their names with `evidence` columns (external content reads them from
# there), so one INSERT ... SELECT fills them all as a shard is merged.
FTS_COLUMNS = "text, level, service, kind"
MINUTES_TABLE = """
DROP TABLE IF EXISTS log_minutes;
CREATE TABLE log_minutes (minute INTEGER, source TEXT, n INTEGER, errors INTEGER, with_status INTEGER,
                          failed INTEGER, PRIMARY KEY (minute, source));
"""
# The same expression decides a row's minute wherever minutes and raw rows meet (status_totals).
MINUTE_OF = "CAST(ts / 60 AS INTEGER)"
SCHEMA_VERSION = 5  # 5: level, service and kind became full-text columns
COLUMNS = "id, kind, ts, ts_assumed, source, locator, service, level, text, attrs, flags"
NOT_LOG = "kind != 'log'"  # the partial index's own condition, spelled the same


class StoreVersionError(RuntimeError):
    """The store file was written by a version with another schema."""


def has_evidence(db: sqlite3.Connection) -> bool:
    return db.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='evidence'").fetchone() is not None


def is_finalized(db: sqlite3.Connection) -> bool:
    """finalize() has built the per-minute table."""
    return db.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='log_minutes'").fetchone() is not None


def get_meta(db: sqlite3.Connection, key: str, default: Any = None) -> Any:
    row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return default if row is None else json.loads(row[0])


def set_meta(db: sqlite3.Connection, key: str, value: Any) -> None:
    with db:
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value, default=str)))


def connect(path: Path) -> tuple[sqlite3.Connection, bool]:
    """Open (creating when missing) the store at `path`; (connection, whether it was new).

    Raises StoreVersionError for a store written with another schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists()
    db = sqlite3.connect(str(path), check_same_thread=False)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-131072")  # 128 MiB: index builds over millions of rows
    if fresh:
        # A bulk load that fails is rebuilt from scratch, never repaired: the rollback journal
        # can live in memory. (WAL doubled the writes: 13 s of checkpointing on 300 MB.)
        db.execute("PRAGMA journal_mode=MEMORY")
    elif has_evidence(db) and get_meta(db, "schema_version", 0) != SCHEMA_VERSION:
        db.close()
        raise StoreVersionError(
            f"{path} was written by another version of postmortem-lead; "
            "run the draft again without --resume (or `postmortem ingest` again) to rebuild it."
        )
    if fresh or not has_evidence(db):
        db.executescript(SCHEMA)
        # Big in-memory term hash, segments merged at finalize: halves the full-text cost of a
        # bulk load (measured on 300k log lines: 1.5 s -> 0.7 s).
        db.execute("INSERT INTO evidence_fts(evidence_fts, rank) VALUES ('hashsize', 67108864)")
        db.execute("INSERT INTO evidence_fts(evidence_fts, rank) VALUES ('automerge', 0)")
        set_meta(db, "schema_version", SCHEMA_VERSION)
    return db, fresh
