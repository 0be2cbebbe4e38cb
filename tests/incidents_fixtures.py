"""Small fixtures in the real shapes: a project report JSON, a Markdown postmortem in the project's
template, and Post-mortems-Analysis corpus entries (written here, not copied from the corpus)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def report(title: str, services: list[str], modes: list[str], trigger: str, summary: str,
           cf: str = "No canary gated the rollout") -> dict[str, Any]:
    return {
        "title": title, "incident_date": "2025-03-02", "postmortem_date": "2025-03-09",
        "severity": "P2", "review_type": "full", "services": services, "summary": [summary],
        "detection": {"detected_by": "automated alert", "time_to_detect_s": 120.0,
                      "time_to_mitigate_s": 900.0, "time_to_resolve_s": 1800.0,
                      "first_anomaly_at": "2025-03-02T10:00:00Z", "resolved_at": "2025-03-02T10:30:00Z"},
        "impact": {"metrics": [{"name": "failed requests", "value": 42, "unit": "requests"}]},
        "suspected_triggers": [{"kind": trigger, "ref": "abc123", "summary": f"{trigger} change"}],
        "failure_modes": modes,
        "barriers": [{"name": "Staged rollout / canary", "state": "missing"}],
        "root_causes": [{"id": "RC-1", "statement": summary, "status": "likely"}],
        "contributing_factors": [{"id": "CF-1", "statement": cf, "status": "inconclusive"}],
        "action_items": [{"id": "AI-001", "action": "Add a canary gate", "owner": "release lead",
                          "due": "2025-04-01", "verification": "game day rollback", "addresses": ["CF-1"],
                          "priority": "P1"}],
        "follow_up_review": "2025-04-15",
    }


MARKDOWN = """# Postmortem: Retrieval answers went stale after index rebuild

**Incident Date**: 2025-02-11
**Postmortem Date**: 2025-02-14
**Severity**: P2 (full review)
**Services**: rag-api, indexer

## Executive Summary

The nightly index rebuild failed silently and the RAG service served week-old documents.
Contact oncall@example.com for details.

## Technical Analysis

### Failure modes (AI taxonomy)

- `rag.stale_index`

## Root Causes & Contributing Factors

**Root causes**
- **RC-1** (likely): The rebuild job swallowed an error and left the old index live.

**Contributing factors**
- **CF-1** (confirmed): No freshness alert on the index age.

## Action Items

| ID | Action | Owner | Due Date | Verification Method | Addresses | Priority |
|---|---|---|---|---|---|---|
| AI-001 | Alert when the index is older than 26 h | data platform lead | 2025-03-01 | staging index aged past 26 h pages | CF-1 | P1 |
"""


def pma_entry(title: str, services: list[str], l2: str, l3: str | None, leaves: list[str],
              summary: str, operation: str = "deployment") -> dict[str, Any]:
    label: dict[str, Any] = {"layer-1": "internal causes", "layer-2": l2}
    if l3:
        label["layer-3"] = l3
    return {
        "title": title, "link": ["https://status.example.com/incident/1"], "time": "05/14/2019",
        "summary": summary, "details": summary + " Engineers rolled back the change.",
        "service_name": services, "impact symptom": ["availability"], "duration": 95,
        "detection": {"method": "automate", "tool": ["monitoring"]},
        "manifestation": ["service unavailable", {"business kpi": leaves}],
        "root cause": {"label": [label], "details": summary},
        "operation": [operation], "human error": False,
        "reproduction": {"label": False, "details": ""},
        "mitigation": {"label": ["rolled back"], "details": "Rolled back.", "troubleshooting": {"1": "roll back"}},
        "propagation pass": {"1": "frontend"}, "refined path": {"1": "app"},
        "detection time": 7, "fix time": None, "identification time": None, "verification": "ab",
    }


def write_pma(root: Path) -> Path:
    coll = root / "anomaly_collection" / "Cloud"
    coll.mkdir(parents=True)
    entries = {
        "c-1": pma_entry("Storage outage after config push", ["Blob Storage"], "software bugs", "config",
                         ["error rate"], "A configuration push to storage front ends caused request failures."),
        "c-2": pma_entry("Storage errors after configuration change", ["Blob Storage"], "software bugs",
                         "config", ["error rate"], "A configuration change to storage caused errors."),
        "c-3": pma_entry("Data center power loss", ["Virtual Machines"], "hardware failures", "power outage",
                         ["connection error"], "A utility power loss took a data center offline.", "normal operation"),
    }
    (coll / "cloud.json").write_text(json.dumps(entries), encoding="utf-8")
    (coll / "broken.json").write_text("{not json", encoding="utf-8")
    return root


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'incidents.sqlite'}"


def _pg_base() -> str:
    return os.environ.get("POSTMORTEM_TEST_PG_URL", PG_DEFAULT)


def _pg_available() -> str | None:
    from sqlalchemy import create_engine, text

    try:
        eng = create_engine(_pg_base(), connect_args={"connect_timeout": 3})
        with eng.connect() as c:
            c.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # any connection failure means "no server"
        return str(exc).splitlines()[0]


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A fresh schema per test on the PostgreSQL server; dropped afterwards."""
    from sqlalchemy import create_engine, text

    problem = _pg_available()
    if problem:
        msg = f"PostgreSQL at {_pg_base()} unreachable ({problem}); set POSTMORTEM_TEST_PG_URL"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    schema = f"pm_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(_pg_base())
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in _pg_base() else "?"
    try:
        yield f"{_pg_base()}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
