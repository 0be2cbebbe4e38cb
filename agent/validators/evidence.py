"""An in-memory `EvidenceLookup` for tests and for validating a postmortem against a handful of records."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime


class InMemoryEvidence:
    """Evidence as (id, text, optional UTC timestamp) triples; same semantics as tools.store.reader.EvidenceReader."""

    def __init__(self, records: Iterable[tuple[str, str, datetime | None]] = ()) -> None:
        self._texts: dict[str, str] = {}
        self._at: dict[str, datetime | None] = {}
        self._ts: list[float] = []
        for rid, text, ts in records:
            self.add(rid, text, ts)

    def add(self, evidence_id: str, text: str, ts: datetime | None = None) -> None:
        self._texts[evidence_id] = text
        self._at[evidence_id] = ts
        if ts is not None:
            if ts.tzinfo is None:
                raise ValueError("evidence timestamps must be timezone-aware")
            self._ts.append(ts.astimezone(UTC).timestamp())

    def record(self, evidence_id: str) -> tuple[str, datetime | None] | None:
        """(text, time) of one record, what the `confidence` rule reads; None when unknown."""
        if evidence_id not in self._texts:
            return None
        return self._texts[evidence_id], self._at[evidence_id]

    def exists(self, evidence_id: str) -> bool:
        return evidence_id in self._texts

    def has_id_prefix(self, prefix: str) -> bool:
        return any(k.startswith(prefix) for k in self._texts)

    def contains_text(self, needle: str) -> bool:
        low = needle.lower()
        return bool(low.strip()) and any(low in t.lower() for t in self._texts.values())

    def has_timestamp(self, dt: datetime, tolerance_s: float = 0.0) -> bool:
        t = dt.timestamp()
        return any(abs(x - t) <= tolerance_s for x in self._ts)
