"""Incident pages: the list with search, one incident with its report, the actions board.

Each page calls the incident API's own route functions (`service.routes.incidents`), so lists hide
what the caller may not see, restricted reads are audited, and a restricted incident is a 404 for a
non-member, exactly as over the API.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models import ActionStatus, Incident
from service.auth.deps import incident_for, require_role, visible_ids_filter
from service.db import get_session
from service.jobs.models import DraftJob
from service.models import Role, User
from service.routes.incidents import MarkDone, list_actions, list_incidents, mark_action_done, show_incident
from service.web.rendering import PageRoute, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
OPEN_STATUSES = [ActionStatus.open, ActionStatus.in_progress]


@router.get("/", response_class=HTMLResponse)
@router.get("/incidents", response_class=HTMLResponse)
def incident_list(request: Request, q: str = Query("", max_length=2000), offset: int = Query(0, ge=0),
                  user: User = Depends(require_role(Role.viewer)),
                  session: Session = Depends(get_session)) -> HTMLResponse:
    found = list_incidents(request, q=q.strip() or None, source=None, limit=PAGE_SIZE, offset=offset,
                           user=user, session=session)
    return page(request, "incidents.html", {"user": user, "q": q, "result": found, "offset": offset,
                                            "page_size": PAGE_SIZE})


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(request: Request, incident: Incident = Depends(incident_for("read")),
                  user: User = Depends(require_role(Role.viewer)),
                  session: Session = Depends(get_session)) -> HTMLResponse:
    detail = show_incident(incident, session)
    job_id = session.scalar(select(DraftJob.id).where(DraftJob.incident_id == incident.id)
                            .order_by(DraftJob.created_at.desc()).limit(1))
    return page(request, "incident.html", {"user": user, "incident": detail, "report_md": incident.report_md,
                                           "job_id": job_id, "today": date.today(),
                                           "can_edit": user.role.at_least(Role.editor)})


@router.get("/actions", response_class=HTMLResponse)
def actions_board(request: Request, show: str = Query("open", pattern="^(open|all)$"),
                  user: User = Depends(require_role(Role.viewer)),
                  session: Session = Depends(get_session)) -> HTMLResponse:
    statuses = OPEN_STATUSES if show == "open" else list(ActionStatus)
    actions = list_actions(request, status=statuses, limit=500, user=user, session=session)
    ids = {a.incident_id for a in actions}
    titles = {row.id: row.title for row in session.execute(select(Incident.id, Incident.title)
                                                           .where(Incident.id.in_(ids), visible_ids_filter(user)))}
    today = date.today()
    overdue = {(a.incident_id, a.key) for a in actions
               if a.due is not None and a.due < today and a.status in OPEN_STATUSES}
    return page(request, "actions.html", {"user": user, "actions": actions, "titles": titles, "overdue_keys": overdue,
                                          "show": show, "today": today,
                                          "can_edit": user.role.at_least(Role.editor)})


@router.post("/incidents/{incident_id}/actions/{key}/done")
def action_done(key: str, evidence: str = Form("", max_length=4000), back: str = Form("actions"),
                incident: Incident = Depends(incident_for("action.done", Role.editor)),
                session: Session = Depends(get_session)) -> RedirectResponse:
    """The board's "mark done" button (editor); with evidence of the check it becomes verified."""
    done = mark_action_done(key, MarkDone(evidence=evidence.strip() or None), incident, session)
    target = f"/incidents/{incident.id}" if back == "incident" else "/actions?show=all"
    return RedirectResponse(f"{target}#action-{done.incident_id}-{done.key}", status_code=303)
