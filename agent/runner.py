"""Run (or resume) a draft: builds the graph with a SQLite checkpointer under the user's workdir."""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
import sqlite3
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Iterator

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel

import agent.model as domain_model
import agent.offline.taxonomy as taxonomy_models
import agent.offline.window_facts as window_facts_models
import agent.state as state_models
import tools.models as evidence_models
from agent.config import Settings
from agent.engine import Engine, OfflineEngine
from agent.graph import Context, build_graph
from agent.model import Report
from agent.state import PostmortemState, RunOptions


class RunResult(BaseModel):
    run_id: str
    report: Report
    markdown: str
    completed: list[str]
    tracker_export: list[dict[str, object]]


class RunError(RuntimeError):
    """A run that cannot continue; the message says what to do."""


def _domain_modules() -> list[ModuleType]:
    """Every module of the agent.model package: its classes are what a checkpoint holds."""
    return [importlib.import_module(f"{domain_model.__name__}.{m.name}")
            for m in pkgutil.iter_modules(domain_model.__path__)]


def _model_classes() -> list[type]:
    out: list[type] = []
    # The window facts the timeline stage hands to the analysis live in the state too.
    for mod in (*_domain_modules(), state_models, evidence_models, taxonomy_models, window_facts_models):
        for obj in vars(mod).values():
            if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == mod.__name__:
                out.append(obj)
    from enum import Enum

    out += [o for o in vars(evidence_models).values() if isinstance(o, type) and issubclass(o, Enum)
            and o.__module__ == evidence_models.__name__]
    return out


def serializer() -> JsonPlusSerializer:
    """Only our own state classes may be revived from a checkpoint (no arbitrary imports)."""
    return JsonPlusSerializer(allowed_msgpack_modules=_model_classes())


@contextmanager
def checkpointer(base: Path) -> Iterator[SqliteSaver]:
    base.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(base / "checkpoints.sqlite"), check_same_thread=False)
    try:
        yield SqliteSaver(conn, serde=serializer())
    finally:
        conn.close()


def known_run(workdir: Path, run_id: str) -> bool:
    """Has `run_id` a checkpoint under `workdir`? Creates nothing; an id that is not a plain
    folder name (`..`, `a/b`) is never a run, so it cannot point the run folder elsewhere."""
    if run_id in ("", ".", "..") or any(c in run_id for c in "/\\\0"):
        return False
    if not (workdir / "checkpoints.sqlite").is_file():
        return False
    with checkpointer(workdir) as saver:
        return bool(build_graph(saver).get_state({"configurable": {"thread_id": run_id}}).values)


def new_run_id(dump: Path, today: date) -> str:
    digest = hashlib.sha1(f"{dump.resolve()}|{today}".encode()).hexdigest()[:8]
    import secrets

    return f"{dump.name[:24] or 'dump'}-{digest}-{secrets.token_hex(3)}"


def run_draft(
    dump: Path | None,
    *,
    base: Path,
    run_id: str | None = None,
    resume: bool = False,
    repo: Path | None = None,
    today: date | None = None,
    engine: Engine | None = None,
    names_opt_in: bool = False,
    settings: Settings | None = None,
    on_stage: Callable[[str, str], None] | None = None,
    on_ingest_progress: Callable[[int, int, str], None] | None = None,
    saver: BaseCheckpointSaver | None = None,
) -> RunResult:
    """`saver` replaces the SQLite checkpointer under `base` (the service passes a PostgreSQL one
    so any worker can resume a run another worker started); the caller owns its lifetime."""
    engine = engine or OfflineEngine()
    settings = settings or Settings()
    ctx = Context(engine=engine, settings=settings, on_stage=on_stage, on_ingest_progress=on_ingest_progress)
    with nullcontext(saver) if saver is not None else checkpointer(base) as active_saver:
        graph = build_graph(active_saver)
        if resume:
            if not run_id:
                raise RunError("--resume needs a run id (printed when the run started).")
            config = {"configurable": {"thread_id": run_id}}
            snap = graph.get_state(config)
            if not snap.values:
                raise RunError(f"No run with id {run_id!r} in {base}; check --workdir.")
            inp = None
        else:
            if dump is None or not dump.exists():
                raise RunError(f"Incident dump not found: {dump}. Pass a directory, file or archive.")
            today = today or date.today()
            run_id = run_id or new_run_id(dump, today)
            config = {"configurable": {"thread_id": run_id}}
            opts = RunOptions(
                dump=str(dump.resolve()), workdir=str((base / "runs" / run_id).resolve()),
                repo=str(repo.resolve()) if repo else None, postmortem_date=today, names_opt_in=names_opt_in,
            )
            inp = PostmortemState(options=opts)
        try:
            graph.invoke(inp, config, context=ctx)
        finally:
            ctx.close()
        values = graph.get_state(config).values
    state = PostmortemState.model_validate(values) if isinstance(values, dict) else values
    if state.report is None:
        raise RunError(f"Run {run_id} stopped before a report was produced; resume it with --resume {run_id}.")
    if settings.strict and not state.report.validation.passed:
        errs = [f for f in state.report.validation.findings if f.severity == "error"]
        raise RunError(
            f"Strict mode: the report still breaks {len(errs)} rule(s) after "
            f"{settings.max_repairs} repair round(s): "
            + "; ".join(f"{f.rule} (line {f.line}): {f.message}" for f in errs[:5])
        )
    return RunResult(run_id=run_id, report=state.report, markdown=state.markdown,
                     completed=state.completed, tracker_export=state.tracker_export)
