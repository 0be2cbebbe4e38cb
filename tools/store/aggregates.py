"""Aggregate questions over a store, answered in SQL so analysis never pulls millions of rows into
Python: per-minute log totals, log buckets, HTTP status totals (what counts as a failure), the
error records error templates are built from, and the per-day counts plausibility judges by."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from tools.models import Evidence
from tools.store.rows import row_to_evidence, where
from tools.store.schema import COLUMNS, MINUTE_OF, is_finalized

# An error record: error level, or an HTTP status of 5xx.
_ERR = "(level IN ('error','critical') OR status >= 500)"
_ERR_OR_WARNING = f"({_ERR} OR level = 'warning')"
StatusTotals = tuple[int, int, list[str], str | None, str | None]


class StoreAggregates:
    """The aggregate queries of a reader (see tools.store.reader.EvidenceReader)."""

    _db: sqlite3.Connection

    def minute_stats(self) -> list[tuple[float, int, int, int, int]]:
        """Per-minute (start epoch, log records, errors, records with an HTTP status, of which 5xx),
        from the table finalize() builds."""
        rows = self._db.execute(
            "SELECT minute, sum(n), sum(errors), sum(with_status), sum(failed) FROM log_minutes "
            "GROUP BY minute ORDER BY minute").fetchall()
        return [(float(m * 60), int(n), int(e or 0), int(s or 0), int(f or 0)) for m, n, e, s, f in rows]

    def is_finalized(self) -> bool:
        """The per-minute totals exist (finalize() ran)."""
        return is_finalized(self._db)

    def log_buckets(self, bucket_s: int = 60) -> list[tuple[float, int, int, int]]:
        """Per-bucket (start epoch, log records, error records, records with an HTTP status)."""
        if bucket_s % 60 == 0 and self.is_finalized():
            k = bucket_s // 60
            rows = self._db.execute(
                "SELECT CAST(minute / ? AS INTEGER) AS b, sum(n), sum(errors), sum(with_status) "
                "FROM log_minutes GROUP BY b ORDER BY b", (k,)).fetchall()
        else:
            rows = self._db.execute(
                f"SELECT CAST(ts / ? AS INTEGER) AS b, count(*), sum({_ERR}), sum(status IS NOT NULL) "
                "FROM evidence WHERE kind='log' AND ts IS NOT NULL GROUP BY b ORDER BY b",
                (bucket_s,),
            ).fetchall()
        return [(float(b * bucket_s), int(n), int(e or 0), int(s or 0)) for b, n, e, s in rows]

    def status_totals(self, start: datetime | None = None, end: datetime | None = None) -> StatusTotals:
        """(records with an HTTP status, of which >= 500, sources, first and last 5xx ids).

        On a finalized store the whole minutes of the window come from log_minutes and only the
        two partial minutes at its edges are read row by row: an impact window over millions of
        request lines costs a few index probes instead of a scan (4.3 s -> 0.1 s on 300 MB)."""
        if start is None or not self.is_finalized():
            return self.status_scan(start, end)
        lo = start.timestamp()
        hi = None if end is None else end.timestamp()
        first_whole = -(-lo // 60)  # ceil: the first minute that starts inside the window
        past_whole = None if hi is None else hi // 60  # the minute holding `hi` is partial
        if past_whole is not None and past_whole <= first_whole:
            return self.status_scan(start, end)  # under two minutes: read the rows
        # Edge parts, cut by the table's own minute expression so no row lands on both sides.
        edges = [(f"ts >= ? AND ts < ? AND {MINUTE_OF} < ?", [lo, first_whole * 60 + 1, first_whole])]
        if past_whole is not None:
            edges.append((f"ts > ? AND ts <= ? AND {MINUTE_OF} >= ?", [past_whole * 60 - 1, hi, past_whole]))
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

    def status_scan(self, start: datetime | None, end: datetime | None) -> StatusTotals:
        """status_totals() read row by row (any store, finalized or not)."""
        cond, params = where(kinds=["log"], start=start, end=end)
        cond += " AND status IS NOT NULL"
        total, failed = self._db.execute(
            f"SELECT count(*), sum(status >= 500) FROM evidence{cond}", params
        ).fetchone()
        sources = [r[0] for r in self._db.execute(
            f"SELECT DISTINCT source FROM evidence{cond} ORDER BY source", params)]
        fail_where = cond + " AND status >= 500"
        first = self._db.execute(
            f"SELECT id FROM evidence{fail_where} ORDER BY ts, rowid LIMIT 1", params
        ).fetchone()
        last = self._db.execute(
            f"SELECT id FROM evidence{fail_where} ORDER BY ts DESC, rowid DESC LIMIT 1", params
        ).fetchone()
        return (int(total or 0), int(failed or 0), sources,
                first[0] if first else None, last[0] if last else None)

    def errors(
        self, start: datetime | None = None, end: datetime | None = None, limit: int = 20000,
        include_warnings: bool = False,
    ) -> list[Evidence]:
        """Error-level or 5xx log records (and warnings, if asked) in time order (bounded)."""
        cond, params = where(kinds=["log"], start=start, end=end)
        cond += f" AND {_ERR_OR_WARNING if include_warnings else _ERR}"
        rows = self._db.execute(
            f"SELECT {COLUMNS} FROM evidence{cond} ORDER BY ts, rowid LIMIT ?", params + [limit]
        ).fetchall()
        return [row_to_evidence(r) for r in rows]

    # ---- plausibility (tools/plausible.py judges by these) ----------------------------------
    def day_counts(self, lo: float, below: float) -> list[tuple[int, int]]:
        """(day number, records) of the dated records in [lo, below), oldest first."""
        return [(int(d), int(n)) for d, n in self._db.execute(
            "SELECT CAST(ts / 86400 AS INTEGER) AS d, count(*) FROM evidence "
            "WHERE ts >= ? AND ts < ? GROUP BY d ORDER BY d", (lo, below))]

    def newest_ts_before(self, lo: float, below: float) -> float | None:
        """The newest timestamp in [lo, below)."""
        row = self._db.execute("SELECT max(ts) FROM evidence WHERE ts >= ? AND ts < ?", (lo, below)).fetchone()
        return None if row[0] is None else float(row[0])

    def dated_outside(self, lo: float, hi: float, listed: int) -> tuple[int, list[str]]:
        """(records dated outside [lo, hi], ids of the first `listed` of them in load order)."""
        cond = "ts IS NOT NULL AND (ts < ? OR ts > ?)"
        n = self._db.execute(f"SELECT count(*) FROM evidence WHERE {cond}", (lo, hi)).fetchone()[0]
        if not n:
            return 0, []
        rows = self._db.execute(f"SELECT id FROM evidence WHERE {cond} ORDER BY rowid LIMIT ?",
                                (lo, hi, listed)).fetchall()
        return int(n), [r[0] for r in rows]
