"""A data gap is written only when the evidence lacks what it says is missing; otherwise the text
cites the record, and a written gap names the export that would close it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from agent.model import TriggerCandidate
from agent.offline import gaps
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

T0 = datetime(2025, 3, 4, 12, 0, tzinfo=timezone.utc)


def _store(tmp_path: Path, items: list[Evidence]) -> EvidenceReader:
    s = StoreWriter.create(tmp_path / "e.db")
    s.add_many(items)
    s.finalize()
    return s.reader()


def _commit(sha: str, text: str, at: datetime) -> Evidence:
    return Evidence(id=f"commit:{sha[:12]}", kind=EvidenceKind.COMMIT, ts=at, source="git:repo", locator=sha,
                    text=text, attrs={"sha": sha})


def _trigger(sha: str, summary: str, at: datetime) -> TriggerCandidate:
    return TriggerCandidate(ref=sha, summary=summary, evidence=[f"commit:{sha[:12]}"], at=at, score=2.0)


SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def test_commit_message_naming_the_load_test_suppresses_the_gap(tmp_path: Path) -> None:
    msg = ("serve: raise batch size to 64 (#412)\n\n* batch 32 -> 64\n"
           "Load-tested on staging A10G nodes at 2x peak, no errors.")
    store = _store(tmp_path, [_commit(SHA, msg, T0 - timedelta(hours=3))])
    text, ids, is_gap = gaps.testing_statement(store, _trigger(SHA, "serve: raise batch size to 64 (#412)",
                                                               T0 - timedelta(hours=3)), T0)
    assert not is_gap
    assert ids == [f"commit:{SHA[:12]}"]
    assert "Load-tested on staging A10G nodes at 2x peak, no errors." in text
    assert "No canary, eval or load-test result" not in text
    # Staging is not production: what is still missing is said, with the export that would close it.
    assert "production shape" in text and "Needed:" in text


def test_chat_naming_the_change_counts_and_a_negated_test_does_not(tmp_path: Path) -> None:
    items = [
        _commit(SHA, "serve: raise batch size to 64 (#412)", T0 - timedelta(hours=3)),
        Evidence(id="chat:c:1", kind=EvidenceKind.CHAT, ts=T0 - timedelta(hours=2), source="slack",
                 text="we never load tested #412, shipping anyway"),
        Evidence(id="chat:c:2", kind=EvidenceKind.CHAT, ts=T0 - timedelta(hours=2, minutes=30), source="slack",
                 text="#412 ran a benchmark against the prod replay set: p99 flat"),
    ]
    store = _store(tmp_path, items)
    text, ids, is_gap = gaps.testing_statement(store, _trigger(SHA, "serve: raise batch size to 64 (#412)",
                                                               T0 - timedelta(hours=3)), T0)
    assert not is_gap and ids == ["chat:c:2"]
    assert "production shape" not in text  # the sentence names no pre-production environment


def test_gap_is_written_with_the_export_that_closes_it_when_nothing_says_what_was_tested(tmp_path: Path) -> None:
    store = _store(tmp_path, [_commit(SHA, "serve: raise batch size to 64 (#412)", T0 - timedelta(hours=3)),
                              Evidence(id="chat:c:9", kind=EvidenceKind.CHAT, ts=T0, source="slack",
                                       text="tested the rollback on another service")])
    text, ids, is_gap = gaps.testing_statement(store, _trigger(SHA, "serve: raise batch size to 64 (#412)",
                                                               T0 - timedelta(hours=3)), T0)
    assert is_gap and ids == []
    assert text.startswith("[DATA GAP]") and "Needed:" in text and f"`{SHA[:12]}`" in text


def test_kind_gaps_for_kinds_present_are_dropped(tmp_path: Path) -> None:
    store = _store(tmp_path, [
        Evidence(id="chat:c:1", kind=EvidenceKind.CHAT, ts=T0, source="slack", text="looking"),
        Evidence(id="alert:a:1", kind=EvidenceKind.ALERT, ts=T0, source="am", text="[FIRING] X"),
    ])
    written = ["[DATA GAP] No chat: no Slack export, so the response coordination cannot be reconstructed.",
               "[DATA GAP] No paging or alerting records: no PagerDuty or Alertmanager data.",
               "[DATA GAP] No metrics: no Prometheus query results in the dump."]
    assert gaps.true_kind_gaps(store, written) == written[2:]


def test_detection_gap_says_what_the_dump_holds(tmp_path: Path) -> None:
    empty = _store(tmp_path, [Evidence(id="log:l:1", kind=EvidenceKind.LOG, ts=T0, source="l", text="x")])
    assert "Needed:" in gaps.detection_gap(empty)
    with_pages = StoreWriter.create(tmp_path / "p.db")
    with_pages.add_many([Evidence(id="pd:1", kind=EvidenceKind.PAGE, ts=T0, source="pd", text="Triggered")])
    with_pages.finalize()
    rewritten = gaps.true_detection_gaps(
        with_pages.reader(), ["[DATA GAP] No alert, page or user report found; the detection path is unknown."])
    assert len(rewritten) == 1 and "alerts or pages" in rewritten[0] and "No alert, page" not in rewritten[0]
