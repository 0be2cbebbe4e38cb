"""SQLite evidence store.

Why SQLite: ingestion streams records straight to disk (memory stays flat however large the dump),
FTS5 gives sub-second full-text search over millions of log lines, and a single file is easy to
keep beside a run's checkpoint. Timestamps are stored as UTC epoch seconds (REAL) for range scans.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from tools.models import Evidence, EvidenceKind, Inventory, trusted_evidence
from tools.probes import user_status

_SCHEMA = """
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
-- Queries must carry the term `kind != 'log'` verbatim for SQLite to use it (see _where).
CREATE INDEX IF NOT EXISTS ix_evidence_other_kind_ts ON evidence(kind, ts) WHERE kind != 'log';
-- External-content index, fed as rows arrive; columnsize=0 because nothing ranks by bm25.
-- Columns beyond `text` carry the words people search by that the text itself may lack: an
-- error-level line rarely says "error", a service name sits in its own column (see _FTS_COLUMNS).
CREATE VIRTUAL TABLE IF NOT EXISTS evidence_fts USING fts5(
    text, level, service, kind, content='evidence', content_rowid='rowid', tokenize='unicode61',
    columnsize=0);
"""
# Plain unicode61: "vllm-inference" and "upstream_error" index as separate words, so a search for
# "vllm" or "error" finds them; multi-part terms ("server.go") are matched as phrases.
# The indexed columns share their names with `evidence` columns (external content reads them from
# there), so one INSERT ... SELECT fills them all as a shard is merged.
_FTS_COLUMNS = "text, level, service, kind"
_INDEXES = """
DROP TABLE IF EXISTS log_minutes;
CREATE TABLE log_minutes (minute INTEGER, source TEXT, n INTEGER, errors INTEGER, with_status INTEGER,
                          failed INTEGER, PRIMARY KEY (minute, source));
"""
# Per-minute log totals answer the analysis' bucket questions without touching millions of rows
# again. Counted as rows arrive (a rowid range, still in cache), written out at finalize: one
# GROUP BY over the whole table afterwards reads it in time order, 5 s on 300 MB.
_MINUTES = """
SELECT CAST(ts / 60 AS INTEGER) AS m, source, count(*),
       sum(CASE WHEN level IN ('error','critical') OR status >= 500 THEN 1 ELSE 0 END),
       sum(status IS NOT NULL), sum(CASE WHEN status >= 500 THEN 1 ELSE 0 END)
