"""Draft jobs over HTTP: upload or register a dump, follow the draft, read the report.

- `POST /api/drafts` (editor): a `.tar.gz` / `.zip` as multipart field `file`, streamed to disk with
  the size cap enforced while it arrives (service.jobs.upload); form fields `restricted`,
  `members` (comma-separated usernames), `date` (postmortem date, YYYY-MM-DD). The archive is not
  unpacked here: the draft's ingest extracts it with tools.archive, exactly as `postmortem draft
  dump.tar.gz` does (same member checks, link rules, size and ratio caps).
- `POST /api/drafts/path` (admin): a dump already on the server, inside an allowed root.
- `GET /api/drafts/{id}`, `/events` (server-sent events), `/report.md|.json|.html`.

When the draft is done it becomes an incident (service.jobs.runner); from then on access to the job
is access to that incident (`incident_access`, which audits restricted reads). Before that, a
restricted job is visible to admins, its submitter and its named members only, and answers 404 to
everyone else, as a restricted incident does.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timezone
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.auth.deps import client_address, get_settings, incident_access, require_role
from service.db import get_session
from service.errors import ApiError, error_responses
from service.jobs import make_queue
from service.jobs.base import JobQueue
from service.jobs.models import DraftJob, JobSource, JobStatus, JobView, ProgressEvent
from service.jobs.upload import ReceivedUpload, UploadProblem, receive_upload
from service.models import Role, User
from service.settings import ServiceSettings

router = APIRouter(prefix="/api/drafts", tags=["drafts"])

POLL_S = 0.25  # how often the event stream reads the job row
HEARTBEAT_S = 15.0  # a comment line keeps proxies from closing an idle stream
_queue_lock = threading.Lock()


# ----------------------------------------------------------------------------- helpers shared with chat and webhooks

def get_queue(request: Request) -> JobQueue:
    """The app's job queue, started on first use if the app did not start one."""
    with _queue_lock:
        queue = getattr(request.app.state, "queue", None)
        if queue is None:
            queue = make_queue(request.app.state.settings)
            request.app.state.queue = queue
        return queue


def new_job_id() -> str:
    return f"draft-{secrets.token_hex(8)}"


def now() -> datetime:
    return datetime.now(timezone.utc)


def create_job(session: Session, *, source: JobSource, dump: Path, filename: str, today: date,
               restricted: bool, member_ids: list[int], created_by: int | None,
               job_id: str | None = None, external_ref: str | None = None) -> DraftJob:
    job = DraftJob(id=job_id or new_job_id(), status=JobStatus.queued.value, stage="", percent=0, error="",
                   source=source.value, external_ref=external_ref, dump_path=str(dump), filename=filename,
                   postmortem_date=today, restricted=restricted, member_ids=member_ids,
                   created_by=created_by, attempts=0, created_at=now())
    session.add(job)
    session.commit()
    return job


def within_allowed_roots(path: Path, roots: list[Path]) -> Path | None:
    """`path` resolved (links followed), if it exists and lies inside one of `roots`; else None."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    for root in roots:
        try:
            if real.is_relative_to(root.resolve(strict=True)):
                return real
        except (OSError, RuntimeError):
            continue
    return None


def may_see_job(session: Session, user: User, job: DraftJob, action: str, client: str) -> bool:
    """Access to a job: once it has an incident, the incident's rule (audited when restricted)."""
    if job.incident_id is not None:
        try:
            incident_access(session, user, job.incident_id, action, client)
        except ApiError:
            return False
        return True
    return (not job.restricted or user.role is Role.admin or user.id == job.created_by
            or user.id in (job.member_ids or []))


def job_not_found(job_id: str) -> ApiError:
    return ApiError(404, f"draft job {job_id} not found",
                    "check the id returned when the draft was submitted; restricted drafts need membership")


def load_job(session: Session, user: User, job_id: str, action: str, client: str) -> DraftJob:
    job = session.get(DraftJob, job_id)
    if job is None or not may_see_job(session, user, job, action, client):
        raise job_not_found(job_id)
    return job


def job_for(action: str, role: Role = Role.viewer):  # type: ignore[no-untyped-def]
    """Dependency for `/{job_id}` routes: role check, then access to the job (404 when denied)."""
    def dependency(job_id: str, request: Request, user: User = Depends(require_role(role)),
                   session: Session = Depends(get_session)) -> DraftJob:
        return load_job(session, user, job_id, action, client_address(request))
    dependency.__name__ = f"job_for_{action.replace('.', '_')}"
    return dependency


# ----------------------------------------------------------------------------- form values

