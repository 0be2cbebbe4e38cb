"""CLI: `postmortem actions list|set|export|sync` and `postmortem follow-up INCIDENT`.

Thin: every rule lives in incidents.actions, incidents.trackers and incidents.followup, so the web
service can offer the same operations.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from incidents.cli import DB_HELP, _session, err, incident_or_exit, out

actions_app = typer.Typer(no_args_is_help=True,
                          help="Remediation actions across incidents: list, set status, export to trackers, sync back.")
STATUSES = "open, in_progress, done, verified, wont_do"


def _status(value: str):  # type: ignore[no-untyped-def]
    from incidents.models import ActionStatus

    try:
        return ActionStatus(value.strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        err.print(f"[bold red]error:[/] unknown status {escape(value)!r}; use one of: {STATUSES}")
        raise typer.Exit(2)


def _tracker(value: str) -> str:
    from incidents.trackers import TRACKERS

    if value not in TRACKERS:
        err.print(f"[bold red]error:[/] unknown tracker {escape(value)!r}; use one of: {', '.join(TRACKERS)}")
        raise typer.Exit(2)
    return value


@actions_app.command("list")
def list_cmd(
    ctx: typer.Context,
    overdue: bool = typer.Option(False, "--overdue", help="Only actions past their due date and not closed"),
    owner: Optional[str] = typer.Option(None, "--owner", help="Only owners containing this text (case-insensitive)"),
    status: Optional[str] = typer.Option(None, "--status", help=f"Only this status ({STATUSES})"),
    incident: Optional[int] = typer.Option(None, "--incident", help="Only this incident's actions"),
    today: Optional[str] = typer.Option(None, "--today", help="Date that decides overdue (YYYY-MM-DD; default today)"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table"),
) -> None:
    """List actions, soonest due first, with overdue ones marked."""
    from incidents.actions import list_actions

    day = _day(today)
    with _session(ctx, db) as session:
        rows = list_actions(session, day, overdue=overdue, owner=owner, incident_id=incident,
                            status=_status(status) if status else None)
    if as_json:
        for r in rows:
            print(r.model_dump_json())
        return
    t = Table("incident", "id", "status", "due", "owner", "action")
    for r in rows:
        due = (r.due.isoformat() if r.due else "-") + (" [bold red]OVERDUE[/]" if r.overdue else "")
        t.add_row(str(r.incident_id), r.key, r.status.value, due, escape(r.owner or "-"), escape(r.action[:80]))
    out.print(t)
    out.print(f"{len(rows)} action(s); {sum(r.overdue for r in rows)} overdue on {day.isoformat()}")


def _day(value: Optional[str]) -> date:
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        err.print(f"[bold red]error:[/] {escape(value)!r} is not a date; use YYYY-MM-DD")
        raise typer.Exit(2)


@actions_app.command("set")
def set_cmd(
    ctx: typer.Context,
    incident: int = typer.Argument(..., help="Incident id (see `postmortem incidents list`)"),
    key: str = typer.Argument(..., help="Action id in that incident, e.g. AI-001"),
    status: str = typer.Argument(..., help=STATUSES),
    evidence: Optional[str] = typer.Option(None, "--evidence", help="What showed the action works (needed for verified)"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Move one action to a new status."""
    from incidents.actions import ActionProblem, set_status

    new = _status(status)
    with _session(ctx, db) as session:
        try:
            row = set_status(session, incident, key, new, evidence=evidence)
        except ActionProblem as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}")
            raise typer.Exit(1)
        session.commit()
        out.print(f"incident {incident} {row.action_key}: {row.status.value}")


@actions_app.command("export")
def export_cmd(
    ctx: typer.Context,
    tracker: str = typer.Option(..., "--tracker", help="github, jira or linear"),
    output: Path = typer.Option(..., "-o", "--output", help="Folder to write the import files into"),
    incident: Optional[int] = typer.Option(None, "--incident", help="Only this incident's actions"),
    include_closed: bool = typer.Option(False, "--include-closed", help="Also export done/verified/won't-do actions"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Write the actions in a tracker's import format (titles carry [PM-<incident>/<id>] for `sync`)."""
    from incidents.actions import CLOSED, list_actions
    from incidents.trackers import export

    name = _tracker(tracker)
    with _session(ctx, db) as session:
        rows = [r for r in list_actions(session, date.today(), incident_id=incident)
                if include_closed or r.status not in CLOSED]
    output.mkdir(parents=True, exist_ok=True)
    for file_name, content in export(name, rows).items():  # type: ignore[arg-type]
        (output / file_name).write_text(content, encoding="utf-8")
        out.print(f"wrote {escape(str(output / file_name))}")
    out.print(f"{len(rows)} action(s) exported for {name}")


@actions_app.command("sync")
def sync_cmd(
    ctx: typer.Context,
    tracker: str = typer.Option(..., "--tracker", help="github, jira or linear"),
    export_file: Path = typer.Argument(..., help="The tracker's export: gh issue list --json JSON, or the Jira/Linear CSV"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Read action status back from a tracker's export; `verified` is never set this way (it needs evidence)."""
    from incidents.actions import ActionProblem, set_status
    from incidents.trackers import read_back

    name = _tracker(tracker)
    try:
        updates = read_back(name, export_file.read_text(encoding="utf-8-sig"))  # type: ignore[arg-type]
    except (OSError, ValueError) as exc:
        err.print(f"[bold red]error:[/] cannot read {escape(str(export_file))}: {escape(str(exc))}")
        raise typer.Exit(2)
    applied = 0
    with _session(ctx, db) as session:
        for u in updates:
            try:
                set_status(session, u.incident_id, u.key, u.status, tracker_ref=u.tracker_ref)
                applied += 1
            except ActionProblem as exc:
                err.print(f"[yellow]skipped:[/] {escape(str(exc))}")
        session.commit()
    out.print(f"{applied} of {len(updates)} action(s) updated from {name}")


def follow_up_cmd(
    ctx: typer.Context,
    incident: int = typer.Argument(..., help="Incident id (see `postmortem incidents list`)"),
    ics: Optional[Path] = typer.Option(None, "--ics", help="Also write the follow-up review as a calendar file"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="The checklist as JSON"),
) -> None:
    """The follow-up review of one incident: each action with how its verification will be checked."""
    from incidents.followup import ReviewItem, checklist, review_ics

    with _session(ctx, db) as session:
        inc = incident_or_exit(session, incident)
        items = [ReviewItem(key=a.action_key, action=a.action, owner=a.owner, due=a.due,
                            verification=a.verification, status=a.status.value)
                 for a in sorted(inc.actions, key=lambda a: a.action_key)]
        title, day, stamp = inc.title, inc.follow_up_review, inc.postmortem_date or inc.incident_date
    if as_json:
        print(json.dumps({"incident": incident, "title": title,
                          "follow_up_review": day.isoformat() if day else None,
                          "actions": [i.model_dump(mode="json") for i in items]}, indent=2))
    else:
        out.print(f"[bold]Follow-up review of #{incident} {escape(title)}[/] on {day.isoformat() if day else 'no date set'}")
        for line in checklist(items):
            out.print(f"- {escape(line)}")
    if ics is not None:
        if day is None:
            err.print("[bold red]error:[/] this incident has no follow-up review date, so no calendar file was written")
            raise typer.Exit(1)
        ics.write_bytes(review_ics(title, day, f"follow-up-{incident}@postmortem-lead", stamp or day, items))
        out.print(f"wrote {escape(str(ics))}")
