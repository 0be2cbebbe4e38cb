"""What the analysis concludes (the Assessment, which the report carries whole) and the analysis
result itself: the assessment plus the incident window it was computed from."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agent.model.commander import Commander
from agent.model.findings import AILensItem, Barrier, Detection, Finding, Hypothesis, Impact
from agent.model.findings import ReviewType, Severity, TriggerCandidate, WhyStep
from agent.model.mechanism import Mechanism
from agent.model.component import FailingComponent
from agent.model.window import IncidentWindow


class Assessment(BaseModel):
    """Facts computed in code and the multi-lens analysis built on them: every field an analysis
    produces and a report shows under the same name."""

    severity: Severity = "P2"
    severity_rationale: str = ""
    # True when evidence is missing (unreadable text, no impact-bearing kind): the severity is a
    # floor, not a verdict, and the reason says what is missing (agent/offline/severity.py).
    severity_provisional: bool = False
    severity_provisional_reason: str = ""
    review_type: ReviewType = "full"
    review_rationale: str = ""
    detection: Detection = Field(default_factory=Detection)
    impact: Impact = Field(default_factory=Impact)
    suspected_triggers: list[TriggerCandidate] = Field(default_factory=list)  # best first
    last_known_good: str = ""
    failure_modes: list[str] = Field(default_factory=list)  # taxonomy ids, e.g. serving.oom
    ai_lens: list[AILensItem] = Field(default_factory=list)
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    # How the top-ranked trigger produced the symptoms (agent/offline/mechanism.py); None when the
    # trigger's records name no concrete setting.
    mechanism: Mechanism | None = None
    five_whys: list[WhyStep] = Field(default_factory=list)
    barriers: list[Barrier] = Field(default_factory=list)
    root_causes: list[Finding] = Field(default_factory=list)
    contributing_factors: list[Finding] = Field(default_factory=list)
    went_well: list[str] = Field(default_factory=list)
    could_improve: list[str] = Field(default_factory=list)
    data_gaps: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)
    specialists: list[str] = Field(default_factory=list)  # own-limits: who else should look
    # Values computed in code (durations, ratios) that the `grounded` validator accepts although
    # they appear nowhere verbatim in the evidence: {"text": "7m 12s", "derivation": "...", ...}
    computed_facts: list[dict[str, Any]] = Field(default_factory=list)

    def assessment(self) -> dict[str, Any]:
        """The assessment's fields by name, holding these very values (not copies): what another
        model sharing this base (the report) is built from."""
        return {name: getattr(self, name) for name in Assessment.model_fields}


class Analysis(Assessment):
    """The analysis stage's result, checkpointed with the graph state."""

    # The incident window (onset, its uncertainty, end, corroboration, precursors), computed once.
    window: IncidentWindow | None = None
    # The service whose records carry the failure (agent/offline/failure_path.py): actions target it.
    failing_component: FailingComponent | None = None
    # Who declared command in chat or notes (agent/offline/commander.py); used without a manifest IC.
    commander: Commander | None = None
