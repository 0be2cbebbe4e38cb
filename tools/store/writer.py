"""Writing a store: what ingest uses. Create, append, merge worker shards, finalize.

Rows are full-text indexed and counted per minute as they arrive; finalize() builds the B-tree
indexes, the per-minute table and the summaries once, after the last row."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tools.models import Evidence, Inventory
from tools.store import schema
from tools.store.reader import EvidenceReader
from tools.store.rows import row_values, utc
from tools.store.schema import COLUMNS, EVIDENCE_TABLE, FTS_COLUMNS, MINUTES_TABLE

_INSERT = f"INSERT OR IGNORE INTO evidence ({COLUMNS}, status) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
_BATCH = 5000
# Per-minute log totals answer the analysis' bucket questions without touching millions of rows
# again. Counted as rows arrive (a rowid range, still in cache), written out at finalize: one
# GROUP BY over the whole table afterwards reads it in time order, 5 s on 300 MB.
_MINUTES = """
SELECT CAST(ts / 60 AS INTEGER) AS m, source, count(*),
       sum(CASE WHEN level IN ('error','critical') OR status >= 500 THEN 1 ELSE 0 END),
       sum(status IS NOT NULL), sum(CASE WHEN status >= 500 THEN 1 ELSE 0 END)
FROM evidence WHERE rowid > ? AND kind = 'log' AND ts IS NOT NULL GROUP BY m, source
"""


class SpanStats(BaseModel):
    """Time span of a run of rows: first/last timestamp, how many were assumed, rows per year
    among those whose timestamp was stated (yearless formats take their year from these)."""

    first: datetime | None = None
    last: datetime | None = None
    assumed: int = 0
    years: dict[int, int] = {}


def span_stats(db: sqlite3.Connection, after_rowid: int) -> SpanStats:
    lo, hi, assumed, stated = db.execute(
        "SELECT min(ts), max(ts), sum(CASE WHEN ts_assumed THEN 1 ELSE 0 END), "
        "sum(CASE WHEN ts_assumed THEN 0 ELSE 1 END) FROM evidence "
        "WHERE rowid > ? AND ts IS NOT NULL", (after_rowid,)).fetchone()
    first, last = utc(lo), utc(hi)
    if first is not None and last is not None and first.year == last.year:
        years = {first.year: int(stated)} if stated else {}  # the usual case: no per-row date math
    else:
        years = {int(y): n for y, n in db.execute(
            "SELECT CAST(strftime('%Y', ts, 'unixepoch') AS INTEGER), count(*) FROM evidence "
            "WHERE rowid > ? AND ts IS NOT NULL AND NOT ts_assumed GROUP BY 1", (after_rowid,))}
    return SpanStats(first=first, last=last, assumed=int(assumed or 0), years=years)


class ShardWriter:
    """A bare evidence table in its own file: what one ingest worker fills, for the store to merge.

    No indexes and no full-text index: the store builds those once, in merge order."""

    def __init__(self, path: Path | str, fresh: bool = True) -> None:
        self.path = Path(path)
        if fresh and self.path.exists():
            self.path.unlink()
        self._db = sqlite3.connect(str(self.path))
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(EVIDENCE_TABLE)

    def add_many(self, items: Iterable[Evidence]) -> int:
        n = 0
        sql = _INSERT.replace("OR IGNORE ", "")
        batch: list[tuple[Any, ...]] = []
        for ev in items:
            batch.append(row_values(ev))
            if len(batch) >= _BATCH:
                with self._db:
                    self._db.executemany(sql, batch)
                n += len(batch)
                batch.clear()
        with self._db:
            self._db.executemany(sql, batch)
        return n + len(batch)

    def span_stats(self, after_rowid: int = 0) -> SpanStats:
        return span_stats(self._db, after_rowid)

    def rewrite(self, marker: str, fix: Callable[[str], str]) -> int:
        """Apply `fix` to text and attrs of the rows containing `marker`; returns rows changed."""
        rows = self._db.execute(
            "SELECT rowid, text, attrs FROM evidence WHERE instr(text, ?) OR instr(attrs, ?)", (marker, marker)
        ).fetchall()
        changed = [(fix(t), fix(a), r) for r, t, a in rows]
        with self._db:
            self._db.executemany("UPDATE evidence SET text=?, attrs=? WHERE rowid=?", changed)
        return len(changed)

    def close(self) -> None:
        self._db.close()


class StoreWriter:
    """Append-then-finalize: call `finalize()` once after the last `add_many()` or `merge_shard()`.
    `open()` appends to an existing store (a reviewer's note in a chat session)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db, _ = schema.connect(self.path)
        self._indexed = self.last_rowid()
        # (minute, source) -> [logs, errors, with status, 5xx]
        self._minutes: dict[tuple[int, str], list[int]] = {}
        self._minutes_complete = self._indexed == 0
        # Services named by the rows loaded through this instance (complete when minutes are).
        self._services_seen: set[str] = set()

    @classmethod
    def create(cls, path: Path | str) -> StoreWriter:
        """A fresh, empty store at `path` (any previous store there is removed)."""
        p = Path(path)
        for suffix in ("", "-wal", "-shm"):
            q = p.with_name(p.name + suffix)
            if q.exists():
                q.unlink()
        return cls(p)

    @classmethod
    def open(cls, path: Path | str) -> StoreWriter:
        """The store at `path`, to append to (created when missing)."""
        return cls(path)

    def reader(self) -> EvidenceReader:
        """A reader over this writer's connection: ingest's summary of what it loaded."""
        return EvidenceReader(self.path, self._db)

    def close(self) -> None:
        self._db.close()

    def add_many(self, items: Iterable[Evidence]) -> int:
        """Insert evidence in batches; a duplicate id keeps the first record. Returns rows added."""
        added = 0
        batch: list[tuple[Any, ...]] = []
        for ev in items:
            batch.append(row_values(ev))
            if len(batch) >= _BATCH:
                added += self._flush(batch)
        added += self._flush(batch)
        with self._db:
            self._index_new_rows()
        return added

    def _flush(self, batch: list[tuple[Any, ...]]) -> int:
        if not batch:
            return 0
        before = self._db.total_changes
        with self._db:
            self._db.executemany(_INSERT, batch)
        batch.clear()
        return self._db.total_changes - before

    def last_rowid(self) -> int:
        return int(self._db.execute("SELECT coalesce(max(rowid), 0) FROM evidence").fetchone()[0])

    def span_stats(self, after_rowid: int) -> SpanStats:
        """Time span of the rows added after `after_rowid` (see SpanStats)."""
        return span_stats(self._db, after_rowid)

    def merge_shard(self, path: Path | str) -> int:
        """Append a worker's shard (see ShardWriter) in its row order; duplicate ids keep the first."""
        self._db.execute("ATTACH DATABASE ? AS shard", (str(path),))
        try:
            before = self._db.total_changes
            with self._db:
                self._db.execute(
                    f"INSERT OR IGNORE INTO evidence ({COLUMNS}, status) "
                    f"SELECT {COLUMNS}, status FROM shard.evidence ORDER BY rowid"
                )
                added = self._db.total_changes - before
                self._index_new_rows()
        finally:
            self._db.execute("DETACH DATABASE shard")
        return added

    def _index_new_rows(self) -> None:
        # A whole file or shard at a time: FTS5 writes one segment per call, not one per batch.
        self._db.execute(
            f"INSERT INTO evidence_fts(rowid, {FTS_COLUMNS}) SELECT rowid, {FTS_COLUMNS} FROM evidence "
            "WHERE rowid > ?",
            (self._indexed,),
        )
        self._count_minutes(self._indexed)
        self._services_seen.update(r[0] for r in self._db.execute(
            "SELECT DISTINCT service FROM evidence WHERE rowid > ? AND service IS NOT NULL", (self._indexed,)))
        self._indexed = self.last_rowid()

    def _count_minutes(self, after_rowid: int) -> None:
        for m, src, n, e, st, f in self._db.execute(_MINUTES, (after_rowid,)):
            tot = self._minutes.setdefault((m, src), [0, 0, 0, 0])
            tot[0] += n
            tot[1] += e
            tot[2] += st
            tot[3] += f

    def finalize(self) -> dict[str, float]:
        """Build the B-tree indexes, per-minute totals and summaries once, after bulk loading.
        Returns the seconds each step took (benchmarks print them)."""
        took: dict[str, float] = {}

        def step(name: str, *sql: str) -> None:
            t = time.perf_counter()
            with self._db:
                for q in sql:
                    self._db.execute(q)
            took[name] = round(time.perf_counter() - t, 2)

        step("indexes", *[q for q in MINUTES_TABLE.split(";") if q.strip()])
        complete = self._minutes_complete
        if not self._minutes_complete:  # reopened store: count what was loaded before
            self._minutes.clear()
            self._count_minutes(0)
        with self._db:
            self._db.executemany("INSERT INTO log_minutes VALUES (?,?,?,?,?,?)",
                                 [(*key, *tot) for key, tot in sorted(self._minutes.items())])
        self._minutes_complete = True
        step("fts_merge", "INSERT INTO evidence_fts(evidence_fts, rank) VALUES ('automerge', 4)",
             "INSERT INTO evidence_fts(evidence_fts, rank) VALUES ('merge', 500)")
        t = time.perf_counter()
        if complete:  # every row passed _index_new_rows: no full-table scan at the end
            services = sorted(self._services_seen)
        else:
            services = [r[0] for r in self._db.execute(
                "SELECT DISTINCT service FROM evidence WHERE service IS NOT NULL ORDER BY service")]
        self.set_meta("services", services)
        # Approximate statistics are enough for the planner and cost milliseconds, not seconds.
        self._db.execute("PRAGMA analysis_limit=1000")
        self._db.execute("ANALYZE")
        took["summaries"] = round(time.perf_counter() - t, 2)
        return took

    def set_meta(self, key: str, value: Any) -> None:
        schema.set_meta(self._db, key, value)

    def get_meta(self, key: str, default: Any = None) -> Any:
        return schema.get_meta(self._db, key, default)

    def save_inventory(self, inventory: Inventory) -> None:
        self.set_meta("inventory", inventory.model_dump(mode="json"))
