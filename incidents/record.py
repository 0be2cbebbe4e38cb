"""The normalised form every importer produces before anything is stored.

Importers only parse; `store.save` redacts, tags and writes. Keeping the redaction in one place
means no importer can forget it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field


class ActionRecord(BaseModel):
    key: str
    action: str
    owner: str | None = None
    due: date | None = None
    priority: str | None = None
    verification: str = ""
    addresses: list[str] = Field(default_factory=list)
    status: str = "open"


class IncidentRecord(BaseModel):
    source: str
    source_ref: str
    title: str
    incident_date: date | None = None
    started_at: datetime | None = None
    resolved_at: datetime | None = None
    postmortem_date: date | None = None
    follow_up_review: date | None = None
    severity: str | None = None
    summary: str = ""
    detection_method: str | None = None
    trigger_kind: str | None = None
    trigger_ref: str | None = None
    ttd_s: float | None = None
    ttm_s: float | None = None
    ttr_s: float | None = None
    impact: dict[str, Any] = Field(default_factory=dict)
    root_causes: list[Any] = Field(default_factory=list)
    contributing_factors: list[Any] = Field(default_factory=list)
    # Compared values: kind -> values (see models.TAG_KINDS).
    tags: dict[str, list[str]] = Field(default_factory=dict)
    actions: list[ActionRecord] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)
    report_md: str | None = None
    report_json: dict[str, Any] | None = None
    body: str = ""  # the free text that full text and embeddings read, besides title and summary
