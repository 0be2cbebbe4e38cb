"""Models and migrations, up and down, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from agent.config import Settings
from incidents import db
from incidents.importers import from_report_json
from incidents.models import Action, ActionStatus, Incident
from incidents.store import save
from tests.incidents_fixtures import pg_url, report, sqlite_url  # noqa: F401  (fixtures)

TABLES = {"incidents", "incident_tags", "actions", "incident_embeddings"}


def _roundtrip(url: str) -> None:
    eng = db.make_engine(url)
    db.upgrade(eng)
    assert db.current_revision(eng) == db.head_revision()
    assert TABLES <= set(inspect(eng).get_table_names())
    factory = db.open_db(url)
    with factory() as s:
        inc = save(s, from_report_json(report("GPU OOM", ["svc-a"], ["serving.oom"], "deploy", "Out of memory."), "r1"))
        s.commit()
        got = s.scalar(select(Incident).where(Incident.id == inc.id))
        assert got is not None and got.ttd_s == 120.0 and got.trigger_kind == "deploy"
        assert {t.kind for t in got.tags} >= {"service", "failure_mode", "trigger_kind", "contributing_factor"}
        act = s.scalar(select(Action))
        assert act is not None and act.status is ActionStatus.open and act.action_key == "AI-001"
        act.status = ActionStatus.verified
        act.verified_evidence = "game day 2025-04-20: rollback in 3 min"
        s.commit()
        assert s.scalar(select(Action.status)) is ActionStatus.verified
    db.downgrade(eng)
    assert db.current_revision(eng) is None
    assert not TABLES & set(inspect(eng).get_table_names())
    db.upgrade(eng)  # and up again after down: the downgrade left nothing behind
    assert TABLES <= set(inspect(eng).get_table_names())
    eng.dispose()


def test_sqlite_upgrade_downgrade(sqlite_url: str) -> None:  # noqa: F811
    _roundtrip(sqlite_url)
    assert "incident_fts" not in TABLES  # FTS5 table is SQLite-only and dropped on downgrade
    eng = db.make_engine(sqlite_url)
    assert "incident_fts" in inspect(eng).get_table_names()


def test_postgresql_upgrade_downgrade(pg_url: str) -> None:  # noqa: F811
    _roundtrip(pg_url)
    eng = db.make_engine(pg_url)
    cols = {c["name"] for c in inspect(eng).get_columns("incidents")}
    assert "search_tsv" in cols


def test_reimport_replaces(sqlite_url: str) -> None:  # noqa: F811
    factory = db.open_db(sqlite_url)
    with factory() as s:
        save(s, from_report_json(report("A", ["x"], [], "deploy", "first"), "same"))
        save(s, from_report_json(report("B", ["y"], [], "config", "second"), "same"))
        s.commit()
        rows = s.scalars(select(Incident)).all()
        assert [r.title for r in rows] == ["B"]
        assert rows[0].tag_values("service") == ["y"]


def test_resolve_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert db.resolve_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.resolve_url(str(tmp_path / "a" / "x.db")) == f"sqlite:///{tmp_path / 'a' / 'x.db'}"
    # POSTMORTEM_DB is read once by the CLI's settings and passed in as `db`.
    assert db.resolve_url(Settings.from_env({"POSTMORTEM_DB": "postgres://h/d"}).db) == "postgresql+psycopg://h/d"
    monkeypatch.setattr(db, "default_path", lambda: tmp_path / "data" / "incidents.sqlite")
    assert db.resolve_url(None).endswith("data/incidents.sqlite")
