"""Graph state: what each stage reads and writes, checkpointed after every node."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.report import (
    AILensItem,
    Barrier,
    Detection,
    Finding,
    Hypothesis,
    Impact,
    Report,
    Severity,
    ReviewType,
    TimelineEvent,
    TriggerCandidate,
    ValidationFinding,
    WhyStep,
)
from agent.offline.window import IncidentWindow
from agent.offline.window_facts import WindowFacts
from tools.models import Inventory

STAGES = ("scoping", "data_collection", "timeline", "analysis", "synthesis", "review", "close")
Stage = Literal["scoping", "data_collection", "timeline", "analysis", "synthesis", "review", "close"]


class RunOptions(BaseModel):
    """Per-run settings; stored in state so a resumed run behaves exactly like the original."""

    dump: str
    workdir: str
    repo: str | None = None
    llm: Literal["offline", "openai"] = "offline"
    postmortem_date: date  # fixed at run start so a resumed run renders the same report
    names_opt_in: bool = False
    max_repairs: int = 2
    strict: bool = False


class Scope(BaseModel):
    title: str
    services: list[str] = Field(default_factory=list)
    commander: str = "[DATA GAP]"
    window_start: datetime | None = None
    window_end: datetime | None = None
    declared_severity: str | None = None  # as the manifest states it; measured severity decides
    blameless_statement: str = ""
    manifest_notes: list[str] = Field(default_factory=list)


class Analysis(BaseModel):
    """Facts computed in code plus the multi-lens analysis built on them."""

    # The incident window (onset, its uncertainty, end, corroboration, precursors), computed once.
    window: IncidentWindow | None = None
    detection: Detection = Field(default_factory=Detection)
    impact: Impact = Field(default_factory=Impact)
    triggers: list[TriggerCandidate] = Field(default_factory=list)
    last_known_good: str = ""
    failure_modes: list[str] = Field(default_factory=list)
    ai_lens: list[AILensItem] = Field(default_factory=list)
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    five_whys: list[WhyStep] = Field(default_factory=list)
    barriers: list[Barrier] = Field(default_factory=list)
    root_causes: list[Finding] = Field(default_factory=list)
    contributing_factors: list[Finding] = Field(default_factory=list)
    specialists: list[str] = Field(default_factory=list)
    severity: Severity = "P2"
    severity_rationale: str = ""
    severity_provisional: bool = False  # evidence is missing: the severity may not be lowered on it
    severity_provisional_reason: str = ""
    review_type: ReviewType = "full"
    review_rationale: str = ""
    went_well: list[str] = Field(default_factory=list)
    could_improve: list[str] = Field(default_factory=list)
    data_gaps: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)
    computed_facts: list[dict[str, Any]] = Field(default_factory=list)


class PostmortemState(BaseModel):
    options: RunOptions
    store_path: str = ""
    scope: Scope | None = None
    inventory: Inventory | None = None
    timeline: list[TimelineEvent] = Field(default_factory=list)
    # The incident window and its failure-mode scan the timeline was built from, carried to the
    # analysis; None once their inputs change (a note added, the scope edited): then recomputed.
    window_facts: WindowFacts | None = None
    analysis: Analysis | None = None
    report: Report | None = None
    markdown: str = ""
    findings: list[ValidationFinding] = Field(default_factory=list)
    repair_round: int = 0
    completed: list[str] = Field(default_factory=list)  # stage names, in order of completion
    tracker_export: list[dict[str, Any]] = Field(default_factory=list)
