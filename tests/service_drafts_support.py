"""Shared set-up of the drafts, chat and webhook service tests: an app on a tmp SQLite database,
users of each role with API tokens, and the bundled example packed as an uploadable archive."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from service.app import create_app
from service.auth.tokens import issue
from service.models import Role
from service.settings import ServiceSettings
from service.users import create

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "minor-eval-flake"  # the quickest bundled example to draft
GOLDEN_MD = ROOT / "tests" / "golden" / "example-minor-eval-flake.md"
GOLDEN_JSON = ROOT / "tests" / "golden" / "example-minor-eval-flake.json"
GOLDEN_DATE = "2026-04-27"  # the 'today' the golden reports were drafted with


@dataclass
class Service:
    client: TestClient
    settings: ServiceSettings
    tokens: dict[str, str]  # username -> bearer token

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


def make_settings(tmp: Path, **extra: object) -> ServiceSettings:
    return ServiceSettings(database_url=str(tmp / "service.sqlite"), data_dir=tmp / "data",
                           secret_key="test-secret-key-not-for-production", **extra)  # type: ignore[arg-type]


USERS = {"ada": Role.admin, "eddie": Role.editor, "erin": Role.editor, "vic": Role.viewer, "val": Role.viewer}


def start_service(settings: ServiceSettings, users: tuple[str, ...] = tuple(USERS)) -> Iterator[Service]:
    app = create_app(settings)
    tokens: dict[str, str] = {}
    with app.state.sessionmaker() as session:
        for name in users:
            role = USERS[name]
            user, _ = create(session, name, role, password="correct horse battery staple")
            tokens[name] = issue(session, user, "tests")[1]
        session.commit()
    with TestClient(app) as client:
        yield Service(client, settings, tokens)


def example_archive(root: Path = EXAMPLE) -> bytes:
    """The example dump as .tar.gz, members relative to the dump folder (as a user would pack it)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for p in sorted(root.rglob("*")):
            tf.add(p, arcname=p.relative_to(root).as_posix(), recursive=False)
    return buf.getvalue()


def wait_finished(svc: Service, job_id: str, user: str = "ada", timeout_s: float = 60.0) -> dict[str, object]:
    """Poll the job until it is done or failed (a bounded wait, not a timed assertion)."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = svc.client.get(f"/api/drafts/{job_id}", headers=svc.auth(user)).json()
        if body["status"] in ("done", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)
