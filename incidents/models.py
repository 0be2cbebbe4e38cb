"""SQLAlchemy 2 models of the incident database.

Lists that search compares (services, failure modes, trigger kinds, root-cause labels, symptoms,
contributing factors) live in one `incident_tags` table, one row per value, so overlap is a plain
indexed join on SQLite and PostgreSQL alike. Everything else that is only shown, not compared, is
kept as JSON on the incident. The full-text index (FTS5 table / tsvector column) is created by the
migration per dialect and is not mapped here.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (JSON, Boolean, Date, DateTime, Enum, Float, ForeignKey, Index, Integer, LargeBinary,
                        String, Text, UniqueConstraint, false)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class ActionStatus(str, enum.Enum):
    """Where a remediation stands; `verified` needs the evidence of verification."""

    open = "open"
    in_progress = "in_progress"
    done = "done"
    verified = "verified"
    wont_do = "wont_do"


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (UniqueConstraint("source", "source_ref", name="uq_incident_source_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))  # report-json | markdown | pma-corpus
    source_ref: Mapped[str] = mapped_column(String(255))  # stable key inside the source
    title: Mapped[str] = mapped_column(Text)
    incident_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    postmortem_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    follow_up_review: Mapped[date | None] = mapped_column(Date, nullable=True)
    severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    detection_method: Mapped[str | None] = mapped_column(String(255), nullable=True)
    trigger_kind: Mapped[str | None] = mapped_column(String(64), nullable=True)
    trigger_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    ttd_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    ttm_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    ttr_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    impact: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    root_causes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    contributing_factors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # source-specific fields
    report_md: Mapped[str | None] = mapped_column(Text, nullable=True)
    report_json: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    search_text: Mapped[str] = mapped_column(Text, default="")  # what full text indexes
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Visible only to named members and admins (service tables, migration 0002).
    restricted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    tags: Mapped[list[Tag]] = relationship(back_populates="incident", cascade="all, delete-orphan")
    actions: Mapped[list[Action]] = relationship(back_populates="incident", cascade="all, delete-orphan")
    embeddings: Mapped[list[Embedding]] = relationship(back_populates="incident",
                                                       cascade="all, delete-orphan")

    def tag_values(self, kind: str) -> list[str]:
        return [t.value for t in self.tags if t.kind == kind]


class Tag(Base):
    """One compared value of an incident: kind in TAG_KINDS, value normalised to lower case."""

    __tablename__ = "incident_tags"
    __table_args__ = (Index("ix_tags_kind_value", "kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(255))
    incident: Mapped[Incident] = relationship(back_populates="tags")


class Action(Base):
    """A remediation item; keeps the id it had in its report and the incident it came from."""

    __tablename__ = "actions"
    __table_args__ = (UniqueConstraint("incident_id", "action_key", name="uq_action_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    action_key: Mapped[str] = mapped_column(String(32))  # AI-001
    action: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    due: Mapped[date | None] = mapped_column(Date, nullable=True)
    priority: Mapped[str | None] = mapped_column(String(8), nullable=True)
    verification: Mapped[str] = mapped_column(Text, default="")  # how done-ness will be checked
    addresses: Mapped[list[str]] = mapped_column(JSON, default=list)  # RC-/CF- ids
    status: Mapped[ActionStatus] = mapped_column(
        Enum(ActionStatus, name="action_status", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e]),
        default=ActionStatus.open)
    verified_evidence: Mapped[str | None] = mapped_column(Text, nullable=True)
    tracker_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)  # issue key once exported
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    incident: Mapped[Incident] = relationship(back_populates="actions")


class Embedding(Base):
    """A sentence embedding of an incident's text, per model (float32 bytes, L2-normalised)."""

    __tablename__ = "incident_embeddings"
    __table_args__ = (UniqueConstraint("incident_id", "model", name="uq_embedding_model"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    model: Mapped[str] = mapped_column(String(128))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    text_hash: Mapped[str] = mapped_column(String(64))  # recompute when the text changed
    incident: Mapped[Incident] = relationship(back_populates="embeddings")


TAG_KINDS: tuple[str, ...] = ("service", "failure_mode", "trigger_kind", "root_cause_label",
                              "symptom", "manifestation", "contributing_factor", "detection")
