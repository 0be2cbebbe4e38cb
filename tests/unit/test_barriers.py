"""Precursors, bypassed safeguards, environment differences and the alerting barrier, each
judged from evidence; contributing factors come only from barriers that failed or were bypassed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from agent.model import Detection
from agent.offline import barriers as bar
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

ONSET = datetime(2025, 3, 4, 12, 0, tzinfo=timezone.utc)


def _store(tmp_path: Path, items: list[Evidence], name: str = "e.db") -> EvidenceReader:
    s = StoreWriter.create(tmp_path / name)
    s.add_many(items)
    s.finalize()
    return s.reader()


def _memory(eid: str, values: list[float], labels: dict[str, str], name: str = "DCGM_FI_DEV_FB_USED") -> Evidence:
    start = ONSET - timedelta(minutes=len(values))  # one point a minute, the last just before onset
    samples = [[(start + timedelta(minutes=i)).timestamp(), v] for i, v in enumerate(values)]
    return Evidence(id=eid, kind=EvidenceKind.METRIC, ts=start, source="metrics/m.json", text=name,
                    attrs={"name": name, "labels": labels, "samples": samples})


GPU = {"modelName": "NVIDIA H100 80GB HBM3", "pod": "p-1"}


def test_memory_at_97_percent_for_an_hour_before_onset_with_no_alert_is_a_precursor(tmp_path: Path) -> None:
    hot = 0.97 * 80 * 1024  # MiB
    store = _store(tmp_path, [_memory("metric:m:0", [40000.0] * 30 + [hot] * 65, GPU)])
    rows, facts = bar.precursors(store, ONSET)
    assert len(rows) == 1
    b = rows[0]
    assert (b.kind, b.state, b.evidence) == ("precursor", "missing", ["metric:m:0"])
    assert b.since == ONSET - timedelta(minutes=65)
    assert "97.0%" in b.note and "1h 05m" in b.note and "80GB in the series labels" in b.note
    assert {f["text"] for f in facts} == {"97.0%", "1h 05m"}
    factors = bar.factors(rows)
    assert len(factors) == 1 and "precursor went unalerted" in factors[0].statement


def test_an_alert_while_hot_or_a_short_spike_is_no_precursor(tmp_path: Path) -> None:
    hot = 0.97 * 80 * 1024
    paged = _store(tmp_path, [
        _memory("metric:m:0", [40000.0] * 30 + [hot] * 65, GPU),
        Evidence(id="alert:a:0", kind=EvidenceKind.ALERT, ts=ONSET - timedelta(minutes=40), source="am",
                 text="[FIRING] GpuMemoryHigh"),
    ])
    assert bar.precursors(paged, ONSET)[0] == []
    spike = _store(tmp_path, [_memory("metric:m:0", [40000.0] * 60 + [hot] * 5, GPU)], "s.db")
    assert bar.precursors(spike, ONSET)[0] == []
    # No capacity known (no label, no free twin, not a ratio): its own maximum is not a capacity.
    unknown = _store(tmp_path, [_memory("metric:m:0", [hot] * 65, {"pod": "p-1"})], "u.db")
    assert bar.precursors(unknown, ONSET)[0] == []


def test_a_queue_far_above_its_baseline_before_onset_is_a_precursor(tmp_path: Path) -> None:
    store = _store(tmp_path, [_memory("metric:q:0", [4.0] * 60 + [30.0] * 20, {}, name="vllm_num_requests_waiting")])
    rows, _ = bar.precursors(store, ONSET)
    assert len(rows) == 1 and rows[0].since == ONSET - timedelta(minutes=20)
    assert "7.5x times its baseline median 4" in rows[0].note


def test_canary_disabled_two_weeks_earlier_is_a_bypassed_barrier(tmp_path: Path) -> None:
    when = ONSET - timedelta(days=14)
    store = _store(tmp_path, [
        Evidence(id="commit:deadbeef0001", kind=EvidenceKind.COMMIT, ts=when, source="git:repo",
                 text="Temporarily disable canary step while we migrate the rollout controller (#88)"),
        Evidence(id="commit:deadbeef0002", kind=EvidenceKind.COMMIT, ts=ONSET - timedelta(days=3), source="git:repo",
                 text="docs: describe the canary analysis template"),
    ])
    rows = bar.safeguards(store, ONSET)
    assert len(rows) == 1
    b = rows[0]
    assert (b.name, b.kind, b.state, b.since) == ("Canary / staged rollout", "safeguard", "bypassed", when)
    assert b.evidence == ["commit:deadbeef0001"]
    assert "Temporarily disable canary step" in b.note and when.strftime("%Y-%m-%d") in b.note
    assert bar.covers_rollout(rows)
    assert "bypassed before the incident" in bar.factors(rows)[0].statement


def test_a_safeguard_turned_back_on_before_onset_or_disabled_after_it_is_not_bypassed(tmp_path: Path) -> None:
    store = _store(tmp_path, [
        Evidence(id="commit:c1", kind=EvidenceKind.COMMIT, ts=ONSET - timedelta(days=14), source="git:repo",
                 text="Disable canary step for the migration"),
        Evidence(id="commit:c2", kind=EvidenceKind.COMMIT, ts=ONSET - timedelta(days=2), source="git:repo",
                 text="Re-enable canary analysis now the migration is done"),
        Evidence(id="chat:x:1", kind=EvidenceKind.CHAT, ts=ONSET + timedelta(minutes=20), source="slack",
                 text="skip the eval gate for the rollback"),
    ])
    assert bar.safeguards(store, ONSET) == []


def test_freeze_exception_is_a_bypassed_change_freeze(tmp_path: Path) -> None:
    store = _store(tmp_path, [Evidence(id="commit:c3", kind=EvidenceKind.COMMIT, ts=ONSET - timedelta(hours=2),
                                       source="git:repo", text="prod: bump engine\n\nFreeze exception approved.")])
    rows = bar.safeguards(store, ONSET)
    assert [(b.name, b.state) for b in rows] == [("Change freeze", "bypassed")]


def test_staging_gpu_differs_from_production_labels(tmp_path: Path) -> None:
    store = _store(tmp_path, [
        Evidence(id="note:n:4", kind=EvidenceKind.NOTE, source="notes.md",
                 text="- staging runs on A10G nodes with 4k context and synthetic prompts."),
        _memory("metric:m:0", [1.0] * 3, GPU),
    ])
    rows = bar.environments(store)
    assert len(rows) == 1
    b = rows[0]
    assert (b.kind, b.state) == ("environment", "failed")
    assert b.evidence == ["note:n:4", "metric:m:0"] and "NVIDIA H100 80GB HBM3" in b.note
    assert "did not represent production" in bar.factors(rows)[0].statement


def test_alert_paging_three_minutes_after_onset_holds_and_adds_no_lag_factor() -> None:
    d = Detection(detected_by="automated alert", first_anomaly_at=ONSET, detected_at=ONSET + timedelta(minutes=3),
                  time_to_detect_s=180.0, evidence=["alert:a:1"])
    barrier, factor = bar.alerting(d)
    assert barrier is not None and barrier.state == "held" and factor is None
    late = d.model_copy(update={"detected_at": ONSET + timedelta(minutes=25), "time_to_detect_s": 1500.0})
    barrier, factor = bar.alerting(late)
    assert barrier is not None and barrier.state == "failed"
    assert factor is not None and "Alerting lagged the symptom by 25m" in factor.statement
    # Within 15 minutes but after users had already reported it: alerting still failed.
    barrier, factor = bar.alerting(d, user_report_at=ONSET + timedelta(minutes=1))
    assert barrier is not None and barrier.state == "failed" and factor is not None
