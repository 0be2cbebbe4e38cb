"""The web app's pages over a real app (TestClient, tmp SQLite): login with CSRF, incident list and
search, the 404 page for restricted incidents, the actions board (overdue marks, mark done), the
upload -> draft -> review flow, and the escaping of untrusted report text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from incidents.importers import from_report_json
from incidents.store import save
from service.models import AuditEntry, IncidentMember
from service.web.draft_pages import remark_from_form
from service.errors import ApiError
from tests.incidents_fixtures import report
from tests.service_drafts_support import GOLDEN_DATE, USERS, example_archive, make_settings, start_service

PASSWORD = "correct horse battery staple"
HOSTILE = "# Postmortem: hostile\n\n<script>alert(1)</script> and <img src=x onerror=alert(2)>\n"


def _incident(session, ref: str, title: str, restricted: bool, due: date, md: str | None = None) -> int:  # type: ignore[no-untyped-def]
    data = report(title, ["ranker"], ["data.stale_features"], "config", f"{title} summary")
    data["action_items"][0]["due"] = due.isoformat()
    inc = save(session, from_report_json(data, ref, markdown=md))
    inc.restricted = restricted
    session.flush()
    return inc.id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    svc_iter = start_service(make_settings(tmp_path_factory.mktemp("web")))
    svc = next(svc_iter)
    app = svc.client.app
    with app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        past, future = date.today() - timedelta(days=3), date.today() + timedelta(days=30)
        public = _incident(s, "public.json", "Ranker served stale features", False, past, HOSTILE)
        secret = _incident(s, "secret.json", "Merger ranking outage", True, future)
        from service.users import by_name
        s.add(IncidentMember(incident_id=secret, user_id=by_name(s, "vic").id))  # type: ignore[union-attr]
        s.commit()
    yield {"svc": svc, "public": public, "secret": secret}
    next(svc_iter, None)


def browser(world: dict[str, object], username: str | None) -> TestClient:
    """A client of its own (its own cookie jar), logged in through the login form when named."""
    svc = world["svc"]
    client = TestClient(svc.client.app)  # type: ignore[attr-defined]
    if username:
        form = client.get("/login")
        token = _field(form.text, "csrf_token")
        resp = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token,
                                           "next": "/incidents"}, follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"] == "/incidents", resp.text
    return client


def _field(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, f"no {name} field"
    return m.group(1)


def test_anonymous_pages_redirect_to_login_and_back(world: dict[str, object]) -> None:
    client = browser(world, None)
    resp = client.get("/actions?show=all", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login?next=/actions%3Fshow%3Dall"
    page = client.get(resp.headers["location"])
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    assert _field(page.text, "next") == "/actions?show=all"


def test_login_needs_the_form_token_and_right_password(world: dict[str, object]) -> None:
    client = browser(world, None)
    token = _field(client.get("/login").text, "csrf_token")
    no_token = client.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": "forged"})
    assert no_token.status_code == 403 and "pm_session" not in client.cookies
    wrong = client.post("/login", data={"username": "ada", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
    off_site = client.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token,
                                           "next": "//evil.example/x"}, follow_redirects=False)
    assert off_site.status_code == 303 and off_site.headers["location"] == "/"
    assert client.get("/incidents").status_code == 200


def test_logout_needs_csrf_and_ends_the_session(world: dict[str, object]) -> None:
    client = browser(world, "eddie")
    home = client.get("/incidents")
    assert client.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    out = client.post("/logout", data={"csrf_token": _field(home.text, "csrf_token")}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/incidents", follow_redirects=False).status_code == 303


def test_list_and_search_hide_restricted_incidents(world: dict[str, object]) -> None:
    outsider, member = browser(world, "val"), browser(world, "vic")
    assert "Ranker served stale features" in outsider.get("/incidents").text
    assert "Merger ranking outage" not in outsider.get("/incidents").text
    assert "Merger ranking outage" not in outsider.get("/incidents", params={"q": "merger ranking"}).text
    found = member.get("/incidents", params={"q": "merger ranking"}).text
    assert "Merger ranking outage" in found and "restricted" in found


def test_restricted_incident_is_the_missing_404_page_and_audited(world: dict[str, object]) -> None:
    outsider = browser(world, "val")
    denied = outsider.get(f"/incidents/{world['secret']}")
    missing = outsider.get("/incidents/999999")
    assert denied.status_code == missing.status_code == 404
    assert denied.headers["content-type"].startswith("text/html")
    assert "Merger" not in denied.text
    assert denied.text.replace(str(world["secret"]), "N") == missing.text.replace("999999", "N")
    svc = world["svc"]
    with svc.client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        rows = s.scalars(select(AuditEntry).where(AuditEntry.incident_id == world["secret"],
                                                  AuditEntry.username == "val")).all()
        assert [(r.action, r.outcome) for r in rows][-1] == ("read", "denied")
    assert "Merger ranking outage" in browser(world, "vic").get(f"/incidents/{world['secret']}").text


def test_report_text_is_escaped_and_pages_carry_a_strict_csp(world: dict[str, object]) -> None:
    page = browser(world, "vic").get(f"/incidents/{world['public']}")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<img src=x" not in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_actions_board_marks_overdue_and_marks_done(world: dict[str, object]) -> None:
    viewer, editor = browser(world, "vic"), browser(world, "eddie")
    board = viewer.get("/actions").text
    row = re.search(rf'<tr id="action-{world["public"]}-AI-001" class="([^"]*)"', board)
    assert row and "overdue" in row.group(1)
    assert "Mark done" not in board  # viewers read the board
    assert f'id="action-{world["secret"]}-AI-001"' in board  # vic is a member; not overdue
    assert re.search(rf'<tr id="action-{world["secret"]}-AI-001" class="\s*status', board)
    url = f"/incidents/{world['public']}/actions/AI-001/done"
    assert viewer.post(url, data={"csrf_token": _field(board, "csrf_token")}).status_code == 403
    page = editor.get("/actions").text
    assert editor.post(url, data={"csrf_token": "forged"}).status_code == 403
    done = editor.post(url, data={"csrf_token": _field(page, "csrf_token"), "evidence": "game day passed"},
                       follow_redirects=False)
    assert done.status_code == 303
    assert f'id="action-{world["public"]}-AI-001"' not in editor.get("/actions").text  # no longer open
    assert "Verified: game day passed" in editor.get("/actions?show=all").text
    hidden = browser(world, "val").get("/actions?show=all").text
    assert "Merger ranking outage" not in hidden


def test_static_files_are_named_only(world: dict[str, object]) -> None:
    client = browser(world, None)
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/..%2Fweb%2F__init__.py").status_code == 404
    assert client.get("/static/secret_key").status_code == 404


@pytest.mark.parametrize(("op", "n", "value", "text", "expected"), [
    ("ok", None, "", "", "ok"),
    ("say", None, "", "the rollback finished at 14:31", "the rollback finished at 14:31"),
    ("move", 3, "14:31", "", "move 3 to 14:31"),
    ("reword", 2, "Rollback\nstarted", "", "reword 2: Rollback started"),
    ("drop", 4, "", "", "drop 4"),
    ("confirm", 1, "", "", "confirm 1"),
    ("confirm", 1, "the diff shows it", "", "confirm 1 because the diff shows it"),
    ("reject", 2, "the canary was green", "", "reject 2 because the canary was green"),
])
def test_review_forms_become_facilitator_remarks(op: str, n: int | None, value: str, text: str, expected: str) -> None:
    assert remark_from_form(op, n, value, text) == expected


@pytest.mark.parametrize(("op", "n", "value"), [("move", 3, ""), ("reject", 1, " "), ("drop", None, ""),
                                                ("say", None, ""), ("explode", 1, "x")])
def test_incomplete_review_forms_are_refused(op: str, n: int | None, value: str) -> None:
    with pytest.raises(ApiError) as err:
        remark_from_form(op, n, value, "")
    assert err.value.status == 422


def test_upload_draft_review_and_stale_answers(world: dict[str, object]) -> None:
    editor = browser(world, "eddie")
    form = editor.get("/upload")
    token = _field(form.text, "csrf_token")
    files = {"file": ("minor.tar.gz", example_archive(), "application/gzip")}
    forged = editor.post("/upload", data={"csrf_token": "forged"}, files=files, follow_redirects=False)
    assert forged.status_code == 403
    not_archive = editor.post("/upload", data={"csrf_token": token},
                              files={"file": ("notes.txt", b"plain text", "text/plain")})
    assert not_archive.status_code == 415 and "not a zip or tar archive" in not_archive.text
    assert browser(world, "vic").post("/upload", data={"csrf_token": token}, files=files).status_code == 403
    sent = editor.post("/upload", data={"csrf_token": token, "date": GOLDEN_DATE, "restricted": "true",
                                        "members": "erin"}, files=files, follow_redirects=False)
    assert sent.status_code == 303
    draft_url = sent.headers["location"]
    job_id = draft_url.rsplit("/", 1)[-1]
    first = editor.get(draft_url).text
    assert "data-events" in first or "Change ranking" in first
    from tests.service_drafts_support import wait_finished
    assert wait_finished(world["svc"], job_id, "ada")["status"] == "done"  # type: ignore[arg-type]

    page = editor.get(draft_url).text
    for heading in ("Timeline", "Impact", "Change ranking", "Validator findings"):
        assert f"<h2>{heading}</h2>" in page
    assert "Nightly eval job failed twice on dataset download timeouts" in page
    assert "ad6512881a45" in page  # the top-ranked change
    assert browser(world, "val").get(draft_url).status_code == 404  # restricted, not a member

    review = editor.get(f"/drafts/{job_id}/review").text
    assert "Start the review" in review
    started = editor.post(f"/drafts/{job_id}/review/start", data={"csrf_token": token}, follow_redirects=False)
    assert started.status_code == 303
    for _ in ("confirm_scope", "confirm_evidence"):
        version = _field(editor.get(f"/drafts/{job_id}/review").text, "version")
        assert editor.post(f"/drafts/{job_id}/answer", data={"csrf_token": token, "version": version, "op": "ok"},
                           follow_redirects=False).status_code == 303
    review = editor.get(f"/drafts/{job_id}/review").text
    assert "Stage 3/7 - Timeline" in review and 'id="row-2"' in review
    version = _field(review, "version")
    moved = editor.post(f"/drafts/{job_id}/answer", data={"csrf_token": token, "version": version, "op": "reword",
                                                        "n": "2", "value": "Dataset mirror started timing out"})
    assert moved.status_code == 200 and "Dataset mirror started timing out" in moved.text
    stale = editor.post(f"/drafts/{job_id}/answer", data={"csrf_token": token, "version": version, "op": "ok"})
    assert stale.status_code == 409 and "the review moved on" in stale.text
    chat = browser(world, "erin").get(f"/drafts/{job_id}/chat").text  # a member sees the same review
    assert "reword 2: Dataset mirror started timing out" in chat


def test_page_markdown_comes_from_the_services_one_renderer() -> None:
    from service.render_html import markdown_page, render_markdown_body
    from service.web.rendering import _markdown

    hostile = "Log: <script>alert(1)</script> **bold**\n"
    body = render_markdown_body(hostile)
    assert "<script>" not in body and "&lt;script&gt;" in body and "<strong>bold</strong>" in body
    assert str(_markdown(hostile)) == body  # the web filter is that renderer
    assert body in markdown_page("t", hostile)  # and so is the report page's body
