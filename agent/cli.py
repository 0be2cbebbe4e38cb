"""The agent's commands of `postmortem`: ingest, export, draft, validate, chat (cli/main.py composes
them with `eval` and the incident database into the console script).

Typer for the CLI (typed options, help text for free) and rich for progress and tables. Settings
come from `ctx.obj` (read once by cli/main.py) with this command's flags on top.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from agent.config import DEFAULT_WORKDIR, EngineChoice, Settings
from agent.state import STAGES

if TYPE_CHECKING:
    from agent.engine import Engine

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Blameless post-incident reviews of AI/ML incidents.")
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def fail(message: str, code: int = 2) -> None:
    """One red line on stderr and the exit code; never a traceback."""
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def settings_of(ctx: typer.Context, **flags: object) -> Settings:
    """The settings cli/main.py read once, with this command's flags (None: not given) on top."""
    base = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
    return base.with_flags(**flags)


@app.command()
def ingest(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="Incident dump: directory, file, .zip or .tar.gz"),
    as_json: bool = typer.Option(False, "--json", help="Print the inventory as JSON"),
    workdir: Path = typer.Option(DEFAULT_WORKDIR, help="Where the evidence store is written"),
    repo: Optional[Path] = typer.Option(None, help="A git repository outside the dump"),
) -> None:
    """Read a dump and print its inventory: sources, records, malformed lines, redactions, gaps."""
    store, inv = _ingest_store(path, settings_of(ctx, workdir=workdir), repo, quiet=as_json)
    store.close()
    if as_json:
        print(inv.model_dump_json(indent=2))
        return
    _print_inventory(inv)


def _ingest_store(path: Path, settings: Settings, repo: Optional[Path], quiet: bool):  # type: ignore[no-untyped-def]
    """Ingest `path` into a fresh store under the workdir; (open store, inventory)."""
    from tools.ingest import ingest_to_path
    from tools.workdir_lock import WorkdirBusy

    if not path.exists():
        fail(f"{path} does not exist. Pass the incident dump directory, file or archive.")
    base = settings.workdir / "ingest" / (path.resolve().name or "dump")
    try:
        with _ingest_progress(disabled=quiet) as progress:
            return ingest_to_path(path, base / "evidence.db", workdir=base / "extracted", repo=repo,
                                  progress=progress, workers=settings.ingest_workers,
                                  wait_s=settings.lock_wait_s)
    except WorkdirBusy as exc:
        fail(str(exc), 1)
        raise  # unreachable: fail exits


@app.command()
def export(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="Incident dump: directory, file, .zip or .tar.gz"),
    workdir: Path = typer.Option(DEFAULT_WORKDIR, help="Where the evidence store is written"),
    fmt: str = typer.Option("jsonl", "--format", help="Output format (jsonl)"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write here instead of stdout"),
    repo: Optional[Path] = typer.Option(None, help="A git repository outside the dump"),
) -> None:
    """Ingest a dump and write every record, redacted, as one JSON line (id, kind, ts, ts_assumed,
    source, line, service, level, text, attrs). Records go to stdout unless -o; progress to stderr."""
    from tools.export import FORMATS, write_jsonl

    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    store, inv = _ingest_store(path, settings_of(ctx, workdir=workdir), repo, quiet=False)
    err.print(f"ingested {inv.total_records} records from {path}" + _coverage_phrase(inv), markup=False)
    try:
        with _export_progress() as progress:
            if output is None:
                n = write_jsonl(store, sys.stdout.buffer, progress)
                sys.stdout.buffer.flush()
            else:
                output.parent.mkdir(parents=True, exist_ok=True)
                with open(output, "wb") as f:
                    n = write_jsonl(store, f, progress)
    except BrokenPipeError:  # the reader of stdout stopped early (| head): not an error of ours
        sys.stderr.close()
        raise typer.Exit(0) from None
    finally:
        store.close()
    err.print(f"exported {n} records" + (f" to {output}" if output else ""), markup=False)


def _coverage_phrase(inv) -> str:  # type: ignore[no-untyped-def]
    from tools.ingest import human_bytes

    if inv.coverage is None:
        return "; no text in the dump"
    return (f"; {inv.coverage:.1%} of the dump's text became evidence "
            f"({human_bytes(inv.covered_bytes)} of {human_bytes(inv.text_bytes)})")


