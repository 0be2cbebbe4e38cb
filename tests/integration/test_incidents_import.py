"""Import of each kind: report JSON, Markdown postmortem, the public corpus' shape."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from incidents import db
from incidents.importers import ImportProblem, from_markdown, import_path
from incidents.models import Incident
from incidents.store import save
from tests.incidents_fixtures import MARKDOWN, report, sqlite_url, write_pma  # noqa: F401


def test_report_json_fields(tmp_path: Path) -> None:
    p = tmp_path / "r.json"
    p.write_text(json.dumps(report("OOM", ["gw", "vllm"], ["serving.oom"], "deploy", "OOM after upgrade")))
    (tmp_path / "r.md").write_text("# Postmortem: OOM\n")
    items = list(import_path(tmp_path))
    assert len(items) == 1  # the .md beside the .json is the same report, not a second incident
    rec = items[0]
    assert not isinstance(rec, ImportProblem)
    assert rec.source == "report-json" and rec.severity == "P2" and rec.ttr_s == 1800.0
    assert rec.tags["service"] == ["gw", "vllm"] and rec.tags["trigger_kind"] == ["deploy"]
    assert rec.tags["contributing_factor"] == ["Staged rollout / canary: missing"]
    assert rec.actions[0].key == "AI-001" and str(rec.actions[0].due) == "2025-04-01"
    assert rec.report_md == "# Postmortem: OOM\n"


def test_markdown_parsed_and_redacted(sqlite_url: str) -> None:  # noqa: F811
    rec = from_markdown(MARKDOWN, "stale.md")
    assert rec.title == "Retrieval answers went stale after index rebuild"
    assert rec.severity == "P2" and str(rec.incident_date) == "2025-02-11"
    assert rec.tags["failure_mode"] == ["rag.stale_index"]
    assert rec.tags["service"] == ["rag-api", "indexer"]
    assert [f["id"] for f in rec.root_causes] == ["RC-1"] and rec.contributing_factors[0]["status"] == "confirmed"
    assert rec.actions[0].owner == "data platform lead" and rec.actions[0].addresses == ["CF-1"]
    assert "validation" in rec.extra
    with db.open_db(sqlite_url)() as s:
        inc = save(s, rec)
        s.commit()
        assert "oncall@example.com" not in (inc.report_md or "") + inc.summary + inc.search_text
        assert "[REDACTED:" in inc.summary


def test_markdown_without_template_kept_whole() -> None:
    md = "Our database fell over on Tuesday.\n\nWe restarted it."
    rec = from_markdown(md, "notes.md")
    assert rec.title == "notes.md" and rec.report_md == md and rec.body == md and rec.actions == []


def test_pma_corpus(tmp_path: Path, sqlite_url: str) -> None:  # noqa: F811
    root = write_pma(tmp_path / "pma")
    items = list(import_path(root))
    problems = [i for i in items if isinstance(i, ImportProblem)]
    recs = [i for i in items if not isinstance(i, ImportProblem)]
    assert len(recs) == 3 and len(problems) == 1 and "not JSON" in problems[0].reason
    r = next(x for x in recs if x.source_ref == "Cloud/c-1")
    assert r.tags["root_cause_label"] == ["software bugs", "software bugs/config"]
    assert "error rate" in r.tags["manifestation"] and r.ttr_s == 95 * 60 and r.ttd_s == 7 * 60
    assert str(r.incident_date) == "2019-05-14"
    with db.open_db(sqlite_url)() as s:
        for x in recs:
            save(s, x)
        s.commit()
        assert len(s.scalars(select(Incident)).all()) == 3


def test_bad_report_costs_only_itself(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"title": "x", "severity": "P1", "incident_date": "not a date"}))
    (tmp_path / "b.json").write_text(json.dumps([1, 2]))
    (tmp_path / "c.json").write_text(json.dumps(report("ok", [], [], "deploy", "fine")))
    items = list(import_path(tmp_path))
    assert sum(isinstance(i, ImportProblem) for i in items) == 2
    assert [i.title for i in items if not isinstance(i, ImportProblem)] == ["ok"]
