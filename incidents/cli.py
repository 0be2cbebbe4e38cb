"""CLI: `postmortem incidents import|list|show` and `postmortem similar` (composed into `postmortem` by cli/main.py).

Heavy imports (SQLAlchemy, Alembic) happen inside the commands so the rest of the CLI starts fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Protocol

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

incidents_app = typer.Typer(no_args_is_help=True, help="The incident database: import, list, show.")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
DB_HELP = "Database: a SQLite file path or a postgresql:// URL (default: $POSTMORTEM_DB, else a file in the user data folder)"
_QUERY_TEXT_LIMIT = 256 * 1024


class _Configured(Protocol):
    """What these commands read of the CLI's settings (agent.config.Settings, a layer above)."""

    db: str | None


def _session(ctx: typer.Context, db: Optional[str]):  # type: ignore[no-untyped-def]
    """`--db`, else POSTMORTEM_DB as read once by the CLI into `ctx.obj`, else the default file."""
    from incidents.db import open_db

    settings: _Configured | None = ctx.obj
    try:
        return open_db(db or (settings.db if settings is not None else None))()
    except Exception as exc:  # unreachable server, bad URL: one clear line, no traceback
        err.print(f"[bold red]error:[/] cannot open the incident database: {escape(str(exc).splitlines()[0])}")
        raise typer.Exit(2)


def incident_or_exit(session: Any, incident_id: int) -> Any:
    """The incident with its tags and actions, or a one-line error and exit 1 (every command that
    takes an incident id)."""
    from incidents.similar import load_incident

    inc = load_incident(session, incident_id)
    if inc is None:
        err.print(f"[bold red]error:[/] no incident {incident_id}; `postmortem incidents list` shows the ids")
        raise typer.Exit(1)
    return inc