class _export_progress:
    def __init__(self) -> None:
        self._p = Progress(TextColumn("[bold]export"), BarColumn(), TextColumn("{task.completed}/{task.total} records"),
                           console=err, disable=not err.is_terminal, transient=True)
        self._task = None

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._p.__enter__()
        self._task = self._p.add_task("", total=None)
        return self

    def __call__(self, done: int, total: int) -> None:
        self._p.update(self._task, completed=done, total=total or None)

    def __exit__(self, *exc: object) -> None:
        self._p.__exit__(*exc)  # type: ignore[arg-type]


def _covered_cell(s) -> str:  # type: ignore[no-untyped-def]
    """Share of a source's bytes that became evidence; binary skips are outside the measure."""
    if s.binary:
        return "binary"
    if not s.bytes:
        return "-"
    return f"{s.bytes_covered / s.bytes:.0%}"


class _ingest_progress:
    def __init__(self, disabled: bool) -> None:
        self._p = Progress(TextColumn("[bold]ingest"), BarColumn(), DownloadColumn(),
                           TextColumn("{task.description}", markup=False), TimeRemainingColumn(),
                           console=err, disable=disabled or not err.is_terminal, transient=True)
        self._task = None

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._p.__enter__()
        self._task = self._p.add_task("", total=None)
        return self

    def __call__(self, done: int, total: int, current: str) -> None:
        self._p.update(self._task, completed=done, total=total or None, description=current[-40:])

    def __exit__(self, *exc: object) -> None:
        self._p.__exit__(*exc)  # type: ignore[arg-type]


def _print_inventory(inv) -> None:  # type: ignore[no-untyped-def]
    # Paths and notes come from the dump: shown as plain text, never read as Rich markup
    # (a file named `[/bold]` raised MarkupError, one named `[red]x` recoloured the table).
    t = Table(title=Text(f"Inventory of {inv.dump}"))
    for col in ("source", "kind", "records", "malformed", "lines", "cont.", "undated", "bytes", "covered",
                "first (UTC)", "last (UTC)", "note"):
        t.add_column(col)
    for s in inv.sources + inv.skipped:
        t.add_row(Text(s.path), Text(s.kind), str(s.records), str(s.malformed), str(s.lines or "-"),
                  str(s.continuation_lines or "-"), str(s.undated_lines or "-"), str(s.bytes),
                  _covered_cell(s),
                  s.first_ts.strftime("%Y-%m-%d %H:%M:%S") if s.first_ts else "-",
                  s.last_ts.strftime("%Y-%m-%d %H:%M:%S") if s.last_ts else "-", Text(s.note))
    out.print(t)
    span = (f"{inv.first_ts:%Y-%m-%d %H:%M:%S} to {inv.last_ts:%Y-%m-%d %H:%M:%S} UTC"
            if inv.first_ts and inv.last_ts else "no dated records")
    out.print(f"[bold]{inv.total_records}[/] records, [bold]{inv.total_malformed}[/] malformed; span {span}")
    out.print(f"Coverage: {inv.total_lines} lines read ({inv.total_continuation_lines} continuation, "
              f"{inv.total_undated_lines} undated){_coverage_phrase(inv)}")
    out.print("Evidence kinds: " + (", ".join(f"{k} {v}" for k, v in sorted(inv.kinds.items())) or "none"))
    out.print("Redactions: " + (", ".join(f"{k} {v}" for k, v in sorted(inv.redactions.items())) or "none"))
    out.print(f"Flagged as instruction-like (treated as data only): {len(inv.untrusted)}"
              + (f" — {', '.join(inv.untrusted[:5])}" if inv.untrusted else ""), markup=False)
    for g in inv.data_gaps:
        out.print(f"[yellow]data gap:[/] {escape(g)}")


