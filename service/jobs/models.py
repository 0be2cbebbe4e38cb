"""Rows of migration 0003 (draft jobs, chat review sessions) and the pydantic views the API returns.

Both tables sit on the incident database's declarative base so one metadata holds the whole schema
and the foreign keys to `incidents` and `users` resolve. A job row is the only channel between the
API and whatever runs the job: status, stage and ingest percent are written by `run_job`, read by
the progress stream; the finished report is stored on the row too (workers need not share a disk
with the API for reading it).
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from incidents.models import Base
from service import models as _service_models  # noqa: F401 - registers `users` for the foreign keys


class JobStatus(str, enum.Enum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.done, JobStatus.failed)


class JobSource(str, enum.Enum):
    upload = "upload"  # an archive uploaded through the API
    path = "path"  # a server-side folder or file registered by an admin
    pagerduty = "pagerduty"  # queued by the PagerDuty webhook


class DraftJob(Base):
    __tablename__ = "draft_jobs"
    # A webhook delivery names its event; the same event seen twice is a replay.
    __table_args__ = (UniqueConstraint("source", "external_ref", name="uq_draft_jobs_external_ref"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # also the LangGraph run id
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.queued.value, index=True)
    stage: Mapped[str] = mapped_column(String(32), default="")
    percent: Mapped[int] = mapped_column(Integer, default=0)  # ingest progress, 0..100
    error: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16))
    external_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    dump_path: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(String(255), default="")
    postmortem_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    member_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"),
                                                    nullable=True)
    report_md: Mapped[str | None] = mapped_column(Text, nullable=True)
    report_json: Mapped[str | None] = mapped_column(Text, nullable=True)  # exactly render_json's text
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    @property
    def job_status(self) -> JobStatus:
        return JobStatus(self.status)


class ChatSessionRow(Base):
    """One chat review per draft job; the conversation itself is in the LangGraph checkpoint."""

    __tablename__ = "chat_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the chat graph's thread id
    job_id: Mapped[str] = mapped_column(ForeignKey("draft_jobs.id", ondelete="CASCADE"), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    # Bumped on every answer: a client that answers with an older version saw a stale prompt.
    version: Mapped[int] = mapped_column(Integer, default=0)
    gate: Mapped[str] = mapped_column(String(32), default="")
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class JobView(BaseModel):
    """What the API shows of a job (never the server-side dump path: that is the server's business)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    status: JobStatus
    stage: str
    percent: int
    error: str
    source: JobSource
    filename: str
    postmortem_date: date | None
    restricted: bool
    incident_id: int | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: dict[str, str] = {}

    @field_validator("created_at", "started_at", "finished_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # SQLite returns stored UTC times without their zone; they were written as UTC.
        return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value

    @classmethod
    def of(cls, job: DraftJob) -> JobView:
        base = f"/api/drafts/{job.id}"
        links = {"self": base, "events": f"{base}/events"}
        if job.status == JobStatus.done.value:
            links |= {"markdown": f"{base}/report.md", "json": f"{base}/report.json", "html": f"{base}/report.html"}
        return cls.model_validate(job).model_copy(update={"links": links})


class ProgressEvent(BaseModel):
    """One server-sent progress event."""

    status: JobStatus
    stage: str
    percent: int
    error: str = ""
    incident_id: int | None = None

    @classmethod
    def of(cls, job: DraftJob) -> ProgressEvent:
        return cls(status=JobStatus(job.status), stage=job.stage, percent=job.percent, error=job.error,
                   incident_id=job.incident_id)

    def key(self) -> tuple[Any, ...]:
        return (self.status, self.stage, self.percent, self.error, self.incident_id)
