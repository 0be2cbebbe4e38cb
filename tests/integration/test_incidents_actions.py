"""Actions to done (issue 19, items 4 and 5): status rules, overdue, tracker exports in each
tracker's import columns, status read back from their exports, the follow-up checklist and .ics."""

from __future__ import annotations

import csv
import io
import json
import shlex
from datetime import date
from pathlib import Path

import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from cli.main import app
from incidents.actions import ActionProblem, list_actions, set_status
from incidents.db import open_db
from incidents.models import ActionStatus
from incidents.record import ActionRecord, IncidentRecord
from incidents.store import save
from incidents.trackers import JIRA_COLUMNS, LINEAR_COLUMNS, export, read_back
from tests.incidents_fixtures import pg_url, sqlite_url  # noqa: F401  (fixtures)

runner = CliRunner()
TODAY = date(2025, 5, 1)


def _record(ref: str, actions: list[ActionRecord]) -> IncidentRecord:
    return IncidentRecord(source="report-json", source_ref=ref, title=f"Incident {ref}",
                          incident_date=date(2025, 3, 2), postmortem_date=date(2025, 3, 9),
                          follow_up_review=date(2025, 4, 15), actions=actions)


ACTIONS = [
    ActionRecord(key="AI-001", action="Add a canary gate; fail on p99 > 20% (\"quoted\", $(rm -rf /))",
                 owner="release engineering lead", due=date(2025, 4, 1), priority="P1",
                 verification="game day: bad config stopped at 5%", addresses=["CF-1"]),
    ActionRecord(key="AI-002", action="Alert on GPU memory above 95% for 10 minutes",
                 owner="serving platform lead", due=date(2025, 6, 1), priority="P2",
                 verification="alert fires in staging load test"),
    ActionRecord(key="AI-003", action="Document the rollback runbook", owner=None, due=None),
]


