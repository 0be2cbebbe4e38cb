"""The agent's commands of `postmortem`: ingest, export, draft, validate, chat (cli/main.py composes
them with `eval` and the incident database into the console script).

Typer for the CLI (typed options, help text for free) and rich for progress and tables. Settings
come from `ctx.obj` (read once by cli/main.py) with this command's flags on top.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.markup import escape

from agent import cli_views as views
from agent.cli_views import err, fail, out
from agent.config import DEFAULT_WORKDIR, EngineChoice, Settings

if TYPE_CHECKING:
    from agent.engine import Engine

__all__ = ["app", "engine_for", "err", "fail", "out", "settings_of"]

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Blameless post-incident reviews of AI/ML incidents.")


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
    views.print_inventory(inv)


def _ingest_store(path: Path, settings: Settings, repo: Optional[Path], quiet: bool):  # type: ignore[no-untyped-def]
    """Ingest `path` into a fresh store under the workdir; (open store, inventory)."""
    from tools.ingest import ingest_to_path
    from tools.workdir_lock import WorkdirBusy

    if not path.exists():
        fail(f"{path} does not exist. Pass the incident dump directory, file or archive.")
    base = settings.workdir / "ingest" / (path.resolve().name or "dump")
    try:
        with views.IngestProgress(disabled=quiet) as progress:
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
    err.print(f"ingested {inv.total_records} records from {path}" + views.coverage_phrase(inv), markup=False)
    try:
        with views.ExportProgress() as progress:
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
    from agent.runner import RunError, known_run, run_draft

    settings = settings_of(ctx, workdir=workdir, llm=_engine_choice(llm), max_repairs=max_repairs, strict=strict)
    engine = engine_for(settings)
    today = _parse_date(postmortem_date)
    if path is None and resume is None:
        fail("give an incident dump path, or --resume RUN_ID")

    run_id = resume
    if resume is None:
        from agent.runner import new_run_id

        assert path is not None
        if not path.exists():  # before the run lock below, which would create the run folder
            fail(f"{path} not found: give the path of an incident dump (a folder, file, .zip or .tar.gz).", 1)
        run_id = new_run_id(path, today or date.today())
        err.print(f"run [bold]{escape(run_id)}[/] (if interrupted: postmortem draft --resume {escape(run_id)})")
    elif not known_run(workdir, resume):
        # Checked before the run lock below, which creates the run folder.
        fail(f"No run with id {resume!r} in {workdir}; check the id printed when the run started "
              "and --workdir.", 1)
    from tools.workdir_lock import WorkdirBusy, WorkdirLock

    assert run_id is not None
    try:
        # One process per run: two `--resume` of the same run would rebuild one store together.
        with WorkdirLock(workdir / "runs" / run_id, settings.lock_wait_s), \
                views.IngestProgress(disabled=False) as progress:
            result = run_draft(path, base=workdir, run_id=run_id, resume=resume is not None, repo=repo,
                               today=today, engine=engine, names_opt_in=names, settings=settings,
                               on_stage=views.StageClock(), on_ingest_progress=progress)
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
    views.print_draft_summary(result, output)


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
        print(views.findings_json(findings))
    else:
        views.print_findings(report, findings)
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
