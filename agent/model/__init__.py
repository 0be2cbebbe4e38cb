"""The domain model: what an incident review is about (Scope), what the analysis finds
(Assessment, Analysis, and the parts: timeline events, triggers, hypotheses, barriers, findings,
impact, detection, AI lens, incident window) and the published Report.

Imports nothing of ours but itself, so every layer above can use it. The Report and the Analysis
share the Assessment: a report is built from an analysis's assessment, never field by field.
"""

from agent.model.analysis import Analysis, Assessment
from agent.model.findings import (
    AI_FACTORS,
    FAILURE_CATEGORIES,
    AIFactor,
    AILensItem,
    Barrier,
    Detection,
    Finding,
    Hypothesis,
    Impact,
    ImpactMetric,
    ReviewType,
    Severity,
    Status,
    TimelineEvent,
    TriggerCandidate,
    WhyStep,
)
from agent.model.formats import fmt_value, iso_z
from agent.model.mechanism import Mechanism, MechanismLink, SettingChange, SettingHypothesis
from agent.model.report import REPORT_FIELD_ORDER, ActionItem, Report, Validation, ValidationFinding
from agent.model.scope import Scope
from agent.model.window import IncidentWindow, Precursor, WindowSignal

__all__ = [
    "AI_FACTORS",
    "FAILURE_CATEGORIES",
    "REPORT_FIELD_ORDER",
    "AIFactor",
    "AILensItem",
    "ActionItem",
    "Analysis",
    "Assessment",
    "Barrier",
    "Detection",
    "Finding",
    "Hypothesis",
    "Impact",
    "ImpactMetric",
    "IncidentWindow",
    "Mechanism",
    "MechanismLink",
    "Precursor",
    "Report",
    "ReviewType",
    "Scope",
    "SettingChange",
    "SettingHypothesis",
    "Severity",
    "Status",
    "TimelineEvent",
    "TriggerCandidate",
    "Validation",
    "ValidationFinding",
    "WhyStep",
    "WindowSignal",
    "fmt_value",
    "iso_z",
]
