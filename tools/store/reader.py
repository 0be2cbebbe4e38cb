"""Reading a store: what analysis, search and validators use. Get, iterate, search, match, plus
the aggregate queries (tools/store/aggregates.py). A reader never writes evidence."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Unpack

from tools.models import Evidence, EvidenceKind, Inventory
from tools.store import schema
from tools.store.aggregates import StoreAggregates
from tools.store.rows import Filters, row_to_evidence, utc, where
from tools.store.schema import COLUMNS, NOT_LOG

_E_COLUMNS = ", ".join("e." + c.strip() for c in COLUMNS.split(","))


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


class EvidenceReader(StoreAggregates):
    """Queries over a store (opened as is; see StoreWriter to build one)."""

    def __init__(self, path: Path | str, connection: sqlite3.Connection | None = None) -> None:
        """The store at `path`; with `connection`, over that open connection (StoreWriter.reader)."""
        self.path = Path(path)
        self._db = connection if connection is not None else schema.connect(self.path)[0]
        self._services: list[str] | None = None

    def close(self) -> None:
        self._db.close()

    def get_meta(self, key: str, default: Any = None) -> Any:
        return schema.get_meta(self._db, key, default)

    def load_inventory(self) -> Inventory | None:
        data = self.get_meta("inventory")
        return None if data is None else Inventory.model_validate(data)

    def get(self, evidence_id: str) -> Evidence | None:
        row = self._db.execute(f"SELECT {COLUMNS} FROM evidence WHERE id=?", (evidence_id,)).fetchone()
        return None if row is None else row_to_evidence(row)

    def get_many(self, ids: Iterable[str]) -> list[Evidence]:
        return [ev for ev in map(self.get, ids) if ev is not None]

    def exists(self, evidence_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM evidence WHERE id=?", (evidence_id,)).fetchone() is not None

    def iter(self, *, dated_only: bool = False, **filters: Unpack[Filters]) -> Iterator[Evidence]:
        """Stream matching evidence in time order (undated records last, in file order)."""
        cond, params = where(**filters)
        if dated_only:
            cond += (" AND " if cond else " WHERE ") + "ts IS NOT NULL"
        cur = self._db.execute(f"SELECT {COLUMNS} FROM evidence{cond} ORDER BY ts IS NULL, ts, rowid", params)
        for row in cur:
            yield row_to_evidence(row)

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
        cond, params = where(kinds=kinds, start=start, end=end, service=service, levels=levels, prefix="e.")
        order = "DESC" if newest_first else "ASC"
        q = fts_query(query) if query else ""
        join = ""
        if q:
            join = " JOIN evidence_fts f ON f.rowid = e.rowid"
            cond = cond + (" AND " if cond else " WHERE ") + "evidence_fts MATCH ?"
            params = params + [q]
        if count_cap is None:
            total = self._db.execute(f"SELECT count(*) FROM evidence e{join}{cond}", params).fetchone()[0]
        else:
            # Counting a million matches costs a second; "more than 10,000" says as much.
            total = self._db.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM evidence e{join}{cond} LIMIT ?)", params + [count_cap + 1]
            ).fetchone()[0]
        rows = self._db.execute(
            f"SELECT {_E_COLUMNS} FROM evidence e{join}{cond} ORDER BY e.ts {order}, e.rowid {order} LIMIT ?",
            params + [limit],
        ).fetchall()
        return [row_to_evidence(r) for r in rows], total

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
        cond, params = where(kinds=kinds, start=start, end=end, prefix="e.")
        cond += (" AND " if cond else " WHERE ") + "evidence_fts MATCH ?"
        rows = self._db.execute(
            f"SELECT {_E_COLUMNS} FROM evidence e JOIN evidence_fts f ON f.rowid = e.rowid{cond} "
            "ORDER BY e.ts, e.rowid LIMIT ?",
            params + [text_only(fts), limit],
        ).fetchall()
        return [row_to_evidence(r) for r in rows]

    def count(self, *, kinds: Sequence[EvidenceKind | str] | None = None) -> int:
        cond, params = where(kinds=kinds)
        return int(self._db.execute(f"SELECT count(*) FROM evidence{cond}", params).fetchone()[0])

    def query_plan(self, *, kinds: Sequence[EvidenceKind | str] | None = None, start: datetime | None = None,
                   end: datetime | None = None) -> str:
        """How SQLite finds the records iter() would return (tests check the indexes are used)."""
        cond, params = where(kinds=kinds, start=start, end=end)
        rows = self._db.execute(f"EXPLAIN QUERY PLAN SELECT id FROM evidence{cond} ORDER BY ts", params)
        return " ".join(r[-1] for r in rows)

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

    def attr_values(self, kind: EvidenceKind, key: str, unless: str | None = None) -> set[Any]:
        """Distinct non-null values of attrs[`key`] over the records of `kind`; with `unless`,
        only records whose attrs[`unless`] is absent or false."""
        cond = f"kind = ? AND {NOT_LOG}" if kind is not EvidenceKind.LOG else "kind = ?"
        params: list[Any] = ["$." + key, kind.value]
        if unless is not None:
            cond += " AND coalesce(json_extract(attrs, ?), 0) = 0"
            params.append("$." + unless)
        rows = self._db.execute(
            f"SELECT DISTINCT json_extract(attrs, ?) FROM evidence WHERE {cond}", params).fetchall()
        return {r[0] for r in rows if r[0] is not None}

    def services(self) -> list[str]:
        """Distinct service names (finalize() stores them; a full scan over millions of rows otherwise)."""
        if self._services is None:
            cached = self.get_meta("services")
            if cached is None:
                return [r[0] for r in self._db.execute(
                    "SELECT DISTINCT service FROM evidence WHERE service IS NOT NULL ORDER BY service")]
            self._services = list(cached)
        return list(self._services)

    def time_span(self, lo: float | None = None, hi: float | None = None) -> tuple[datetime | None, datetime | None]:
        """First and last timestamp (within [lo, hi] epoch seconds when given)."""
        if lo is None and hi is None:
            # Two subqueries: SQLite answers a lone min() or max() from the index, not both together.
            first, last = self._db.execute(
                "SELECT (SELECT min(ts) FROM evidence), (SELECT max(ts) FROM evidence)").fetchone()
        else:
            bounds = (-float("inf") if lo is None else lo, float("inf") if hi is None else hi)
            first, last = self._db.execute(
                "SELECT (SELECT min(ts) FROM evidence WHERE ts >= ? AND ts <= ?), "
                "(SELECT max(ts) FROM evidence WHERE ts >= ? AND ts <= ?)", bounds + bounds).fetchone()
        return utc(first), utc(last)
