"""The parts an analysis finds and a report shows: timeline events, detection, impact, trigger
candidates, hypotheses, whys, barriers, findings and the AI lens, with the words they use."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from agent.model.formats import ZTime

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


class TimelineEvent(BaseModel):
    timestamp: ZTime
    event: str
    evidence: list[str] = Field(default_factory=list)
    # anomaly | trigger | deploy | alert | page | ack | escalation | decision | mitigation |
    # recovery | resolution | detection | context
    category: str = "context"
    assumed: bool = False  # timestamp came from a naive source and a zone rule was applied


class Detection(BaseModel):
    detected_by: str = "[DATA GAP]"  # alert | user report | canary | on-call observation | ...
    detection_detail: str = ""
    first_anomaly_at: ZTime | None = None
    detected_at: ZTime | None = None
    acknowledged_at: ZTime | None = None
    mitigated_at: ZTime | None = None
    resolved_at: ZTime | None = None
    time_to_detect_s: float | None = None
    time_to_acknowledge_s: float | None = None
    time_to_mitigate_s: float | None = None
    time_to_resolve_s: float | None = None
    evidence: list[str] = Field(default_factory=list)
    # The page that was acknowledged and its first ack: what time to acknowledge is measured on.
    ack_evidence: list[str] = Field(default_factory=list)
    data_gaps: list[str] = Field(default_factory=list)


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
    # The span the figures are measured over: first to last symptom (agent/offline/impact.py).
    window_start: ZTime | None = None
    window_end: ZTime | None = None
    window_definition: str = ""


class TriggerCandidate(BaseModel):
    # Which kind of change (agent/offline/change_model.py); a commit's ref stays its full sha.
    kind: Literal["commit", "deploy", "sync", "rollout", "flag", "config", "prompt", "model",
                  "data_job", "infra"] = "commit"
    ref: str  # full commit sha, flag key, app@revision, dag@run id, ...
    summary: str
    evidence: list[str] = Field(default_factory=list)
    score: float = 0.0
    reasons: list[str] = Field(default_factory=list)
    at: ZTime | None = None  # when it reached production (a commit's deploy time when known)
    diff_summary: str = ""
    authored_at: ZTime | None = None
    landed_at: ZTime | None = None  # a commit's committer (merge/squash) time
    production_evidence: str | None = None  # the record that shows `at`


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


BarrierState = Literal["held", "failed", "missing", "bypassed", "unknown"]
# control: a rollout/alerting/rollback control; precursor: a signal that crossed a threshold before
# onset with no alert; safeguard: a gate or check the evidence says was disabled or bypassed;
# environment: a stated difference between pre-production and production.
BarrierKind = Literal["control", "precursor", "safeguard", "environment"]


class Barrier(BaseModel):
    name: str
    state: BarrierState
    note: str = ""
    evidence: list[str] = Field(default_factory=list)
    kind: BarrierKind = "control"
    since: ZTime | None = None  # when the barrier's state began (a precursor's first point, a bypass's record)


class AILensItem(BaseModel):
    factor: AIFactor
    applies: bool
    finding: str
    evidence: list[str] = Field(default_factory=list)
