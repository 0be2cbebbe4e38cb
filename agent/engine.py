"""The stage interface: each stage has an offline implementation and (optionally) an LLM one.

Nodes in the graph call `engine.<stage>(...)`; the offline engine is the default and the base class
of the LLM engine, which overrides only the stages where a model adds something code cannot.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Protocol

from agent.model import Analysis, Report, Scope, TimelineEvent, ValidationFinding
from agent.offline import analysis as offline_analysis
from agent.offline import scoping as offline_scoping
from agent.offline import synthesis as offline_synthesis
from agent.offline import timeline as offline_timeline
from agent.offline.window_facts import WindowFacts
from agent.validators.people import people
from tools.models import Inventory
from tools.store.reader import EvidenceReader


class Engine(Protocol):
    name: str

    def scoping(self, dump: Path) -> Scope: ...

    def timeline(self, store: EvidenceReader, scope: Scope, facts: WindowFacts | None = None) -> list[TimelineEvent]: ...

    def analysis(self, store: EvidenceReader, scope: Scope, timeline: list[TimelineEvent],
                 facts: WindowFacts | None = None) -> Analysis: ...

    def synthesis(self, scope: Scope, inventory: Inventory | None, timeline: list[TimelineEvent],
                  analysis: Analysis, today: date, names_opt_in: bool,
                  store: EvidenceReader | None = None) -> Report: ...

    def repair(self, report: Report, findings: list[ValidationFinding], store: EvidenceReader) -> Report: ...


class OfflineEngine:
    """Deterministic: the same dump always gives the same report."""

    name = "offline"

    def scoping(self, dump: Path) -> Scope:
        return offline_scoping.scope_from_manifest(dump)

    def timeline(self, store: EvidenceReader, scope: Scope, facts: WindowFacts | None = None) -> list[TimelineEvent]:
        return offline_timeline.build_timeline(store, scope, facts)

    def analysis(self, store: EvidenceReader, scope: Scope, timeline: list[TimelineEvent],
                 facts: WindowFacts | None = None) -> Analysis:
        return offline_analysis.analyse(store, scope, timeline, facts)

    def synthesis(self, scope: Scope, inventory: Inventory | None, timeline: list[TimelineEvent],
                  analysis: Analysis, today: date, names_opt_in: bool,
                  store: EvidenceReader | None = None) -> Report:
        return offline_synthesis.synthesize(scope, inventory, timeline, analysis, today, names_opt_in)

    def repair(self, report: Report, findings: list[ValidationFinding], store: EvidenceReader) -> Report:
        from agent.validators.repair import repair_report

        return repair_report(report, findings, names=people(store))