def parse_flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def parse_date(value: str | None) -> date:
    """The postmortem date given, else today's (what `postmortem draft` uses without --date)."""
    if not value or not value.strip():
        return date.today()
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ApiError(400, f"date {value[:40]!r} is not a date", "give the postmortem date as YYYY-MM-DD") from None


def member_ids(session: Session, names: list[str]) -> list[int]:
    """User ids of the named members (400 naming the unknown ones)."""
    wanted = sorted({n.strip() for n in names if n.strip()})
    if not wanted:
        return []
    found = {u.username: u.id for u in session.scalars(select(User).where(User.username.in_(wanted)))}
    missing = [n for n in wanted if n not in found]
    if missing:
        raise ApiError(400, f"unknown member(s): {', '.join(m[:64] for m in missing[:10])}",
                       "name existing users (GET /api/users lists them for admins)")
    return sorted(found.values())


def access_members(session: Session, user: User, restricted: bool, names: list[str]) -> list[int]:
    ids = member_ids(session, names)
    # The submitter of a restricted draft is a member: otherwise an editor could not read their own.
    return sorted(set(ids) | {user.id}) if restricted else ids


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def stored_name(client_name: str) -> str:
    """A file name for the upload on disk: the client's base name with odd characters replaced.
    The name shows in the inventory like a CLI dump's name; it never chooses the folder."""
    base = client_name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _SAFE_NAME.sub("_", base).strip("._")[:100]
    return name or "dump"


# ----------------------------------------------------------------------------- submit

_UPLOAD_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": ".tar.gz, .tgz, .tar(.bz2|.xz) or .zip"},
        "restricted": {"type": "string", "description": "true to restrict the draft to its members"},
        "members": {"type": "string", "description": "comma-separated usernames who may see it"},
        "date": {"type": "string", "format": "date", "description": "postmortem date (default today)"}}}}}}}


async def accept_upload(request: Request, session: Session, user: User, settings: ServiceSettings,
                        verify: Callable[[ReceivedUpload], None] | None = None) -> DraftJob:
    """Stream a multipart dump upload to disk under the cap, check it, and queue its draft.

    The one acceptance path of the API route and the web form: `verify` (the form's CSRF field) runs
    on the received fields before anything else is looked at. Every refusal removes what was written
    and raises an ApiError; nothing is queued unless all checks pass."""
    from tools.archive import archive_type

    job_id = new_job_id()
    folder = settings.uploads_dir() / job_id
    try:
        got = await receive_upload(request.headers.get("content-type", ""), request.headers.get("content-length"),
                                   request.stream(), folder / ".upload.partial", settings.upload_cap_bytes)
    except UploadProblem as exc:
        _remove_folder(folder)
        raise ApiError(exc.status, exc.error, exc.hint) from None
    try:
        if verify is not None:
            verify(got)
        if archive_type(got.path) is None:
            raise ApiError(415, "the upload is not a zip or tar archive",
                           "upload the dump as .tar.gz, .tgz, .tar(.bz2|.xz) or .zip; a single log file "
                           "can be packed with: tar czf dump.tar.gz FILE")
        restricted = parse_flag(got.fields.get("restricted"))
        members = access_members(session, user, restricted, got.fields.get("members", "").split(","))
        today = parse_date(got.fields.get("date"))
    except ApiError:
        _remove_folder(folder)
        raise
    dump = folder / stored_name(got.filename)
    got.path.rename(dump)
    job = create_job(session, source=JobSource.upload, dump=dump, filename=got.filename[:255], today=today,
                     restricted=restricted, member_ids=members, created_by=user.id, job_id=job_id)
    get_queue(request).submit(job.id)
    return job


@router.post("", status_code=202, response_model=JobView, openapi_extra=_UPLOAD_FORM,
             responses=error_responses(400, 401, 403, 413, 415))
async def upload_draft(request: Request, user: User = Depends(require_role(Role.editor)),
                       session: Session = Depends(get_session),
                       settings: ServiceSettings = Depends(get_settings)) -> JobView:
    """Upload a dump archive (.tar.gz, .tgz, .tar, .zip) and queue its draft.

    A cookie-authenticated upload sends the CSRF token in the X-CSRF-Token header: the multipart
    body is not parsed for a token field before the route streams it under the size cap."""
    return JobView.of(await accept_upload(request, session, user, settings))


def _remove_folder(folder: Path) -> None:
    from tools.archive import remove_tree

    remove_tree(folder)


class RegisterPath(BaseModel):
    path: str = Field(description="A dump folder, file or archive on the server, inside an allowed root")
    restricted: bool = False
    members: list[str] = Field(default_factory=list, description="Usernames who may see a restricted draft")
    date: str | None = Field(default=None, description="Postmortem date, YYYY-MM-DD (default today)")


