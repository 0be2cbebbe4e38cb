"""Runbooks from incidents: one Markdown runbook per failure mode met in the incident database.

The generic steps (kill switch, rollback, bad-data quarantine: what to look at, when to decide)
come from the family table in incidents/families.py. What is specific comes from the stored
incidents tagged with the failure mode: the alerts, metrics and log templates they showed, their
triggers and detection times, the barriers that held or failed, and how their actions are to be
verified. Every such line names the incident it came from. Stored text is untrusted (titles and
log lines from imported postmortems): it is escaped wherever it reaches Markdown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from agent.offline.detection import human_duration
from agent.render import cell, inline
from incidents.families import LEVERS, Family, Procedure, family_of
from incidents.models import Incident, Tag

SignalKind = Literal["detection", "alert", "metric", "log", "symptom"]
SIGNAL_HEADINGS: dict[SignalKind, str] = {
    "detection": "How it was detected", "alert": "Alerts and pages", "metric": "Metrics",
    "log": "Log templates", "symptom": "Symptoms and manifestations"}
INDEX_NAME = "README.md"
MAX_SIGNALS_PER_KIND = 12  # per runbook: enough to recognise the pattern, short enough to read
_BACKTICKED = re.compile(r"`([^`]+)`")
_SLUG_BAD = re.compile(r"[^a-z0-9_.-]+")
_LEVER_BARRIERS = {"kill_switch": ("alert",), "rollback": ("rollback", "canary"), "quarantine": ("data",)}


class IncidentRef(BaseModel):
    id: int
    title: str
    incident_date: date | None
    severity: str | None
    trigger_kind: str | None
    trigger_ref: str | None
    detection_method: str | None
    ttd_s: float | None
    ttm_s: float | None
    last_known_good: str = ""
    barriers: list[dict[str, str]] = []


class ActionRef(BaseModel):
    incident_id: int
    key: str
    action: str
    status: str
    verification: str


class Signal(BaseModel):
    """One thing an incident showed that a responder can look for (from the incident's report)."""

    kind: SignalKind
    text: str
    incident_id: int
    evidence: list[str] = []


class Runbook(BaseModel):
    mode: str
    title: str
    family: Family
    incidents: list[IncidentRef]
    signals: list[Signal]
    actions: list[ActionRef]


# ----------------------------------------------------------------------------- facts from incidents

def mode_title(mode: str) -> str:
    from agent.offline.taxonomy import MODES

    found = MODES.get(mode)
    return found.title if found else mode


def _report(inc: Incident) -> dict[str, Any]:
    return inc.report_json if isinstance(inc.report_json, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def signals_of(inc: Incident) -> list[Signal]:
    """Alerts, metrics and log templates the incident's report cites, its detection and symptoms."""
    rep = _report(inc)
    out = _detection_signals(inc, rep) + _timeline_signals(inc, rep) + _impact_signals(inc, rep)
    out += [Signal(kind="symptom", text=v, incident_id=inc.id)
            for v in inc.tag_values("symptom") + inc.tag_values("manifestation")]
    return out


def _detection_signals(inc: Incident, rep: dict[str, Any]) -> list[Signal]:
    det = rep.get("detection") if isinstance(rep.get("detection"), dict) else {}
    detail = str(det.get("detection_detail") or "")
    if not (inc.detection_method or detail):
        return []
    text = " — ".join(x for x in (inc.detection_method or "", detail) if x)
    return [Signal(kind="detection", text=text, incident_id=inc.id,
                   evidence=[str(e) for e in _list(det.get("evidence"))][:3])]


def _timeline_signals(inc: Incident, rep: dict[str, Any]) -> list[Signal]:
    out: list[Signal] = []
    for ev in _list(rep.get("timeline")):
        if not isinstance(ev, dict):
            continue
        cites = [str(e) for e in _list(ev.get("evidence"))]
        kind = _timeline_kind(str(ev.get("category") or ""), cites)
        if kind is None:
            continue
        named = _BACKTICKED.search(str(ev.get("event") or ""))
        text = named.group(1) if named else str(ev.get("event") or "")
        if text:
            out.append(Signal(kind=kind, text=text, incident_id=inc.id, evidence=cites[:2]))
    return out


def _impact_signals(inc: Incident, rep: dict[str, Any]) -> list[Signal]:
    impact = rep.get("impact") if isinstance(rep.get("impact"), dict) else {}
    out: list[Signal] = []
    for m in _list(impact.get("metrics")):
        cites = [str(e) for e in _list(m.get("evidence"))] if isinstance(m, dict) else []
        if any(c.startswith("metric:") for c in cites):
            out.append(Signal(kind="metric", text=str(m.get("name")), incident_id=inc.id, evidence=cites[:2]))
    return out


def _timeline_kind(category: str, cites: list[str]) -> SignalKind | None:
    # The report's own categories say what a row is; the cited ids say where it was seen.
    if category in ("alert", "page"):
        return "alert"
    if category == "anomaly" and any(c.startswith("metric:") for c in cites) and not any(
            c.startswith("log:") for c in cites):
        return "metric"
    if category == "anomaly" and any(c.startswith("log:") for c in cites):
        return "log"
    return None


def incident_ref(inc: Incident) -> IncidentRef:
    rep = _report(inc)
    barriers = [{"name": str(b.get("name") or ""), "state": str(b.get("state") or ""),
                 "note": str(b.get("note") or "")} for b in _list(rep.get("barriers")) if isinstance(b, dict)]
    return IncidentRef(id=inc.id, title=inc.title, incident_date=inc.incident_date, severity=inc.severity,
                       trigger_kind=inc.trigger_kind, trigger_ref=inc.trigger_ref,
                       detection_method=inc.detection_method, ttd_s=inc.ttd_s, ttm_s=inc.ttm_s,
                       last_known_good=str(rep.get("last_known_good") or ""), barriers=barriers)


def _actions(inc: Incident) -> list[ActionRef]:
    return [ActionRef(incident_id=inc.id, key=a.action_key, action=a.action, status=a.status.value,
                      verification=a.verification or "")
            for a in sorted(inc.actions, key=lambda a: a.action_key)]


def _dedup(signals: Iterable[Signal]) -> list[Signal]:
    """One row per (kind, text): the same alert in three incidents is one row naming all three."""
    seen: dict[tuple[str, str], Signal] = {}
    for s in signals:
        key = (s.kind, " ".join(s.text.split()).lower())
        if key in seen:
            prev = seen[key]
            seen[key] = prev.model_copy(update={"evidence": prev.evidence + [f"#{s.incident_id}"]})
        else:
            seen[key] = s
    return list(seen.values())


def collect(session: Session) -> list[Runbook]:
    """A runbook per failure mode tagged on at least one incident, modes in name order."""
    modes = sorted(set(session.scalars(select(Tag.value).where(Tag.kind == "failure_mode"))))
    out = []
    for mode in modes:
        incidents = session.scalars(
            select(Incident).options(selectinload(Incident.tags), selectinload(Incident.actions))
            .join(Tag).where(Tag.kind == "failure_mode", Tag.value == mode)
            .order_by(Incident.incident_date.is_(None), Incident.incident_date, Incident.id)).unique().all()
        out.append(Runbook(mode=mode, title=mode_title(mode), family=family_of(mode),
                           incidents=[incident_ref(i) for i in incidents],
                           signals=_dedup(s for i in incidents for s in signals_of(i)),
                           actions=[a for i in incidents for a in _actions(i)]))
    return out


# ----------------------------------------------------------------------------- Markdown

def code(text: str) -> str:
    """Untrusted text as a Markdown code span: the fence is longer than any backtick run inside,
    so the text cannot close it; one line, so it cannot start a block of its own."""
    flat = " ".join(str(text).split())
    longest = max((len(m) for m in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _day(d: date | None) -> str:
    return d.isoformat() if d else "no date"


def _incident_line(i: IncidentRef) -> str:
    return f"#{i.id} ({_day(i.incident_date)}, {inline(i.severity or 'no severity')}): {inline(i.title)}"


def _signal_line(s: Signal) -> str:
    where = ", ".join([f"#{s.incident_id}", *(e if e.startswith("#") else code(e) for e in s.evidence)])
    return f"- {code(s.text)} ({where})"


def _specific(rb: Runbook, lever: str) -> list[str]:
    """What the incidents say about this lever, each line naming its incident."""
    lines: list[str] = []
    for i in rb.incidents:
        if lever == "kill_switch" and (i.ttd_s is not None or i.detection_method):
            lines.append(f"- #{i.id}: detected by {inline(i.detection_method or 'an unrecorded method')} "
                         f"{human_duration(i.ttd_s)} after the first anomaly; mitigated "
                         f"{human_duration(i.ttm_s)} after it. A kill-switch decision slower than "
                         "that mitigation is no improvement.")
        if lever == "rollback" and i.trigger_kind:
            ref = f" {code(i.trigger_ref)}" if i.trigger_ref else ""
            lines.append(f"- #{i.id}: the suspected trigger was a {inline(i.trigger_kind)} change{ref}.")
        if lever == "rollback" and i.last_known_good:
            lines.append(f"- #{i.id}: last known good: {inline(i.last_known_good)}")
        for b in i.barriers:
            if any(w in b["name"].lower() for w in _LEVER_BARRIERS[lever]):
                note = f": {inline(b['note'])}" if b["note"] else ""
                lines.append(f"- #{i.id}: barrier *{inline(b['name'])}* {inline(b['state'])}{note}")
    return lines


def _lever(rb: Runbook, lever: str, heading: str, proc: Procedure | None) -> list[str]:
    out = [f"## {heading}", ""]
    if proc is None:
        return out + [f"Not part of the {rb.family.title.lower()} family's response: no generic steps.", ""]
    out += [proc.what, "", "**Diagnostic queries**", ""]
    out += [f"- {d}" for d in proc.diagnostics]
    out += ["- The signals listed above, in the same order the incidents showed them.", ""]
    out += ["**Decision points**", ""]
    out += [f"- {d}" for d in proc.decisions]
    specific = _specific(rb, lever)
    if specific:
        out += ["", "From the incidents:", "", *specific]
    return out + [""]


def render(rb: Runbook) -> str:
    out = [f"# Runbook: {inline(rb.mode)} — {inline(rb.title)}", "",
           f"Family: **{rb.family.title}**. Built from {len(rb.incidents)} incident(s) in the incident "
           "database; the generic steps come from the family table (incidents/families.py), every "
           "specific line names the incident it came from. No production commands: use your own "
           "tooling for the doing.", "",
           "## Incidents", "", "| id | date | severity | title |", "|---|---|---|---|"]
    out += [f"| #{i.id} | {_day(i.incident_date)} | {cell(i.severity or '-')} | {cell(i.title)} |"
            for i in rb.incidents]
    out += ["", "## Signals these incidents showed", ""]
    if not rb.signals:
        out += ["[DATA GAP] The incidents record no alert, metric or log signal (imported without a "
                "report timeline); look at their postmortems.", ""]
    for kind, heading in SIGNAL_HEADINGS.items():
        rows = [s for s in rb.signals if s.kind == kind]
        if rows:
            out += [f"**{heading}**", ""]
            out += [_signal_line(s) for s in rows[:MAX_SIGNALS_PER_KIND]]
            if len(rows) > MAX_SIGNALS_PER_KIND:
                out.append(f"- … and {len(rows) - MAX_SIGNALS_PER_KIND} more")
            out.append("")
    for lever, heading in LEVERS:
        out += _lever(rb, lever, heading, getattr(rb.family, lever))
    out += ["## Verification of the actions these incidents produced", ""]
    if rb.actions:
        out += ["| incident | action | status | verification method |", "|---|---|---|---|"]
        out += [f"| #{a.incident_id} | {cell(a.key)}: {cell(a.action)} | {a.status} | "
                f"{cell(a.verification) if a.verification.strip() else '[DATA GAP] none recorded'} |"
                for a in rb.actions]
    else:
        out.append("[DATA GAP] No actions are recorded for these incidents.")
    return "\n".join(out).rstrip() + "\n"


def file_name(mode: str, taken: set[str]) -> str:
    """A safe file name for a mode id (stored text: no path separators, no leading dot)."""
    base = _SLUG_BAD.sub("_", mode.lower()).strip("._-")[:100] or "mode"
    name, n = f"{base}.md", 2
    while name in taken or name == INDEX_NAME.lower():
        name, n = f"{base}-{n}.md", n + 1
    taken.add(name)
    return name


def render_index(books: list[tuple[str, Runbook]]) -> str:
    out = ["# Runbooks by failure mode", "",
           "One runbook per failure mode met in the incident database (`postmortem runbooks`).", "",
           "| failure mode | family | incidents | latest | runbook |", "|---|---|---|---|---|"]
    for name, rb in books:
        dates = [i.incident_date for i in rb.incidents if i.incident_date]
        latest = max(dates).isoformat() if dates else "-"
        out.append(f"| {cell(rb.mode)} | {rb.family.name} | {len(rb.incidents)} | {latest} | [{name}]({name}) |")
    if not books:
        out += ["", "No incident in the database carries a failure mode yet; import reports with "
                "`postmortem incidents import`."]
    return "\n".join(out) + "\n"


def write_runbooks(session: Session, out_dir: Path) -> list[Path]:
    """Write one file per failure mode and the index; returns the paths written (index last)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    books = [(file_name(rb.mode, taken), rb) for rb in collect(session)]
    written = []
    for name, rb in books:
        path = out_dir / name
        path.write_text(render(rb), encoding="utf-8")
        written.append(path)
    index = out_dir / INDEX_NAME
    index.write_text(render_index(books), encoding="utf-8")
    return [*written, index]
