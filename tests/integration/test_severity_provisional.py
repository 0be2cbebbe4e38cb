"""Missing evidence never buys a lower severity or a lighter review.

A quiet incident (a few info lines, nothing failing) is P3 with a light review when its evidence
was read in full; the same records with most of the dump unreadable, or with nothing that can
measure impact, give a provisional P2 and a full review, and the report says why at the top.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from agent.model import Scope
from agent.offline import analysis, severity, synthesis, timeline
from agent.render import render_markdown
from tools.ingest import ingest
from tools.models import Evidence, EvidenceKind, Inventory
from tools.store.writer import StoreWriter

T0 = datetime(2025, 2, 3, 9, 0, tzinfo=timezone.utc)


def _quiet_records() -> list[Evidence]:
    logs = [Evidence(id=f"log:svc.jsonl:{i}", kind=EvidenceKind.LOG, ts=T0 + timedelta(minutes=i), source="svc.jsonl",
                     locator=f"line {i}", service="search", level="info", text="request served", attrs={"status": 200})
            for i in range(1, 31)]
    chat = Evidence(id="chat:ops:1", kind=EvidenceKind.CHAT, ts=T0 + timedelta(minutes=5), source="slack",
                    text="the nightly batch ran a little late, no user impact seen", attrs={"channel": "ops"})
    return [*logs, chat]


def _scope() -> Scope:
    return Scope(title="Late nightly batch", services=["search"], window_start=T0, window_end=T0 + timedelta(hours=1))


def _analyse(tmp_path: Path, inventory: Inventory | None, records: list[Evidence] | None = None):  # type: ignore[no-untyped-def]
    writer = StoreWriter.create(tmp_path / "e.db")
    writer.add_many(records if records is not None else _quiet_records())
    writer.finalize()
    if inventory is not None:
        writer.save_inventory(inventory)
        store = writer.reader()
    events = timeline.build_timeline(store, _scope())
    return store, events, analysis.analyse(store, _scope(), events)


def _inventory(coverage: float | None, kinds: dict[str, int] | None = None) -> Inventory:
    return Inventory(dump="d", coverage=coverage, kinds=kinds if kinds is not None else {"log": 30, "chat": 1})


def test_fully_read_quiet_incident_is_p3_light(tmp_path: Path) -> None:
    _, _, a = _analyse(tmp_path, _inventory(1.0))
    assert (a.severity, a.review_type, a.severity_provisional) == ("P3", "light", False)


def test_mostly_unreadable_dump_never_yields_p3_or_light(tmp_path: Path) -> None:
    _, _, a = _analyse(tmp_path, _inventory(0.38))
    assert (a.severity, a.review_type, a.severity_provisional) == ("P2", "full", True)
    assert "62% of the dump's text could not be read" in a.severity_provisional_reason
    assert a.severity_rationale.startswith("P2 (provisional: [DATA GAP] 62%")
    assert "would give P3" in a.severity_rationale  # what the readable evidence alone said stays visible


def test_just_under_the_floor_is_provisional_and_at_the_floor_is_not(tmp_path: Path) -> None:
    assert severity.evidence_shortfall(_inventory(0.8999)) is not None
    assert severity.evidence_shortfall(_inventory(0.9)) is None
    assert severity.evidence_shortfall(_inventory(None)) is None  # no text at all: judged by kinds
    assert severity.evidence_shortfall(None) is None


def test_no_impact_bearing_evidence_is_provisional(tmp_path: Path) -> None:
    only_chat = [r for r in _quiet_records() if r.kind == EvidenceKind.CHAT]
    _, _, a = _analyse(tmp_path, _inventory(1.0, {"chat": 1}), only_chat)
    assert (a.severity, a.review_type, a.severity_provisional) == ("P2", "full", True)
    assert "no logs, metrics, traces or eval results" in a.severity_provisional_reason


@pytest.mark.parametrize("measured", ["P0", "P1", "P2"])
def test_measured_severity_stands_but_is_marked(measured: str) -> None:
    sev, why, prov = severity.make_provisional(measured, f"{measured} because ...", "[DATA GAP] x")  # type: ignore[arg-type]
    assert (sev, prov) == (measured, True) and why.startswith(f"{measured} (provisional: [DATA GAP] x)")
    assert severity.review_type(sev, True)[0] == "full"


def test_report_states_the_gap_at_the_top(tmp_path: Path) -> None:
    """End to end from files: most of the dump is lines too long to read."""
    dump = tmp_path / "dump"
    dump.mkdir()
    lines = [json.dumps({"ts": (T0 + timedelta(minutes=i)).isoformat(), "level": "info", "service": "search",
                         "msg": "request served", "status": 200}) for i in range(1, 31)]
    (dump / "search.jsonl").write_text("\n".join(lines) + "\n")
    blob = json.dumps({"ts": T0.isoformat(), "msg": "y" * 5000})
    (dump / "embeddings.jsonl").write_text((blob + "\n") * 20)
    writer = StoreWriter.create(tmp_path / "e.db")
    inv = ingest(dump, writer, workdir=tmp_path / "w", max_line_bytes=4096)
    store = writer.reader()
    assert inv.coverage is not None and inv.coverage < 0.2
    events = timeline.build_timeline(store, _scope())
    a = analysis.analyse(store, _scope(), events)
    assert a.severity != "P3" and a.review_type == "full"
    report = synthesis.synthesize(_scope(), inv, events, a, date(2025, 2, 10))
    md = render_markdown(report)
    head = md.split("## Executive Summary")[0]
    assert "**Severity**: P2 (provisional) (full review)" in head
    assert "Data gap — severity is provisional" in head and "could not be read as evidence" in head
    # The inventory's gap, naming the unreadable file, is among the report's data gaps.
    assert any("embeddings.jsonl" in g and g.startswith("[DATA GAP] Only ") for g in report.data_gaps)
