"""Pydantic models for evidence and ingestion results.

Everything a reader produces, and everything a query tool returns, is one of these models, so
the boundary between "files on disk" and "the agent" is typed and serialisable.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field, field_validator


class EvidenceKind(str, Enum):
    LOG = "log"
    COMMIT = "commit"
    CHAT = "chat"
    PAGE = "page"  # PagerDuty incident / log entry
    ALERT = "alert"  # Alertmanager alert
    METRIC = "metric"  # one Prometheus series (summary text; samples in attrs)
    TRACE = "trace"  # one LLM request/response
    K8S_EVENT = "k8s_event"
    NOTE = "note"  # free-text paragraph from Markdown / plain notes
    MANIFEST = "manifest"  # incident.yaml
    CHANGE = "change"  # a flag flip, config / prompt / model / version change, deploy or sync event
    EVAL = "eval"  # one eval or probe result (a sample, or a run's summary)
    TICKET = "ticket"  # a support ticket or user report (Zendesk, Jira, ...)


class Evidence(BaseModel):
    """One citable record. `id` is stable across runs for the same dump."""

    id: str
    kind: EvidenceKind
    ts: datetime | None = None  # always timezone-aware UTC when set
    ts_assumed: bool = False  # True when the source gave no zone (or no year) and we applied a rule
    source: str  # path relative to the dump root (or "git:<repo>")
    locator: str = ""  # "line 42", commit sha, Slack ts, PagerDuty log entry id, ...
    service: str | None = None
    level: str | None = None  # normalised: debug|info|warning|error|critical
    text: str = ""
    attrs: dict[str, Any] = Field(default_factory=dict)
    flags: list[str] = Field(default_factory=list)  # e.g. "untrusted-instruction"

    @field_validator("ts")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        if v is None:
            return None
        if v.tzinfo is None:
            raise ValueError("evidence timestamps must be timezone-aware")
        return v.astimezone(timezone.utc)


_FIELDS = frozenset(Evidence.model_fields)


def trusted_evidence(fields: dict[str, Any]) -> Evidence:
    """Evidence from fields already in their final form (all of them, `ts` aware UTC), without
    validation: what BaseModel.model_construct does, minus its per-call introspection (~5x
    faster). For hot paths only: readers after parsing, the store reading its own rows."""
    ev = Evidence.__new__(Evidence)
    object.__setattr__(ev, "__dict__", fields)
    object.__setattr__(ev, "__pydantic_fields_set__", set(_FIELDS))
    object.__setattr__(ev, "__pydantic_extra__", None)
    object.__setattr__(ev, "__pydantic_private__", None)
    return ev


class Malformed(BaseModel):
    """A record a reader could not parse. Counted and reported, never fatal."""

    source: str
    locator: str = ""
    reason: str


class SourceReport(BaseModel):
    """What ingestion found in one file (or repository)."""

    path: str
    kind: str  # reader name, e.g. "log.jsonl", "slack", "git"
    records: int = 0
    malformed: int = 0
    malformed_examples: list[Malformed] = Field(default_factory=list)
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    assumed_ts: int = 0
    note: str = ""  # e.g. "skipped: binary file"
    # Coverage: how much of the file became evidence (readers count lines; see readers/base.Coverage).
    lines: int = 0  # physical lines read (0 when the reader parses whole documents)
    continuation_lines: int = 0  # lines joined to the record before them (stack traces, dumps)
    undated_lines: int = 0  # lines inside records that carry no timestamp
    bytes: int = 0  # size of the file (of its JSON files, for a directory source)
    bytes_covered: int = 0  # bytes that ended up inside some record
    binary: bool = False  # a skipped binary or compressed file: not part of the text denominator


# Below this share of the dump's text turned into evidence, the inventory reports a data gap and
# the severity is provisional (tools/ingest.py and agent/offline/severity.py read this one constant).
COVERAGE_FLOOR = 0.9


class Inventory(BaseModel):
    """Summary of a whole ingested dump; what `postmortem ingest` prints."""

    dump: str
    sources: list[SourceReport] = Field(default_factory=list)
    skipped: list[SourceReport] = Field(default_factory=list)
    total_records: int = 0
    total_malformed: int = 0
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    redactions: dict[str, int] = Field(default_factory=dict)
    # Where each redacted kind occurs: kind -> the first evidence ids holding one (never values).
    redacted_at: dict[str, list[str]] = Field(default_factory=dict)
    untrusted: list[str] = Field(default_factory=list)  # evidence ids flagged as instruction-like
    data_gaps: list[str] = Field(default_factory=list)
    kinds: dict[str, int] = Field(default_factory=dict)  # evidence kind -> record count
    total_lines: int = 0
    total_continuation_lines: int = 0
    total_undated_lines: int = 0
    # Text bytes of the dump (read sources plus skipped text files; binary files excluded), how
    # many of them became evidence, and the share (None when the dump holds no text at all).
    text_bytes: int = 0
    covered_bytes: int = 0
    coverage: float | None = None
    manifest: dict[str, Any] = Field(default_factory=dict)
