"""Synthesis: assemble the report from the computed facts and the analysis."""

from __future__ import annotations

import re
from datetime import date, timedelta

from agent.model import Analysis, Report, Scope, TimelineEvent, iso_z
from agent.offline import actions, detection as det
from agent.offline.title import incident_title
from tools.models import Inventory

FOLLOW_UP_DAYS = 45  # inside the 30–90 day window of the methodology


def short_action(action: str) -> str:
    """The first clause of an action, for the TL;DR line."""
    return re.split(r" (?:that|with|so|and route|plus|\(|in the)\b", action, maxsplit=1)[0].rstrip(" ,;")


def _summary(scope: Scope, a: Analysis) -> list[str]:
    d = a.detection
    top = a.suspected_triggers[0] if a.suspected_triggers else None
    modes = actions.mode_titles(a.failure_modes)
    lines = []
    when = d.first_anomaly_at.strftime("%Y-%m-%d %H:%M UTC") if d.first_anomaly_at else "[DATA GAP] an unknown time"
    lines.append(
        f"Starting {when}, {', '.join(f'`{s}`' for s in _services(scope, a)) or 'the affected service'} showed "
        f"{(modes[0].lower() if modes else 'an unclassified failure')}; it was detected by {d.detected_by} "
        f"after {det.human_duration(d.time_to_detect_s)} and resolved "
        f"{det.human_duration(d.time_to_resolve_s)} after onset."
    )
    if top is not None:
        lines.append(f"The top-ranked trigger candidate is change `{top.ref[:12]}` (\"{top.summary}\"); "
                     f"root cause status: **{a.root_causes[0].status}**"
                     # a confirmed status cites its proof where it is said (the `confidence` rule)
                     + (f" ({', '.join(f'`{i}`' for i in _proof_ids(a))})."
                        if a.root_causes[0].status == "confirmed" else "."))
    else:
        lines.append("[DATA GAP] No trigger change could be identified from the evidence provided.")
    # The impact window's method and the rule text are in the JSON report (and the appendix).
    lines.append(f"Severity **{a.severity}**, {a.review_type} review. "
                 f"{a.severity_rationale.split(' Rule:')[0].split(' Impact window:')[0]}")
    # The top actions are listed once, right below the TL;DR ("Top 3 recommended actions").
    return lines


def _services(scope: Scope, a: Analysis) -> list[str]:
    """The services the manifest names, else the failing component the records name."""
    return scope.services or ([a.failing_component.name] if a.failing_component is not None else [])


def _proof_ids(a: Analysis) -> list[str]:
    """RC-1's ids less the change and the mechanism records: the undo and recovery (or the
    reproduction) that confirm it, which is what the summary line needs to cite."""
    rc = a.root_causes[0]
    known = set(a.suspected_triggers[0].evidence[:1] if a.suspected_triggers else [])
    known |= set(a.mechanism.evidence if getattr(a, "mechanism", None) is not None else [])
    return [i for i in rc.evidence if i not in known] or rc.evidence


def synthesize(scope: Scope, inventory: Inventory | None, timeline: list[TimelineEvent],
               a: Analysis, today: date, names_opt_in: bool = False) -> Report:
    light = a.review_type == "light"
    items = actions.plan_actions(a, scope, today, light=light,
                                 redacted_at=inventory.redacted_at if inventory is not None else None)
    first_dates = [e.timestamp.date() for e in timeline] or ([a.detection.first_anomaly_at.date()] if a.detection.first_anomaly_at else [])
    report = Report(
        **a.assessment(),
        title=incident_title(scope, a),
        incident_date=(a.detection.first_anomaly_at.date() if a.detection.first_anomaly_at else (first_dates[0] if first_dates else None)),
        postmortem_date=today,
        # A manifest's or the scope gate's commander wins; else the one declared in the channel.
        commander=(a.commander.wording(names_opt_in) if a.commander is not None and
                   scope.commander.startswith("[DATA GAP]") else scope.commander),
        services=scope.services,
        timeline=timeline,
        action_items=items,
        follow_up_review=today + timedelta(days=FOLLOW_UP_DAYS),
        evidence_inventory=_inventory_summary(inventory),
        names_opt_in=names_opt_in,
    )
    report.summary = _summary(scope, a)
    report.computed_facts = a.computed_facts + _derived_facts(report)
    return report


_NUM_UNIT = re.compile(r"\d+(?:\.\d+)?\s?(?:%|(?:min|requests|h)\b)")


def _derived_facts(report: Report) -> list[dict[str, object]]:
    """Values the engine derived rather than read: times of metric samples (the series hold them,
    not a record of their own), and the numbers in its own rules and action templates."""
    facts: list[dict[str, object]] = []
    for e in report.timeline:
        if e.evidence and e.evidence[0].startswith("metric:"):
            facts.append({"text": iso_z(e.timestamp), "derivation": f"sample time in {e.evidence[0]}"})
    d = report.detection
    onset_source = d.evidence[0] if d.evidence else ""
    if d.first_anomaly_at is not None and onset_source.startswith("metric:"):
        facts.append({"text": iso_z(d.first_anomaly_at), "derivation": f"sample time in {onset_source}"})
    for m in report.impact.metrics:
        for base, unit in re.findall(r"baseline mean ([\d.,]+) (\S+)", m.detail):
            facts.append({"text": f"{base} {unit}", "derivation": f"mean of the samples before the window in "
                                                                 f"{', '.join(m.evidence)}"})
        for hms in re.findall(r"peak at (\d{2}:\d{2}:\d{2})Z", m.detail):
            facts.append({"text": hms, "derivation": f"sample time of the peak in {', '.join(m.evidence)}"})
    texts = [report.severity_rationale] + [m.detail for m in report.impact.metrics] + [
        f"{i.action} {i.verification}" for i in report.action_items]
    for t in texts:
        for num in sorted(set(_NUM_UNIT.findall(t))):
            facts.append({"text": num, "derivation": "stated by the engine's rule or template"})
    return facts


def _inventory_summary(inv: Inventory | None) -> dict[str, object]:
    if inv is None:
        return {}
    return {
        "records": inv.total_records,
        "malformed": inv.total_malformed,
        "kinds": inv.kinds,
        "redactions": inv.redactions,
        "redacted_at": inv.redacted_at,  # every record a redacted kind was found in (the report shows one)
        "untrusted": len(inv.untrusted),
        "sources": len(inv.sources),
    }
