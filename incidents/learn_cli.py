"""CLI: `postmortem runbooks` and `postmortem gameday plan|score` (registered in cli/main.py).

Thin: runbooks are built in incidents.runbooks, scenarios planned and scored in incidents.gameday.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from incidents.cli import DB_HELP, _session, err, incident_or_exit, out

gameday_app = typer.Typer(no_args_is_help=True,
                          help="Game days from incidents: plan a staging scenario, score a game day's evidence.")
DEFAULT_WORKDIR = Path(".postmortem")
VERDICT_STYLE = {"passed": "green", "failed": "bold red", "not_checkable": "yellow"}


def runbooks_cmd(
    ctx: typer.Context,
    output: Path = typer.Option(..., "-o", "--output", help="Folder to write the runbooks into"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Write a Markdown runbook per failure mode met in the incident database (kill switch, rollback,
    bad-data quarantine: what to look at, when to decide) plus an index."""
    from incidents.runbooks import write_runbooks

    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        err.print(f"[bold red]error:[/] cannot create {escape(str(output))}: {escape(str(exc))}")
        raise typer.Exit(2)
    with _session(ctx, db) as session:
        written = write_runbooks(session, output)
    out.print(f"wrote {len(written) - 1} runbook(s) and {escape(str(written[-1]))}")


@gameday_app.command("plan")
def plan_cmd(
    ctx: typer.Context,
    incident: int = typer.Argument(..., help="Incident id (see `postmortem incidents list`)"),
    output: Path = typer.Option(..., "-o", "--output", help="Scenario file to write (YAML)"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Write a staging game-day scenario for one incident: what to inject, the detection time to
    beat, and success criteria from its actions' verification methods."""
    from incidents.gameday import plan, scenario_yaml

    with _session(ctx, db) as session:
        inc = incident_or_exit(session, incident)
        scenario = plan(inc)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(scenario_yaml(scenario), encoding="utf-8")
    out.print(f"wrote {escape(str(output))}: {len(scenario.inject)} injection(s), "
              f"{len(scenario.success_criteria)} criteria")


@gameday_app.command("score")
def score_cmd(
    ctx: typer.Context,
    scenario_file: Path = typer.Argument(..., help="Scenario YAML written by `postmortem gameday plan`"),
    dump: Path = typer.Argument(..., help="The game day's evidence: directory, file, .zip or .tar.gz"),
    workdir: Path = typer.Option(DEFAULT_WORKDIR, help="Where the evidence store is written"),
    as_json: bool = typer.Option(False, "--json", help="The results as JSON"),
) -> None:
    """Grade a game day: each criterion passed, failed or not checkable, with the record that decided it.
    Exits 1 when a criterion failed."""
    from incidents.gameday import ScenarioProblem, load_scenario, score
    from tools.ingest import ingest_to_path
    from tools.workdir_lock import WorkdirBusy

    try:
        scenario = load_scenario(scenario_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"[bold red]error:[/] cannot read {escape(str(scenario_file))}: {escape(str(exc))}")
        raise typer.Exit(2)
    except ScenarioProblem as exc:
        err.print(f"[bold red]error:[/] {escape(str(scenario_file))}: {escape(str(exc))}")
        raise typer.Exit(2)
    if not dump.exists():
        err.print(f"[bold red]error:[/] {escape(str(dump))} does not exist; pass the game day's evidence folder or archive")
        raise typer.Exit(2)
    base = workdir / "gameday" / (dump.resolve().name or "dump")
    try:
        store, inventory = ingest_to_path(dump, base / "evidence.db", workdir=base / "extracted",
                                          workers=getattr(ctx.obj, "ingest_workers", None),
                                          wait_s=getattr(ctx.obj, "lock_wait_s", None))
    except WorkdirBusy as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1)
    try:
        result = score(scenario, store, inventory)
    finally:
        store.close()
    if as_json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
    else:
        start = result.injection_start.isoformat() if result.injection_start else "unknown"
        out.print(f"[bold]Game day for incident #{scenario.incident_id}[/]: injection start {start} "
                  f"(from {escape(result.start_basis)})")
        t = Table("id", "verdict", "criterion", "evidence", "why")
        for r in result.results:
            t.add_row(r.id, f"[{VERDICT_STYLE[r.verdict]}]{r.verdict}[/]", escape(r.text[:80]),
                      escape(", ".join(r.evidence) or "-"), escape(r.reason))
        out.print(t)
        out.print(f"{result.count('passed')} passed, {result.count('failed')} failed, "
                  f"{result.count('not_checkable')} not checkable")
    if result.count("failed"):
        raise typer.Exit(1)