@app.command()
def draft(
    ctx: typer.Context,
    path: Optional[Path] = typer.Argument(None, help="Incident dump (not needed with --resume)"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the Markdown report here"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the JSON report here"),
    llm: str = typer.Option("auto", help="offline | openai | auto (openai when configured)"),
    resume: Optional[str] = typer.Option(None, "--resume", help="Resume the run with this id"),
    workdir: Path = typer.Option(DEFAULT_WORKDIR, help="Checkpoints and evidence stores live here"),
    repo: Optional[Path] = typer.Option(None, help="A git repository outside the dump"),
    postmortem_date: Optional[str] = typer.Option(None, "--date", help="Postmortem date (YYYY-MM-DD); default today"),
    names: bool = typer.Option(False, "--names", help="Allow people's names in the report (team opted in)"),
    max_repairs: int = typer.Option(2, help="Validator repair rounds before emitting with findings"),
    strict: bool = typer.Option(False, help="Fail instead of emitting a report with unresolved findings"),
    appendix: bool = typer.Option(False, "--appendix", help="Add the method, full timeline and computed values "
                                                            "to the Markdown (always in the JSON report)"),
) -> None:
    """Draft a blameless postmortem from an incident dump (offline engine unless an LLM is configured)."""
    from agent.runner import RunError, run_draft

    settings = settings_of(ctx, workdir=workdir, llm=_engine_choice(llm), max_repairs=max_repairs, strict=strict)
    engine = engine_for(settings)
    today = _parse_date(postmortem_date)
    if path is None and resume is None:
        fail("give an incident dump path, or --resume RUN_ID")

    started: dict[str, float] = {}

    def on_stage(stage: str, phase: str) -> None:
        # Per-stage wall time, so a slow dump shows where the time goes.
        if phase == "start":
            started[stage] = time.perf_counter()
            idx = STAGES.index(stage.replace("light_", "")) + 1 if stage.replace("light_", "") in STAGES else 0
            err.print(f"[cyan]stage {idx}/7[/] {stage.replace('_', ' ')} ...")
        elif stage in started:
            err.print(f"          {stage.replace('_', ' ')} done in {time.perf_counter() - started.pop(stage):.1f} s")

    run_id = resume
    if resume is None:
        from agent.runner import new_run_id

        assert path is not None
        if not path.exists():  # before the run lock below, which would create the run folder
            fail(f"{path} not found: give the path of an incident dump (a folder, file, .zip or .tar.gz).", 1)
        run_id = new_run_id(path, today or date.today())
        err.print(f"run [bold]{escape(run_id)}[/] (if interrupted: postmortem draft --resume {escape(run_id)})")
    elif not _known_run(workdir, resume):
        # Checked before the run lock below, which creates the run folder.
        fail(f"No run with id {resume!r} in {workdir}; check the id printed when the run started "
              "and --workdir.", 1)
    from tools.workdir_lock import WorkdirBusy, WorkdirLock

    assert run_id is not None
    try:
        # One process per run: two `--resume` of the same run would rebuild one store together.
        with WorkdirLock(workdir / "runs" / run_id, settings.lock_wait_s), \
                _ingest_progress(disabled=False) as progress:
            result = run_draft(path, base=workdir, run_id=run_id, resume=resume is not None, repo=repo,
                               today=today, engine=engine, names_opt_in=names, settings=settings,
                               on_stage=on_stage, on_ingest_progress=progress)
    except (RunError, WorkdirBusy) as exc:
        fail(str(exc), 1)
        return
    from agent.render import render_json, render_markdown

    # The graph's Markdown is the report without appendix; the flag re-renders the same report with it.
    markdown = render_markdown(result.report, appendix=True) if appendix else result.markdown
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(markdown, encoding="utf-8")
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(render_json(result.report), encoding="utf-8")
    if not output:
        sys.stdout.write(markdown)
    v = result.report.validation
    # Findings go to the terminal and the JSON report, never into the report people read.
    for f in v.findings:
        if f.severity == "error":
            err.print(f"[red]unresolved[/] {escape(f.rule)} (line {f.line or '?'}): {escape(f.message)}")
    err.print(f"[green]run {escape(result.run_id)}[/]: {result.report.severity}, {result.report.review_type} review, "
              f"validation {'passed' if v.passed else 'FAILED'} "
              f"({len(v.findings)} finding(s), {v.repair_rounds} repair round(s))"
              + (f"; report written to {escape(str(output))}" if output else ""))


def _known_run(workdir: Path, run_id: str) -> bool:
    """Has `run_id` a checkpoint under `workdir`? Creates nothing; an id that is not a plain
    folder name (`..`, `a/b`) is never a run, so it cannot point the run folder elsewhere."""
    if run_id in ("", ".", "..") or any(c in run_id for c in "/\\\0"):
        return False
    if not (workdir / "checkpoints.sqlite").is_file():
        return False
    from agent.graph import build_graph
    from agent.runner import checkpointer

    with checkpointer(workdir) as saver:
        return bool(build_graph(saver).get_state({"configurable": {"thread_id": run_id}}).values)


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, got {value!r}")
    return None


def _engine_choice(llm: str) -> EngineChoice:
    if llm not in ("auto", "offline", "openai"):
        fail("--llm must be offline, openai or auto")
    return llm  # type: ignore[return-value]


