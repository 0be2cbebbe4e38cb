"""Incident routes: every route refuses anonymous callers (401), wrong roles (403) and non-members
of a restricted incident (404, exactly like a missing id), and every read or export of a restricted
incident leaves an audit row. Lists, search, similar and trends never show what the caller may not
see (FastAPI TestClient on a tmp SQLite database)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from incidents.importers import from_report_json
from incidents.models import Incident
from incidents.store import save
from service.app import create_app
from service.auth import csrf
from service.auth.tokens import issue
from service.models import AuditEntry, IncidentMember, Role
from service.settings import ServiceSettings
from tests.service_support import cheap_argon2  # noqa: F401  (autouse fixture)
from service.users import create
from tests.incidents_fixtures import report

USERS = {"root": Role.admin, "ed": Role.editor, "outsider_ed": Role.editor, "alice": Role.viewer,
         "eve": Role.viewer}
HOSTILE_MD = ("# Postmortem: Feature store lag\n\nThe summary <script>alert(1)</script> and "
              "[a link](javascript:alert(2)).\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")


class World:
    def __init__(self, app: Any, tokens: dict[str, str], public_id: int, secret_id: int) -> None:
        self.app, self.tokens, self.public_id, self.secret_id = app, tokens, public_id, secret_id

    def h(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}

    def audit(self) -> list[tuple[str | None, int | None, str, str]]:
        with self.app.state.sessionmaker() as s:
            rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
            return [(r.username, r.incident_id, r.action, r.outcome) for r in rows]


def _store(session: Any, ref: str, title: str, summary: str, restricted: bool, md: str | None) -> int:
    data = report(title, ["feature-store", "ranker"], ["data.stale_features"], "config", summary)
    inc = save(session, from_report_json(data, ref, markdown=md))
    inc.restricted = restricted
    return inc.id


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], int, int]:
    """The database every test starts from, built once (migrations and hashing dominate the cost)
    and copied per test so each test sees its own audit log."""
    from argon2 import PasswordHasher

    from service.auth import passwords

    root = tmp_path_factory.mktemp("template")
    db = root / "svc.sqlite"
    app = create_app(ServiceSettings(database_url=f"sqlite:///{db}", data_dir=root / "data"))
    tokens: dict[str, str] = {}
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    real, passwords._hasher = passwords._hasher, cheap  # module scope: no monkeypatch fixture here
    try:
        with app.state.sessionmaker() as s:
            users = {name: create(s, name, role, f"{name}-password-123")[0] for name, role in USERS.items()}
            for name, user in users.items():
                tokens[name] = issue(s, user, "test")[1]
            public_id = _store(s, "public.json", "Feature store lag degraded ranking",
                               "Feature store replication lag served stale features to the ranker.", False,
                               HOSTILE_MD)
            secret_id = _store(s, "secret.json", "Feature store lag during the merger",
                               "Feature store replication lag served stale features to the ranker during the "
                               "merger.", True, "# Postmortem: merger\n\nConfidential.\n")
            s.add(IncidentMember(incident_id=secret_id, user_id=users["alice"].id))
            s.add(IncidentMember(incident_id=secret_id, user_id=users["ed"].id))
            s.commit()
    finally:
        passwords._hasher = real
    app.state.sessionmaker.kw["bind"].dispose()  # closes the last connection: WAL folded into the file
    return db, tokens, public_id, secret_id


@pytest.fixture()
def world(tmp_path: Path, template: tuple[Path, dict[str, str], int, int]) -> Iterator[World]:
    db, tokens, public_id, secret_id = template
    shutil.copyfile(db, tmp_path / "svc.sqlite")
    app = create_app(ServiceSettings(database_url=f"sqlite:///{tmp_path / 'svc.sqlite'}",
                                     data_dir=tmp_path / "data"))
    with TestClient(app) as client:
        w = World(app, tokens, public_id, secret_id)
        w.client = client  # type: ignore[attr-defined]
        yield w


# Every route that reads or exports one incident: (method, path template, body, minimal role,
# audit action). `{id}` is filled per case.
ROUTES: list[tuple[str, str, dict[str, Any] | None, Role, str]] = [
    ("GET", "/api/incidents/{id}", None, Role.viewer, "read"),
    ("GET", "/api/incidents/{id}/report.md", None, Role.viewer, "export.md"),
    ("GET", "/api/incidents/{id}/report.json", None, Role.viewer, "export.json"),
    ("GET", "/api/incidents/{id}/report.html", None, Role.viewer, "export.html"),
    ("GET", "/api/incidents/{id}/actions", None, Role.viewer, "read.actions"),
    ("GET", "/api/incidents/{id}/similar", None, Role.viewer, "read.similar"),
    ("GET", "/api/incidents/{id}/members", None, Role.viewer, "read.members"),
    ("POST", "/api/incidents/{id}/actions/AI-001/done", {"evidence": None}, Role.editor, "action.done"),
    ("PUT", "/api/incidents/{id}/access", {"restricted": True, "members": ["alice"]}, Role.admin, "access.change"),
]
ROUTE_IDS = [f"{m} {p.replace('/api/incidents/{id}', '') or '/'}" for m, p, *_ in ROUTES]
# A member of the restricted incident per minimal role (admins see everything without membership).
MEMBER = {Role.viewer: "alice", Role.editor: "ed", Role.admin: "root"}
NON_MEMBER = {Role.viewer: "eve", Role.editor: "outsider_ed"}
BELOW = {Role.editor: "alice", Role.admin: "ed"}


def call(w: World, method: str, path: str, body: dict[str, Any] | None, user: str | None, incident_id: int):  # type: ignore[no-untyped-def]
    return w.client.request(method, path.format(id=incident_id), json=body, headers=w.h(user))  # type: ignore[attr-defined]


def assert_error(r, status: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "hint"} and "Traceback" not in r.text
    return body


@pytest.mark.parametrize(("method", "path", "body", "role", "action"), ROUTES, ids=ROUTE_IDS)
def test_anonymous_is_401(world: World, method: str, path: str, body: Any, role: Role, action: str) -> None:
    for incident_id in (world.public_id, world.secret_id):
        assert_error(call(world, method, path, body, None, incident_id), 401)
    assert world.audit() == []


@pytest.mark.parametrize(("method", "path", "body", "role", "action"),
                         [r for r in ROUTES if r[3] is not Role.viewer],
                         ids=[i for i, r in zip(ROUTE_IDS, ROUTES) if r[3] is not Role.viewer])
def test_role_below_the_route_is_403(world: World, method: str, path: str, body: Any, role: Role,
                                     action: str) -> None:
    # BELOW[role] is even a member of the restricted incident: the role check still refuses.
    for incident_id in (world.public_id, world.secret_id):
        assert_error(call(world, method, path, body, BELOW[role], incident_id), 403)
    assert world.audit() == []


@pytest.mark.parametrize(("method", "path", "body", "role", "action"),
                         [r for r in ROUTES if r[3] is not Role.admin],
                         ids=[i for i, r in zip(ROUTE_IDS, ROUTES) if r[3] is not Role.admin])
def test_restricted_non_member_gets_the_missing_incident_404_and_is_audited(
        world: World, method: str, path: str, body: Any, role: Role, action: str) -> None:
    outsider = NON_MEMBER[role]
    refused = assert_error(call(world, method, path, body, outsider, world.secret_id), 404)
    missing = assert_error(call(world, method, path, body, outsider, 999_999), 404)
    assert refused == {k: v.replace("999999", str(world.secret_id)) for k, v in missing.items()}
    assert world.audit() == [(outsider, world.secret_id, action, "denied")]


@pytest.mark.parametrize(("method", "path", "body", "role", "action"), ROUTES, ids=ROUTE_IDS)
def test_member_and_admin_are_served_and_audited(world: World, method: str, path: str, body: Any,
                                                 role: Role, action: str) -> None:
    expected = []
    for user in dict.fromkeys((MEMBER[role], "root")):
        r = call(world, method, path, body, user, world.secret_id)
        assert r.status_code == 200, r.text
        expected.append((user, world.secret_id, action, "granted"))
    assert [a for a in world.audit() if a[2] == action] == expected


@pytest.mark.parametrize(("method", "path", "body", "role", "action"), ROUTES, ids=ROUTE_IDS)
def test_public_incident_is_served_without_audit(world: World, method: str, path: str, body: Any,
                                                 role: Role, action: str) -> None:
    user = NON_MEMBER.get(role, "root")
    r = call(world, method, path, body, user, world.public_id)
    assert r.status_code == 200, r.text
    # Only the access change itself is recorded (it may restrict the incident from now on).
    assert [a for a in world.audit() if a[2] != "access.changed"] == []


def test_exports_carry_the_stored_report(world: World) -> None:
    md = world.client.get(f"/api/incidents/{world.public_id}/report.md", headers=world.h("eve"))  # type: ignore[attr-defined]
    assert md.headers["content-type"].startswith("text/markdown") and md.text == HOSTILE_MD
    js = world.client.get(f"/api/incidents/{world.public_id}/report.json", headers=world.h("eve")).json()  # type: ignore[attr-defined]
    assert js["title"] == "Feature store lag degraded ranking"
    page = world.client.get(f"/api/incidents/{world.public_id}/report.html", headers=world.h("eve")).text  # type: ignore[attr-defined]
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript' not in page and "<table>" in page


def test_lists_hide_restricted_incidents_from_non_members(world: World) -> None:
    get = world.client.get  # type: ignore[attr-defined]
    eve = get("/api/incidents", headers=world.h("eve")).json()
    assert eve["total"] == 1 and [i["id"] for i in eve["items"]] == [world.public_id]
    assert get("/api/incidents?q=merger", headers=world.h("eve")).json() == {"total": 0, "items": []}
    assert world.audit() == []
    alice = get("/api/incidents?q=merger", headers=world.h("alice")).json()
    assert [i["id"] for i in alice["items"]] == [world.secret_id] and alice["items"][0]["restricted"] is True
    assert world.audit() == [("alice", world.secret_id, "list", "granted")]
    assert get("/api/incidents", headers=world.h("root")).json()["total"] == 2


def test_action_list_hides_restricted_incidents(world: World) -> None:
    get = world.client.get  # type: ignore[attr-defined]
    assert {a["incident_id"] for a in get("/api/actions", headers=world.h("eve")).json()} == {world.public_id}
    assert {a["incident_id"] for a in get("/api/actions", headers=world.h("alice")).json()} == \
        {world.public_id, world.secret_id}
    assert world.audit() == [("alice", world.secret_id, "list.actions", "granted")]
    assert_error(get("/api/actions"), 401)


def test_similar_never_suggests_what_the_caller_may_not_see(world: World) -> None:
    get = world.client.get  # type: ignore[attr-defined]
    eve = get(f"/api/incidents/{world.public_id}/similar", headers=world.h("eve")).json()
    assert world.secret_id not in [i["id"] for i in eve["items"]]
    alice = get(f"/api/incidents/{world.public_id}/similar", headers=world.h("alice")).json()
    assert [i["id"] for i in alice["items"]] == [world.secret_id]
    assert world.audit() == [("alice", world.secret_id, "list.similar", "granted")]


def test_trends_count_only_visible_incidents(world: World) -> None:
    get = world.client.get  # type: ignore[attr-defined]
    eve = get("/api/trends", headers=world.h("eve")).json()
    alice = get("/api/trends", headers=world.h("alice")).json()
    assert eve["incidents"] == 1 and alice["incidents"] == 2
    assert eve["by_month"] == [{"value": "2025-03", "count": 1}]
    assert alice["failure_modes"] == [{"value": "data.stale_features", "count": 2}]
    assert alice["actions_by_status"] == [{"value": "open", "count": 2}]
    assert_error(get("/api/trends"), 401)


def test_mark_done_with_and_without_evidence(world: World) -> None:
    post = world.client.post  # type: ignore[attr-defined]
    url = f"/api/incidents/{world.public_id}/actions/AI-001/done"
    done = post(url, headers=world.h("ed")).json()
    assert done["status"] == "done" and done["status_changed_at"]
    verified = post(url, json={"evidence": "game day 2025-04-02: rollback in 4 min"}, headers=world.h("ed")).json()
    assert verified["status"] == "verified" and verified["verified_evidence"].startswith("game day")
    # Evidence is stored through the same redaction as the CLI's `actions set`.
    leaked = post(url, json={"evidence": "checked with key sk-live-abcdefghijklmnopqrstuvwx"},
                  headers=world.h("ed")).json()
    assert "abcdefghijklmnopqrstuvwx" not in leaked["verified_evidence"]
    assert_error(post(f"/api/incidents/{world.public_id}/actions/AI-999/done", headers=world.h("ed")), 404)
    open_keys = [a["key"] for a in world.client.get("/api/actions", headers=world.h("eve")).json()]  # type: ignore[attr-defined]
    assert open_keys == []


def test_admin_changes_access_and_it_takes_effect(world: World) -> None:
    put, get = world.client.put, world.client.get  # type: ignore[attr-defined]
    url = f"/api/incidents/{world.public_id}/access"
    assert_error(put(url, json={"restricted": True, "members": ["nobody"]}, headers=world.h("root")), 422)
    after = put(url, json={"restricted": True, "members": ["eve"]}, headers=world.h("root")).json()
    assert after == {"incident_id": world.public_id, "restricted": True, "members": ["eve"]}
    assert get(f"/api/incidents/{world.public_id}", headers=world.h("eve")).status_code == 200
    assert_error(get(f"/api/incidents/{world.public_id}", headers=world.h("alice")), 404)
    changes = [a for a in world.audit() if a[2] == "access.changed"]
    assert changes == [("root", world.public_id, "access.changed", "granted")]


def test_cookie_session_reads_need_no_csrf_but_writes_do(world: World) -> None:
    c = world.client  # type: ignore[attr-defined]
    token = c.post("/api/auth/login", json={"username": "ed", "password": "ed-password-123"}).json()["csrf_token"]
    assert c.get(f"/api/incidents/{world.secret_id}").status_code == 200
    url = f"/api/incidents/{world.public_id}/actions/AI-001/done"
    assert_error(c.post(url), 403)
    assert c.post(url, headers={csrf.HEADER: token}).json()["status"] == "done"


def test_stored_incident_keeps_the_restricted_flag(world: World) -> None:
    with world.app.state.sessionmaker() as s:
        flags = dict(s.execute(select(Incident.id, Incident.restricted)).all())
    assert flags == {world.public_id: False, world.secret_id: True}
