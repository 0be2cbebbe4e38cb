"""PagerDuty v3 webhook: signature checks, malformed and replayed deliveries, and a resolved
incident naming a dump that is drafted."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.service_drafts_support import EXAMPLE, ROOT, Service, make_settings, start_service, wait_finished

SECRET = "pd-signing-secret-for-tests"
URL = "/api/webhooks/pagerduty"


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("webhooks")
    yield from start_service(make_settings(tmp, allowed_roots=[ROOT / "examples"], pagerduty_webhook_secret=SECRET),
                             users=("ada",))


def event(event_id: str, event_type: str = "incident.resolved", details: Any = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": "Q3MJ1KD", "type": "incident", "title": "Nightly eval failed", "status": "resolved"}
    if details is not None:
        data["body"] = {"type": "incident_body", "details": details}
    return {"event": {"id": event_id, "event_type": event_type, "resource_type": "incident",
                      "occurred_at": "2024-12-03T06:30:10.000Z", "data": data}}


def sign(body: bytes, secret: str = SECRET) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(svc: Service, body: bytes, signature: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-PagerDuty-Signature"] = signature
    return svc.client.post(URL, content=body, headers=headers)


def test_signature_is_required_and_checked(svc: Service) -> None:
    body = json.dumps(event("01SIG")).encode()
    assert post(svc, body, None).status_code == 401
    assert post(svc, body, "").status_code == 401
    assert post(svc, body, sign(body, "another-secret")).status_code == 401
    assert post(svc, body, sign(body)[:-2] + "00").status_code == 401
    assert post(svc, body, "v0=" + sign(body)[3:]).status_code == 401
    tampered = body.replace(b"Nightly", b"Daily")
    resp = post(svc, tampered, sign(body))
    assert resp.status_code == 401 and "X-PagerDuty-Signature" in resp.json()["hint"]
    # During a secret rotation PagerDuty sends several signatures: one valid one is enough.
    rotated = post(svc, body, f"v1={'0' * 64}, {sign(body)}")
    assert rotated.status_code == 202 and rotated.json()["queued"] is False  # no dump named


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"event": "x"}', b'{"event": {"event_type": "incident.resolved"}}',
                                  b'{"event": {"id": "01X", "event_type": 5}}',
                                  b'{"event": {"id": "01Y", "event_type": "incident.resolved", "data": []}}',
                                  b"\xff\xfe\x00garbage"])
def test_malformed_bodies_are_400_not_500(svc: Service, body: bytes) -> None:
    resp = post(svc, body, sign(body))
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"].startswith("malformed PagerDuty webhook")


def test_events_not_acted_on_are_acknowledged(svc: Service) -> None:
    for payload, why in ((event("01TRIG", "incident.triggered", {"postmortem_dump": str(EXAMPLE)}), "not acted on"),
                         (event("01NODUMP", details="disk full on eval-runner-3"), "names no dump"),
                         (event("01OUT", details={"postmortem_dump": "/etc"}), "allowed root"),
                         (event("01UP", details={"postmortem_dump": str(EXAMPLE / ".." / ".." / "agent")}), "allowed root")):
        body = json.dumps(payload).encode()
        resp = post(svc, body, sign(body))
        assert resp.status_code == 202 and resp.json()["queued"] is False and why in resp.json()["reason"]


def test_resolved_incident_with_a_dump_is_drafted_once(svc: Service) -> None:
    body = json.dumps(event("01RESOLVED", details=f"Nightly eval flake.\npostmortem_dump: {EXAMPLE}\n")).encode()
    resp = post(svc, body, sign(body))
    assert resp.status_code == 202, resp.text
    assert resp.json()["queued"] is True
    job_id = resp.json()["job_id"]
    replay = post(svc, body, sign(body))
    assert replay.status_code == 400 and "replay" in replay.json()["error"]
    job = wait_finished(svc, job_id)
    assert job["status"] == "done" and job["source"] == "pagerduty" and job["incident_id"]
    md = svc.client.get(f"/api/drafts/{job_id}/report.md", headers=svc.auth("ada")).text
    assert md.startswith("# Postmortem: Nightly eval job failed twice on dataset download timeouts")


def test_unconfigured_webhook_says_so(tmp_path: Path) -> None:
    for bare in start_service(make_settings(tmp_path), users=()):
        body = json.dumps(event("01CFG")).encode()
        resp = post(bare, body, sign(body))
        assert resp.status_code == 503 and "POSTMORTEM_PAGERDUTY_WEBHOOK_SECRET" in resp.json()["hint"]
