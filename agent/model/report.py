"""The postmortem report: the JSON contract every stage, validator, renderer and eval shares.

Field names in the contract (severity, review_type, timeline, detection, impact, suspected_triggers,
failure_modes, root_causes, contributing_factors, action_items, data_gaps, assumptions) are stable,
and so is their order in the JSON (REPORT_FIELD_ORDER).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from agent.model.analysis import Assessment
from agent.model.findings import ReviewType, Severity, TimelineEvent

# The order of the report's keys in JSON. Published reports, golden files and consumers diffing
# reports rely on it; the model's own field order differs because the shared Assessment fields
# come first in a subclass.
REPORT_FIELD_ORDER: tuple[str, ...] = (
    "title", "incident_date", "postmortem_date",
    "severity", "severity_rationale", "severity_provisional", "severity_provisional_reason",
    "review_type", "review_rationale",
    "commander", "services", "summary", "timeline",
    "detection", "impact", "suspected_triggers", "last_known_good", "failure_modes", "ai_lens",
    "hypotheses", "mechanism", "five_whys", "barriers", "root_causes", "contributing_factors",
    "went_well", "could_improve",
    "action_items", "follow_up_review",
    "data_gaps", "assumptions", "specialists", "computed_facts",
    "validation", "usage", "evidence_inventory", "names_opt_in",
)


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


class Report(Assessment):
    """The assessment as published: with its title and dates, the people and services, the
    timeline, the action plan, and how the draft was validated."""

    # A report states its verdict; only an analysis in progress starts from a default.
    severity: Severity
    review_type: ReviewType
    title: str
    incident_date: date | None = None
    postmortem_date: date
    commander: str = "[DATA GAP]"  # a role unless names were opted in
    services: list[str] = Field(default_factory=list)
    summary: list[str] = Field(default_factory=list)  # Executive Summary sentences
    timeline: list[TimelineEvent] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)
    follow_up_review: date | None = None
    validation: Validation = Field(default_factory=Validation)
    usage: dict[str, Any] = Field(default_factory=dict)
    evidence_inventory: dict[str, Any] = Field(default_factory=dict)
    names_opt_in: bool = False

    @model_serializer(mode="wrap")
    def _in_contract_order(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        fields: dict[str, Any] = handler(self)
        # Keys excluded by the caller stay out; a field missing from the order still appears.
        ordered = {name: fields[name] for name in REPORT_FIELD_ORDER if name in fields}
        return {**ordered, **fields}
