"""The `postmortem chat` terminal: banner, spinner per stage, rich Markdown with paging, resume hints.

Kept out of agent/cli.py so the command there stays a thin wrapper. Output from the dump is printed
with markup off (a file named `[red]x` must not recolour the screen); only our own labels use markup.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape

from agent.config import Settings
from agent.state import STAGES

PAGE_LINES = 60  # longer Markdown goes through the pager on a real terminal


def banner(engine: Any, model: Any) -> str:
    if model is None:
        return "[bold]postmortem chat[/] · engine [cyan]offline[/] (deterministic; no model)"
    cfg = model.config
    return (f"[bold]postmortem chat[/] · engine [cyan]{escape(engine.name)}[/] · model [cyan]{escape(cfg.model)}[/] "
            f"· endpoint [cyan]{escape(cfg.endpoint)}[/]")


class StageSpinner:
    """`Context.on_stage`: a spinner naming the stage while it runs, a tick line when it is done."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._status: Any = None

    def __call__(self, stage: str, phase: str) -> None:
        base = stage.replace("light_", "")
        label = f"stage {STAGES.index(base) + 1}/7 {stage.replace('_', ' ')}" if base in STAGES else stage
        if phase == "start":
            if self._status is None and self.console.is_terminal:
                self._status = self.console.status(f"{label} …")
                self._status.start()
            elif self._status is not None:
                self._status.update(f"{label} …")
            return
        if self._status is not None:
            self._status.stop()
            self._status = None
        self.console.print(f"[dim]✓ {escape(label)}[/]")


def markdown_printer(console: Console, pager: str = "less"):  # type: ignore[no-untyped-def]
    def show(md: str) -> None:
        doc = Markdown(md)
        if console.is_terminal and md.count("\n") > PAGE_LINES and pager != "cat":
            with console.pager(styles=True):
                console.print(doc)
        else:
            console.print(doc)
    return show


def chat_model(engine: Any, settings: Settings) -> Any:
    """The chat's own model client (separate budget), when the engine has a model configured."""
    config = getattr(engine, "config", None)
    if config is None:
        return None
    from agent.facilitator.model import ChatModel
    from agent.llm.usage import Budget

    return ChatModel(config, Budget(settings.chat_max_calls, settings.chat_max_input_tokens),
                     tracer=engine.tracer)


def run_chat(path: Path | None, session: str | None, settings: Settings, engine: Any, today: date,
             names: bool, output: Path | None, out: Console, err: Console) -> int:
    """Start or resume a session and run it in the terminal; returns the exit code."""
    from agent.chat import ChatSession, build_chat_graph, new_initial_state, run_terminal
    from agent.graph import Context
    from agent.runner import checkpointer, new_run_id

    workdir = settings.workdir
    model = chat_model(engine, settings)
    out.print(banner(engine, model))
    with checkpointer(workdir) as saver:
        graph = build_chat_graph(saver)
        ctx = Context(engine=engine, settings=settings, on_stage=StageSpinner(err), facilitator=model)
        try:
            if session:
                sess = ChatSession(graph, session, ctx, workdir)
                if not graph.get_state(sess.config).values:
                    err.print(f"[bold red]error:[/] no session {escape(session)!r} under {escape(str(workdir.resolve()))}; check --workdir")
                    return 2
                first = sess.current()
            else:
                if path is None or not path.exists():
                    err.print("[bold red]error:[/] give an incident dump path to start, or --session ID to resume")
                    return 2
                sid = new_run_id(path, today)
                sess = ChatSession(graph, sid, ctx, workdir)
                folder = output or workdir / "reports" / sid
                out.print(f"Session [bold]{escape(sid)}[/]; closing writes to {escape(str(folder.resolve()))}. "
                          f"Resume any time with: {escape(sess.resume_hint())}. Type /help.")
                first = sess.start(new_initial_state(path, workdir / "runs" / sid, today, names, folder))
            width = shutil.get_terminal_size((160, 40)).columns
            run_terminal(sess, first, read=lambda p: input(p),
                         write=lambda t: out.print(t, markup=False, highlight=False, width=max(width, 80)),
                         llm_available=model is not None,
                         show_markdown=markdown_printer(out, settings.pager), after_close=True)
            if model is not None and (model.guarded or model.failures):
                err.print(f"chat model: {len(model.guarded)} reply(ies) replaced by the guard, "
                          f"{len(model.failures)} failed call(s)", markup=False, highlight=False)
        finally:
            ctx.close()
    return 0
