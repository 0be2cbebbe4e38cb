"""Actions: placeholders rejected, rotation of redacted credentials, the failing component targeted."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from agent.model import Analysis, Finding, Scope
from agent.offline import actions, failure_path
from agent.validators import validate_markdown
from tools.ingest_units import RecordFilter, Stats
from tools.models import Evidence, EvidenceKind
from tools.redact import Redactor
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

T0 = datetime(2026, 3, 14, 9, 30, tzinfo=timezone.utc)
TABLE = ("## Root Causes & Contributing Factors\n\n- **RC-1** (likely): a change.\n\n## Action Items\n\n"
         "| ID | Action | Owner | Due Date | Verification Method | Addresses | Priority |\n"
         "|---|---|---|---|---|---|---|\n")


def _row(action: str, i: int = 1) -> str:
    return (f"| AI-00{i} | {action} | serving lead | 2026-04-01 | replaying the incident pages within 5 "
            "minutes | RC-1 | P1 |\n")


def _rule(md: str) -> list[str]:
    return [f.message for f in validate_markdown(md, rules={"actions"})]


def test_placeholder_and_generic_target_rejected_real_names_pass() -> None:
    assert _rule(TABLE + _row("Alert on `series` with a threshold"))
    assert _rule(TABLE + _row("Add a load test for {svc}"))
    assert _rule(TABLE + _row("Add a load test for the system"))
    assert _rule(TABLE + _row("Owner TBD to add a canary for `vllm-inference`"))
    assert not _rule(TABLE + _row("Alert on `vllm:gpu_cache_usage_perc` for `vllm-inference`"))


def test_evidence_gaps_never_top_three() -> None:
    gaps = "Close the evidence gaps listed in this report"
    assert _rule(TABLE + _row(gaps, 1))
    assert not _rule(TABLE + "".join(_row(f"Add a canary for `svc-{i}`", i) for i in range(1, 4)) + _row(gaps, 4))


def test_ingest_records_redaction_sites_without_values() -> None:
    secret = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    flt = RecordFilter(Redactor())
    ev = Evidence(id="chat:inc:1", kind=EvidenceKind.CHAT, ts=T0, source="slack", text=f"key is {secret}")
    list(flt.stream(iter([ev]), Stats("slack", "slack"), "slack"))
    assert flt.redacted_at == {"openai_key": ["chat:inc:1"]}
    analysis = Analysis(root_causes=[Finding(id="RC-1", statement="x")])
    items = actions.plan_actions(analysis, Scope(title="t", services=["svc"]), date(2026, 4, 1),
                                 redacted_at=flt.redacted_at | {"email": ["note:n:1"]})
    rotation = [i for i in items if i.action.startswith("Rotate")]
    assert len(rotation) == 1 and "openai_key" in rotation[0].action and "chat:inc:1" in rotation[0].action
    assert secret not in rotation[0].model_dump_json() and "email" not in rotation[0].action
    assert not [i for i in items if i.action.startswith("Rotate") and i.addresses == []]


def _store(tmp_path: Path) -> EvidenceReader:
    s = StoreWriter.create(tmp_path / "e.db")
    ev: list[Evidence] = []
    for m in range(60):
        ts = T0 + timedelta(minutes=m - 30)
        fail = m >= 30
        ev.append(Evidence(id=f"log:gw:{m}", kind=EvidenceKind.LOG, ts=ts, source="gw.log", service="chat-gateway",
                           level="error" if fail else "info", text="POST /v1/chat 503" if fail else "POST /v1/chat 200",
                           attrs={"format": "access", "status": 503 if fail else 200, "method": "POST", "path": "/v1"}))
        ev.append(Evidence(id=f"log:gw-err:{m}", kind=EvidenceKind.LOG, ts=ts + timedelta(seconds=2), source="gw2.log",
                           service="chat-gateway", level="error" if fail else "info",
                           text="upstream returned 503" if fail else "upstream ok"))
        if fail:
            ev.append(Evidence(id=f"log:engine:{m}", kind=EvidenceKind.LOG, ts=ts - timedelta(seconds=1),
                               source="engine.log", service="vllm-inference", level="error",
                               text="torch.OutOfMemoryError: CUDA out of memory"))
    s.add_many(ev)
    s.finalize()
    return s.reader()


def test_target_is_the_engine_with_the_oom_not_the_gateway(tmp_path: Path) -> None:
    store = _store(tmp_path)
    a = Analysis(failure_modes=["serving.oom"], root_causes=[Finding(id="RC-1", statement="x")])
    comp = failure_path.failing_component(store, Scope(title="t", services=["chat-gateway"]), a,
                                          {"serving.oom": ["log:engine:30"]}, T0 - timedelta(minutes=5), None)
    assert comp is not None and comp.name == "vllm-inference" and comp.evidence == ["log:engine:30"]
    a.failing_component = comp
    items = actions.plan_actions(a, Scope(title="t", services=["chat-gateway"]), date(2026, 4, 1))
    assert "`vllm-inference`" in items[0].action and "chat-gateway" not in items[0].action
