"""The incident database over HTTP: list and search, show, actions (list, mark done), similar
incidents, trends, report exports, and who may see a restricted incident.

Access rule, applied in one place (service.auth.deps): a restricted incident exists only for its
members and admins; for anyone else it is a 404, in single-incident routes and in every list,
search, similar and trend result alike. Every read or export of a restricted incident, and every
listing that shows one, writes an audit row.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from incidents.models import Action, ActionStatus, Incident, Tag
from incidents.similar import SimilarIncident
from service import audit
from service.auth.deps import client_address, incident_for, require_role, visible_ids_filter
from service.db import get_session
from service.errors import ApiError, error_responses
from service.models import IncidentMember, Role, User
from service.render_html import markdown_page
from service.schema import UtcDateTime

router = APIRouter(prefix="/api", tags=["incidents"])

_READ_ERRORS = error_responses(401, 403, 404)
_LIST_ERRORS = error_responses(401, 403, 422)


class IncidentSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source: str
    source_ref: str
    title: str
    incident_date: date | None
    severity: str | None
    restricted: bool


class IncidentPage(BaseModel):
    total: int
    items: list[IncidentSummary]


class ActionView(BaseModel):
    incident_id: int
    key: str
    action: str
    owner: str | None
    due: date | None
    priority: str | None
    verification: str
    addresses: list[str]
    status: ActionStatus
    verified_evidence: str | None
    status_changed_at: UtcDateTime | None


class IncidentDetail(IncidentSummary):
    started_at: UtcDateTime | None
    resolved_at: UtcDateTime | None
    postmortem_date: date | None
    follow_up_review: date | None
    summary: str
    detection_method: str | None
    trigger_kind: str | None
    trigger_ref: str | None
    ttd_s: float | None
    ttm_s: float | None
    ttr_s: float | None
    impact: dict[str, Any]
    root_causes: list[Any]
    contributing_factors: list[Any]
    tags: dict[str, list[str]]
    actions: list[ActionView]
    has_report: bool


class MarkDone(BaseModel):
    evidence: str | None = Field(default=None, max_length=4000,
                                 description="How done-ness was checked; with it the action becomes 'verified'")


class SimilarResult(BaseModel):
    items: list[SimilarIncident]
    rankers: list[str]
    note: str


class Count(BaseModel):
    value: str
    count: int


class Trends(BaseModel):
    incidents: int
    by_month: list[Count] = Field(description="Incidents per incident month (YYYY-MM); undated ones are left out")
    by_severity: list[Count]
    failure_modes: list[Count]
    services: list[Count]
    actions_by_status: list[Count]


class Members(BaseModel):
    incident_id: int
    restricted: bool
    members: list[str]


class AccessUpdate(BaseModel):
    restricted: bool
    members: list[str] = Field(default_factory=list, max_length=500,
                               description="Usernames; replaces the current member list")


def _action_view(a: Action) -> ActionView:
    return ActionView(incident_id=a.incident_id, key=a.action_key, action=a.action, owner=a.owner, due=a.due,
                      priority=a.priority, verification=a.verification, addresses=list(a.addresses or []),
                      status=a.status, verified_evidence=a.verified_evidence,
                      status_changed_at=a.status_changed_at)


def _audit_listed(session: Session, user: User, rows: list[Incident], action: str, client: str) -> None:
    for inc in rows:
        if inc.restricted:
            audit.record(session, user=user, incident_id=inc.id, action=action, outcome="granted",
                         client=client)


@router.get("/incidents", response_model=IncidentPage, responses=_LIST_ERRORS)
def list_incidents(request: Request,
                   q: str | None = Query(None, max_length=2000, description="Full-text search"),
                   source: str | None = Query(None, max_length=32),
                   limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
                   user: User = Depends(require_role(Role.viewer)),
                   session: Session = Depends(get_session)) -> IncidentPage:
    """Incidents the caller may see, newest first; with `q`, best full-text match first."""
    where = [visible_ids_filter(user)]
    if source:
        where.append(Incident.source == source)
    if q:
        from incidents.similar import fulltext_scores

        scores = fulltext_scores(session, q, limit=10_000)
        visible = set(session.scalars(select(Incident.id).where(*where, Incident.id.in_(list(scores)))))
        ranked = [i for i, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])) if i in visible]
        page_ids = ranked[offset:offset + limit]
        by_id = {i.id: i for i in session.scalars(select(Incident).where(Incident.id.in_(page_ids)))}
        rows, total = [by_id[i] for i in page_ids], len(ranked)
    else:
        total = session.scalar(select(func.count()).select_from(Incident).where(*where)) or 0
        rows = list(session.scalars(select(Incident).where(*where)
                                    .order_by(Incident.incident_date.desc().nulls_last(), Incident.id.desc())
                                    .limit(limit).offset(offset)))
    _audit_listed(session, user, rows, "list", client_address(request))
    return IncidentPage(total=total, items=[IncidentSummary.model_validate(r) for r in rows])


@router.get("/incidents/{incident_id}", response_model=IncidentDetail, responses=_READ_ERRORS)
def show_incident(incident: Incident = Depends(incident_for("read")),
                  session: Session = Depends(get_session)) -> IncidentDetail:
    tags: dict[str, list[str]] = {}
    for t in session.scalars(select(Tag).where(Tag.incident_id == incident.id).order_by(Tag.id)):
        tags.setdefault(t.kind, []).append(t.value)
    base = IncidentSummary.model_validate(incident).model_dump()
    fields = {k: getattr(incident, k) for k in IncidentDetail.model_fields
              if k not in base and k not in ("tags", "actions", "has_report")}
    return IncidentDetail(**base, **fields, tags=tags, actions=[_action_view(a) for a in incident.actions],
                          has_report=incident.report_md is not None or incident.report_json is not None)


def _no_report(incident: Incident, kind: str) -> ApiError:
    return ApiError(404, f"incident {incident.id} has no stored {kind} report",
                    "imported Markdown postmortems keep only Markdown; try report.md or GET the incident")


@router.get("/incidents/{incident_id}/report.md", response_class=Response,
            responses={**_READ_ERRORS, 200: {"content": {"text/markdown": {"schema": {"type": "string"}}},
                                             "description": "The report as Markdown"}})
def export_markdown(incident: Incident = Depends(incident_for("export.md"))) -> Response:
    if incident.report_md is None:
        raise _no_report(incident, "Markdown")
    return Response(incident.report_md, media_type="text/markdown; charset=utf-8")


@router.get("/incidents/{incident_id}/report.json", response_class=Response,
            responses={**_READ_ERRORS, 200: {"content": {"application/json": {"schema": {
                "type": "object", "description": "The report JSON as drafted (agent.render.render_json)"}}},
                "description": "The report as JSON"}})
def export_json(incident: Incident = Depends(incident_for("export.json"))) -> Response:
    if incident.report_json is None:
        raise _no_report(incident, "JSON")
    return Response(json.dumps(incident.report_json, indent=2, ensure_ascii=False),
                    media_type="application/json")


@router.get("/incidents/{incident_id}/report.html", response_class=HTMLResponse,
            responses={**_READ_ERRORS, 200: {"content": {"text/html": {"schema": {"type": "string"}}},
                                             "description": "The report as an HTML page (raw HTML escaped)"}})
def export_html(incident: Incident = Depends(incident_for("export.html"))) -> HTMLResponse:
    if incident.report_md is None:
        raise _no_report(incident, "Markdown")
    return HTMLResponse(markdown_page(incident.title, incident.report_md))


@router.get("/incidents/{incident_id}/actions", response_model=list[ActionView], responses=_READ_ERRORS)
def incident_actions(incident: Incident = Depends(incident_for("read.actions"))) -> list[ActionView]:
    return [_action_view(a) for a in incident.actions]


@router.post("/incidents/{incident_id}/actions/{key}/done", response_model=ActionView,
             responses=error_responses(401, 403, 404, 422))
def mark_action_done(key: str, body: MarkDone | None = None,
                     incident: Incident = Depends(incident_for("action.done", Role.editor)),
                     session: Session = Depends(get_session)) -> ActionView:
    """Marks a remediation done (editor); with evidence of the check it becomes `verified`.
    The status rules (and the redaction of stored evidence) are incidents.actions.set_status's,
    the same the CLI uses."""
    from incidents.actions import ActionProblem, set_status

    if not any(a.action_key == key for a in incident.actions):
        raise ApiError(404, f"incident {incident.id} has no action {key!r}",
                       f"list them with GET /api/incidents/{incident.id}/actions")
    evidence = (body.evidence or "").strip() if body else ""
    try:
        action = set_status(session, incident.id, key, ActionStatus.verified if evidence else ActionStatus.done,
                            evidence=evidence or None)
    except ActionProblem as exc:  # unreachable for these two statuses; said plainly if it ever is
        raise ApiError(422, str(exc), "send the evidence of verification") from exc
    session.commit()
    return _action_view(action)


@router.get("/actions", response_model=list[ActionView], responses=_LIST_ERRORS)
def list_actions(request: Request, status: list[ActionStatus] = Query(default_factory=lambda: [ActionStatus.open,
                                                                                               ActionStatus.in_progress]),
                 limit: int = Query(200, ge=1, le=1000),
                 user: User = Depends(require_role(Role.viewer)),
                 session: Session = Depends(get_session)) -> list[ActionView]:
    """Remediations across the incidents the caller may see (default: still open), due date first."""
    rows = list(session.scalars(
        select(Action).join(Incident).options(selectinload(Action.incident))
        .where(visible_ids_filter(user), Action.status.in_(status))
        .order_by(Action.due.asc().nulls_last(), Action.id).limit(limit)))
    incidents = {a.incident.id: a.incident for a in rows}
    _audit_listed(session, user, list(incidents.values()), "list.actions", client_address(request))
    return [_action_view(a) for a in rows]


def _invisible_ids(session: Session, user: User) -> set[int]:
    return set(session.scalars(select(Incident.id).where(~visible_ids_filter(user))))


@router.get("/incidents/{incident_id}/similar", response_model=SimilarResult, responses=_READ_ERRORS)
def similar_incidents(request: Request, k: int = Query(5, ge=1, le=50),
                      incident: Incident = Depends(incident_for("read.similar")),
                      user: User = Depends(require_role(Role.viewer)),
                      session: Session = Depends(get_session)) -> SimilarResult:
    """Past incidents most like this one, among those the caller may see."""
    from incidents.similar import Query as SimilarQuery
    from incidents.similar import query_from_report, search

    if incident.report_json:
        query = query_from_report(incident.report_json)
    else:
        tags: dict[str, list[str]] = {}
        for t in session.scalars(select(Tag).where(Tag.incident_id == incident.id)):
            tags.setdefault(t.kind, []).append(t.value)
        query = SimilarQuery(text=f"{incident.title}\n{incident.summary}\n{incident.search_text}", tags=tags)
    query.exclude_ids = _invisible_ids(session, user) | {incident.id}
    result = search(session, query, k=k)
    hits = result.hits
    shown = list(session.scalars(select(Incident).where(Incident.id.in_([h.id for h in hits]))))
    _audit_listed(session, user, shown, "list.similar", client_address(request))
    return SimilarResult(items=hits, rankers=result.rankers, note=result.note)


def _counts(counter: Counter[str]) -> list[Count]:
    return [Count(value=v, count=c) for v, c in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


@router.get("/trends", response_model=Trends, responses=_LIST_ERRORS)
def trends(since: date | None = Query(None, description="Only incidents on or after this date"),
           top: int = Query(20, ge=1, le=200),
           user: User = Depends(require_role(Role.viewer)),
           session: Session = Depends(get_session)) -> Trends:
    """Counts over the incidents the caller may see: per month, severity, failure mode, service,
    and remediation status. Aggregates only, so no audit row."""
    where = [visible_ids_filter(user)]
    if since:
        where.append(Incident.incident_date >= since)
    rows = session.execute(select(Incident.id, Incident.incident_date, Incident.severity).where(*where)).all()
    ids = [r.id for r in rows]
    months = Counter(r.incident_date.strftime("%Y-%m") for r in rows if r.incident_date)
    severity = Counter(r.severity or "unknown" for r in rows)
    tag_rows = session.execute(select(Tag.kind, Tag.value).where(Tag.incident_id.in_(ids),
                                                                 Tag.kind.in_(("failure_mode", "service")))).all()
    modes = Counter(v for k, v in tag_rows if k == "failure_mode")
    services = Counter(v for k, v in tag_rows if k == "service")
    statuses = Counter(s.value for s in session.scalars(select(Action.status).where(Action.incident_id.in_(ids))))
    return Trends(incidents=len(rows), by_month=sorted(_counts(months), key=lambda c: c.value),
                  by_severity=_counts(severity), failure_modes=_counts(modes)[:top],
                  services=_counts(services)[:top], actions_by_status=_counts(statuses))


def _members(session: Session, incident: Incident) -> Members:
    names = session.scalars(select(User.username).join(IncidentMember, IncidentMember.user_id == User.id)
                            .where(IncidentMember.incident_id == incident.id).order_by(User.username)).all()
    return Members(incident_id=incident.id, restricted=incident.restricted, members=list(names))


@router.get("/incidents/{incident_id}/members", response_model=Members, responses=_READ_ERRORS)
def get_members(incident: Incident = Depends(incident_for("read.members")),
                session: Session = Depends(get_session)) -> Members:
    return _members(session, incident)


@router.put("/incidents/{incident_id}/access", response_model=Members,
            responses=error_responses(401, 403, 404, 422))
def set_access(body: AccessUpdate, request: Request,
               incident: Incident = Depends(incident_for("access.change", Role.admin)),
               admin: User = Depends(require_role(Role.admin)),
               session: Session = Depends(get_session)) -> Members:
    """Restrict an incident to named members, or lift the restriction (admin)."""
    wanted = sorted(set(body.members))
    found = {u.username: u for u in session.scalars(select(User).where(User.username.in_(wanted)))}
    missing = [n for n in wanted if n not in found]
    if missing:
        raise ApiError(422, f"unknown user(s): {', '.join(missing[:10])}", "create them at POST /api/users first")
    before = _members(session, incident)
    session.query(IncidentMember).filter(IncidentMember.incident_id == incident.id).delete()
    session.add_all(IncidentMember(incident_id=incident.id, user_id=found[n].id) for n in wanted)
    incident.restricted = body.restricted
    session.commit()
    after = _members(session, incident)
    # Changing who may see an incident is itself audited, restricted before or not.
    audit.record(session, user=admin, incident_id=incident.id, action="access.changed", outcome="granted",
                 client=client_address(request),
                 detail=json.dumps({"before": before.model_dump(), "after": after.model_dump()}))
    return after