def engine_for(settings: Settings) -> Engine:
    """The engine `settings.llm` asks for: offline, the LLM, or (auto) the LLM when one is configured."""
    from agent.engine import OfflineEngine

    if settings.llm == "offline":
        return OfflineEngine()
    try:
        from agent.llm.engine import LLMEngine
        from agent.llm.tracing import get_tracer
    except ImportError:
        if settings.llm == "openai":
            fail("the LLM engine is not available in this build; use --llm offline")
        return OfflineEngine()
    if not settings.llm_config.is_configured():
        if settings.llm == "openai":
            fail("no LLM configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for a local server) "
                 "and POSTMORTEM_MODEL, or use --llm offline")
        return OfflineEngine()
    return LLMEngine(settings.llm_config, tracer=get_tracer(settings.langfuse))


@app.command()
def validate(
    ctx: typer.Context,
    report: Path = typer.Argument(..., help="A Markdown postmortem (ours or anyone's)"),
    evidence: Optional[Path] = typer.Option(None, help="Incident dump, to check grounding"),
    fmt: str = typer.Option("text", "--format", help="text | json"),
    names: bool = typer.Option(False, "--names", help="Names are allowed (team opted in)"),
    workdir: Path = typer.Option(DEFAULT_WORKDIR, help="Where the evidence store is written"),
) -> None:
    """Lint a postmortem against the hard rules. Exit 0: no errors, 1: errors, 2: unusable input."""
    from agent.validators import validate_markdown

    if not report.is_file():
        fail(f"{report} is not a file")
    try:
        md = report.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        fail(f"cannot read {report}: {exc}")
        return
    if not md.strip():
        fail(f"{report} is empty")
    store = None
    if evidence is not None:
        from tools.ingest import ingest_to_path
        from tools.workdir_lock import WorkdirBusy

        if not evidence.exists():
            fail(f"{evidence} does not exist")
        base = workdir / "validate" / (evidence.resolve().name or "dump")
        try:
            settings = settings_of(ctx)
            store, _ = ingest_to_path(evidence, base / "evidence.db", workdir=base / "extracted",
                                      workers=settings.ingest_workers, wait_s=settings.lock_wait_s)
        except WorkdirBusy as exc:
            fail(str(exc), 1)
    findings = validate_markdown(md, evidence=store, names_opt_in=names)
    errors = [f for f in findings if f.severity == "error"]
    if fmt == "json":
        print(json.dumps([{"rule": f.rule, "severity": f.severity, "line": f.line, "text": f.text,
                           "message": f.message, "suggestion": f.suggestion} for f in findings], indent=2))
    else:
        for f in findings:
            colour = "red" if f.severity == "error" else "yellow"
            where = f"{report}:{f.line or '?'} [{f.rule}] {f.message}"
            out.print(f"[{colour}]{f.severity}[/] {escape(where)}")
            if f.suggestion:
                out.print(f"    suggestion: {f.suggestion}", markup=False)
        out.print(f"{len(errors)} error(s), {len(findings) - len(errors)} warning(s)")
    raise typer.Exit(1 if errors else 0)


@app.command()
def chat(
    ctx: typer.Context,
    path: Optional[Path] = typer.Argument(None, help="Incident dump (not needed with --session)"),
    session: Optional[str] = typer.Option(None, "--session", help="Resume this chat session"),
    workdir: Path = typer.Option(DEFAULT_WORKDIR, help="Sessions and evidence stores live here"),
    llm: str = typer.Option("auto", help="offline | openai | auto"),
    postmortem_date: Optional[str] = typer.Option(None, "--date", help="Postmortem date (YYYY-MM-DD)"),
    names: bool = typer.Option(False, "--names", help="Allow people's names (team opted in)"),
    output: Optional[Path] = typer.Option(None, "-o", "--output",
                                          help="Folder for the closing files (default: WORKDIR/reports/SESSION)"),
) -> None:
    """Run the review as a conversation with the postmortem lead (resumable by session id).
    Closing writes postmortem.md/.json, actions.csv/.json and follow-up-review.ics."""
    from agent.facilitator.terminal import run_chat

    settings = settings_of(ctx, workdir=workdir, llm=_engine_choice(llm))
    engine = engine_for(settings)
    today = _parse_date(postmortem_date) or date.today()
    code = run_chat(path, session, settings, engine, today, names, output, out, err)
    if code:
        raise typer.Exit(code)