FROM evidence WHERE rowid > ? AND kind = 'log' AND ts IS NOT NULL GROUP BY m, source
"""
# The same expression decides a row's minute wherever minutes and raw rows meet (status_totals).
_MINUTE_OF = "CAST(ts / 60 AS INTEGER)"
SCHEMA_VERSION = 5  # 5: level, service and kind became full-text columns
_COLUMNS = "id, kind, ts, ts_assumed, source, locator, service, level, text, attrs, flags"
_NOT_LOG = "kind != 'log'"  # the partial index's own condition, spelled the same
_INSERT = f"INSERT OR IGNORE INTO evidence ({_COLUMNS}, status) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
_BATCH = 5000
# orjson encodes a row's attrs ~7x faster than json (0.4 vs 3.3 us, about 9 s of CPU per 3M log
# lines). Dates and dataclasses go to default=str as the stdlib path would send them; what orjson
# refuses (ints past 64 bits, lone surrogates, very deep nesting) takes the stdlib path. One
# difference remains: a NaN or infinite float is stored as null (JSON has no spelling for them).
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_stdlib_encode = json.JSONEncoder(default=str, separators=(",", ":")).encode
_dumps = orjson.dumps


def _encode(value: Any) -> str:
    try:
        return _dumps(value, default=str, option=_ORJSON_OPTIONS).decode()
    except (orjson.JSONEncodeError, TypeError):
        return _stdlib_encode(value)


def _epoch(dt: datetime | None) -> float | None:
    return None if dt is None else dt.timestamp()


def _http_status(attrs: dict[str, Any], text: str = "") -> int | None:
    return user_status(attrs, text)


def row_values(ev: Evidence) -> tuple[Any, ...]:
    """One evidence record as the values of an `evidence` row (the column order of _INSERT)."""
    attrs = ev.attrs
    return (
        ev.id, ev.kind.value, _epoch(ev.ts), int(ev.ts_assumed), ev.source, ev.locator, ev.service,
        ev.level, ev.text, _encode(attrs) if attrs else "{}", _encode(ev.flags) if ev.flags else "[]",
        _http_status(attrs, ev.text) if attrs else None,
    )


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
    conv = lambda x: None if x is None else datetime.fromtimestamp(x, tz=timezone.utc)  # noqa: E731
    first, last = conv(lo), conv(hi)
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
        self._db.execute(_SCHEMA.split(";")[0])  # the evidence table alone

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


_KINDS = {k.value: k for k in EvidenceKind}
_orjson_loads = orjson.loads


# orjson reads an integer past 64 bits as a float; such texts (and rows the stdlib encoder wrote
# when orjson refused a value, which may hold NaN) take the stdlib parser, so attrs come back
# exactly as they were written.
_LONG_NUMBER = re.compile(r"\d{19}")


def _loads(text: str) -> Any:
    if _LONG_NUMBER.search(text) is None:
        try:
            return _orjson_loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def _row_to_evidence(row: Sequence[Any]) -> Evidence:
    # Rows were validated on the way in; analysis reads tens of thousands of them.
    return trusted_evidence({
        "id": row[0], "kind": _KINDS[row[1]],
        "ts": None if row[2] is None else datetime.fromtimestamp(row[2], tz=timezone.utc),
        "ts_assumed": bool(row[3]), "source": row[4], "locator": row[5], "service": row[6],
        "level": row[7], "text": row[8], "attrs": {} if row[9] == "{}" else _loads(row[9]),
        "flags": [] if row[10] == "[]" else _loads(row[10]),
    })


def fts_query(text: str) -> str:
    """Turn free user text into a safe FTS5 query: every word must appear (quoted, so no syntax),
    each in the text or in the record's level, service or kind ("error vllm" finds error-level
    lines of vllm-inference whose text says neither)."""
    words = re.findall(r"[\w.\-]+", text)
    return " ".join('"' + w.replace('"', "") + '"' for w in words if w.strip(".-"))


def text_only(fts: str) -> str:
    """An FTS5 expression restricted to the `text` column: for callers that look for what a record
    says (quotes checked by validators, analysis lexicons), not for how it was labelled."""
    return f"text : ({fts})"


class StoreVersionError(RuntimeError):
    """The store file was written by a version with another schema."""


class EvidenceStore:
    """Append-then-query store. Call `finalize()` once after the last `add_many()`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA cache_size=-131072")  # 128 MiB: index builds over millions of rows
        if fresh:
            # A bulk load that fails is rebuilt from scratch, never repaired: the rollback journal
            # can live in memory. (WAL doubled the writes: 13 s of checkpointing on 300 MB.)
            self._db.execute("PRAGMA journal_mode=MEMORY")
        elif self._has_evidence() and self.get_meta("schema_version", 0) != SCHEMA_VERSION:
            self._db.close()
            raise StoreVersionError(
                f"{self.path} was written by another version of postmortem-lead; "
                "run the draft again without --resume (or `postmortem ingest` again) to rebuild it."
            )
        if fresh or not self._has_evidence():
            self._db.executescript(_SCHEMA)
            # Big in-memory term hash, segments merged at finalize: halves the full-text cost of a
            # bulk load (measured on 300k log lines: 1.5 s -> 0.7 s).
            self._db.execute("INSERT INTO evidence_fts(evidence_fts, rank) VALUES ('hashsize', 67108864)")
            self._db.execute("INSERT INTO evidence_fts(evidence_fts, rank) VALUES ('automerge', 0)")
            self.set_meta("schema_version", SCHEMA_VERSION)
        self._indexed = self._db.execute("SELECT coalesce(max(rowid), 0) FROM evidence").fetchone()[0]
        self._services: list[str] | None = None
        # (minute, source) -> [logs, errors, with status, 5xx]
        self._minutes: dict[tuple[int, str], list[int]] = {}
        self._minutes_complete = self._indexed == 0
        # Services named by the rows loaded through this instance (complete when minutes are).
        self._services_seen: set[str] = set()
        # Derived read-only results, kept per instance once the store is complete (finalized or
        # reopened): the store is append-then-query, so they cannot go stale.
        self.memo: dict[Any, Any] = {}
        self._finalized_once = not fresh

    def _has_evidence(self) -> bool:
        return self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='evidence'").fetchone() is not None

    @classmethod
    def create(cls, path: Path | str) -> EvidenceStore:
        """A fresh, empty store at `path` (any previous store there is removed)."""
        p = Path(path)
        for suffix in ("", "-wal", "-shm"):
            q = p.with_name(p.name + suffix)
            if q.exists():
                q.unlink()
        return cls(p)

    def close(self) -> None:
        self._db.close()

    # ---- writing -------------------------------------------------------------------------
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
                    f"INSERT OR IGNORE INTO evidence ({_COLUMNS}, status) "
                    f"SELECT {_COLUMNS}, status FROM shard.evidence ORDER BY rowid"
                )
                added = self._db.total_changes - before
                self._index_new_rows()
        finally:
            self._db.execute("DETACH DATABASE shard")
        return added

    def _index_new_rows(self) -> None:
        # A whole file or shard at a time: FTS5 writes one segment per call, not one per batch.
        self._db.execute(
            f"INSERT INTO evidence_fts(rowid, {_FTS_COLUMNS}) SELECT rowid, {_FTS_COLUMNS} FROM evidence "
            "WHERE rowid > ?",
            (self._indexed,),
        )
        self._count_minutes(self._indexed)
        self._services_seen.update(r[0] for r in self._db.execute(
            "SELECT DISTINCT service FROM evidence WHERE rowid > ? AND service IS NOT NULL", (self._indexed,)))
        self._indexed = self._db.execute("SELECT coalesce(max(rowid), 0) FROM evidence").fetchone()[0]

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

        step("indexes", *[q for q in _INDEXES.split(";") if q.strip()])
        complete = self._minutes_complete
        if not self._minutes_complete:  # reopened store: count what was loaded before
            self._minutes.clear()
            self._count_minutes(0)
        with self._db:
            self._db.executemany("INSERT INTO log_minutes VALUES (?,?,?,?,?,?)",
                                 [(*key, *tot) for key, tot in sorted(self._minutes.items())])
        self._minutes_complete = True
        self._finalized_once = True
        self.memo.clear()
        step("fts_merge", "INSERT INTO evidence_fts(evidence_fts, rank) VALUES ('automerge', 4)",
             "INSERT INTO evidence_fts(evidence_fts, rank) VALUES ('merge', 500)")
        t = time.perf_counter()
        if complete:  # every row passed _index_new_rows: no full-table scan at the end
            services = sorted(self._services_seen)
        else:
            services = [r[0] for r in self._db.execute(
                "SELECT DISTINCT service FROM evidence WHERE service IS NOT NULL ORDER BY service")]
        self.set_meta("services", services)
        self._services = None
        # Approximate statistics are enough for the planner and cost milliseconds, not seconds.
        self._db.execute("PRAGMA analysis_limit=1000")
        self._db.execute("ANALYZE")
        took["summaries"] = round(time.perf_counter() - t, 2)
        return took

    def set_meta(self, key: str, value: Any) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                (key, json.dumps(value, default=str)),
            )

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def save_inventory(self, inventory: Inventory) -> None:
        self.set_meta("inventory", inventory.model_dump(mode="json"))

    def load_inventory(self) -> Inventory | None:
        data = self.get_meta("inventory")
        return None if data is None else Inventory.model_validate(data)

    # ---- reading -------------------------------------------------------------------------
    def get(self, evidence_id: str) -> Evidence | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM evidence WHERE id=?", (evidence_id,)
        ).fetchone()
        return None if row is None else _row_to_evidence(row)

    def get_many(self, ids: Iterable[str]) -> list[Evidence]:
        out = []
        for i in ids:
            ev = self.get(i)
            if ev is not None:
                out.append(ev)
        return out

    def exists(self, evidence_id: str) -> bool:
        return (
            self._db.execute("SELECT 1 FROM evidence WHERE id=?", (evidence_id,)).fetchone()
            is not None
        )

    def _where(
        self,
        *,
        kinds: Sequence[EvidenceKind | str] | None,
        start: datetime | None,
        end: datetime | None,
        service: str | None,
        levels: Sequence[str] | None,
        source: str | None = None,
        prefix: str = "",
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if kinds:
            values = [k.value if isinstance(k, EvidenceKind) else k for k in kinds]
            clauses.append(f"{prefix}kind IN ({','.join('?' * len(values))})")
            params += values
            if "log" not in values:
                clauses.append(f"{prefix}{_NOT_LOG}")  # lets SQLite use the partial kind index
        if start is not None:
            clauses.append(f"{prefix}ts >= ?")
            params.append(start.timestamp())
        if end is not None:
            clauses.append(f"{prefix}ts <= ?")
            params.append(end.timestamp())
        if service:
            clauses.append(f"{prefix}service = ?")
            params.append(service)
        if levels:
            clauses.append(f"{prefix}level IN ({','.join('?' * len(levels))})")
            params += list(levels)
        if source:
            clauses.append(f"{prefix}source = ?")
            params.append(source)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def iter(
        self,
        *,
        kinds: Sequence[EvidenceKind | str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        service: str | None = None,
        levels: Sequence[str] | None = None,
        source: str | None = None,
        dated_only: bool = False,
    ) -> Iterator[Evidence]:
        """Stream matching evidence in time order (undated records last, in file order)."""
        where, params = self._where(
            kinds=kinds, start=start, end=end, service=service, levels=levels, source=source
        )
        if dated_only:
            where += (" AND " if where else " WHERE ") + "ts IS NOT NULL"
        cur = self._db.execute(
            f"SELECT {_COLUMNS} FROM evidence{where} ORDER BY ts IS NULL, ts, rowid", params
        )
        for row in cur:
            yield _row_to_evidence(row)

    def search(
        self,
        query: str | None = None,
        *,
        kinds: Sequence[EvidenceKind | str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        service: str | None = None,
        levels: Sequence[str] | None = None,
        limit: int = 100,
        newest_first: bool = False,
        count_cap: int | None = None,
    ) -> tuple[list[Evidence], int]:
        """Matching evidence (at most `limit`) and the total number that matched; with
        `count_cap`, counting stops at count_cap + 1 (read: "more than count_cap")."""
        where, params = self._where(
            kinds=kinds, start=start, end=end, service=service, levels=levels, prefix="e."
        )
        order = "DESC" if newest_first else "ASC"
        q = fts_query(query) if query else ""
        if q:
            join = " JOIN evidence_fts f ON f.rowid = e.rowid"
            where = where + (" AND " if where else " WHERE ") + "evidence_fts MATCH ?"
            params = params + [q]
        else:
            join = ""
        if count_cap is None:
            total = self._db.execute(f"SELECT count(*) FROM evidence e{join}{where}", params).fetchone()[0]
        else:
            # Counting a million matches costs a second; "more than 10,000" says as much.
            total = self._db.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM evidence e{join}{where} LIMIT ?)", params + [count_cap + 1]
            ).fetchone()[0]
        cols = ", ".join("e." + c.strip() for c in _COLUMNS.split(","))
        rows = self._db.execute(
            f"SELECT {cols} FROM evidence e{join}{where} ORDER BY e.ts {order}, e.rowid {order} LIMIT ?",
            params + [limit],
        ).fetchall()
        return [_row_to_evidence(r) for r in rows], total

    def count(self, *, kinds: Sequence[EvidenceKind | str] | None = None) -> int:
        where, params = self._where(kinds=kinds, start=None, end=None, service=None, levels=None)
        return self._db.execute(f"SELECT count(*) FROM evidence{where}", params).fetchone()[0]

    def contains_text(self, needle: str) -> bool:
        """True when some evidence text contains `needle` verbatim (case-insensitive)."""
        q = fts_query(needle)
        if not q:
            return False
        rows = self._db.execute(
            "SELECT e.text FROM evidence e JOIN evidence_fts f ON f.rowid=e.rowid "
            "WHERE evidence_fts MATCH ? LIMIT 200",
            (text_only(q),),  # level/service hits would crowd the 200 candidates checked below
        ).fetchall()
        # Renderers fold whitespace when they quote, so compare folded text.
        low = " ".join(needle.lower().split())
        return any(low in " ".join(r[0].lower().split()) for r in rows)

    def has_timestamp(self, dt: datetime, tolerance_s: float = 0.0) -> bool:
        """True when some evidence is timestamped within `tolerance_s` of `dt` (uses the ts index)."""
        t = dt.timestamp()
        row = self._db.execute(
            "SELECT 1 FROM evidence WHERE ts BETWEEN ? AND ? LIMIT 1", (t - tolerance_s, t + tolerance_s)
        ).fetchone()
        return row is not None

    def has_id_prefix(self, prefix: str) -> bool:
        """True when some evidence id starts with `prefix` (a range scan on the unique id index)."""
        row = self._db.execute(
            "SELECT 1 FROM evidence WHERE id >= ? AND id < ? LIMIT 1", (prefix, prefix + "\U0010ffff")
        ).fetchone()
        return row is not None

    # ---- aggregates (SQL, so analysis never pulls millions of rows into Python) ---------------
    _ERR = "(level IN ('error','critical') OR status >= 500)"

    def minute_stats(self) -> list[tuple[float, int, int, int, int]]:
        """Per-minute (start epoch, log records, errors, records with an HTTP status, of which 5xx),
        from the table finalize() builds."""
        rows = self._db.execute(
            "SELECT minute, sum(n), sum(errors), sum(with_status), sum(failed) FROM log_minutes "
            "GROUP BY minute ORDER BY minute").fetchall()
        return [(float(m * 60), int(n), int(e or 0), int(s or 0), int(f or 0)) for m, n, e, s, f in rows]

    def log_buckets(self, bucket_s: int = 60) -> list[tuple[float, int, int, int]]:
        """Per-bucket (start epoch, log records, error records, records with an HTTP status)."""
        if bucket_s % 60 == 0 and self._finalized():
            k = bucket_s // 60
            rows = self._db.execute(
                "SELECT CAST(minute / ? AS INTEGER) AS b, sum(n), sum(errors), sum(with_status) "
                "FROM log_minutes GROUP BY b ORDER BY b", (k,)).fetchall()
        else:
            rows = self._db.execute(
                f"SELECT CAST(ts / ? AS INTEGER) AS b, count(*), sum({self._ERR}), sum(status IS NOT NULL) "
                "FROM evidence WHERE kind='log' AND ts IS NOT NULL GROUP BY b ORDER BY b",
                (bucket_s,),
            ).fetchall()
        return [(float(b * bucket_s), int(n), int(e or 0), int(s or 0)) for b, n, e, s in rows]

    def _finalized(self) -> bool:
        return self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='log_minutes'").fetchone() is not None

    def status_totals(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> tuple[int, int, list[str], str | None, str | None]:
        """(records with an HTTP status, of which >= 500, sources, first and last 5xx ids).

        On a finalized store the whole minutes of the window come from log_minutes and only the
        two partial minutes at its edges are read row by row: an impact window over millions of
        request lines costs a few index probes instead of a scan (4.3 s -> 0.1 s on 300 MB)."""
        if start is None or not self._finalized():
            return self._status_scan(start, end)
        lo = start.timestamp()
        hi = None if end is None else end.timestamp()
        first_whole = -(-lo // 60)  # ceil: the first minute that starts inside the window
        past_whole = None if hi is None else hi // 60  # the minute holding `hi` is partial
        if past_whole is not None and past_whole <= first_whole:
            return self._status_scan(start, end)  # under two minutes: read the rows
        # Edge parts, cut by the table's own minute expression so no row lands on both sides.
        edges = [(f"ts >= ? AND ts < ? AND {_MINUTE_OF} < ?", [lo, first_whole * 60 + 1, first_whole])]
        if past_whole is not None:
            edges.append((f"ts > ? AND ts <= ? AND {_MINUTE_OF} >= ?", [past_whole * 60 - 1, hi, past_whole]))
        base = "FROM evidence WHERE kind = 'log' AND status IS NOT NULL AND "
        total = failed = 0
        sources: set[str] = set()
        first = last = None
        for cond, params in edges:
            for src, n, f in self._db.execute(
                    f"SELECT source, count(*), sum(status >= 500) {base}{cond} GROUP BY source", params):
                total, failed = total + n, failed + int(f or 0)
                sources.add(src)
        minute_range = "minute >= ?" + ("" if past_whole is None else " AND minute < ?")
        mparams = [first_whole] + ([] if past_whole is None else [past_whole])
        for src, n, f in self._db.execute(
                f"SELECT source, sum(with_status), sum(failed) FROM log_minutes WHERE {minute_range} "
                "AND with_status > 0 GROUP BY source", mparams):
            total, failed = total + int(n), failed + int(f or 0)
            sources.add(src)
        if failed:
            first, last = self._failed_ends(lo, hi, first_whole, past_whole, minute_range, mparams)
        return total, failed, sorted(sources), first, last

    def _failed_ends(self, lo: float, hi: float | None, first_whole: float, past_whole: float | None,
                     minute_range: str, mparams: list[Any]) -> tuple[str | None, str | None]:
        """First and last 5xx ids in [lo, hi], reading only stretches known to hold them: the
        partial edge minutes and the first and last whole minute with a 5xx (rows between those
        stretches hold none, by the minute totals). The 1 s overlaps absorb float rounding."""
        m_first, m_last = self._db.execute(
            f"SELECT min(minute), max(minute) FROM log_minutes WHERE {minute_range} AND failed > 0",
            mparams).fetchone()
        top = float("inf") if hi is None else hi
        stretches = [(lo, min(top, first_whole * 60 + 1))]
        if m_first is not None:
            stretches.append((max(lo, m_first * 60 - 1), min(top, (m_first + 1) * 60 + 1)))
            stretches.append((max(lo, m_last * 60 - 1), min(top, (m_last + 1) * 60 + 1)))
        if past_whole is not None:
            stretches.append((max(lo, past_whole * 60 - 1), top))
        ends: list[str | None] = []
        for order, seq in (("ts, rowid", stretches), ("ts DESC, rowid DESC", stretches[::-1])):
            found = None
            for a, b in seq:
                row = self._db.execute(
                    "SELECT id FROM evidence WHERE kind = 'log' AND status >= 500 AND ts >= ? AND ts <= ? "
                    f"ORDER BY {order} LIMIT 1", (a, b)).fetchone()
                if row is not None:
                    found = row[0]
                    break
            ends.append(found)
        return ends[0], ends[1]

    def _status_scan(
        self, start: datetime | None, end: datetime | None
    ) -> tuple[int, int, list[str], str | None, str | None]:
        where, params = self._where(
            kinds=["log"], start=start, end=end, service=None, levels=None
        )
        where += " AND status IS NOT NULL"
        total, failed = self._db.execute(
            f"SELECT count(*), sum(status >= 500) FROM evidence{where}", params
        ).fetchone()
        sources = [
            r[0]
            for r in self._db.execute(
                f"SELECT DISTINCT source FROM evidence{where} ORDER BY source", params
            )
        ]
        fail_where = where + " AND status >= 500"
        first = self._db.execute(
            f"SELECT id FROM evidence{fail_where} ORDER BY ts, rowid LIMIT 1", params
        ).fetchone()
        last = self._db.execute(
            f"SELECT id FROM evidence{fail_where} ORDER BY ts DESC, rowid DESC LIMIT 1", params
        ).fetchone()
        return (
            int(total or 0),
            int(failed or 0),
            sources,
            first[0] if first else None,
            last[0] if last else None,
        )

    def errors(
        self, start: datetime | None = None, end: datetime | None = None, limit: int = 20000,
        include_warnings: bool = False,
    ) -> list[Evidence]:
        """Error-level or 5xx log records (and warnings, if asked) in time order (bounded).
        Remembered per arguments: timeline and analysis ask the same questions."""
        return list(self.remember(("errors", start, end, limit, include_warnings),
                                  lambda: self._errors(start, end, limit, include_warnings)))

    def _errors(self, start: datetime | None, end: datetime | None, limit: int,
                include_warnings: bool) -> list[Evidence]:
        where, params = self._where(kinds=["log"], start=start, end=end, service=None, levels=None)
        cond = self._ERR if not include_warnings else f"({self._ERR} OR level = 'warning')"
        where += f" AND {cond}"
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM evidence{where} ORDER BY ts, rowid LIMIT ?", params + [limit]
        ).fetchall()
        return [_row_to_evidence(r) for r in rows]

    def remember(self, key: Any, compute: Callable[[], Any]) -> Any:
        """`compute()`, remembered under `key` once the store is complete (the store is
        append-then-query, so a derived result cannot go stale after finalize)."""
        if key in self.memo:
            return self.memo[key]
        value = compute()
        if self._finalized_once:
            self.memo[key] = value
        return value

    def match(
        self,
        fts: str,
        *,
        kinds: Sequence[EvidenceKind | str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 500,
    ) -> list[Evidence]:
        """Records whose text matches a raw FTS5 expression (trusted callers only: analysis
        lexicons). Only the text column: a lexicon word that names a service or level must not pull
        in every record of it."""
        where, params = self._where(
            kinds=kinds, start=start, end=end, service=None, levels=None, prefix="e."
        )
        where += (" AND " if where else " WHERE ") + "evidence_fts MATCH ?"
        cols = ", ".join("e." + c.strip() for c in _COLUMNS.split(","))
        rows = self._db.execute(
            f"SELECT {cols} FROM evidence e JOIN evidence_fts f ON f.rowid = e.rowid{where} "
            "ORDER BY e.ts, e.rowid LIMIT ?",
            params + [text_only(fts), limit],
        ).fetchall()
        return [_row_to_evidence(r) for r in rows]

    def people(self) -> list[str]:
        """Names of people as the evidence records them (chat users, commit authors, page agents),
        so validators can keep them out of reports unless the team opted in."""
        rows = self._db.execute(
            "SELECT DISTINCT v FROM ("
            f" SELECT json_extract(attrs, '$.user') AS v FROM evidence WHERE kind='chat' AND {_NOT_LOG}"
            " AND coalesce(json_extract(attrs, '$.bot'), 0) = 0"
            f" UNION SELECT json_extract(attrs, '$.author') FROM evidence WHERE kind='commit' AND {_NOT_LOG}"
            f" UNION SELECT json_extract(attrs, '$.agent') FROM evidence WHERE kind='page' AND {_NOT_LOG}"
            ") WHERE v IS NOT NULL AND length(v) >= 2"
        ).fetchall()
        services = {s.lower() for s in self.services()}
        return sorted({str(r[0]) for r in rows if isinstance(r[0], str)
                       and not r[0].startswith("[REDACTED") and r[0].lower() not in services})

    def services(self) -> list[str]:
        """Distinct service names (finalize() stores them; a full scan over millions of rows otherwise)."""
        if self._services is None:
            cached = self.get_meta("services")
            if cached is None:
                return [r[0] for r in self._db.execute(
                    "SELECT DISTINCT service FROM evidence WHERE service IS NOT NULL ORDER BY service")]
            self._services = list(cached)
        return list(self._services)

    def time_span(self) -> tuple[datetime | None, datetime | None]:
        # Two subqueries: SQLite answers a lone min() or max() from the index, not both together.
        lo, hi = self._db.execute(
            "SELECT (SELECT min(ts) FROM evidence), (SELECT max(ts) FROM evidence)").fetchone()
        conv = lambda x: None if x is None else datetime.fromtimestamp(x, tz=timezone.utc)  # noqa: E731
        return conv(lo), conv(hi)
