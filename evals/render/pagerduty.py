"""PagerDuty REST API v2 exports: GET /incidents/{id} and GET /incidents/{id}/log_entries."""

from __future__ import annotations

import string

from evals.render.common import Ctx, iso_s
from evals.scenarios.spec import Page

API = "https://api.pagerduty.com"
WEB = "https://example-ml.pagerduty.com"
LOWER = string.ascii_lowercase + string.digits

ENTRY_TYPE = {"trigger": "trigger_log_entry", "notify": "notify_log_entry",
              "acknowledge": "acknowledge_log_entry", "escalate": "escalate_log_entry",
              "annotate": "annotate_log_entry", "resolve": "resolve_log_entry"}


def render(ctx: Ctx, page: Page) -> None:
    spec = ctx.spec
    svc_id = ctx.ident("P", 6)
    user_ids = {k: ctx.ident("P", 6) for k in spec.people}
    svc = {"id": svc_id, "type": "service_reference", "summary": page.service,
           "self": f"{API}/services/{svc_id}", "html_url": f"{WEB}/service-directory/{svc_id}"}
    inc_ref = {"id": page.id, "type": "incident_reference", "summary": f"[#{page.number}] {page.title}",
               "self": f"{API}/incidents/{page.id}", "html_url": f"{WEB}/incidents/{page.id}"}

    def user_ref(key: str) -> dict[str, str]:
        return {"id": user_ids[key], "type": "user_reference", "summary": spec.people[key].name,
                "self": f"{API}/users/{user_ids[key]}", "html_url": f"{WEB}/users/{user_ids[key]}"}

    entries = []
    for e in sorted(page.entries, key=lambda e: ctx.t(e.at)):
        eid = "R" + "".join(ctx.rng.choice(LOWER) for _ in range(25))
        rec: dict[str, object] = {"id": eid, "type": ENTRY_TYPE[e.type],
                                  "self": f"{API}/log_entries/{eid}", "created_at": iso_s(ctx.t(e.at)),
                                  "incident": inc_ref, "service": svc}
        if e.type == "trigger":
            rec["summary"] = "Triggered through the API."
            rec["channel"] = {"type": "api", "summary": page.title, "details": {"text": e.text}}
            rec["agent"] = {"id": ctx.ident("P", 6), "type": "events_api_v2_inbound_integration_reference",
                            "summary": "Alertmanager"}
        elif e.type == "notify":
            rec["summary"] = f"Notified {spec.people[e.agent].name} by SMS."
            rec["channel"] = {"type": "sms"}
            rec["user"] = user_ref(e.agent)
            rec["agent"] = svc
        elif e.type == "acknowledge":
            rec["summary"] = f"Acknowledged by {spec.people[e.agent].name}."
            rec["channel"] = {"type": "mobile"}
            rec["agent"] = user_ref(e.agent)
        elif e.type == "escalate":
            rec["summary"] = e.text or "Escalated to level 2 by timeout."
            rec["channel"] = {"type": "web_trigger"} if e.agent else {"type": "timeout"}
            rec["agent"] = user_ref(e.agent) if e.agent else svc
            rec["assigned_user"] = user_ref(next(k for k in spec.people if k != e.agent))
        elif e.type == "annotate":
            rec["summary"] = f"Note added: {e.text}"
            rec["channel"] = {"type": "note", "summary": e.text}
            rec["agent"] = user_ref(e.agent)
        elif e.type == "resolve":
            rec["summary"] = f"Resolved by {spec.people[e.agent].name}." if e.agent else "Resolved through the API."
            rec["channel"] = {"type": "web_trigger"} if e.agent else {"type": "api"}
            rec["agent"] = user_ref(e.agent) if e.agent else svc
        entries.append(rec)
    trig = next(e for e in page.entries if e.type == "trigger")
    res = [e for e in page.entries if e.type == "resolve"]
    last = max((ctx.t(e.at) for e in page.entries))
    incident = {
        "id": page.id, "type": "incident", "summary": f"[#{page.number}] {page.title}",
        "self": f"{API}/incidents/{page.id}", "html_url": f"{WEB}/incidents/{page.id}",
        "incident_number": page.number, "title": page.title,
        "status": "resolved" if res else "acknowledged", "urgency": page.urgency,
        "created_at": iso_s(ctx.t(trig.at)), "last_status_change_at": iso_s(last),
        "resolved_at": iso_s(ctx.t(res[-1].at)) if res else None,
        "service": svc, "assignments": [], "acknowledgements": [],
        "escalation_policy": {"id": ctx.ident("P", 6), "type": "escalation_policy_reference",
                              "summary": f"{page.service} escalation"},
        "priority": None, "incident_key": ctx.hexid(32),
    }
    ctx.write_json("pagerduty/incident.json", {"incident": incident})
    ctx.write_json("pagerduty/log_entries.json",
                   {"log_entries": entries, "limit": 100, "offset": 0, "more": False,
                    "total": len(entries)})
