"""Chat reviews over HTTP: the same facilitator and chat graph as `postmortem chat`, one session
per draft job, shared by everyone who may see that draft.

Why the state lives in the LangGraph checkpoint and not in the process: a session must survive a
restart and be the same for every user and every API server, so each request opens the checkpointer
(service.checkpoints: SQLite under the data dir, or the shared PostgreSQL database), reads or
advances the graph, and closes it. The `chat_sessions` row names the session of a job and carries a
version: an answer states the version it replies to, the version is claimed with one conditional
UPDATE before the graph runs, and a second answer to the same prompt (another user, another
server) gets 409 instead of being applied to a prompt its author never saw.

Routes (under the draft job): `POST /api/drafts/{id}/chat` start (or return) the session;
`GET /api/drafts/{id}/chat` its state; `POST /api/drafts/{id}/chat/answer` one remark or command;
`GET /api/drafts/{id}/chat/report.md` the current draft with the review discussion.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.auth.deps import get_settings, require_role
from service.db import get_session
from service.errors import ApiError, error_responses
from service.jobs.models import ChatSessionRow, DraftJob
from service.models import Role, User
from service.routes.drafts import job_for
from service.settings import ServiceSettings

router = APIRouter(prefix="/api/drafts", tags=["chat"])

ANSWER_MAX_CHARS = 4000  # one remark; a long paste belongs in the dump


class PromptView(BaseModel):
    gate: str
    title: str
    body: str
    hint: str


class ChatView(BaseModel):
    session_id: str
    job_id: str
    version: int = Field(description="Send it back with the next answer")
    closed: bool
    prompt: PromptView | None = Field(description="What the facilitator asks now; null once closed")
    last_reply: str
    last_kind: str
    completed: list[str]
    notes: list[dict[str, str]]
    decisions: list[str]
    parked: list[str]
    open_questions: list[str]


class Answer(BaseModel):
    text: str = Field(max_length=ANSWER_MAX_CHARS, description="ok, a gate command, or a remark in words")
    version: int = Field(description="The session version the answer replies to (from the last view)")


def session_id_for(job_id: str) -> str:
    return f"chat-{job_id}"


def chat_base(settings: ServiceSettings) -> Path:
    return settings.data_dir / "chat"


@contextmanager
def open_chat(settings: ServiceSettings, session_id: str) -> Iterator[Any]:
    """The ChatSession on the shared checkpointer, for the length of one request."""
    from agent.chat import ChatSession, build_chat_graph
    from agent.graph import Context
    from service.checkpoints import open_checkpointer

    base = chat_base(settings)
    with open_checkpointer(settings.resolved_database_url(), base) as saver:
        ctx = Context()  # the offline engine, as the drafts use
        try:
            yield ChatSession(build_chat_graph(saver), session_id, ctx, base)
        finally:
            ctx.close()


def _started(chat: Any) -> bool:
    return bool(chat.graph.get_state(chat.config).values)


def view(row: ChatSessionRow, chat: Any) -> ChatView:
    prompt = chat.current() if _started(chat) else None
    st = chat.state() if _started(chat) else None
    return ChatView(session_id=row.id, job_id=row.job_id, version=row.version, closed=row.closed,
                    prompt=PromptView.model_validate(prompt.model_dump()) if prompt else None,
                    last_reply=st.last_reply if st else "", last_kind=st.last_kind if st else "",
                    completed=list(st.completed) if st else [], notes=list(st.chat_notes) if st else [],
                    decisions=list(st.decisions) if st else [], parked=list(st.parked) if st else [],
                    open_questions=list(st.open_questions) if st else [])


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _row(session: Session, job: DraftJob) -> ChatSessionRow:
    row = session.get(ChatSessionRow, session_id_for(job.id))
    if row is None:
        raise ApiError(404, f"draft {job.id} has no chat review yet",
                       f"start one with POST /api/drafts/{job.id}/chat (editor)")
    return row


@router.post("/{job_id}/chat", response_model=ChatView, responses=error_responses(401, 403, 404, 409))
def start_chat(job: DraftJob = Depends(job_for("chat", Role.editor)),
               user: User = Depends(require_role(Role.editor)), session: Session = Depends(get_session),
               settings: ServiceSettings = Depends(get_settings)) -> ChatView:
    """Start the draft's chat review, or return it if someone already did (one per draft)."""
    from agent.chat import new_initial_state

    dump = Path(job.dump_path)
    if not dump.exists():
        raise ApiError(409, f"the dump of draft {job.id} is no longer on the server",
                       "submit the dump again and start the review on the new draft")
    sid = session_id_for(job.id)
    row = session.get(ChatSessionRow, sid)
    if row is None:
        row = ChatSessionRow(id=sid, job_id=job.id, created_by=user.id, version=0, gate="", closed=False,
                             created_at=_now(), updated_at=_now())
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # another request created it a moment ago: use theirs
            session.rollback()
            row = session.get(ChatSessionRow, sid)
            assert row is not None
    with open_chat(settings, sid) as chat:
        if not _started(chat):
            base = chat_base(settings)
            today = job.postmortem_date
            chat.start(new_initial_state(dump, base / "runs" / sid, today, False, base / "reports" / sid))
            prompt = chat.current()
            row.gate = prompt.gate if prompt else ""
            row.updated_at = _now()
            session.commit()
        return view(row, chat)


