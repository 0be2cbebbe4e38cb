"""Response facts: time to acknowledge measured from the page to its ack; the incident
commander taken from the channel, in role wording unless names are opted in."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from agent.model import TimelineEvent
from agent.offline import commander
from agent.offline.analysis import _ack_factor
from agent.offline.detection import compute_detection
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

T0 = datetime(2026, 4, 1, 8, 0, tzinfo=timezone.utc)


def _row(minute: int, category: str, text: str) -> TimelineEvent:
    return TimelineEvent(timestamp=T0 + timedelta(minutes=minute), event=text, evidence=[f"x:{minute}"],
                         category=category)


def test_ack_runs_from_the_page_not_from_a_user_report() -> None:
    rows = [_row(0, "anomaly", "errors"), _row(2, "detection", "Support escalated 12 tickets to on-call"),
            _row(40, "page", "PagerDuty triggered"), _row(43, "ack", "Page acknowledged")]
    d = compute_detection(rows)
    assert d.time_to_acknowledge_s == 180.0
    assert d.ack_evidence == ["x:40", "x:43"]
    assert _ack_factor(d) is None  # 3 minutes is no lag, whatever the report-to-page gap


def test_ack_lag_factor_cites_page_and_ack() -> None:
    rows = [_row(0, "anomaly", "errors"), _row(5, "page", "PagerDuty triggered"), _row(35, "ack", "acked")]
    d = compute_detection(rows)
    f = _ack_factor(d)
    assert f is not None and f.evidence == ["x:5", "x:35"] and "30m 00s" in f.statement


def _chat(i: int, text: str, **attrs: object) -> Evidence:
    return Evidence(id=f"chat:{i}", kind=EvidenceKind.CHAT, ts=T0 + timedelta(minutes=i), source="slack.json",
                    text=text, attrs=attrs)


def _store(tmp_path: Path, ev: list[Evidence]) -> EvidenceReader:
    s = StoreWriter.create(tmp_path / "e.db")
    s.add_many(ev)
    s.finalize()
    return s.reader()


def test_self_declared_ic_is_a_role_unless_names_opted_in(tmp_path: Path) -> None:
    store = _store(tmp_path, [_chat(1, "seeing 503s on search"), _chat(2, "ok, I'm IC. Rolling back.", user="dana")])
    c = commander.from_channel(store)
    assert c is not None and c.evidence == "chat:2"
    assert c.wording(False) == "the responder who took command (declared in chat:2)"
    assert c.wording(True) == "dana (declared in chat:2)"


def test_named_ic_role_and_phrasings(tmp_path: Path) -> None:
    store = _store(tmp_path, [_chat(1, "IC: serving on-call lead")])
    c = commander.from_channel(store)
    assert c is not None and c.role == "serving on-call lead"
    for text in ("taking IC", "I'll be incident commander for this one"):
        assert commander.SELF.search(text), text
    assert not commander.SELF.search("the IC dashboard shows nothing")


def test_no_declaration_no_commander(tmp_path: Path) -> None:
    store = _store(tmp_path, [_chat(1, "who is IC?"), _chat(2, "IC: tbd")])
    assert commander.from_channel(store) is None
