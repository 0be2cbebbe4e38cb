"""Timeline rows: one row per happening across sources, no raw access lines, k8s warnings at
their first occurrence, decisions and changes from every kind of evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.model import Scope
from agent.offline import timeline
from tools.models import Evidence, EvidenceKind
from tools.store.writer import StoreWriter

T0 = datetime(2025, 2, 11, 9, 0, tzinfo=UTC)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _access(i: int, minute: float, status: int) -> Evidence:
    ts = _at(minute)
    return Evidence(
        id=f"log:edge/access.log:{i}", kind=EvidenceKind.LOG, ts=ts, source="edge/access.log",
        level="error" if status >= 500 else "info", service="edge",
        text=f'10.1.2.{i % 250} - - [{ts:%d/%b/%Y:%H:%M:%S +0000}] "POST /v1/embed HTTP/1.1" {status} 88',
        attrs={"format": "access", "status": status, "method": "POST", "path": "/v1/embed"})


def _records() -> list[Evidence]:
    ev: list[Evidence] = []
    # Quiet hour of healthy requests, then 5xx from minute 30 on.
    for i in range(120):
        ev.append(_access(i, i * 0.5 - 30, 200))
    for i in range(120, 200):
        ev.append(_access(i, 30 + (i - 120) * 0.1, 503))
    ev += [
        Evidence(id="alert:am/fire.json:1:1", kind=EvidenceKind.ALERT, ts=_at(31), source="am/fire.json",
                 text="EmbedGateway5xxHigh firing", attrs={"alertname": "EmbedGateway5xxHigh",
                 "status": "firing", "labels": {"severity": "critical"}}),
        Evidence(id="chat:alerts:1739265065.000100", kind=EvidenceKind.CHAT, ts=_at(31.1), source="slack",
                 text="[FIRING:1] EmbedGateway5xxHigh edge (critical)",
                 attrs={"channel": "alerts", "bot": True}),
        Evidence(id="pd:PX1:R1", kind=EvidenceKind.PAGE, ts=_at(31.5), source="pd.json",
                 text="[FIRING:1] EmbedGateway5xxHigh edge", attrs={"entry_type": "trigger",
                 "title": "[FIRING:1] EmbedGateway5xxHigh edge", "urgency": "high"}),
        Evidence(id="k8s:events.json:7", kind=EvidenceKind.K8S_EVENT, ts=_at(44), source="events.json",
                 text="Back-off restarting failed container", attrs={
                     "reason": "BackOff", "type": "Warning", "object_name": "embedder-5d9-x2",
                     "count": 17, "first_ts": _at(32).isoformat(), "last_ts": _at(44).isoformat()}),
        Evidence(id="chat:inc:1739266000.000200", kind=EvidenceKind.CHAT, ts=_at(38), source="slack",
                 text="ok, we're going to shift embed traffic to the standby pool", attrs={"channel": "inc"}),
        Evidence(id="change:flags.json:2", kind=EvidenceKind.CHANGE, ts=_at(40), source="flags.json",
                 text="flag embed_v3 disabled", attrs={"change_type": "flag", "target": "embed_v3",
                 "action": "disabled", "environment": "production"}),
        Evidence(id="eval:canary.json:1", kind=EvidenceKind.EVAL, ts=_at(29), source="canary.json",
                 text="canary recall@5 0.41 failed", attrs={"suite": "embed-canary", "metric": "recall@5",
                 "score": 0.41, "passed": False}),
    ]
    return ev


@pytest.fixture()
def rows(tmp_path: Path) -> list:
    writer = StoreWriter.create(tmp_path / "e.db")
    writer.add_many(_records())
    writer.finalize()
    s = writer.reader()
    scope = Scope(title="embed 5xx", window_start=_at(20), window_end=_at(60))
    return timeline.build_timeline(s, scope)


def test_alert_page_and_alert_bot_are_one_row(rows: list) -> None:
    # (The incident-onset row may cite the alert as a corroborating source; it is another row.)
    hits = [r for r in rows if r.category in ("alert", "page")
            or r.evidence[0].startswith(("pd:PX1", "chat:alerts"))]
    assert len(hits) == 1, [r.event for r in hits]
    row = hits[0]
    assert set(row.evidence) >= {"alert:am/fire.json:1:1", "pd:PX1:R1", "chat:alerts:1739265065.000100"}
    assert row.timestamp == _at(31)  # the earliest sighting
    assert "PagerDuty" in row.event  # the page is still said


def test_access_lines_never_rows_but_a_rate(rows: list) -> None:
    for r in rows:
        assert "HTTP/1.1" not in r.event, r.event
    rate = [r for r in rows if "5xx" in r.event and r.category == "anomaly"]
    assert rate and rate[0].timestamp == _at(30)


def test_k8s_warning_at_first_occurrence_with_count(rows: list) -> None:
    k8s = [r for r in rows if r.evidence[0] == "k8s:events.json:7"]
    assert len(k8s) == 1
    assert k8s[0].timestamp == _at(32)
    assert "count 17" in k8s[0].event


def test_decisions_changes_and_evals_are_rows(rows: list) -> None:
    cats = {r.evidence[0]: r.category for r in rows}
    assert cats.get("chat:inc:1739266000.000200") == "decision"
    assert cats.get("change:flags.json:2") == "mitigation"
    assert cats.get("eval:canary.json:1") in ("anomaly", "context")


# Sentences a responder may post in chat or write in the incident notes, with the row each makes.
# The second names a rollback and the resolution: it is the resolution (the stronger milestone).
SAID = [
    ("Rolled back the deploy, errors recovering", "mitigation"),
    ("Rolled back the deploy and the incident is resolved", "resolution"),
    ("Error rate back to normal", "recovery"),
    ("Decision: roll back to the previous release", "decision"),
]


def test_chat_and_notes_classify_a_sentence_the_same_way(tmp_path: Path) -> None:
    records = []
    for i, (text, _) in enumerate(SAID):
        # Far apart, so no two rows of one kind merge.
        records.append(Evidence(id=f"chat:inc:{i}", kind=EvidenceKind.CHAT, ts=_at(10 * i), source="slack",
                                text=text, attrs={"channel": "inc"}))
        records.append(Evidence(id=f"note:notes.md:{i}", kind=EvidenceKind.NOTE, ts=_at(10 * i + 5),
                                source="notes.md", text=text))
    writer = StoreWriter.create(tmp_path / "e.db")
    writer.add_many(records)
    writer.finalize()
    s = writer.reader()
    rows = timeline.build_timeline(s, Scope(title="t", window_start=_at(0), window_end=_at(60)))
    cats = {r.evidence[0]: r.category for r in rows}
    for i, (text, expected) in enumerate(SAID):
        assert (cats.get(f"chat:inc:{i}"), cats.get(f"note:notes.md:{i}")) == (expected, expected), text