@incidents_app.command("import")
def import_cmd(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Report .json, Markdown postmortems, folders of them, "
                                                 "or a Post-mortems-Analysis checkout / anomaly_collection"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Import postmortems; an entry already imported (same source and key) is replaced."""
    from incidents.importers import ImportProblem, import_path
    from incidents.store import save

    done = problems = 0
    with _session(ctx, db) as session:
        for path in paths:
            if not path.exists():
                err.print(f"[red]missing:[/] {escape(str(path))}")
                problems += 1
                continue
            for item in import_path(path):
                if isinstance(item, ImportProblem):
                    err.print(f"[yellow]skipped:[/] {escape(item.where)}: {escape(item.reason)}")
                    problems += 1
                    continue
                save(session, item)
                done += 1
        session.commit()
    out.print(f"imported {done} incident(s); {problems} problem(s)")
    if problems and not done:
        raise typer.Exit(1)


@incidents_app.command("list")
def list_cmd(
    ctx: typer.Context,
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
    source: Optional[str] = typer.Option(None, help="Only this source (report-json, markdown, pma-corpus)"),
    limit: int = typer.Option(50, help="At most this many rows"),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table"),
) -> None:
    """List stored incidents, newest first."""
    from sqlalchemy import func, select

    from incidents.models import Incident

    with _session(ctx, db) as session:
        q = select(Incident).order_by(Incident.incident_date.desc().nulls_last(), Incident.id.desc()).limit(limit)
        if source:
            q = q.where(Incident.source == source)
        rows = session.scalars(q).all()
        total = session.scalar(select(func.count()).select_from(Incident))
    if as_json:
        for r in rows:
            print(json.dumps({"id": r.id, "source": r.source, "ref": r.source_ref, "title": r.title,
                              "date": r.incident_date.isoformat() if r.incident_date else None,
                              "severity": r.severity}))
        return
    t = Table("id", "date", "sev", "source", "title")
    for r in rows:
        t.add_row(str(r.id), r.incident_date.isoformat() if r.incident_date else "-", r.severity or "-",
                  r.source, escape(r.title[:90]))
    out.print(t)
    out.print(f"{len(rows)} of {total} incident(s)")


@incidents_app.command("show")
def show_cmd(
    ctx: typer.Context,
    incident_id: int = typer.Argument(..., help="Incident id (see `postmortem incidents list`)"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="All stored fields as JSON"),
) -> None:
    """Show one incident: fields, tags and actions."""
    with _session(ctx, db) as session:
        data = _incident_dict(incident_or_exit(session, incident_id))
    if as_json:
        print(json.dumps(data, indent=2, default=str))
        return
    out.print(f"[bold]#{data['id']} {escape(data['title'])}[/]  ({data['source']}: {escape(data['source_ref'])})")
    for k in ("incident_date", "severity", "detection_method", "trigger_kind", "trigger_ref", "ttd_s", "ttr_s"):
        if data.get(k) is not None:
            out.print(f"{k}: {escape(str(data[k]))}")
    for kind, values in data["tags"].items():
        out.print(f"{kind}: {escape(', '.join(values))}")
    if data["summary"]:
        out.print(escape(data["summary"][:2000]))
    for a in data["actions"]:
        out.print(f"- {a['key']} [{a['status']}] {escape(a['action'])} (owner: {escape(str(a['owner']))}, due {a['due']})")


def _incident_dict(inc: Any) -> dict[str, Any]:
    tags: dict[str, list[str]] = {}
    for t in inc.tags:
        tags.setdefault(t.kind, []).append(t.value)
    keys = ("id", "source", "source_ref", "title", "incident_date", "severity", "summary", "detection_method",
            "trigger_kind", "trigger_ref", "ttd_s", "ttm_s", "ttr_s", "impact", "root_causes",
            "contributing_factors", "follow_up_review")
    data = {k: getattr(inc, k) for k in keys}
    data["tags"] = tags
    data["actions"] = [{"key": a.action_key, "action": a.action, "owner": a.owner, "due": a.due,
                        "status": a.status.value, "verification": a.verification} for a in inc.actions]
    return data


def _query_for(target: str) -> Any:
    """A report (.json/.md), a dump folder (its text files), or literal text."""
    from incidents.importers import from_markdown
    from incidents.similar import Query, query_from_report

    p = Path(target)
    if p.is_file() and p.suffix.lower() == ".json":
        try:
            return query_from_report(json.loads(p.read_text(encoding="utf-8", errors="replace")))
        except (json.JSONDecodeError, AttributeError) as exc:
            err.print(f"[bold red]error:[/] {escape(str(p))} is not a report JSON: {escape(str(exc))}")
            raise typer.Exit(2)
    if p.is_file():
        rec = from_markdown(p.read_text(encoding="utf-8", errors="replace"), p.name)
        return Query(text=f"{rec.title}\n{rec.summary}\n{rec.body}"[:_QUERY_TEXT_LIMIT], tags=rec.tags)
    if p.is_dir():
        return Query(text=_dump_text(p))
    return Query(text=target)


def _dump_text(root: Path) -> str:
    # Without a draft, a dump's prose (notes, chat, manifests) is the best description of it.
    parts: list[str] = []
    size = 0
    for f in sorted(root.rglob("*")):
        if f.is_file() and f.suffix.lower() in (".md", ".txt", ".yaml", ".yml", ".json") and size < _QUERY_TEXT_LIMIT:
            chunk = f.read_text(encoding="utf-8", errors="replace")[: _QUERY_TEXT_LIMIT - size]
            parts.append(chunk)
            size += len(chunk)
    return "\n".join(parts)


def similar(
    ctx: typer.Context,
    target: str = typer.Argument(..., help='A report (.json or .md), an incident dump folder, or "free text"'),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
    k: int = typer.Option(5, "-k", help="How many incidents"),
    no_embeddings: bool = typer.Option(False, "--no-embeddings", help="Full text and structure only"),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table"),
) -> None:
    """Past incidents most similar to a report, a dump or a text (hybrid search)."""
    from incidents.similar import search

    query = _query_for(target)
    with _session(ctx, db) as session:
        res = search(session, query, k=k, use_embeddings=False if no_embeddings else None)
    if as_json:
        print(json.dumps({"rankers": res.rankers, "note": res.note,
                          "hits": [h.model_dump() for h in res.hits]}, indent=2))
        return
    if res.note:
        err.print(f"[yellow]{escape(res.note)}[/]")
    t = Table("score", "id", "date", "title", "shared", title=f"rankers: {', '.join(res.rankers)}")
    for h in res.hits:
        shared = "; ".join(f"{k}: {', '.join(v)}" for k, v in h.shared.items())
        t.add_row(f"{h.score:.3f}", str(h.id), h.incident_date or "-", escape(h.title[:80]), escape(shared[:80]))
    out.print(t)


def trends_cmd(
    ctx: typer.Context,
    output: Path = typer.Option(Path("trends.html"), "-o", "--output", help="HTML file to write"),
    since: Optional[str] = typer.Option(None, "--since", help="Only incidents on or after this date (YYYY-MM-DD)"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Write an HTML page of trends: incidents by month, severity and failure mode, TTD/TTR,
    recurring contributing factors, action completion and overdue counts."""
    from datetime import date

    from incidents.trends import compute, render_html

    try:
        start = date.fromisoformat(since) if since else None
    except ValueError:
        err.print(f"[bold red]error:[/] --since {escape(since or '')!r} is not a date; use YYYY-MM-DD")
        raise typer.Exit(2)
    today = date.today()
    with _session(ctx, db) as session:
        t = compute(session, today, start)
    output.write_text(render_html(t, today), encoding="utf-8")
    out.print(f"wrote {escape(str(output))}: {t.incidents} incident(s), {t.actions_overdue} overdue action(s)")
