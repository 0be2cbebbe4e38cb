"""The parts of a drafted report the draft page shows beside the text, read from the report JSON.

Why own small models instead of the agent's Report class: the page is a boundary that needs a few
fields only, and the agent's models are being moved; validating just these fields (extra ones
ignored) keeps the page working across that move and fails loudly if a shown field changes shape.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TimelineRow(_Lenient):
    timestamp: str
    event: str
    category: str = ""
    evidence: list[str] = Field(default_factory=list)
    assumed: bool = False


class ImpactMetricView(_Lenient):
    name: str
    value: float
    unit: str = ""
    detail: str = ""


class ImpactView(_Lenient):
    metrics: list[ImpactMetricView] = Field(default_factory=list)
    data_gaps: list[str] = Field(default_factory=list)
    users_affected: str = ""
    business_impact: str = ""
    safety_exposure: str = ""


class ChangeView(_Lenient):
    kind: str = ""
    ref: str
    summary: str = ""
    score: float = 0.0
    reasons: list[str] = Field(default_factory=list)
    at: str | None = None


class FindingView(_Lenient):
    rule: str
    severity: str
    line: int | None = None
    section: str = ""
    message: str
    suggestion: str = ""


class ValidationView(_Lenient):
    passed: bool = True
    findings: list[FindingView] = Field(default_factory=list)
    repair_rounds: int = 0


class DetectionView(_Lenient):
    detected_by: str = ""
    time_to_detect_s: float | None = None
    time_to_mitigate_s: float | None = None
    time_to_resolve_s: float | None = None


class ReportSide(_Lenient):
    title: str
    severity: str = ""
    review_type: str = ""
    timeline: list[TimelineRow] = Field(default_factory=list)
    impact: ImpactView = Field(default_factory=ImpactView)
    detection: DetectionView = Field(default_factory=DetectionView)
    suspected_triggers: list[ChangeView] = Field(default_factory=list)
    validation: ValidationView = Field(default_factory=ValidationView)

    @property
    def change_ranking(self) -> list[ChangeView]:
        """Suspected changes, highest score first (the order the engine ranked them in on ties)."""
        return sorted(self.suspected_triggers, key=lambda c: -c.score)


def report_side(report_json: str) -> ReportSide:
    return ReportSide.model_validate(json.loads(report_json))
