"""The domain model (agent/model/): the report's JSON keeps its published order, the report is
built from the analysis's assessment whole, every model a checkpoint holds may be revived, and
the package depends on nothing else of ours."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from datetime import date, datetime, timezone
from pathlib import Path

from pydantic import BaseModel

from agent.model import (
    Mechanism,
    SettingChange,
    REPORT_FIELD_ORDER,
    AILensItem,
    Analysis,
    Assessment,
    Barrier,
    Detection,
    Finding,
    Hypothesis,
    Impact,
    IncidentWindow,
    Precursor,
    Report,
    Scope,
    TimelineEvent,
    TriggerCandidate,
    WhyStep,
    WindowSignal,
)
from agent.offline.synthesis import synthesize
from agent.runner import _model_classes, serializer
from agent.state import PostmortemState, RunOptions

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def _analysis() -> Analysis:
    """An analysis whose every assessment field differs from its default."""
    window = IncidentWindow(onset=T0, method="test", precursors=[Precursor(at=T0, signal="blip")],
                            corroborating=[WindowSignal(name="5xx", family="logs", onset=T0)])
    return Analysis(
        window=window, severity="P1", severity_rationale="why P1", severity_provisional=True,
        severity_provisional_reason="no metrics", review_type="light", review_rationale="small",
        detection=Detection(detected_by="alert", first_anomaly_at=T0),
        suspected_triggers=[TriggerCandidate(ref="abc123", summary="bump", at=T0)],
        impact=Impact(users_affected="all chat users"),
        ai_lens=[AILensItem(factor="data", applies=True, finding="bad shard")],
        hypotheses=[Hypothesis(statement="limit too low")],
        mechanism=Mechanism(change_ref="abc", settings=[SettingChange(key="max_num_seqs", old="256", new="384")]),
        five_whys=[WhyStep(question="why?", answer="limit")],
        barriers=[Barrier(name="canary", state="missing")],
        last_known_good="v1", failure_modes=["serving.oom"],
        root_causes=[Finding(id="RC-1", statement="memory limit too low")],
        contributing_factors=[Finding(id="CF-1", statement="no canary")],
        went_well=["paged fast"], could_improve=["canary"], data_gaps=["no traces"],
        assumptions=["UTC logs"], specialists=["capacity"], computed_facts=[{"text": "7m"}],
    )


def test_every_assessment_field_is_set_by_the_fixture() -> None:
    """Guards the next test: a field left at its default would pass it vacuously."""
    a, blank = _analysis(), Analysis()
    assert [n for n in Assessment.model_fields if getattr(a, n) == getattr(blank, n)] == []


def test_synthesis_carries_the_whole_assessment() -> None:
    a = _analysis()
    scope = Scope(title="OOM on serving", services=["api"])
    report = synthesize(scope, None, [TimelineEvent(timestamp=T0, event="x")], a, date(2024, 5, 2))
    carried = {n: getattr(report, n) for n in Assessment.model_fields if n != "computed_facts"}
    assert carried == {n: getattr(a, n) for n in carried}
    assert report.computed_facts[: len(a.computed_facts)] == a.computed_facts


def test_report_json_keeps_the_contract_order() -> None:
    assert sorted(REPORT_FIELD_ORDER) == sorted(Report.model_fields)
    report = Report(title="t", postmortem_date=date(2024, 5, 2), severity="P2", review_type="full")
    assert list(json.loads(report.model_dump_json())) == list(REPORT_FIELD_ORDER)
    assert list(report.model_dump()) == list(REPORT_FIELD_ORDER)
    trimmed = json.loads(report.model_dump_json(exclude={"usage", "computed_facts"}))
    assert list(trimmed) == [n for n in REPORT_FIELD_ORDER if n not in ("usage", "computed_facts")]


def test_a_report_states_its_verdict() -> None:
    try:
        Report(title="t", postmortem_date=date(2024, 5, 2))
    except ValueError as exc:
        assert "severity" in str(exc) and "review_type" in str(exc)
    else:
        raise AssertionError("a report without severity and review type validated")


def _models_in(tp: object) -> set[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return {tp}
    return {m for arg in typing.get_args(tp) for m in _models_in(arg)}


def _reachable(root: type[BaseModel]) -> set[type[BaseModel]]:
    seen: set[type[BaseModel]] = set()
    todo = [root]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        todo += [m for f in cls.model_fields.values() for m in _models_in(f.annotation)]
    return seen


def test_every_model_in_the_graph_state_may_be_revived_from_a_checkpoint() -> None:
    allowed = set(_model_classes())
    missing = sorted(c.__qualname__ for c in _reachable(PostmortemState) - allowed)
    assert not missing, missing
    state = PostmortemState(options=RunOptions(dump="d", workdir="w", postmortem_date=date(2024, 5, 2)),
                            scope=Scope(title="t"), analysis=_analysis())
    serde = serializer()
    revived = serde.loads_typed(serde.dumps_typed(state))
    assert isinstance(revived.analysis.window, IncidentWindow)
    assert revived == state


def test_the_model_imports_nothing_else_of_ours() -> None:
    code = ("import sys, agent.model; print(' '.join(sorted(m for m in sys.modules "
            "if m.split('.')[0] in {'agent', 'tools', 'evals', 'incidents', 'prompts', 'cli', 'service'})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""}).stdout.split()
    assert out and all(m == "agent" or m.startswith("agent.model") for m in out), out



def test_checkpoint_round_trip_keeps_sub_second_times() -> None:
    """A resumed run must equal an uninterrupted one: the ISO-to-the-second form is for the report's
    JSON only, never for the checkpoint (a lost fraction once moved a duration by one second)."""
    from datetime import datetime, timezone

    from agent.model import Detection, TimelineEvent
    from agent.runner import serializer

    t = datetime(2024, 1, 1, 1, 2, 3, 456789, tzinfo=timezone.utc)
    serde = serializer()
    back = serde.loads_typed(serde.dumps_typed({"e": TimelineEvent(timestamp=t, event="x"),
                                                "d": Detection(first_anomaly_at=t)}))
    assert back["e"].timestamp == t and back["d"].first_anomaly_at == t
    assert TimelineEvent(timestamp=t, event="x").model_dump(mode="json")["timestamp"] == "2024-01-01T01:02:03Z"
