"""The incident window and its failure-mode scan: what the timeline stage computes once per draft
and the analysis carries on (through the graph state), so neither is computed twice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from agent.offline.taxonomy import ModeScan, scan_window
from agent.offline.window import IncidentWindow, compute_window
from tools.store.reader import EvidenceReader

if TYPE_CHECKING:
    from agent.model import Scope


class WindowFacts(BaseModel):
    """The incident window (onset, end, corroboration) and the failure-mode scores of the evidence
    inside the draft's time bounds (the change ranking takes its modes, the classification adds
    the top trigger on top of it)."""

    window: IncidentWindow
    modes: ModeScan


def window_facts(store: EvidenceReader, scope: Scope) -> WindowFacts:
    from agent.offline.timeline import incident_window  # the timeline module imports this one

    start, end = incident_window(scope, store)
    return WindowFacts(window=compute_window(store, scope), modes=scan_window(store, start, end))
