"""The incident window as the analysis carries it: onset, its uncertainty, end, the signals that
corroborate the onset and the precursors before it. agent/offline/window.py computes it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class WindowSignal(BaseModel):
    """One sustained (or candidate) deviation in one source."""

    name: str
    family: str  # independence class: two signals of one family never corroborate each other
    onset: datetime
    end: datetime | None = None  # back to baseline (series) or None
    evidence: list[str] = Field(default_factory=list)
    detail: str = ""
    sustained: bool = True
    strong: bool = False  # sustained for signals.STRONG_POINTS points or more
    resolution_s: float = 60.0  # sampling interval: how precisely the onset is known
    baseline: float | None = None
    peak: float | None = None
    peak_at: datetime | None = None
    level: str | None = None  # a single record's level (warning | error | critical)


class Precursor(BaseModel):
    at: datetime
    signal: str
    evidence: list[str] = Field(default_factory=list)
    why: str = ""


class IncidentWindow(BaseModel):
    onset: datetime | None = None
    onset_uncertainty_s: float | None = None
    end: datetime | None = None
    onset_evidence: list[str] = Field(default_factory=list)
    corroborating: list[WindowSignal] = Field(default_factory=list)  # onset signal first
    precursors: list[Precursor] = Field(default_factory=list)
    signals: list[WindowSignal] = Field(default_factory=list)  # every sustained signal seen
    method: str = ""
    end_basis: str = ""  # "series back in band" | "page resolved" | "" (open)

    def evidence_ids(self) -> list[str]:
        """Onset evidence first, then one id per corroborating signal."""
        out = list(self.onset_evidence)
        for s in self.corroborating:
            for i in s.evidence[:1]:
                if i not in out:
                    out.append(i)
        return out
