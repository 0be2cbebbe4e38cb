"""Draft pages: upload a dump, follow its progress, read the draft, review it, chat about it.

The upload form posts here, not to `POST /api/drafts`, because a plain HTML form cannot send the
CSRF header that route requires; the form's token is in the body instead. The caller's session and
role are checked before a byte is read, the archive is streamed to disk under the same cap as the
API (service.jobs.upload), and the CSRF field is checked before any job exists; a refused upload is
deleted. Everything after that (job row, queue) uses the drafts module's own functions.

The review and the chat drive the draft's one shared chat session through the chat API's route
functions (`service.routes.chat`): a timeline correction or a hypothesis verdict is a remark the
facilitator understands ("move 3 to 14:31", "reject 2 because ..."), built from the form fields, and
every answer carries the session version it replies to, so a stale page gets a clear "the review
moved on" instead of being applied to a prompt its author never saw.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth import csrf, sessions
from service.auth.deps import get_settings, require_role
from service.db import get_session
from service.errors import ApiError, forbidden, not_authenticated
from service.jobs.models import ChatSessionRow, DraftJob, JobStatus
from service.jobs.upload import ReceivedUpload
from service.models import Role, User
from service.routes.chat import ANSWER_MAX_CHARS, Answer, answer_chat, open_chat, session_id_for, start_chat, view
from service.routes.drafts import accept_upload, job_for
from service.settings import ServiceSettings
from service.web.rendering import PageRoute, page
from service.web.report_view import TimelineRow, report_side

router = APIRouter(route_class=PageRoute, include_in_schema=False)

RECENT_DRAFTS = 20


# ----------------------------------------------------------------------------- upload

def _signed_in_editor(request: Request, session: Session) -> tuple[User, str]:
    """The cookie session's user (editor or above) and session id, without reading the body."""
    cookie = request.cookies.get(sessions.COOKIE)
    sid = sessions.session_id(cookie, request.app.state.secret_key) if cookie else None
    user = sessions.user_for_session(session, sid) if sid else None
    if user is None or sid is None:
        raise not_authenticated()
    if not user.role.at_least(Role.editor):
        raise forbidden(Role.editor.value)
    request.state.session_id = sid
    return user, sid