def _filled(url: str) -> int:
    with open_db(url)() as s:
        inc = save(s, _record("a", ACTIONS))
        s.commit()
        return inc.id


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_status_rules_and_overdue(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    iid = _filled(url)
    with open_db(url)() as s:
        rows = list_actions(s, TODAY)
        assert [r.key for r in rows] == ["AI-001", "AI-002", "AI-003"]  # by due date, undated last
        assert [r.key for r in list_actions(s, TODAY, overdue=True)] == ["AI-001"]
        assert [r.key for r in list_actions(s, TODAY, owner="SERVING")] == ["AI-002"]
        with pytest.raises(ActionProblem, match="needs the evidence"):
            set_status(s, iid, "AI-001", ActionStatus.verified)
        set_status(s, iid, "ai-001", ActionStatus.done)
        s.commit()
        assert list_actions(s, TODAY, overdue=True) == []  # done is closed: no longer overdue
        set_status(s, iid, "AI-001", ActionStatus.verified,
                   evidence="game day 2025-04-20: canary stopped it; token sk-live-abcdefghijklmnopqrstuvwx")
        s.commit()
        v = list_actions(s, TODAY, status=ActionStatus.verified)[0]
        assert v.key == "AI-001" and v.verified_evidence and "canary stopped it" in v.verified_evidence
        assert "abcdefghijklmnopqrstuvwx" not in v.verified_evidence  # stored evidence is redacted
        with pytest.raises(ActionProblem, match="no action AI-009"):
            set_status(s, iid, "AI-009", ActionStatus.done)


def test_exports_use_each_trackers_import_columns(sqlite_url: str) -> None:  # noqa: F811
    _filled(sqlite_url)
    with open_db(sqlite_url)() as s:
        rows = list_actions(s, TODAY)
    jira = list(csv.DictReader(io.StringIO(export("jira", rows)["jira-import.csv"])))
    assert tuple(jira[0].keys()) == JIRA_COLUMNS
    assert jira[0]["Summary"].startswith("[PM-1/AI-001] ") and jira[0]["Priority"] == "High"
    assert jira[0]["Due Date"] == "2025-04-01" and " " not in jira[0]["Labels"]
    assert jira[2]["Due Date"] == "" and jira[2]["Issue Type"] == "Task"
    linear = list(csv.DictReader(io.StringIO(export("linear", rows)["linear-import.csv"])))
    assert tuple(linear[0].keys()) == LINEAR_COLUMNS and linear[1]["Priority"] == "Medium"
    gh = export("github", rows)
    payloads = json.loads(gh["github-issues.json"])
    assert set(payloads[0]) == {"title", "body", "labels"} and "game day" in payloads[0]["body"]
    # The script quotes evidence-derived text: parsing it back gives the exact title, nothing runs.
    argv = shlex.split(gh["create-issues.sh"], comments=True)
    titles = [argv[i + 1] for i, tok in enumerate(argv) if tok == "--title"]
    bodies = [argv[i + 1] for i, tok in enumerate(argv) if tok == "--body"]
    assert titles == [p["title"] for p in payloads] and bodies == [p["body"] for p in payloads]


def test_status_read_back_from_each_tracker() -> None:
    jira = "Summary,Issue key,Status\n[PM-1/AI-001] Add a canary gate,OPS-12,Done\nUnrelated,OPS-13,Done\n"
    assert [(u.key, u.status, u.tracker_ref) for u in read_back("jira", jira)] == \
        [("AI-001", ActionStatus.done, "OPS-12")]
    linear = "ID,Title,Status\nENG-4,[PM-1/AI-002] Alert on GPU memory,In Progress\nENG-5,[PM-1/AI-003] Doc,Canceled\n"
    assert [(u.key, u.status) for u in read_back("linear", linear)] == \
        [("AI-002", ActionStatus.in_progress), ("AI-003", ActionStatus.wont_do)]
    gh = json.dumps([{"number": 7, "title": "[PM-1/AI-003] Doc", "state": "CLOSED", "stateReason": "NOT_PLANNED"},
                     {"number": 8, "title": "[PM-1/AI-001] Canary", "state": "CLOSED", "stateReason": "COMPLETED"},
                     {"number": 9, "title": "[PM-2/AI-001] x", "state": "OPEN"}])
    assert [(u.incident_id, u.key, u.status) for u in read_back("github", gh)] == \
        [(1, "AI-003", ActionStatus.wont_do), (1, "AI-001", ActionStatus.done), (2, "AI-001", ActionStatus.open)]
    with pytest.raises(ValueError, match="columns"):
        read_back("jira", "Title,Status\nx,Done\n")


def test_cli_actions_round_trip_and_follow_up(tmp_path: Path) -> None:
    dbf = str(tmp_path / "i.sqlite")
    iid = _filled(f"sqlite:///{dbf}")
    r = runner.invoke(app, ["actions", "list", "--overdue", "--today", "2025-05-01", "--db", dbf, "--json"])
    assert r.exit_code == 0, r.output
    assert [json.loads(x)["key"] for x in r.output.splitlines()] == ["AI-001"]
    r = runner.invoke(app, ["actions", "set", str(iid), "AI-002", "verified", "--db", dbf])
    assert r.exit_code == 1 and "needs the evidence" in r.output
    r = runner.invoke(app, ["actions", "export", "--tracker", "jira", "-o", str(tmp_path / "out"), "--db", dbf])
    assert r.exit_code == 0 and (tmp_path / "out" / "jira-import.csv").exists()
    back = tmp_path / "jira-export.csv"
    back.write_text(f"Summary,Issue key,Status\n[PM-{iid}/AI-002] Alert,OPS-1,Done\n[PM-{iid}/AI-777] gone,OPS-2,Done\n")
    r = runner.invoke(app, ["actions", "sync", "--tracker", "jira", str(back), "--db", dbf])
    assert r.exit_code == 0 and "1 of 2 action(s) updated" in r.output and "AI-777" in r.output
    r = runner.invoke(app, ["actions", "list", "--status", "done", "--db", dbf, "--json"])
    assert [json.loads(x)["tracker_ref"] for x in r.output.splitlines()] == ["OPS-1"]
    r = runner.invoke(app, ["actions", "list", "--status", "bogus", "--db", dbf])
    assert r.exit_code == 2 and "unknown status" in r.output
    ics = tmp_path / "review.ics"
    r = runner.invoke(app, ["follow-up", str(iid), "--ics", str(ics), "--db", dbf])
    assert r.exit_code == 0 and "verify: game day" in r.output
    cal = Calendar.from_ical(ics.read_bytes())
    ev = cal.walk("VEVENT")[0]
    assert ev.decoded("dtstart") == date(2025, 4, 15)
    assert "AI-002 [done]" in str(ev.get("description")) and str(ev.get("summary")).endswith("Incident a")
    r = runner.invoke(app, ["follow-up", "99", "--db", dbf])
    assert r.exit_code == 1 and "no incident 99" in r.output
