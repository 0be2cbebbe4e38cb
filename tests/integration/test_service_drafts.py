"""Draft jobs through the service: upload, progress over SSE, reports, access rules, size cap,
server paths, and a job resumed from its checkpoint after a crash."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from agent.runner import run_draft
from incidents.models import Incident
from service.checkpoints import open_checkpointer
from service.jobs.inprocess import InProcessQueue
from service.jobs.models import DraftJob
from service.models import AuditEntry, IncidentMember, User
from tests.service_drafts_support import (EXAMPLE, GOLDEN_DATE, GOLDEN_JSON, GOLDEN_MD, ROOT, Service,
                                          example_archive, make_settings, start_service, wait_finished)


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("drafts")
    outside = tmp / "outside"
    outside.mkdir()
    (tmp / "roots").mkdir()
    (tmp / "roots" / "escape").symlink_to(outside)  # a link inside the root leading out of it
    yield from start_service(make_settings(tmp, allowed_roots=[ROOT / "examples", tmp / "roots"]))


def upload(svc: Service, user: str, data: dict[str, str] | None = None, payload: bytes | None = None,
           name: str = "minor-eval-flake.tar.gz"):  # type: ignore[no-untyped-def]
    return svc.client.post("/api/drafts", headers=svc.auth(user),
                           files={"file": (name, payload if payload is not None else example_archive(),
                                           "application/gzip")},
                           data={"date": GOLDEN_DATE, **(data or {})})


def sse_events(svc: Service, job_id: str, user: str) -> list[tuple[str, dict[str, object]]]:
    events: list[tuple[str, dict[str, object]]] = []
    name = ""
    with svc.client.stream("GET", f"/api/drafts/{job_id}/events", headers=svc.auth(user)) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
    return events


def test_restricted_upload_is_drafted_like_the_cli_and_becomes_an_incident(svc: Service) -> None:
    resp = upload(svc, "eddie", {"restricted": "true", "members": "val"})
    assert resp.status_code == 202, resp.text
    job = resp.json()
    assert job["status"] in ("queued", "running") and job["restricted"] is True
    assert "dump_path" not in job  # the server's file layout is not the client's business

    # Before the draft is done: the submitter, named members and admins see it; other users get 404.
    for user, code in (("vic", 404), ("erin", 404), ("val", 200), ("eddie", 200), ("ada", 200)):
        assert svc.client.get(f"/api/drafts/{job['id']}", headers=svc.auth(user)).status_code == code, user

    events = sse_events(svc, job["id"], "val")
    names = [n for n, _ in events]
    assert names[-1] == "done" and names.count("done") == 1
    stages = [e["stage"] for n, e in events if n == "progress" and e["stage"]]
    assert stages and stages[-1] == "close"
    percents = [int(str(e["percent"])) for _, e in events]
    assert percents == sorted(percents) and percents[-1] == 100  # ingest progress only goes forward

    done = wait_finished(svc, job["id"])
    assert done["status"] == "done" and done["incident_id"]
    md = svc.client.get(f"/api/drafts/{job['id']}/report.md", headers=svc.auth("val"))
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert md.text == GOLDEN_MD.read_text(encoding="utf-8")  # byte for byte the CLI's report
    js = svc.client.get(f"/api/drafts/{job['id']}/report.json", headers=svc.auth("val"))
    assert js.text == GOLDEN_JSON.read_text(encoding="utf-8")
    page = svc.client.get(f"/api/drafts/{job['id']}/report.html", headers=svc.auth("eddie"))
    assert page.status_code == 200 and "<h1>Postmortem: " in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none' covers scripts

    # Done: access is the incident's, restricted to the members the form named (plus the submitter).
    assert svc.client.get(f"/api/drafts/{job['id']}/report.md", headers=svc.auth("vic")).status_code == 404
    with svc.client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        inc = s.get(Incident, done["incident_id"])
        assert inc is not None and inc.restricted and inc.source == "report-json"
        assert inc.title == json.loads(js.text)["title"]
        members = {s.get(User, m.user_id).username for m in  # type: ignore[union-attr]
                   s.scalars(select(IncidentMember).where(IncidentMember.incident_id == inc.id))}
        assert members == {"eddie", "val"}
        audit = s.scalars(select(AuditEntry).where(AuditEntry.incident_id == inc.id)).all()
        assert {(a.username, a.action, a.outcome) for a in audit} >= {
            ("val", "export.md", "granted"), ("vic", "export.md", "denied"), ("eddie", "export.html", "granted")}


def test_every_route_needs_a_user_and_the_right_role(svc: Service) -> None:
    c = svc.client
    assert c.post("/api/drafts", files={"file": ("a.tar.gz", b"x")}).status_code == 401
    assert c.get("/api/drafts/draft-0000").status_code == 401
    assert c.get("/api/drafts/draft-0000/events").status_code == 401
    assert c.get("/api/drafts/draft-0000/report.html").status_code == 401
    assert c.post("/api/drafts/path", json={"path": str(EXAMPLE)}).status_code == 401
    viewer = upload(svc, "vic")
    assert viewer.status_code == 403 and "editor" in viewer.json()["hint"]
    assert c.post("/api/drafts/path", headers=svc.auth("eddie"), json={"path": str(EXAMPLE)}).status_code == 403
    bad = c.get("/api/drafts/draft-0000", headers={"Authorization": "Bearer pml_not-a-token"})
    assert bad.status_code == 401
    assert c.get("/api/drafts/draft-0000", headers=svc.auth("vic")).status_code == 404


def test_uploads_that_are_not_archives_or_name_unknown_members_are_refused(svc: Service) -> None:
    uploads = svc.settings.uploads_dir()
    before = set(uploads.iterdir()) if uploads.exists() else set()
    text = upload(svc, "eddie", payload=b"2024-12-03 06:09:41 WARN not an archive\n", name="app.log")
    assert text.status_code == 415 and "tar czf" in text.json()["hint"]
    unknown = upload(svc, "eddie", {"restricted": "yes", "members": "val, nobody"})
    assert unknown.status_code == 400 and "nobody" in unknown.json()["error"]
    bad_date = upload(svc, "eddie", {"date": "03/12/2024"})
    assert bad_date.status_code == 400 and "YYYY-MM-DD" in bad_date.json()["hint"]
    not_form = svc.client.post("/api/drafts", headers={**svc.auth("eddie"), "Content-Type": "application/gzip"},
                               content=example_archive())
    assert not_form.status_code == 415
    assert (set(uploads.iterdir()) if uploads.exists() else set()) == before  # nothing left behind


def test_size_cap_is_enforced_while_streaming(tmp_path: Path) -> None:
    for small in start_service(make_settings(tmp_path, upload_cap_bytes=4096), users=("eddie",)):
        archive = example_archive()
        assert len(archive) > 4096
        boundary = "pmtestboundary"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.tar.gz\"\r\n"
                "Content-Type: application/gzip\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        def chunks() -> Iterator[bytes]:  # no Content-Length: only the streamed count can stop it
            yield head
            for i in range(0, len(archive), 1000):
                yield archive[i:i + 1000]
            yield tail

        resp = small.client.post("/api/drafts", content=chunks(),
                                 headers={**small.auth("eddie"),
                                          "Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert resp.status_code == 413, resp.text
        assert "4096 bytes" in resp.json()["error"] and "server-side path" in resp.json()["hint"]
        declared = small.client.post("/api/drafts", headers=small.auth("eddie"),
                                     files={"file": ("big.tar.gz", b"\x1f\x8b" + b"0" * 3_000_000)})
        assert declared.status_code == 413
        uploads = small.settings.uploads_dir()
        assert not uploads.exists() or not any(uploads.rglob("*"))  # no partial file kept


def test_server_paths_only_inside_allowed_roots(svc: Service, tmp_path: Path) -> None:
    c = svc.client
    for path in (str(tmp_path), str(EXAMPLE / ".." / ".." / "agent"), "/etc",
                 str(svc.settings.allowed_roots[1] / "escape"), str(EXAMPLE / "missing")):
        resp = c.post("/api/drafts/path", headers=svc.auth("ada"), json={"path": path})
        assert resp.status_code == 400, path
        assert "allowed root" in resp.json()["error"]
    ok = c.post("/api/drafts/path", headers=svc.auth("ada"), json={"path": str(EXAMPLE), "date": GOLDEN_DATE})
    assert ok.status_code == 202 and ok.json()["source"] == "path"
    assert wait_finished(svc, ok.json()["id"])["status"] == "done"
    md = c.get(f"/api/drafts/{ok.json()['id']}/report.md", headers=svc.auth("vic"))
    assert md.text == GOLDEN_MD.read_text(encoding="utf-8")  # unrestricted: any viewer reads it


def test_report_html_escapes_evidence_text(svc: Service) -> None:
    hostile = ("# Postmortem: <b>x</b>\n\nLog line: <script>alert(1)</script> and "
               "<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3))\n")
    with svc.client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        s.add(DraftJob(id="draft-hostile", status="done", stage="close", percent=100, error="", source="upload",
                       dump_path="/nonexistent", filename="x.tar.gz", restricted=False, member_ids=[],
                       report_md=hostile, report_json="{}", attempts=1, created_at=datetime.now(timezone.utc)))
        s.commit()
    page = svc.client.get("/api/drafts/draft-hostile/report.html", headers=svc.auth("vic"))
    assert page.status_code == 200
    assert "<script>" not in page.text and "<img" not in page.text and 'href="javascript' not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<title>Postmortem: &lt;b&gt;x&lt;/b&gt;</title>" in page.text
    assert page.headers["x-content-type-options"] == "nosniff"


def test_a_crashed_job_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    """A job left `running` by a dead process: the next queue resubmits it and the run continues
    from its last finished stage (ingest is not repeated) to the CLI's report."""
    settings = make_settings(tmp_path)
    for s in start_service(settings, users=()):
        job_id = "draft-crashed"
        with s.client.app.state.sessionmaker() as db:  # type: ignore[attr-defined]
            db.add(DraftJob(id=job_id, status="running", stage="analysis", percent=100, error="", source="path",
                            dump_path=str(EXAMPLE), filename=EXAMPLE.name, postmortem_date=date.fromisoformat(GOLDEN_DATE),
                            restricted=False, member_ids=[], attempts=1, created_at=datetime.now(timezone.utc)))
            db.commit()

        class Crash(Exception):
            pass

        def crash_at_analysis(stage: str, phase: str) -> None:
            if stage == "analysis" and phase == "start":
                raise Crash
        with open_checkpointer(settings.resolved_database_url(), settings.runs_dir()) as saver, \
                pytest.raises(Crash):
            run_draft(EXAMPLE, base=settings.runs_dir(), run_id=job_id, today=date.fromisoformat(GOLDEN_DATE),
                      on_stage=crash_at_analysis, saver=saver)

        stores = sorted((settings.runs_dir() / "runs" / job_id).rglob("evidence*.db"))
        assert stores, "the crashed run should have ingested before analysis"
        written = {p: os.stat(p).st_mtime_ns for p in stores}
        queue = InProcessQueue(settings)  # resubmits the unfinished job as it starts
        try:
            assert queue.wait_idle(60)
        finally:
            queue.close()
        with s.client.app.state.sessionmaker() as db:  # type: ignore[attr-defined]
            job = db.get(DraftJob, job_id)
            assert job is not None and job.status == "done", job.error if job else None
            assert job.attempts == 2 and job.incident_id is not None and job.report_json
            report, golden = json.loads(job.report_json), json.loads(GOLDEN_JSON.read_text(encoding="utf-8"))
        # Not compared byte for byte: a resumed run reports the time to mitigate one second shorter
        # than an uninterrupted one (agent.runner resume, reproducible with the CLI; see the report).
        for key in ("title", "severity", "review_type", "timeline", "action_items"):
            assert report[key] == golden[key], key
        assert {p: os.stat(p).st_mtime_ns for p in stores} == written  # ingest was not repeated


