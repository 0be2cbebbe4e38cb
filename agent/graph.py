"""The seven-stage postmortem as a LangGraph state machine.

scoping -> data_collection -> timeline -> analysis -> synthesis | light_synthesis -> review
review -> synthesis (repair, bounded) | close -> END

Every node is checkpointed, so an interrupted run resumes after its last finished stage.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agent.config import Settings
from agent.engine import Engine, OfflineEngine
from agent.model import Report, Validation, ValidationFinding
from agent.offline.window_facts import window_facts
from agent.render import render_markdown
from agent.state import PostmortemState
from tools.store.reader import EvidenceReader

# Test-only fault hook for crash/resume tests (the one environment read outside agent/config.py
# besides the ingest worker fault): the process exits hard when this stage is about to start.
FAULT_ENV = "POSTMORTEM_FAULT_BEFORE_STAGE"

if TYPE_CHECKING:
    from agent.facilitator.model import ChatModel


@dataclass
class Context:
    """The LangGraph runtime context: per-run configuration and services read by nodes (never
    checkpointed, so a resumed run takes the settings it is resumed with)."""

    engine: Engine = field(default_factory=OfflineEngine)
    settings: Settings = field(default_factory=Settings)
    on_stage: Callable[[str, str], None] | None = None  # (stage, "start"|"done")
    on_ingest_progress: Callable[[int, int, str], None] | None = None
    validate: Callable[[Report, EvidenceReader], list[ValidationFinding]] | None = None
    # The chat's model (its own budget), asked inside the review gates so each reply is
    # checkpointed with the remark it answers; None answers by rules only.
    facilitator: ChatModel | None = None
    _stores: dict[str, EvidenceReader] = field(default_factory=dict)

    def store(self, path: str) -> EvidenceReader:
        if path not in self._stores:
            self._stores[path] = EvidenceReader(path)
        return self._stores[path]

    def forget_store(self, path: str) -> None:
        """Close a cached store whose file is about to be replaced."""
        old = self._stores.pop(path, None)
        if old is not None:
            old.close()

    def close(self) -> None:
        for s in self._stores.values():
            s.close()
        self._stores.clear()


def _enter(stage: str, runtime: Runtime[Context]) -> None:
    if os.environ.get(FAULT_ENV) == stage:
        os._exit(70)
    if runtime.context.on_stage:
        runtime.context.on_stage(stage, "start")


def _done(stage: str, state: PostmortemState, runtime: Runtime[Context]) -> list[str]:
    if runtime.context.on_stage:
        runtime.context.on_stage(stage, "done")
    return state.completed + [stage]


def scoping(state: PostmortemState, runtime: Runtime[Context]) -> dict[str, Any]:
    _enter("scoping", runtime)
    scope = runtime.context.engine.scoping(Path(state.options.dump))
    return {"scope": scope, "completed": _done("scoping", state, runtime)}


def data_collection(state: PostmortemState, runtime: Runtime[Context]) -> dict[str, Any]:
    _enter("data_collection", runtime)
    from tools.ingest import ingest_to_path

    workdir = Path(state.options.workdir)
    store_path = workdir / "evidence.db"
    runtime.context.forget_store(str(store_path))  # a rerun replaces the file under it
    # Under the run folder's lock (re-entered when the CLI already holds it), built under a
    # temporary name and renamed once finalized: a crash or kill mid-ingest leaves no
    # evidence.db a resumed run or a store search would trust; resuming rebuilds it.
    store, inventory = ingest_to_path(
        Path(state.options.dump), store_path, workdir=workdir / "extracted",
        repo=Path(state.options.repo) if state.options.repo else None,
        progress=runtime.context.on_ingest_progress,
        workers=runtime.context.settings.ingest_workers, wait_s=runtime.context.settings.lock_wait_s,
    )
    store.close()
    # The manifest ingest parsed (also one inside an archive) is the one the analysis scopes by.
    from agent.offline.scoping import scope_after_ingest

    scope = scope_after_ingest(state.scope, inventory, Path(state.options.dump).name)
    return {"store_path": str(store_path), "inventory": inventory, "scope": scope,
            "completed": _done("data_collection", state, runtime)}


def timeline(state: PostmortemState, runtime: Runtime[Context]) -> dict[str, Any]:
    _enter("timeline", runtime)
    assert state.scope is not None
    store = runtime.context.store(state.store_path)
    # Computed here, once: the timeline is built around them and the analysis carries them on.
    facts = window_facts(store, state.scope)
    events = runtime.context.engine.timeline(store, state.scope, facts)
    return {"timeline": events, "window_facts": facts, "completed": _done("timeline", state, runtime)}


def analysis(state: PostmortemState, runtime: Runtime[Context]) -> dict[str, Any]:
    _enter("analysis", runtime)
    assert state.scope is not None
    result = runtime.context.engine.analysis(
        runtime.context.store(state.store_path), state.scope, state.timeline, state.window_facts
    )
    return {"analysis": result, "completed": _done("analysis", state, runtime)}


def route_review_depth(state: PostmortemState) -> Literal["synthesis", "light_synthesis"]:
    """Hard rule 11: minor incidents get the lighter review."""
    assert state.analysis is not None
    return "light_synthesis" if state.analysis.review_type == "light" else "synthesis"


def _synthesize(state: PostmortemState, runtime: Runtime[Context], stage: str) -> dict[str, Any]:
    _enter(stage, runtime)
    assert state.scope is not None and state.analysis is not None
    engine = runtime.context.engine
    if state.report is not None and state.findings:
        # Repair round: feed the validator findings back rather than starting over.
        report = engine.repair(state.report, state.findings, runtime.context.store(state.store_path))
    else:
        report = engine.synthesis(state.scope, state.inventory, state.timeline, state.analysis,
                                  state.options.postmortem_date, state.options.names_opt_in,
                                  store=runtime.context.store(state.store_path))
    return {"report": report, "markdown": render_markdown(report),
            "completed": _done(stage, state, runtime)}


def synthesis(state: PostmortemState, runtime: Runtime[Context]) -> dict[str, Any]:
    return _synthesize(state, runtime, "synthesis")


def light_synthesis(state: PostmortemState, runtime: Runtime[Context]) -> dict[str, Any]:
    return _synthesize(state, runtime, "light_synthesis")


def review(state: PostmortemState, runtime: Runtime[Context]) -> dict[str, Any]:
    _enter("review", runtime)
    assert state.report is not None
    store = runtime.context.store(state.store_path)
    validate = runtime.context.validate or default_validate
    findings = validate(state.report, store)
    errors = [f for f in findings if f.severity == "error"]
    report = state.report.model_copy(deep=True)
    report.validation = Validation(passed=not errors, findings=findings, repair_rounds=state.repair_round)
    update: dict[str, Any] = {"findings": errors, "report": report,
                              "completed": _done("review", state, runtime)}
    if errors and state.repair_round < runtime.context.settings.max_repairs:
        update["repair_round"] = state.repair_round + 1
    else:
        update["markdown"] = render_markdown(report)
        update["findings"] = []
    return update


def default_validate(report: Report, store: EvidenceReader) -> list[ValidationFinding]:
    from agent.validators import validate_markdown
    from agent.validators.people import people

    return validate_markdown(render_markdown(report), evidence=store, report=report,
                             names=people(store), names_opt_in=report.names_opt_in)


def route_after_review(state: PostmortemState) -> Literal["synthesis", "light_synthesis", "close"]:
    if state.findings:  # errors left and repair budget remaining (review cleared them otherwise)
        assert state.analysis is not None
        return "light_synthesis" if state.analysis.review_type == "light" else "synthesis"
    return "close"


def close(state: PostmortemState, runtime: Runtime[Context]) -> dict[str, Any]:
    _enter("close", runtime)
    assert state.report is not None
    tracker = [
        {"id": a.id, "title": a.action, "owner": a.owner, "due": a.due.isoformat(),
         "verification": a.verification, "addresses": a.addresses, "priority": a.priority,
         "follow_up_review": state.report.follow_up_review.isoformat() if state.report.follow_up_review else None}
        for a in state.report.action_items
    ]
    return {"tracker_export": tracker, "completed": _done("close", state, runtime)}


# The stage nodes, shared by the draft graph and the chat graph (which adds review gates).
STAGE_NODES = {
    "scoping": scoping, "data_collection": data_collection, "timeline": timeline,
    "analysis": analysis, "synthesis": synthesis, "light_synthesis": light_synthesis,
    "review": review, "close": close,
}


def build_graph(checkpointer: BaseCheckpointSaver | None = None):  # type: ignore[no-untyped-def]
    g = StateGraph(PostmortemState, context_schema=Context)
    for name, node in STAGE_NODES.items():
        g.add_node(name, node)
    g.add_edge(START, "scoping")
    g.add_edge("scoping", "data_collection")
    g.add_edge("data_collection", "timeline")
    g.add_edge("timeline", "analysis")
    g.add_conditional_edges("analysis", route_review_depth, ["synthesis", "light_synthesis"])
    g.add_edge("synthesis", "review")
    g.add_edge("light_synthesis", "review")
    g.add_conditional_edges("review", route_after_review, ["synthesis", "light_synthesis", "close"])
    g.add_edge("close", END)
    return g.compile(checkpointer=checkpointer)