def _recent_drafts(session: Session, user: User) -> list[DraftJob]:
    """The caller's own uploads (an admin: everyone's), newest first."""
    query = select(DraftJob).order_by(DraftJob.created_at.desc()).limit(RECENT_DRAFTS)
    if user.role is not Role.admin:
        query = query.where(DraftJob.created_by == user.id)
    return list(session.scalars(query))


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request, user: User = Depends(require_role(Role.editor)),
                session: Session = Depends(get_session),
                settings: ServiceSettings = Depends(get_settings)) -> HTMLResponse:
    return page(request, "upload.html", {"user": user, "drafts": _recent_drafts(session, user),
                                         "cap_mb": settings.upload_cap_bytes // 1_000_000})


@router.post("/upload")
async def upload_submit(request: Request, session: Session = Depends(get_session),
                        settings: ServiceSettings = Depends(get_settings)) -> RedirectResponse:
    user, sid = _signed_in_editor(request, session)

    def form_token_valid(got: ReceivedUpload) -> None:
        # A plain HTML form cannot send the CSRF header: the token is a field of the multipart body.
        if not csrf.valid(got.fields.get(csrf.FORM_FIELD), sid, request.app.state.secret_key):
            raise ApiError(403, "the form expired (missing or wrong CSRF token)", "reload the upload page and send again")

    job = await accept_upload(request, session, user, settings, verify=form_token_valid)
    return RedirectResponse(f"/drafts/{job.id}", status_code=303)


# ----------------------------------------------------------------------------- the draft

@router.get("/drafts/{job_id}", response_class=HTMLResponse)
def draft_page(request: Request, job: DraftJob = Depends(job_for("read")),
               user: User = Depends(require_role(Role.viewer))) -> HTMLResponse:
    done = job.status == JobStatus.done.value and job.report_md is not None and job.report_json is not None
    side = report_side(job.report_json) if done and job.report_json else None
    return page(request, "draft.html", {"user": user, "job": job, "done": done, "side": side,
                                        "finished": JobStatus(job.status).finished})


# ----------------------------------------------------------------------------- review and chat

class HypothesisRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    statement: str
    status: str
    evidence: list[str] = Field(default_factory=list)


def _review_context(request: Request, job: DraftJob, user: User, session: Session,
                    settings: ServiceSettings) -> dict[str, Any]:
    row = session.get(ChatSessionRow, session_id_for(job.id))
    base: dict[str, Any] = {"user": user, "job": job, "chat": None, "timeline": [], "hypotheses": [],
                            "history": [], "can_answer": user.role.at_least(Role.editor),
                            "answer_max": ANSWER_MAX_CHARS}
    if row is None:
        return base
    with open_chat(settings, row.id) as chat:
        shown = view(row, chat)
        state = chat.state() if shown.prompt is not None or shown.completed or row.closed else None
    if state is not None:
        base["timeline"] = [TimelineRow.model_validate(e.model_dump(mode="json")) for e in state.timeline]
        if state.analysis is not None:
            base["hypotheses"] = [HypothesisRow.model_validate(h.model_dump(mode="json"))
                                  for h in state.analysis.hypotheses]
        base["history"] = list(state.notes)
    return {**base, "chat": shown}


@router.get("/drafts/{job_id}/review", response_class=HTMLResponse)
def review_page(request: Request, job: DraftJob = Depends(job_for("chat.read")),
                user: User = Depends(require_role(Role.viewer)), session: Session = Depends(get_session),
                settings: ServiceSettings = Depends(get_settings)) -> HTMLResponse:
    return page(request, "review.html", _review_context(request, job, user, session, settings))


@router.get("/drafts/{job_id}/chat", response_class=HTMLResponse)
def chat_page(request: Request, job: DraftJob = Depends(job_for("chat.read")),
              user: User = Depends(require_role(Role.viewer)), session: Session = Depends(get_session),
              settings: ServiceSettings = Depends(get_settings)) -> HTMLResponse:
    return page(request, "chat.html", _review_context(request, job, user, session, settings))


@router.post("/drafts/{job_id}/review/start")
def review_start(job: DraftJob = Depends(job_for("chat", Role.editor)),
                 user: User = Depends(require_role(Role.editor)), session: Session = Depends(get_session),
                 settings: ServiceSettings = Depends(get_settings)) -> RedirectResponse:
    if job.status != JobStatus.done.value:
        raise ApiError(409, f"draft {job.id} is not finished ({job.status})",
                       "wait until the draft is done, then start the review")
    start_chat(job, user, session, settings)
    return RedirectResponse(f"/drafts/{job.id}/review", status_code=303)


_ONE_LINE = re.compile(r"[\r\n]+")


def remark_from_form(op: str, n: int | None, value: str, text: str) -> str:
    """The facilitator remark a review form stands for (the commands `postmortem chat` documents)."""
    value = _ONE_LINE.sub(" ", value).strip()
    if op == "ok":
        return "ok"
    if op == "say":
        if not text.strip():
            raise ApiError(422, "the remark is empty", "write a correction, a piece of information or ok")
        return text.strip()
    if n is None or n < 1:
        raise ApiError(422, "no row number", "use the buttons next to a timeline row or hypothesis")
    if op == "drop":
        return f"drop {n}"
    if op == "confirm":
        return f"confirm {n}" + (f" because {value}" if value else "")
    if not value:
        need = {"move": "the corrected time (HH:MM UTC or an ISO time)", "reword": "the corrected wording",
                "reject": "the reason"}.get(op, "a value")
        raise ApiError(422, f"{op} needs {need}", "fill in the field next to the button and send again")
    if op == "move":
        return f"move {n} to {value}"
    if op == "reword":
        return f"reword {n}: {value}"
    if op == "reject":
        return f"reject {n} because {value}"
    raise ApiError(422, f"unknown review operation {op[:20]!r}", "use the review page's buttons")


@router.post("/drafts/{job_id}/answer", response_model=None)
def review_answer(request: Request, version: int = Form(...), op: str = Form("say", max_length=16),
                  n: int | None = Form(None), value: str = Form("", max_length=ANSWER_MAX_CHARS),
                  text: str = Form("", max_length=ANSWER_MAX_CHARS), back: str = Form("review"),
                  job: DraftJob = Depends(job_for("chat", Role.editor)),
                  user: User = Depends(require_role(Role.editor)), session: Session = Depends(get_session),
                  settings: ServiceSettings = Depends(get_settings)) -> HTMLResponse | RedirectResponse:
    where = "chat" if back == "chat" else "review"
    try:
        remark = remark_from_form(op, n, value, text)
        answer_chat(Answer(text=remark[:ANSWER_MAX_CHARS], version=version), job, session, settings)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        # Show the page as it is now, with what went wrong, so the user re-reads before answering again.
        context = _review_context(request, job, user, session, settings)
        return page(request, f"{where}.html", {**context, "error": f"{exc.error}. {exc.hint}."},
                    status_code=exc.status)
    return RedirectResponse(f"/drafts/{job.id}/{where}#latest", status_code=303)