@router.post("/path", status_code=202, response_model=JobView, responses=error_responses(400, 401, 403))
def register_path(body: RegisterPath, request: Request, user: User = Depends(require_role(Role.admin)),
                  session: Session = Depends(get_session),
                  settings: ServiceSettings = Depends(get_settings)) -> JobView:
    """Queue a draft of a dump already on the server (admin; only inside POSTMORTEM_ALLOWED_ROOTS)."""
    if not settings.allowed_roots:
        raise ApiError(400, "no server paths may be registered",
                       "an operator sets POSTMORTEM_ALLOWED_ROOTS to the folders dumps may be read from")
    real = within_allowed_roots(Path(body.path), settings.allowed_roots)
    if real is None:
        # One answer for "missing" and "outside": the route must not probe the server's file system.
        raise ApiError(400, "path is not an existing dump inside an allowed root",
                       "give a path under one of the roots in POSTMORTEM_ALLOWED_ROOTS")
    today = parse_date(body.date)
    members = access_members(session, user, body.restricted, body.members)
    job = create_job(session, source=JobSource.path, dump=real, filename=real.name[:255], today=today,
                     restricted=body.restricted, member_ids=members, created_by=user.id)
    get_queue(request).submit(job.id)
    return JobView.of(job)


# ----------------------------------------------------------------------------- read

@router.get("/{job_id}", response_model=JobView, responses=error_responses(401, 404))
def show_job(job: DraftJob = Depends(job_for("read"))) -> JobView:
    return JobView.of(job)


def _progress(factory: sessionmaker[Session], job_id: str) -> ProgressEvent | None:
    with factory() as s:
        job = s.get(DraftJob, job_id)
        return ProgressEvent.of(job) if job is not None else None


def sse(event: str, data: str) -> str:
    return f"event: {event}\ndata: {data}\n\n"


@router.get("/{job_id}/events", responses=error_responses(401, 404),
            response_class=StreamingResponse)
async def job_events(request: Request, job: DraftJob = Depends(job_for("read"))) -> StreamingResponse:
    """Server-sent events: `progress` whenever status, stage or ingest percent change, then one
    `done` or `failed` event, and the stream ends. Reads the job row only, so it works wherever the
    job runs."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    job_id = job.id

    async def stream() -> AsyncIterator[str]:
        last: tuple[object, ...] | None = None
        quiet = 0.0
        while True:
            ev = await run_in_threadpool(_progress, factory, job_id)
            if ev is None:  # deleted while watched
                yield sse("failed", '{"error": "the job was deleted"}')
                return
            if ev.key() != last:
                last, quiet = ev.key(), 0.0
                yield sse("progress", ev.model_dump_json())
            if ev.status.finished:
                yield sse(ev.status.value, ev.model_dump_json())
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL_S)
            quiet += POLL_S
            if quiet >= HEARTBEAT_S:
                quiet = 0.0
                yield ": still working\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _finished_report(job: DraftJob) -> tuple[str, str]:
    if job.status == JobStatus.failed.value:
        raise ApiError(409, f"draft {job.id} failed: {job.error}", "fix the dump and submit it again")
    if job.status != JobStatus.done.value or job.report_md is None or job.report_json is None:
        raise ApiError(409, f"draft {job.id} is not finished ({job.status}, stage {job.stage or 'none'})",
                       f"follow GET /api/drafts/{job.id}/events until the done event")
    return job.report_md, job.report_json


# A report page needs no script and no remote resource: forbid them, so even a rendering bug
# cannot turn evidence text into active content.
_REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'"


@router.get("/{job_id}/report.md", response_class=PlainTextResponse, responses=error_responses(401, 404, 409))
def report_markdown(job: DraftJob = Depends(job_for("export.md"))) -> Response:
    md, _ = _finished_report(job)
    return Response(md, media_type="text/markdown; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="{job.id}.md"'})


@router.get("/{job_id}/report.json", responses=error_responses(401, 404, 409))
def report_json(job: DraftJob = Depends(job_for("export.json"))) -> Response:
    _, js = _finished_report(job)
    return Response(js, media_type="application/json")


@router.get("/{job_id}/report.html", response_class=HTMLResponse, responses=error_responses(401, 404, 409))
def report_html(job: DraftJob = Depends(job_for("export.html"))) -> HTMLResponse:
    from service.render_html import markdown_page

    md, _ = _finished_report(job)
    title = next((line[2:].strip() for line in md.splitlines() if line.startswith("# ")), job.id)
    return HTMLResponse(markdown_page(title, md), headers={"Content-Security-Policy": _REPORT_CSP,
                                                           "X-Content-Type-Options": "nosniff"})

