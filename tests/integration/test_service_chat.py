"""Chat reviews through the service: one session per draft, shared by every user who may see it,
stale answers refused, and the session survives a restart of the app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from incidents.models import Incident
from tests.service_drafts_support import EXAMPLE, GOLDEN_DATE, ROOT, Service, make_settings, start_service, wait_finished


@pytest.fixture(scope="module")
def settings_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chat")


@pytest.fixture(scope="module")
def svc(settings_dir: Path) -> Iterator[Service]:
    yield from start_service(make_settings(settings_dir, allowed_roots=[ROOT / "examples"]))


@pytest.fixture(scope="module")
def job_id(svc: Service) -> str:
    resp = svc.client.post("/api/drafts/path", headers=svc.auth("ada"),
                           json={"path": str(EXAMPLE), "date": GOLDEN_DATE, "restricted": True,
                                 "members": ["eddie", "erin", "vic"]})
    assert resp.status_code == 202, resp.text
    assert wait_finished(svc, resp.json()["id"])["status"] == "done"
    return str(resp.json()["id"])


def answer(svc: Service, job_id: str, user: str, text: str, version: int,
           headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return svc.client.post(f"/api/drafts/{job_id}/chat/answer", headers=headers or svc.auth(user),
                           json={"text": text, "version": version})


def test_one_shared_session_per_draft(svc: Service, job_id: str) -> None:
    url = f"/api/drafts/{job_id}/chat"
    assert svc.client.get(url, headers=svc.auth("eddie")).status_code == 404  # not started yet
    assert svc.client.post(url, headers=svc.auth("vic")).status_code == 403  # viewers read, not lead
    assert svc.client.post(url).status_code == 401
    first = svc.client.post(url, headers=svc.auth("eddie"))
    assert first.status_code == 200, first.text
    view = first.json()
    assert view["prompt"]["gate"] == "confirm_scope" and view["version"] == 0
    assert "Goal:" in view["prompt"]["body"]
    again = svc.client.post(url, headers=svc.auth("erin")).json()  # a second start joins the same one
    assert again["session_id"] == view["session_id"] and again["version"] == 0

    ok = answer(svc, job_id, "eddie", "ok", 0)
    assert ok.status_code == 200 and ok.json()["prompt"]["gate"] == "confirm_evidence"
    stale = answer(svc, job_id, "erin", "ok", 0)  # erin answered the prompt eddie already answered
    assert stale.status_code == 409 and "version 1" in stale.json()["error"]
    note = answer(svc, job_id, "erin", "The dataset mirror was under maintenance that night.", 1)
    assert note.status_code == 200 and note.json()["last_reply"].startswith("Kept as evidence note:chat:1")

    seen_by_viewer = svc.client.get(url, headers=svc.auth("vic")).json()  # the same state for everyone
    assert seen_by_viewer["version"] == 2 and seen_by_viewer["prompt"]["gate"] == "confirm_evidence"
    assert [n["text"] for n in seen_by_viewer["notes"]] == ["The dataset mirror was under maintenance that night."]
    assert answer(svc, job_id, "vic", "ok", 2).status_code == 403
    assert svc.client.get(url, headers=svc.auth("val")).status_code == 404  # not a member of the draft
    assert answer(svc, job_id, "eddie", "x" * 5000, 2).status_code == 422


def test_session_survives_a_restart_and_closes_into_the_incident(svc: Service, job_id: str, settings_dir: Path) -> None:
    url = f"/api/drafts/{job_id}/chat"
    before = svc.client.get(url, headers=svc.auth("eddie")).json()
    # A second app on the same database and data dir: a restarted server, or another API server.
    for other in start_service(make_settings(settings_dir, allowed_roots=[ROOT / "examples"]), users=()):
        view = other.client.get(url, headers=svc.auth("eddie")).json()
        assert view == before
        version = view["version"]
        for text, gate in (("ok", "confirm_timeline"), ("ok", "confirm_hypotheses"), ("ok", "confirm_draft"),
                           ("ok", "confirm_actions")):
            resp = answer(other, job_id, "erin", text, version, svc.auth("erin"))  # tokens are in the shared DB
            assert resp.status_code == 200, resp.text
            assert resp.json()["prompt"]["gate"] == gate
            version = resp.json()["version"]
        report = other.client.get(f"{url}/report.md", headers=svc.auth("vic"))
        assert report.status_code == 200 and "## Review Discussion" in report.text
        assert "The dataset mirror was under maintenance that night. (note:chat:1)" in report.text
        closed = answer(other, job_id, "eddie", "ok", version, svc.auth("eddie")).json()
        assert closed["closed"] is True and closed["prompt"] is None
        assert answer(other, job_id, "eddie", "ok", closed["version"], svc.auth("eddie")).status_code == 409
    incident_id = svc.client.get(f"/api/drafts/{job_id}", headers=svc.auth("eddie")).json()["incident_id"]
    with svc.client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        inc = s.get(Incident, incident_id)
        assert inc is not None and inc.restricted  # still restricted after the reviewed report replaced it
        assert inc.report_md is not None and "note:chat:1" in inc.report_md
