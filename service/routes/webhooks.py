"""PagerDuty v3 webhooks: a resolved incident whose details name a dump queues its draft.

Authentication is the signature, not a user: PagerDuty signs the raw body with the subscription's
secret and sends `X-PagerDuty-Signature: v1=<hex hmac-sha256>` (several, comma-separated, while a
secret is being rotated). Anything unsigned or signed wrongly is refused with 401 before the body is
parsed. A delivery is identified by its event id: the same event twice is a replay and gets 400 (a
signed body can be captured and re-sent; the signature alone cannot tell). Malformed bodies get
400, never a 500. Events we do not act on get 202 with the reason, so PagerDuty does not retry them.

The dump location comes from the incident's details: a `postmortem_dump` (or `dump`) key in
`body.details` / `custom_details`, a custom field of that name, or a `postmortem_dump: PATH` line in
free-text details. It must lie inside POSTMORTEM_ALLOWED_ROOTS, as for an admin's registered path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.auth.deps import get_settings
from service.db import get_session
from service.errors import ApiError, error_responses
from service.jobs.models import JobSource
from service.routes.drafts import create_job, get_queue, within_allowed_roots
from service.settings import ServiceSettings

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
log = logging.getLogger("postmortem.service.webhooks")

MAX_BODY_BYTES = 1024 * 1024  # PagerDuty payloads are a few KB
SIGNATURE_HEADER = "X-PagerDuty-Signature"
DUMP_KEYS = ("postmortem_dump", "dump")
_DUMP_LINE = re.compile(r"^\s*(?:postmortem_dump|dump)\s*[:=]\s*(\S.*?)\s*$", re.IGNORECASE | re.MULTILINE)


class WebhookResult(BaseModel):
    queued: bool
    job_id: str | None = None
    reason: str = ""


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Does any `v1=` signature in the header match HMAC-SHA256(secret, body)?"""
    if not header:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    sent = [p.strip()[3:] for p in header.split(",") if p.strip().startswith("v1=")]
    # compare_digest on every candidate: the time taken does not reveal which one (or how much) matched.
    return any([hmac.compare_digest(s.encode("ascii", "replace"), expected.encode("ascii")) for s in sent])


def malformed(why: str) -> ApiError:
    return ApiError(400, f"malformed PagerDuty webhook: {why}",
                    "send a PagerDuty v3 webhook body: {\"event\": {\"id\", \"event_type\", \"data\"}}")


async def read_capped(request: Request, cap: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise ApiError(413, f"webhook body larger than {cap} bytes", "PagerDuty bodies are a few KB; check the sender")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise ApiError(413, f"webhook body larger than {cap} bytes", "PagerDuty bodies are a few KB; check the sender")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_event(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise malformed("body is not JSON") from None
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, dict):
        raise malformed("no event object")
    if not isinstance(event.get("id"), str) or not event["id"].strip():
        raise malformed("event.id missing")
    if not isinstance(event.get("event_type"), str):
        raise malformed("event.event_type missing")
    if not isinstance(event.get("data", {}), dict):
        raise malformed("event.data is not an object")
    return event


def dump_location(data: dict[str, Any]) -> str | None:
    """The dump path named in the incident's details, if any (see the module docstring)."""
    body = data.get("body")
    details = body.get("details") if isinstance(body, dict) else None
    for holder in (details, data.get("custom_details")):
        if isinstance(holder, dict):
            for key in DUMP_KEYS:
                if isinstance(holder.get(key), str) and holder[key].strip():
                    return holder[key].strip()
    for field in data.get("custom_fields") or []:
        if isinstance(field, dict) and field.get("name") in DUMP_KEYS and isinstance(field.get("value"), str):
            return field["value"].strip() or None
    if isinstance(details, str):
        m = _DUMP_LINE.search(details)
        if m:
            return m.group(1)
    return None


@router.post("/pagerduty", status_code=202, response_model=WebhookResult,
             responses=error_responses(400, 401, 413, 503))
async def pagerduty(request: Request, session: Session = Depends(get_session),
                    settings: ServiceSettings = Depends(get_settings)) -> WebhookResult:
    """PagerDuty v3 webhook subscription endpoint (signed with the subscription's secret)."""
    secret = settings.pagerduty_webhook_secret.get_secret_value() if settings.pagerduty_webhook_secret else ""
    if not secret:
        raise ApiError(503, "PagerDuty webhooks are not configured",
                       "set POSTMORTEM_PAGERDUTY_WEBHOOK_SECRET to the subscription's signing secret")
    body = await read_capped(request, MAX_BODY_BYTES)
    if not signature_ok(secret, body, request.headers.get(SIGNATURE_HEADER)):
        raise ApiError(401, "missing or invalid PagerDuty signature",
                       f"the {SIGNATURE_HEADER} header must carry v1=<HMAC-SHA256 of the body with the "
                       "subscription's secret>; check the secret configured on both sides")
    event = parse_event(body)
    if event["event_type"] != "incident.resolved":
        return WebhookResult(queued=False, reason=f"event type {event['event_type'][:64]!r} is not acted on")
    location = dump_location(event.get("data") or {})
    if location is None:
        return WebhookResult(queued=False, reason="the resolved incident names no dump (postmortem_dump)")
    real = within_allowed_roots(Path(location), settings.allowed_roots)
    if real is None:
        log.warning("PagerDuty event %s names a dump outside the allowed roots", event["id"][:64])
        return WebhookResult(queued=False, reason="the named dump is not inside an allowed root")
    try:
        job = create_job(session, source=JobSource.pagerduty, dump=real, filename=real.name[:255],
                         today=date.today(), restricted=False, member_ids=[], created_by=None,
                         external_ref=event["id"].strip()[:255])
    except IntegrityError:
        session.rollback()
        raise ApiError(400, f"event {event['id'][:64]!r} was already received (replay)",
                       "each PagerDuty event is acted on once; its draft is already queued") from None
    get_queue(request).submit(job.id)
    return WebhookResult(queued=True, job_id=job.id)
