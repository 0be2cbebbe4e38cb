"""`postmortem` command line: ingest, draft, validate (and more as they land).

Typer for the CLI (typed options, help text for free) and rich for progress and tables.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from agent.state import STAGES

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Blameless post-incident reviews of AI/ML incidents.")
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)

DEFAULT_WORKDIR = Path(".postmortem")


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


@app.command()
def ingest(
    path: Path = typer.Argument(..., help="Incident dump: directory, file, .zip or .tar.gz"),
    as_json: bool = typer.Option(False, "--json", help="Print the inventory as JSON"),
    workdir: Path = typer.Option(DEFAULT_WORKDIR, help="Where the evidence store is written"),
    repo: Optional[Path] = typer.Option(None, help="A git repository outside the dump"),
) -> None:
    """Read a dump and print its inventory: sources, records, malformed lines, redactions, gaps."""
    store, inv = _ingest_store(path, workdir, repo, quiet=as_json)
    store.close()
    if as_json:
        print(inv.model_dump_json(indent=2))
        return
    _print_inventory(inv)


def _ingest_store(path: Path, workdir: Path, repo: Optional[Path], quiet: bool):  # type: ignore[no-untyped-def]
    """Ingest `path` into a fresh store under the workdir; (open store, inventory)."""
    from tools.ingest import ingest_to_path
    from tools.workdir_lock import WorkdirBusy

    if not path.exists():
        _fail(f"{path} does not exist. Pass the incident dump directory, file or archive.")
    base = workdir / "ingest" / (path.resolve().name or "dump")
    try:
        with _ingest_progress(disabled=quiet) as progress:
            return ingest_to_path(path, base / "evidence.db", workdir=base / "extracted", repo=repo,
                                  progress=progress)
    except WorkdirBusy as exc:
        _fail(str(exc), 1)
        raise  # unreachable: _fail exits


@app.command()
def export(
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
        _fail(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    store, inv = _ingest_store(path, workdir, repo, quiet=False)
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
) -> None:
    """Draft a blameless postmortem from an incident dump (offline engine unless an LLM is configured)."""
    from agent.runner import RunError, run_draft

    engine = _engine(llm)
    today = _parse_date(postmortem_date)
    if path is None and resume is None:
        _fail("give an incident dump path, or --resume RUN_ID")

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
            _fail(f"{path} not found: give the path of an incident dump (a folder, file, .zip or .tar.gz).", 1)
        run_id = new_run_id(path, today or date.today())
        err.print(f"run [bold]{escape(run_id)}[/] (if interrupted: postmortem draft --resume {escape(run_id)})")
    elif not _known_run(workdir, resume):
        # Checked before the run lock below, which creates the run folder.
        _fail(f"No run with id {resume!r} in {workdir}; check the id printed when the run started "
              "and --workdir.", 1)
    from tools.workdir_lock import WorkdirBusy, WorkdirLock

    assert run_id is not None
    try:
        # One process per run: two `--resume` of the same run would rebuild one store together.
        with WorkdirLock(workdir / "runs" / run_id), _ingest_progress(disabled=False) as progress:
            result = run_draft(path, base=workdir, run_id=run_id, resume=resume is not None, repo=repo,
                               today=today, engine=engine, names_opt_in=names, max_repairs=max_repairs,
                               strict=strict, on_stage=on_stage, on_ingest_progress=progress)
    except (RunError, WorkdirBusy) as exc:
        _fail(str(exc), 1)
        return
    from agent.render import render_json

    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(result.markdown, encoding="utf-8")
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(render_json(result.report), encoding="utf-8")
    if not output:
        sys.stdout.write(result.markdown)
    v = result.report.validation
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
        _fail(f"--date must be YYYY-MM-DD, got {value!r}")
    return None


def _engine(llm: str):  # type: ignore[no-untyped-def]
    from agent.engine import OfflineEngine

    if llm not in ("auto", "offline", "openai"):
        _fail("--llm must be offline, openai or auto")
    if llm == "offline":
        return OfflineEngine()
    try:
        from agent.llm import LLMConfig
        from agent.llm_engine import LLMEngine
    except ImportError:
        if llm == "openai":
            _fail("the LLM engine is not available in this build; use --llm offline")
        return OfflineEngine()
    cfg = LLMConfig.from_env()
    if not cfg.is_configured():
        if llm == "openai":
            _fail("no LLM configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for a local server) "
                  "and POSTMORTEM_MODEL, or use --llm offline")
        return OfflineEngine()
    return LLMEngine(cfg)


@app.command()
def validate(
    report: Path = typer.Argument(..., help="A Markdown postmortem (ours or anyone's)"),
    evidence: Optional[Path] = typer.Option(None, help="Incident dump, to check grounding"),
    fmt: str = typer.Option("text", "--format", help="text | json"),
    names: bool = typer.Option(False, "--names", help="Names are allowed (team opted in)"),
    workdir: Path = typer.Option(DEFAULT_WORKDIR, help="Where the evidence store is written"),
) -> None:
    """Lint a postmortem against the hard rules. Exit 0: no errors, 1: errors, 2: unusable input."""
    from agent.validators import validate_markdown

    if not report.is_file():
        _fail(f"{report} is not a file")
    try:
        md = report.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        _fail(f"cannot read {report}: {exc}")
        return
    if not md.strip():
        _fail(f"{report} is empty")
    store = None
    if evidence is not None:
        from tools.ingest import ingest_to_path
        from tools.workdir_lock import WorkdirBusy

        if not evidence.exists():
            _fail(f"{evidence} does not exist")
        base = workdir / "validate" / (evidence.resolve().name or "dump")
        try:
            store, _ = ingest_to_path(evidence, base / "evidence.db", workdir=base / "extracted")
        except WorkdirBusy as exc:
            _fail(str(exc), 1)
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

    engine = _engine(llm)
    today = _parse_date(postmortem_date) or date.today()
    code = run_chat(path, session, workdir, engine, today, names, output, out, err)
    if code:
        raise typer.Exit(code)


@app.command("eval")
def eval_cmd(
    dataset: Optional[Path] = typer.Option(None, help="Dataset directory (default: evals/dataset), or a folder of NAME.tar.gz + NAME.truth.json answer keys"),
    llm: str = typer.Option("offline", help="offline | openai"),
    model: Optional[str] = typer.Option(None, help="Model name for --llm openai (POSTMORTEM_MODEL)"),
    repeat: int = typer.Option(1, min=1, help="Runs per case; mean and spread are reported"),
    case: Optional[list[str]] = typer.Option(None, help="Only these cases (repeatable)"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write results JSON here"),
    compare: Optional[list[Path]] = typer.Option(None, help="Compare two results files: --compare a.json --compare b.json"),
    gate_baseline: bool = typer.Option(False, "--gate", help="Fail (exit 1) on a regression against evals/baseline.json"),
) -> None:
    """Run the eval dataset, print per-case and total scores, write JSON results."""
    from evals.run import EvalResult, compare as compare_runs, gate, run_eval
    from evals.ground_truth import DATASET_DIR

    if compare:
        if len(compare) != 2:
            _fail("--compare takes exactly two results files")
        a, b = (EvalResult.model_validate_json(p.read_text(encoding="utf-8")) for p in compare)
        t = Table(title=f"{compare[0].name} vs {compare[1].name}")
        for col in ("metric", "a", "b", "delta"):
            t.add_column(col)
        for key, x, y, dlt in compare_runs(a, b):
            t.add_row(key, _num(x), _num(y), _num(dlt))
        out.print(t)
        return
    if model:
        import os

        os.environ["POSTMORTEM_MODEL"] = model
    engine = _engine(llm)
    from evals.devset import is_devset

    if dataset is not None and is_devset(dataset):
        # A folder of NAME.tar.gz + NAME.truth.json pairs (answer keys): scored by evals/devset.py.
        if gate_baseline or repeat > 1:
            _fail("--gate and --repeat apply to the generated dataset, not to answer-key folders")
        _eval_devset(dataset, engine, case, output)
        return

    def show(s) -> None:  # type: ignore[no-untyped-def]
        err.print(f"  {s.case}: recall {s.timeline_recall:.2f}, trigger@1 {_num(s.trigger_rank1)}, "
                  f"severity {'ok' if s.severity_ok else 'MISS'}, traps {len(s.trap_violations)}")

    result = run_eval(engine, dataset=dataset or DATASET_DIR, repeat=repeat, model=model or "",
                      only=case, on_case=show)
    t = Table(title=f"Eval ({result.engine}{', ' + result.model if result.model else ''})")
    cols = ("case", "tl recall", "tl prec", "trig@1", "trig@3", "detect err s", "impact", "fm recall",
            "sev", "review", "actions", "valid", "traps")
    for c in cols:
        t.add_column(c)
    for s in result.cases:
        t.add_row(s.case, _num(s.timeline_recall), _num(s.timeline_precision), _num(s.trigger_rank1),
                  _num(s.trigger_rank3), _num(s.detection_time_error_s), _num(s.impact_within_tol),
                  _num(s.failure_category_recall), "ok" if s.severity_ok else "miss",
                  "ok" if s.review_type_ok else "miss", _num(s.factors_addressed),
                  "pass" if s.validator_passed else "fail", str(len(s.trap_violations)))
    out.print(t)
    tt = Table(title="Totals (mean over cases" + (f", {repeat} repeats" if repeat > 1 else "") + ")")
    tt.add_column("metric")
    tt.add_column("value")
    tt.add_column("spread")
    for k, v in result.totals.items():
        tt.add_row(k, _num(v), _num(result.spread.get(k)) if result.spread else "")
    out.print(tt)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(result.model_dump_json(indent=2), encoding="utf-8")
        err.print(f"results written to {output}")
    if gate_baseline:
        failures = gate(result)
        for f in failures:
            err.print(f"[red]regression:[/] {f}")
        if failures:
            raise typer.Exit(1)
        err.print("[green]no regression against evals/baseline.json[/]")


def _eval_devset(dataset: Path, engine, only: Optional[list[str]], output: Optional[Path]) -> None:  # type: ignore[no-untyped-def]
    """Draft every archive of an answer-key folder, print a per-dump table and the means."""
    from evals.devset import run_devset

    def show(s) -> None:  # type: ignore[no-untyped-def]
        err.print(f"  {s.dump}: recall {_num(s.timeline_recall)}, trigger@1 {_num(s.trigger_rank1)}, "
                  f"traps {len(s.trap_violations)}" + (f", draft failed: {s.error}" if s.error else ""))

    result = run_devset(dataset, engine, only=only, on_dump=show)
    t = Table(title=f"Answer-key eval ({result.engine}): {dataset}")
    cols = ("dump", "tl recall", "trig@1", "trig@3", "sev", "review", "win start err s", "win end err s",
            "detect err s", "fm recall", "root cause", "factors", "traps")
    for c in cols:
        t.add_column(c)
    for s in result.dumps:
        t.add_row(s.dump, f"{_num(s.timeline_recall)} ({s.events_found}/{s.events_total})",
                  _num(s.trigger_rank1), _num(s.trigger_rank3), _ok(s.severity_ok), _ok(s.review_type_ok),
                  _num(s.window_start_error_s), _num(s.window_end_error_s), _num(s.detection_time_error_s),
                  _num(s.failure_mode_recall), _num(s.root_cause_hit), _num(s.factor_recall),
                  str(len(s.trap_violations)) if not s.error else "draft failed")
    out.print(t)
    tt = Table(title="Means over dumps")
    tt.add_column("metric")
    tt.add_column("value")
    for k, v in result.totals.items():
        tt.add_row(k, _num(v))
    out.print(tt)
    for s in result.dumps:
        for v in s.trap_violations:
            err.print(f"[red]trap:[/] {s.dump}: {v}")
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(result.model_dump_json(indent=2), encoding="utf-8")
        err.print(f"results written to {output}")


def _ok(v: bool | None) -> str:
    return "-" if v is None else ("ok" if v else "miss")


def _num(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)


# The incident database (issue 19): `incidents import|list|show` and `similar`.
from incidents.cli import incidents_app, similar as _similar  # noqa: E402

app.add_typer(incidents_app, name="incidents")
app.command("similar")(_similar)

from service.cli import serve as _serve, users_app  # noqa: E402

app.command("serve")(_serve)
app.add_typer(users_app, name="users")


if __name__ == "__main__":  # pragma: no cover
    app()
