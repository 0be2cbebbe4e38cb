"""The postmortem report model: the JSON contract every stage, validator, renderer and eval shares.

Field names in the contract (severity, review_type, timeline, detection, impact, suspected_triggers,
failure_modes, root_causes, contributing_factors, action_items, data_gaps, assumptions) are stable.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field, field_serializer

Severity = Literal["P0", "P1", "P2", "P3"]
ReviewType = Literal["full", "light"]
Status = Literal["confirmed", "likely", "inconclusive", "rejected"]
AIFactor = Literal["data", "evals", "prompts", "non_determinism", "opacity", "rapid_iteration"]
AI_FACTORS: tuple[AIFactor, ...] = (
    "data",
    "evals",
    "prompts",
    "non_determinism",
    "opacity",
    "rapid_iteration",
)
FAILURE_CATEGORIES = ("training", "serving", "rag", "agentic", "eval", "safety", "data", "infra")


def fmt_value(v: float) -> str:
    """How reports write a computed number: thousands separators, at most four decimals."""
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.4f}".rstrip("0").rstrip(".")


def iso_z(dt: datetime) -> str:
    """ISO-8601 UTC with a trailing Z, to the second (what reports and JSON show)."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class TimelineEvent(BaseModel):
    timestamp: datetime
    event: str
    evidence: list[str] = Field(default_factory=list)
    # anomaly | trigger | deploy | alert | page | ack | escalation | decision | mitigation |
    # recovery | resolution | detection | context
    category: str = "context"
    assumed: bool = False  # timestamp came from a naive source and a zone rule was applied

    @field_serializer("timestamp", when_used="json")
    def _ser_ts(self, v: datetime) -> str:
        return iso_z(v)


class Detection(BaseModel):
    detected_by: str = "[DATA GAP]"  # alert | user report | canary | on-call observation | ...
    detection_detail: str = ""
    first_anomaly_at: datetime | None = None
    detected_at: datetime | None = None
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    time_to_detect_s: float | None = None
    time_to_acknowledge_s: float | None = None
    time_to_mitigate_s: float | None = None
    time_to_resolve_s: float | None = None
    evidence: list[str] = Field(default_factory=list)
    data_gaps: list[str] = Field(default_factory=list)

    @field_serializer(
        "first_anomaly_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at", when_used="json"
    )
    def _ser_ts(self, v: datetime | None) -> str | None:
        return None if v is None else iso_z(v)


class ImpactMetric(BaseModel):
    name: str
    value: float
    unit: str
    evidence: list[str] = Field(default_factory=list)
    detail: str = ""  # how it was computed, in one line


class Impact(BaseModel):
    metrics: list[ImpactMetric] = Field(default_factory=list)
    data_gaps: list[str] = Field(default_factory=list)
    users_affected: str = ""
    business_impact: str = ""
    safety_exposure: str = ""


class TriggerCandidate(BaseModel):
    # Which kind of change (agent/offline/change_model.py); a commit's ref stays its full sha.
    kind: Literal["commit", "deploy", "sync", "rollout", "flag", "config", "prompt", "model",
                  "data_job", "infra"] = "commit"
    ref: str  # full commit sha, flag key, app@revision, dag@run id, ...
    summary: str
    evidence: list[str] = Field(default_factory=list)
    score: float = 0.0
    reasons: list[str] = Field(default_factory=list)
    at: datetime | None = None  # when it reached production (a commit's deploy time when known)
    diff_summary: str = ""
    authored_at: datetime | None = None
    landed_at: datetime | None = None  # a commit's committer (merge/squash) time
    production_evidence: str | None = None  # the record that shows `at`

    @field_serializer("at", "authored_at", "landed_at", when_used="json")
    def _ser_ts(self, v: datetime | None) -> str | None:
        return None if v is None else iso_z(v)


class Finding(BaseModel):
    """A root cause or contributing factor."""

    id: str = ""  # RC-1, CF-2 ...
    statement: str
    status: Status = "likely"
    evidence: list[str] = Field(default_factory=list)


class Hypothesis(BaseModel):
    statement: str
    status: Status = "inconclusive"
    evidence: list[str] = Field(default_factory=list)
    assumption: bool = False  # unsupported by evidence -> rendered with [ASSUMPTION]


class WhyStep(BaseModel):
    question: str
    answer: str
    evidence: list[str] = Field(default_factory=list)
    gap: bool = False  # answer is a [DATA GAP] / [ASSUMPTION]


class Barrier(BaseModel):
    name: str
    state: Literal["held", "failed", "missing", "unknown"]
    note: str = ""
    evidence: list[str] = Field(default_factory=list)


class AILensItem(BaseModel):
    factor: AIFactor
    applies: bool
    finding: str
    evidence: list[str] = Field(default_factory=list)


class ActionItem(BaseModel):
    id: str  # AI-001
    action: str
    owner: str  # a role, e.g. "Serving platform on-call lead"
    due: date
    verification: str
    addresses: list[str] = Field(default_factory=list)  # RC-/CF- ids
    priority: Literal["P0", "P1", "P2"] = "P1"


class ValidationFinding(BaseModel):
    rule: str
    severity: Literal["error", "warning"]
    line: int | None = None
    section: str = ""
    text: str = ""
    message: str
    suggestion: str = ""


class Validation(BaseModel):
    passed: bool = True
    findings: list[ValidationFinding] = Field(default_factory=list)
    repair_rounds: int = 0


class Report(BaseModel):
    title: str
    incident_date: date | None = None
    postmortem_date: date
    severity: Severity
    severity_rationale: str = ""
    # True when evidence is missing (unreadable text, no impact-bearing kind): the severity is a
    # floor, not a verdict, and the reason says what is missing (agent/offline/severity.py).
    severity_provisional: bool = False
    severity_provisional_reason: str = ""
    review_type: ReviewType
    review_rationale: str = ""
    commander: str = "[DATA GAP]"  # a role unless names were opted in
    services: list[str] = Field(default_factory=list)
    summary: list[str] = Field(default_factory=list)  # Executive Summary sentences
    timeline: list[TimelineEvent] = Field(default_factory=list)
    detection: Detection = Field(default_factory=Detection)
    impact: Impact = Field(default_factory=Impact)
    suspected_triggers: list[TriggerCandidate] = Field(default_factory=list)
    last_known_good: str = ""
    failure_modes: list[str] = Field(default_factory=list)  # taxonomy ids, e.g. serving.oom
    ai_lens: list[AILensItem] = Field(default_factory=list)
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    five_whys: list[WhyStep] = Field(default_factory=list)
    barriers: list[Barrier] = Field(default_factory=list)
    root_causes: list[Finding] = Field(default_factory=list)
    contributing_factors: list[Finding] = Field(default_factory=list)
    went_well: list[str] = Field(default_factory=list)
    could_improve: list[str] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)
    follow_up_review: date | None = None
    data_gaps: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)
    specialists: list[str] = Field(default_factory=list)  # own-limits: who else should look
    # Values computed in code (durations, ratios) that the `grounded` validator accepts although
    # they appear nowhere verbatim in the evidence: {"text": "7m 12s", "derivation": "...", ...}
    computed_facts: list[dict[str, Any]] = Field(default_factory=list)
    validation: Validation = Field(default_factory=Validation)
    usage: dict[str, Any] = Field(default_factory=dict)
    evidence_inventory: dict[str, Any] = Field(default_factory=dict)
    names_opt_in: bool = False
