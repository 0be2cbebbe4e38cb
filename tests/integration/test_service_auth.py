"""Service authentication: password login, cookies, CSRF, rate limit, API tokens, user admin,
the first admin, JSON errors and the OpenAPI document (FastAPI TestClient, tmp SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from incidents.db import current_revision, downgrade, head_revision, make_engine, upgrade
from service.app import create_app
from service.auth import csrf, sessions
from service.auth.passwords import verify_password
from service.models import LoginFailure, Role, User
from service.settings import ServiceSettings
from tests.service_support import cheap_argon2  # noqa: F401  (autouse fixture)
from service.users import create, ensure_first_admin

PASSWORDS = {"root": "root-password-123", "ed": "editor-password-123", "vi": "viewer-password-123"}
ROLES = {"root": Role.admin, "ed": Role.editor, "vi": Role.viewer}


def make_settings(tmp_path: Path, **extra: object) -> ServiceSettings:
    return ServiceSettings(database_url=f"sqlite:///{tmp_path / 'svc.sqlite'}", data_dir=tmp_path / "data",
                           **extra)  # type: ignore[arg-type]


def add_users(app) -> None:  # type: ignore[no-untyped-def]
    with app.state.sessionmaker() as session:
        for name, role in ROLES.items():
            create(session, name, role, PASSWORDS[name])
        session.commit()


@pytest.fixture()
def app(tmp_path: Path):  # type: ignore[no-untyped-def]
    application = create_app(make_settings(tmp_path, login_max_failures_per_user=3,
                                           login_max_failures_per_address=6))
    add_users(application)
    return application


@pytest.fixture()
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


def login(client: TestClient, name: str, password: str | None = None) -> str:
    r = client.post("/api/auth/login", json={"username": name, "password": password or PASSWORDS[name]})
    assert r.status_code == 200, r.text
    return r.json()["csrf_token"]


def assert_error(r, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "hint"} and body["error"] and body["hint"]
    assert "Traceback" not in r.text
    return body


# --- login and cookies -------------------------------------------------------------------------

def test_login_sets_httponly_lax_session_and_readable_csrf_cookie(client: TestClient) -> None:
    r = client.post("/api/auth/login", json={"username": "vi", "password": PASSWORDS["vi"]})
    assert r.status_code == 200
    assert r.json()["user"] == {**r.json()["user"], "username": "vi", "role": "viewer"}
    cookies = {c.split("=", 1)[0]: c.lower() for c in r.headers.get_list("set-cookie")}
    assert "httponly" in cookies[sessions.COOKIE] and "samesite=lax" in cookies[sessions.COOKIE]
    assert "httponly" not in cookies[csrf.COOKIE] and "samesite=lax" in cookies[csrf.COOKIE]
    assert "secure" not in cookies[sessions.COOKIE]  # not configured: plain-HTTP installs must work
    assert client.cookies[csrf.COOKIE] == r.json()["csrf_token"]
    assert client.get("/api/auth/me").json()["username"] == "vi"


def test_cookies_are_secure_when_configured(tmp_path: Path) -> None:
    application = create_app(make_settings(tmp_path, cookie_secure=True))
    add_users(application)
    with TestClient(application) as c:
        r = c.post("/api/auth/login", json={"username": "vi", "password": PASSWORDS["vi"]})
    for header in r.headers.get_list("set-cookie"):
        assert "; secure" in header.lower()


def test_session_id_is_stored_only_as_a_digest(app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    login(client, "vi")
    sid = sessions.session_id(client.cookies[sessions.COOKIE], app.state.secret_key)
    assert sid
    with app.state.sessionmaker() as s:
        stored = s.scalars(select(sessions.WebSession.sid_sha256)).all()
    assert stored and sid not in stored


def test_wrong_password_and_unknown_user_give_the_same_401(client: TestClient) -> None:
    a = assert_error(client.post("/api/auth/login", json={"username": "vi", "password": "nope-nope-nope"}), 401)
    b = assert_error(client.post("/api/auth/login", json={"username": "ghost", "password": "nope-nope-nope"}), 401)
    assert a == b


def test_tampered_or_logged_out_cookie_is_rejected(client: TestClient) -> None:
    token = login(client, "vi")
    good = client.cookies[sessions.COOKIE]

    def only_session_cookie(value: str) -> None:
        client.cookies.clear()
        client.cookies.set(sessions.COOKIE, value)

    only_session_cookie(good[:-2] + ("AA" if not good.endswith("AA") else "BB"))
    assert_error(client.get("/api/auth/me"), 401)
    only_session_cookie(good)
    assert client.get("/api/auth/me").status_code == 200
    assert client.post("/api/auth/logout", headers={csrf.HEADER: token}).status_code == 204
    only_session_cookie(good)  # replaying the old cookie after logout
    assert_error(client.get("/api/auth/me"), 401)


def test_anonymous_gets_401_with_hint(client: TestClient) -> None:
    body = assert_error(client.get("/api/auth/me"), 401)
    assert "login" in body["hint"]


# --- CSRF --------------------------------------------------------------------------------------

def test_cookie_post_needs_the_csrf_token(client: TestClient) -> None:
    token = login(client, "vi")
    assert_error(client.post("/api/auth/tokens", json={"name": "ci"}), 403)
    assert_error(client.post("/api/auth/tokens", json={"name": "ci"}, headers={csrf.HEADER: "0" * 64}), 403)
    assert client.post("/api/auth/tokens", json={"name": "ci"}, headers={csrf.HEADER: token}).status_code == 201


def test_csrf_token_of_another_session_is_refused(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as a, TestClient(app) as b:
        token_a = login(a, "vi")
        login(b, "vi")
        assert_error(b.post("/api/auth/tokens", json={"name": "x"}, headers={csrf.HEADER: token_a}), 403)


def test_form_post_may_carry_the_csrf_field(client: TestClient) -> None:
    token = login(client, "vi")
    assert_error(client.post("/api/auth/logout", data={"other": "x"}), 403)
    assert client.post("/api/auth/logout", data={csrf.FORM_FIELD: token}).status_code == 204
    assert_error(client.get("/api/auth/me"), 401)


# --- rate limit --------------------------------------------------------------------------------

def test_login_is_rate_limited_per_username(client: TestClient) -> None:
    for _ in range(3):
        assert_error(client.post("/api/auth/login", json={"username": "vi", "password": "bad-password!"}), 401)
    r = client.post("/api/auth/login", json={"username": "VI", "password": PASSWORDS["vi"]})
    body = assert_error(r, 429)  # even the right password: a lockout must not confirm a guess
    assert int(r.headers["Retry-After"]) > 0 and r.headers["Retry-After"] in body["hint"]
    login(client, "ed")  # other usernames from the same address are still under their limit


def test_login_is_rate_limited_per_client_address(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, client=("10.0.0.7", 4000)) as attacker, TestClient(app, client=("10.0.0.8", 4000)) as other:
        for i in range(6):
            assert_error(attacker.post("/api/auth/login", json={"username": f"u{i}", "password": "guess-guess"}), 401)
        assert_error(attacker.post("/api/auth/login", json={"username": "ed", "password": PASSWORDS["ed"]}), 429)
        login(other, "ed")


def test_successful_login_clears_the_username_failures(app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):
        client.post("/api/auth/login", json={"username": "vi", "password": "bad-password!"})
    login(client, "vi")
    with app.state.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(LoginFailure).where(LoginFailure.username == "vi")) == 0
    for _ in range(2):  # the counter starts again from zero
        assert_error(client.post("/api/auth/login", json={"username": "vi", "password": "bad-password!"}), 401)
    login(client, "vi")


# --- API tokens --------------------------------------------------------------------------------

def test_api_token_lifecycle(client: TestClient) -> None:
    csrf_token = login(client, "ed")
    created = client.post("/api/auth/tokens", json={"name": "ci"}, headers={csrf.HEADER: csrf_token}).json()
    plain = created["token"]
    assert plain.startswith("pml_") and created["prefix"] == plain[:10]
    listed = client.get("/api/auth/tokens").json()
    assert [t["name"] for t in listed] == ["ci"] and "token" not in listed[0]
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/auth/me", headers=bearer).json()["username"] == "ed"
    # Bearer requests are not cookie-borne, so they need no CSRF token.
    second = client.post("/api/auth/tokens", json={"name": "other"}, headers=bearer)
    assert second.status_code == 201
    assert client.delete(f"/api/auth/tokens/{created['id']}", headers=bearer).status_code == 204
    assert_error(client.get("/api/auth/me", headers=bearer), 401)
    assert client.get("/api/auth/tokens", headers={"Authorization": f"Bearer {second.json()['token']}"}
                      ).json()[0]["revoked_at"] is not None


def test_token_of_another_user_cannot_be_revoked(client: TestClient) -> None:
    token = login(client, "ed")
    tid = client.post("/api/auth/tokens", json={"name": "mine"}, headers={csrf.HEADER: token}).json()["id"]
    client.cookies.clear()
    token = login(client, "vi")
    assert_error(client.delete(f"/api/auth/tokens/{tid}", headers={csrf.HEADER: token}), 404)


def test_bad_bearer_token_is_401(client: TestClient) -> None:
    assert_error(client.get("/api/auth/me", headers={"Authorization": "Bearer pml_notatoken"}), 401)
    assert_error(client.get("/api/auth/me", headers={"Authorization": "Bearer xyz"}), 401)


# --- user administration -----------------------------------------------------------------------

def test_only_admins_manage_users(client: TestClient) -> None:
    assert_error(client.get("/api/users"), 401)
    for name in ("vi", "ed"):
        client.cookies.clear()
        token = login(client, name)
        assert_error(client.get("/api/users"), 403)
        assert_error(client.post("/api/users", json={"username": "x1"}, headers={csrf.HEADER: token}), 403)
        assert_error(client.patch("/api/users/1", json={"role": "admin"}, headers={csrf.HEADER: token}), 403)


def test_admin_creates_and_disables_a_user(client: TestClient) -> None:
    token = login(client, "root")
    h = {csrf.HEADER: token}
    made = client.post("/api/users", json={"username": "nina", "role": "editor"}, headers=h)
    assert made.status_code == 201
    password = made.json()["generated_password"]
    assert password and made.json()["user"]["role"] == "editor"
    assert_error(client.post("/api/users", json={"username": "NINA"}, headers=h), 409)
    assert_error(client.post("/api/users", json={"username": "x2", "password": "short"}, headers=h), 422)
    assert_error(client.post("/api/users", json={"username": "bad name!"}, headers=h), 422)
    assert [u["username"] for u in client.get("/api/users").json()] == ["root", "ed", "vi", "nina"]

    with TestClient(client.app) as nina:
        login(nina, "nina", password)
        uid = made.json()["user"]["id"]
        assert client.patch(f"/api/users/{uid}", json={"disabled": True}, headers=h).json()["disabled"] is True
        assert_error(nina.get("/api/auth/me"), 401)  # her session ended with the account
        assert_error(nina.post("/api/auth/login", json={"username": "nina", "password": password}), 401)


def test_admin_cannot_demote_themselves(client: TestClient) -> None:
    token = login(client, "root")
    me = client.get("/api/auth/me").json()
    assert_error(client.patch(f"/api/users/{me['id']}", json={"role": "viewer"}, headers={csrf.HEADER: token}), 422)


def test_password_change_ends_sessions(client: TestClient) -> None:
    token = login(client, "vi")
    assert_error(client.post("/api/auth/password", json={"current_password": "wrong-one-here",
                                                         "new_password": "a-new-password-1"},
                             headers={csrf.HEADER: token}), 403)
    r = client.post("/api/auth/password", json={"current_password": PASSWORDS["vi"], "new_password": "a-new-password-1"},
                    headers={csrf.HEADER: token})
    assert r.status_code == 204
    assert_error(client.get("/api/auth/me"), 401)
    login(client, "vi", "a-new-password-1")


# --- first admin and CLI -----------------------------------------------------------------------

def test_production_hashes_are_argon2id_with_the_library_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real hasher, not the tests' cheap one
    from argon2 import PasswordHasher

    from service.auth import passwords

    stored = passwords.hash_password("a-long-enough-password")
    default = PasswordHasher()
    assert stored.startswith(f"$argon2id$v=19$m={default.memory_cost},t={default.time_cost},p={default.parallelism}$")
    assert passwords.verify_password(stored, "a-long-enough-password")
    assert not passwords.verify_password(stored, "a-long-enough-passwore")
    assert not passwords.verify_password(None, "a-long-enough-password")


def test_first_admin_is_created_once(tmp_path: Path) -> None:
    application = create_app(make_settings(tmp_path))
    with application.state.sessionmaker() as s:
        name, password = ensure_first_admin(s) or ("", "")
        assert name == "admin"
        user = s.scalar(select(User))
        assert user is not None and user.role is Role.admin and verify_password(user.password_hash, password)
        assert ensure_first_admin(s) is None


def test_serve_prints_the_first_admin_password_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from cli.main import app as cli_app

    import service.logging

    started: list[tuple[object, str, int]] = []
    uvicorn_options: list[dict[str, object]] = []
    json_logging: list[str] = []

    def fake_run(app: object, host: str, port: int, **options: object) -> None:
        started.append((app, host, port))
        uvicorn_options.append(options)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    # Recorded, not run: the real one would point the root logger at the CliRunner's captured stream.
    monkeypatch.setattr(service.logging, "configure_logging", lambda level="INFO", stream=None: json_logging.append(level))
    monkeypatch.setenv("POSTMORTEM_DATA_DIR", str(tmp_path / "data"))
    db = str(tmp_path / "cli.sqlite")
    runner = CliRunner()
    first = runner.invoke(cli_app, ["serve", "--db", db, "--port", "8123"])
    assert first.exit_code == 0, first.output
    password = first.output.split("password ", 1)[1].split()[0]
    with TestClient(started[0][0]) as c:  # type: ignore[arg-type]
        login(c, "admin", password)
    second = runner.invoke(cli_app, ["serve", "--db", db])
    assert second.exit_code == 0 and "password" not in second.output.lower().replace("post /api/auth/password", "")
    assert [(h, p) for _, h, p in started] == [("127.0.0.1", 8123), ("127.0.0.1", 8000)]
    # JSON logs: ours configured, uvicorn told not to install its plain-text handlers over them.
    assert json_logging == ["INFO", "INFO"] and all(o["log_config"] is None for o in uvicorn_options)

    added = runner.invoke(cli_app, ["users", "add", "nina", "--role", "editor", "--db", db])
    assert added.exit_code == 0 and "created user nina (editor)" in added.output
    dup = runner.invoke(cli_app, ["users", "add", "nina", "--db", db])
    assert dup.exit_code == 2 and "already exists" in dup.output and "Traceback" not in dup.output


# --- errors and OpenAPI ------------------------------------------------------------------------

def test_errors_are_json_never_tracebacks(app) -> None:  # type: ignore[no-untyped-def]
    def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        body = assert_error(c.get("/boom"), 500)
        assert "secret internals" not in str(body)
        assert_error(c.get("/no/such/path"), 404)
        assert_error(c.post("/api/auth/login", json={"username": "vi"}), 422)
        assert_error(c.post("/api/auth/login", content=b"{not json", headers={"content-type": "application/json"}), 422)
        assert_error(c.delete("/healthz"), 405)


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ok" and ready["database"] == "sqlite" and ready["schema_revision"] == head_revision()


# The routes built by "core"; drafts/chat/webhooks/metrics check their own (see NOTES-core.md).
CORE_PATHS = ("/healthz", "/readyz", "/api/auth", "/api/users", "/api/incidents", "/api/actions", "/api/trends")


def test_openapi_documents_models_errors_and_security(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"HTTPBearer", "APIKeyCookie"} <= set(spec["components"]["securitySchemes"])
    schemas = spec["components"]["schemas"]
    assert {"ErrorBody", "UserView", "TokenCreated", "LoginResponse"} <= set(schemas)
    assert "HTTPValidationError" not in schemas  # 422 is documented as what is sent: an ErrorBody
    for path, ops in spec["paths"].items():
        if not path.startswith(CORE_PATHS):
            continue
        for method, op in ops.items():
            ok = next(code for code in op["responses"] if code.startswith("2"))
            content = op["responses"][ok].get("content", {})
            if ok != "204" and "application/json" in content and not path.endswith("/report.json"):
                schema = content["application/json"]["schema"]
                assert "$ref" in schema or "$ref" in schema.get("items", {}), (method, path, schema)
            for code, resp in op["responses"].items():
                if code.startswith(("4", "5")):
                    assert resp["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody"), (method, path, code)
            if path.startswith("/api/") and path != "/api/auth/login":
                assert "401" in op["responses"], (method, path)


def test_migration_0002_downgrades_and_upgrades(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite'}")
    upgrade(engine)
    downgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_a_multipart_body_is_not_searched_for_the_csrf_field(client: TestClient) -> None:
    # Parsing it would spool an upload to disk before any route-level cap: only the header counts.
    token = login(client, "vi")
    refused = assert_error(client.post("/api/auth/logout", data={csrf.FORM_FIELD: token},
                                       files={"file": ("x.txt", b"x" * 10, "text/plain")}), 403)
    assert csrf.HEADER in refused["hint"] and "urlencoded" in refused["hint"]
    assert client.post("/api/auth/logout", files={"file": ("x.txt", b"x", "text/plain")},
                       headers={csrf.HEADER: token}).status_code == 204
