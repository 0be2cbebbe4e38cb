"""Graph state: what each stage reads and writes, checkpointed after every node."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.model import Analysis, Report, Scope, TimelineEvent, ValidationFinding
from agent.offline.window_facts import WindowFacts
from tools.models import Inventory

STAGES = ("scoping", "data_collection", "timeline", "analysis", "synthesis", "review", "close")
Stage = Literal["scoping", "data_collection", "timeline", "analysis", "synthesis", "review", "close"]


class RunOptions(BaseModel):
    """What a run is about, fixed at its start and checkpointed so a resumed run renders the same
    report. Configuration (engine, repair rounds, strictness, budgets) is agent.config.Settings."""

    dump: str
    workdir: str
    repo: str | None = None
    postmortem_date: date  # fixed at run start so a resumed run renders the same report
    names_opt_in: bool = False


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
