"""What the incident is about, as the manifest and scoping state it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Scope(BaseModel):
    title: str
    services: list[str] = Field(default_factory=list)
    commander: str = "[DATA GAP]"
    window_start: datetime | None = None
    window_end: datetime | None = None
    declared_severity: str | None = None  # as the manifest states it; measured severity decides
    blameless_statement: str = ""
    manifest_notes: list[str] = Field(default_factory=list)
