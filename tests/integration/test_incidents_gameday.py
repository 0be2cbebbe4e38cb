"""Game days from incidents (issue 19, item 6): a scenario planned from a stored incident, then a
game day's own dump graded against it, each verdict citing the record that decided it."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from incidents.db import open_db
from incidents.gameday import (ScenarioProblem, criterion_kind, load_scenario, plan, promised_seconds,
                               scenario_yaml, score)
from incidents.record import ActionRecord, IncidentRecord
from incidents.similar import load_incident
from incidents.store import save
from tests.incidents_fixtures import sqlite_url  # noqa: F401  (fixture)
from tools.ingest import ingest_to_path

runner = CliRunner()

ACTIONS = [
    ActionRecord(key="AI-001", action="Alert `GpuMemoryHigh` on GPU memory above 95% for 10 minutes",
                 verification="`GpuMemoryHigh` fires in a staging load test"),
    ActionRecord(key="AI-002", action="Add a canary gate", verification="game day: bad config stopped at 5%"),
    ActionRecord(key="AI-003", action="Document the serving runbook",
                 verification="the on-call team walks through it at the next review"),
    ActionRecord(key="AI-004", action="Add a secondary responder", verification=""),
]


def _incident(url: str, actions: list[ActionRecord] = ACTIONS, ttd: float | None = 900.0) -> int:
    rec = IncidentRecord(source="report-json", source_ref="oom.json", title="vLLM OOM after upgrade",
                         incident_date=date(2025, 3, 2), trigger_kind="deploy", trigger_ref="vllm@42",
                         ttd_s=ttd, tags={"failure_mode": ["serving.oom", "serving.kv_cache"]}, actions=actions)
    with open_db(url)() as s:
        iid = save(s, rec).id
        s.commit()
    return iid


def _planned(url: str, **kw: object):  # type: ignore[no-untyped-def]
    iid = _incident(url, **kw)  # type: ignore[arg-type]
    with open_db(url)() as s:
        return plan(load_incident(s, iid))  # type: ignore[arg-type]


def _alert(name: str, starts: str) -> dict:
    return {"receiver": "oncall", "status": "firing", "groupKey": "{}:{alertname=\"%s\"}" % name,
            "alerts": [{"status": "firing", "labels": {"alertname": name, "service": "vllm"},
                        "annotations": {"summary": f"{name} firing"}, "startsAt": starts,
                        "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "f" + name[:6].lower()}]}


def _dump(root: Path, alerts: list[dict], chat: list[tuple[str, int]] | None = None) -> Path:
    (root / "logs").mkdir(parents=True)
    (root / "logs" / "loadgen.jsonl").write_text(
        json.dumps({"ts": "2025-06-01T10:00:00Z", "level": "info", "msg": "load test started"}) + "\n"
        + json.dumps({"ts": "2025-06-01T10:03:00Z", "level": "error", "msg": "CUDA out of memory"}) + "\n",
        encoding="utf-8")
    (root / "alertmanager").mkdir()
    for i, a in enumerate(alerts):
        (root / "alertmanager" / f"{i}.json").write_text(json.dumps(a), encoding="utf-8")
    if chat is not None:
        lines = [{"type": "version", "version": 1},
                 {"type": "team", "team": {"name": "ml", "display_name": "ML", "type": "O"}},
                 {"type": "channel", "channel": {"team": "ml", "name": "gameday", "display_name": "Game day", "type": "O"}}]
        lines += [{"type": "post", "post": {"team": "ml", "channel": "gameday", "user": "oncall", "message": msg,
                                             "create_at": ms, "props": {}}} for msg, ms in chat]
        (root / "chat.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return root


def _score(scenario, dump: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    store, inv = ingest_to_path(dump, tmp_path / "store" / "evidence.db", workdir=tmp_path / "work")
    try:
        return score(scenario, store, inv)
    finally:
        store.close()


def test_verification_methods_map_to_checks() -> None:
    assert criterion_kind("game day rollback") == "rollback_seen"
    assert criterion_kind("game day: bad config stopped at 5%") == "rollback_seen"
    assert criterion_kind("alert fires in staging load test") == "alert_fires"
    assert criterion_kind("staging index aged past 26 h pages") == "alert_fires"
    assert criterion_kind("time to acknowledge is under 10 minutes, from the paging records") == "manual"
    assert criterion_kind("the halt appears in the agent trace") == "manual"
    assert promised_seconds("fires within 5 minutes of the first anomaly") == 300
    assert promised_seconds("above 95% for 10 min") == 600
    assert promised_seconds("older than 26 h") is None  # a threshold, not a detection time


def test_plan_takes_injection_detection_and_criteria_from_the_incident(sqlite_url: str) -> None:  # noqa: F811
    sc = _planned(sqlite_url)
    assert [(i.failure_mode, i.family) for i in sc.inject] == [("serving.kv_cache", "serving"), ("serving.oom", "serving")]
    assert sc.inject[0].trigger == "repeat the triggering deploy in staging (deploy vllm@42)"
    assert sc.expected_detection.within_s == 600 and sc.expected_detection.basis.startswith("AI-001 promises")
    assert sc.expected_detection.alert_terms == ["GpuMemoryHigh"]
    assert [(c.id, c.kind, c.source) for c in sc.success_criteria] == [
        ("C-1", "alert_fires", "AI-001 verification"), ("C-2", "rollback_seen", "AI-002 verification"),
        ("C-3", "manual", "AI-003 verification"), ("C-4", "detected_within", "expected detection")]
    # The YAML round-trips through the model.
    assert load_scenario(scenario_yaml(sc)) == sc


def test_without_a_promised_time_the_incident_ttd_is_the_bar(sqlite_url: str) -> None:  # noqa: F811
    sc = _planned(sqlite_url, actions=[ActionRecord(key="AI-001", action="Canary", verification="game day rollback")])
    assert sc.expected_detection.within_s == 900
    assert "the incident's own time to detect (15m 00s) is the bar to beat" in sc.expected_detection.basis


def test_score_passes_on_the_alert_and_leaves_the_rest_unchecked(sqlite_url: str, tmp_path: Path) -> None:  # noqa: F811
    sc = _planned(sqlite_url).model_copy(update={"injection_start": datetime(2025, 6, 1, 10, 0, tzinfo=timezone.utc)})
    dump = _dump(tmp_path / "dump", [_alert("GpuMemoryHigh", "2025-06-01T10:06:00Z")])
    res = {r.id: r for r in _score(sc, dump, tmp_path).results}
    assert res["C-1"].verdict == "passed" and res["C-1"].evidence == ["alert:alertmanager/0.json:0:0"]
    assert res["C-4"].verdict == "passed" and "6m 00s" in res["C-4"].reason and res["C-4"].evidence
    # No deploy, change or chat records: the canary stop cannot be checked, and is not passed.
    assert res["C-2"].verdict == "not_checkable" and res["C-2"].evidence == []
    assert res["C-3"].verdict == "not_checkable"
    assert all(r.evidence for r in res.values() if r.verdict == "passed")


def test_score_fails_a_late_or_unnamed_alert_and_reads_the_start_from_the_dump(sqlite_url: str, tmp_path: Path) -> None:  # noqa: F811
    sc = _planned(sqlite_url)  # no injection_start: the dump's first record is the start
    dump = _dump(tmp_path / "dump", [_alert("SomethingElse", "2025-06-01T10:02:00Z"),
                                     _alert("GpuMemoryHigh", "2025-06-01T10:20:00Z")],
                 chat=[("has the canary rolled back yet?", 1748772300000), ("canary stopped at 5%, rolled back", 1748772600000)])
    result = _score(sc, dump, tmp_path)
    assert result.start_basis == "log:logs/loadgen.jsonl:1"
    res = {r.id: r for r in result.results}
    assert res["C-1"].verdict == "passed"  # it fired, just late
    assert res["C-4"].verdict == "failed" and "20m 00s" in res["C-4"].reason and "10m 00s" in res["C-4"].reason
    assert res["C-2"].verdict == "passed" and res["C-2"].evidence == ["chat:gameday:1748772600000"]  # not the question


def test_cli_plan_and_score(sqlite_url: str, tmp_path: Path) -> None:  # noqa: F811
    iid = _incident(sqlite_url)
    sc_file = tmp_path / "scenario.yaml"
    res = runner.invoke(app, ["gameday", "plan", str(iid), "-o", str(sc_file), "--db", sqlite_url])
    assert res.exit_code == 0, res.output
    dump = _dump(tmp_path / "dump", [_alert("GpuMemoryHigh", "2025-06-01T10:05:00Z")])
    res = runner.invoke(app, ["gameday", "score", str(sc_file), str(dump), "--workdir", str(tmp_path / "wd"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [r["verdict"] for r in data["results"]] == ["passed", "not_checkable", "not_checkable", "passed"]
    missing = runner.invoke(app, ["gameday", "plan", "999", "-o", str(sc_file), "--db", sqlite_url])
    assert missing.exit_code == 1 and "no incident 999" in missing.output


def test_bad_scenario_files_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ScenarioProblem, match="not YAML"):
        load_scenario("a: [")
    with pytest.raises(ScenarioProblem, match="invalid field incident_id"):
        load_scenario("incident_id: x\nincident_title: t\ninject: []\nexpected_detection: {basis: b}\nsuccess_criteria: []\n")
    bad = tmp_path / "s.yaml"
    bad.write_text("- just a list\n", encoding="utf-8")
    res = runner.invoke(app, ["gameday", "score", str(bad), str(tmp_path)])
    assert res.exit_code == 2 and "not a scenario" in res.output and "Traceback" not in res.output