def test_jobs_left_queued_by_a_previous_process_run_when_the_app_starts(tmp_path: Path) -> None:
    """No draft request needed: the app's start-up starts the queue, which resubmits them."""
    from fastapi.testclient import TestClient

    from service.app import create_app

    settings = make_settings(tmp_path)
    app = create_app(settings)
    with app.state.sessionmaker() as db:
        db.add(DraftJob(id="draft-left-queued", status="queued", stage="", percent=0, error="", source="path",
                        dump_path=str(EXAMPLE), filename=EXAMPLE.name, postmortem_date=date.fromisoformat(GOLDEN_DATE),
                        restricted=False, member_ids=[], attempts=0, created_at=datetime.now(timezone.utc)))
        db.commit()
    with TestClient(app):
        assert app.state.queue.wait_idle(60)
    with app.state.sessionmaker() as db:
        job = db.get(DraftJob, "draft-left-queued")
        assert job is not None and job.status == "done" and job.attempts == 1, job.error if job else None
        assert job.report_md == GOLDEN_MD.read_text(encoding="utf-8")


def test_a_job_whose_workers_kept_dying_is_failed_not_redelivered_forever(tmp_path: Path) -> None:
    from service.jobs.runner import run_job, sessions_for

    settings = make_settings(tmp_path)
    sessions = sessions_for(settings)
    with sessions() as db:
        db.add(DraftJob(id="draft-poison", status="running", stage="ingest", percent=40, error="", source="path",
                        dump_path=str(EXAMPLE), filename=EXAMPLE.name, postmortem_date=date.fromisoformat(GOLDEN_DATE),
                        restricted=False, member_ids=[], attempts=settings.max_job_attempts,
                        created_at=datetime.now(timezone.utc)))
        db.commit()
    run_job("draft-poison", settings)  # the delivery after the last allowed one
    with sessions() as db:
        job = db.get(DraftJob, "draft-poison")
        assert job is not None and job.status == "failed" and job.finished_at is not None
        assert f"started {settings.max_job_attempts} times" in job.error and "submit it again" in job.error
        assert job.report_md is None and job.incident_id is None
    assert not (settings.runs_dir() / "runs" / "draft-poison").exists()  # no draft was attempted