@router.get("/{job_id}/chat", response_model=ChatView, responses=error_responses(401, 404))
def show_chat(job: DraftJob = Depends(job_for("chat.read")), session: Session = Depends(get_session),
              settings: ServiceSettings = Depends(get_settings)) -> ChatView:
    """The review as everyone sees it: the current prompt, the last reply, what was decided."""
    row = _row(session, job)
    with open_chat(settings, row.id) as chat:
        return view(row, chat)


@router.post("/{job_id}/chat/answer", response_model=ChatView, responses=error_responses(401, 403, 404, 409))
def answer_chat(body: Answer, job: DraftJob = Depends(job_for("chat", Role.editor)),
                session: Session = Depends(get_session),
                settings: ServiceSettings = Depends(get_settings)) -> ChatView:
    """One answer to the current prompt: `ok`, a gate command, or a remark in words."""
    row = _row(session, job)
    if row.closed:
        raise ApiError(409, "this review is closed", f"read the final report at GET /api/drafts/{job.id}/chat/report.md")
    # Claim the version first: of two answers to the same prompt exactly one is applied.
    claimed = session.execute(update(ChatSessionRow).where(ChatSessionRow.id == row.id,
                                                           ChatSessionRow.version == body.version)
                              .values(version=body.version + 1, updated_at=_now()))
    session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(row)
        raise ApiError(409, f"the review moved on (version {row.version}, you answered {body.version})",
                       f"reload GET /api/drafts/{job.id}/chat, read the current prompt and answer again")
    session.refresh(row)
    with open_chat(settings, row.id) as chat:
        if chat.current() is None:
            raise ApiError(409, "the review is not waiting for an answer", f"reload GET /api/drafts/{job.id}/chat")
        prompt = chat.answer(body.text)
        row.gate = prompt.gate if prompt else ""
        if chat.finished():
            row.closed = True
            _store_reviewed_report(session, job, chat.state())
        session.commit()
        return view(row, chat)


def _store_reviewed_report(session: Session, job: DraftJob, state: Any) -> None:
    """Closing replaces the draft's incident report with the reviewed one (same importer)."""
    from agent.render import render_json
    from incidents.importers import from_report_json
    from incidents.store import save
    from service.jobs.runner import INCIDENT_SOURCE_REF

    if state.report is None or job.incident_id is None:
        return  # the draft itself has not finished: its own import will follow
    save(session, from_report_json(json.loads(render_json(state.report)),
                                   INCIDENT_SOURCE_REF.format(job_id=job.id), state.markdown))


@router.get("/{job_id}/chat/report.md", responses=error_responses(401, 404, 409))
def chat_report(job: DraftJob = Depends(job_for("chat.export.md")), session: Session = Depends(get_session),
                settings: ServiceSettings = Depends(get_settings)) -> Response:
    """The review's current draft (final once closed), with its Review Discussion section."""
    row = _row(session, job)
    with open_chat(settings, row.id) as chat:
        md = chat.state().markdown if _started(chat) else ""
    if not md:
        raise ApiError(409, "no draft yet: the report is drafted after the hypotheses stage",
                       f"answer the current prompt (GET /api/drafts/{job.id}/chat)")
    return Response(md, media_type="text/markdown; charset=utf-8")
