"""Aggregates read from per-minute totals must equal the same questions answered row by row."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

T0 = datetime(2024, 10, 8, 12, 0, tzinfo=timezone.utc)


def _store(tmp_path: Path, extra: tuple[Evidence, ...] = ()) -> EvidenceReader:
    rng = random.Random(5)
    writer = StoreWriter.create(tmp_path / "e.db")
    records = []
    for i in range(6000):
        # whole seconds (so many rows sit exactly on minute boundaries) and fractional ones
        offset = rng.randrange(0, 1800) if i % 3 else rng.uniform(0, 1800)
        status = rng.choice([None, 200, 200, 404, 500, 503]) if i % 5 else None
        attrs = {} if status is None else {"status": status}
        records.append(Evidence(
            id=f"log:{i % 3}.log:{i}", kind=EvidenceKind.LOG, ts=T0 + timedelta(seconds=offset),
            source=f"{i % 3}.log", text=f"line {i}", attrs=attrs))
    records.sort(key=lambda e: e.ts or T0)
    writer.add_many(records)
    writer.add_many(extra)
    writer.finalize()
    return writer.reader()


def test_status_totals_from_minutes_equal_a_row_by_row_count(tmp_path: Path) -> None:
    store = _store(tmp_path)
    rng = random.Random(8)
    windows = [(T0, None), (T0 + timedelta(minutes=5), T0 + timedelta(minutes=20)),
               (T0 + timedelta(seconds=59.5), T0 + timedelta(seconds=61)),
               (T0 + timedelta(minutes=29, seconds=30), None)]
    for _ in range(150):
        a = rng.choice([rng.randrange(-60, 1900), rng.uniform(-60, 1900)])
        b = a + rng.choice([rng.randrange(0, 900), rng.uniform(0, 900)])
        windows.append((T0 + timedelta(seconds=a), T0 + timedelta(seconds=b)))
    fast_paths = 0
    for start, end in windows:
        want = store.status_scan(start, end)
        got = store.status_totals(start, end)
        assert got == want, (start, end)
        fast_paths += end is None or (end - start).total_seconds() > 120
    assert fast_paths > 100  # most windows took the per-minute path, not the fallback scan
    # the per-minute totals still add up to every log row with a status
    assert sum(r[3] for r in store.minute_stats()) == store.status_scan(None, None)[0]


def test_span_stats_count_stated_years_inside_one_year_and_across_new_year(tmp_path: Path) -> None:
    def stats(stamps: list[tuple[datetime, bool]]) -> tuple[dict[int, int], int]:
        writer = StoreWriter.create(tmp_path / f"s{len(stamps)}.db")
        writer.add_many(Evidence(id=f"log:a:{i}", kind=EvidenceKind.LOG, ts=t, ts_assumed=assumed, source="a",
                                text="x") for i, (t, assumed) in enumerate(stamps))
        got = writer.span_stats(0)
        return got.years, got.assumed

    eve = datetime(2023, 12, 31, 23, 59, 30, tzinfo=timezone.utc)
    assert stats([(T0, False), (T0, True), (T0 + timedelta(hours=1), False)]) == ({2024: 2}, 1)
    assert stats([(eve, False), (eve, True), (eve + timedelta(minutes=1), False),
                  (eve + timedelta(minutes=2), False)]) == ({2023: 1, 2024: 2}, 1)
    assert stats([(T0, True)]) == ({}, 1)


def test_non_log_kinds_are_found_through_the_partial_kind_index(tmp_path: Path) -> None:
    # Log rows are left out of the (kind, ts) index to keep bulk loads cheap; every query for other
    # kinds must still reach that index, not walk the time index past every log line.
    store = _store(tmp_path, tuple(Evidence(id=f"alert:{i}", kind=EvidenceKind.ALERT, ts=T0 + timedelta(minutes=i),
                                            source="am", text="HighErrorRate firing") for i in range(3)))
    window = {"start": T0, "end": T0 + timedelta(minutes=30)}

    def plan(kinds: list[str]) -> str:
        return store.query_plan(kinds=kinds, **window)

    assert "ix_evidence_other_kind_ts" in plan(["alert"])
    assert "ix_evidence_other_kind_ts" in plan(["chat", "page"])
    assert "ix_evidence_ts" in plan(["log"])
    assert [e.id for e in store.iter(kinds=[EvidenceKind.ALERT], **window)] == ["alert:0", "alert:1", "alert:2"]
    assert store.count(kinds=["alert"]) == 3 and store.count(kinds=["log"]) == 6000


def test_services_gathered_while_loading_match_a_full_scan(tmp_path: Path) -> None:
    def scan(store: EvidenceReader) -> list[str]:  # every row read, no summary used
        return sorted({e.service for e in store.iter() if e.service is not None})

    writer = StoreWriter.create(tmp_path / "e.db")
    names = ["vllm-inference", "gateway", "Ångström-api", "retriever", None]
    for batch in range(3):  # several loads, as several sources would be
        writer.add_many(Evidence(id=f"log:{batch}:{i}", kind=EvidenceKind.LOG, ts=T0, source=str(batch), text="x",
                                service=names[(i + batch) % len(names)]) for i in range(7))
    writer.finalize()
    store = writer.reader()
    assert store.services() == scan(store) == sorted(n for n in names if n)
    writer.close()
    again = StoreWriter.open(tmp_path / "e.db")  # counted from the table when reopened
    again.add_many([Evidence(id="log:late:1", kind=EvidenceKind.LOG, ts=T0, source="late", text="x",
                             service="late-svc")])
    again.finalize()
    reopened = again.reader()
    assert reopened.services() == scan(reopened) and "late-svc" in reopened.services()
