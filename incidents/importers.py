"""Importers: the project's own report JSON, any Markdown postmortem, and the public
IntelligentDDS/Post-mortems-Analysis corpus (`anomaly_collection/**.json`).

Each returns IncidentRecord objects (parsing only); `store.save` redacts and writes them. A bad
entry costs that entry: importers yield `ImportProblem`s for it and go on with the rest.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from incidents.record import ActionRecord, IncidentRecord


@dataclass(frozen=True)
class ImportProblem:
    where: str
    reason: str


# ----------------------------------------------------------------------------- report JSON

def _statement(f: Any) -> str:
    return str(f.get("statement", "")) if isinstance(f, dict) else str(f)


def _failed_barriers(d: dict[str, Any]) -> list[str]:
    # A barrier that failed or was missing is the reusable shape of a contributing factor
    # ("no canary"), which is what recurrence across incidents is about.
    return [f"{b.get('name', '')}: {b.get('state')}" for b in d.get("barriers") or []
            if isinstance(b, dict) and b.get("state") in ("failed", "missing")]


def _top_trigger(d: dict[str, Any]) -> dict[str, Any]:
    trig = d.get("suspected_triggers") or []
    return trig[0] if trig and isinstance(trig[0], dict) else {}


def _report_actions(d: dict[str, Any]) -> list[ActionRecord]:
    out = []
    for a in d.get("action_items") or []:
        if isinstance(a, dict) and a.get("id") and a.get("action"):
            out.append(ActionRecord(key=str(a["id"]), action=str(a["action"]), owner=a.get("owner"),
                                    due=a.get("due"), priority=a.get("priority"),
                                    verification=str(a.get("verification") or ""),
                                    addresses=[str(x) for x in a.get("addresses") or []]))
    return out


def from_report_json(d: dict[str, Any], ref: str, markdown: str | None = None) -> IncidentRecord:
    """A `postmortem draft --json` report. `ref` names it in the database (e.g. its file)."""
    det = d.get("detection") or {}
    trig = _top_trigger(d)
    cfs = d.get("contributing_factors") or []
    tags = {
        "service": [str(s) for s in d.get("services") or []],
        "failure_mode": [str(m) for m in d.get("failure_modes") or []],
        "trigger_kind": [str(trig["kind"])] if trig.get("kind") else [],
        "detection": [str(det["detected_by"])] if det.get("detected_by") else [],
        "contributing_factor": _failed_barriers(d),
    }
    body = "\n".join([*(str(s) for s in d.get("summary") or []), str(trig.get("summary") or ""),
                      *(_statement(f) for f in cfs)])
    return IncidentRecord(
        source="report-json", source_ref=ref, title=str(d.get("title") or ref),
        incident_date=d.get("incident_date"), postmortem_date=d.get("postmortem_date"),
        follow_up_review=d.get("follow_up_review"), severity=d.get("severity"),
        started_at=det.get("first_anomaly_at"), resolved_at=det.get("resolved_at"),
        summary=" ".join(str(s) for s in d.get("summary") or []),
        detection_method=det.get("detected_by"), trigger_kind=trig.get("kind"), trigger_ref=trig.get("ref"),
        ttd_s=det.get("time_to_detect_s"), ttm_s=det.get("time_to_mitigate_s"),
        ttr_s=det.get("time_to_resolve_s"), impact=d.get("impact") or {},
        root_causes=d.get("root_causes") or [], contributing_factors=cfs, tags=tags,
        actions=_report_actions(d), report_json=d, report_md=markdown, body=body)


# ----------------------------------------------------------------------------- Markdown

_HEADER = re.compile(r"^\*\*(?P<k>[^*]+)\*\*\s*:\s*(?P<v>.+?)\s*$")
_ID_BULLET = re.compile(r"^\s*[-*]\s+\*\*(?P<id>(?:RC|CF)-\d+)\*\*\s*(?:\((?P<st>[a-z ]+)\))?\s*:?\s*(?P<t>.+)$")
_BACKTICK = re.compile(r"`([^`]+)`")
_SEVERITY = re.compile(r"\b(P[0-4]|SEV[-\s]?[0-4])\b", re.I)


def _sections(md: str) -> dict[str, str]:
    """Top-level (`## `) sections by lower-cased name; text before the first is under ''."""
    out: dict[str, list[str]] = {"": []}
    cur = ""
    for line in md.splitlines():
        if line.startswith("## "):
            cur = line[3:].strip().lower()
            out.setdefault(cur, [])
        else:
            out[cur].append(line)
    return {k: "\n".join(v).strip() for k, v in out.items()}


def _find(sections: dict[str, str], *names: str) -> str:
    for name in names:
        for k, v in sections.items():
            if k.startswith(name):
                return v
    return ""


def _headers(preamble: str) -> dict[str, str]:
    out = {}
    for line in preamble.splitlines():
        m = _HEADER.match(line.strip())
        if m:
            out[m["k"].strip().lower()] = m["v"].strip()
    return out


def _date(value: str | None) -> date | None:
    m = re.search(r"\d{4}-\d{2}-\d{2}", value or "")
    if not m:
        return None
    try:
        return date.fromisoformat(m.group(0))
    except ValueError:
        return None


def _findings(text: str, prefix: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        m = _ID_BULLET.match(line)
        if m and m["id"].startswith(prefix):
            out.append({"id": m["id"], "status": (m["st"] or "").strip() or None, "statement": m["t"].strip()})
    return out


def _table_rows(text: str) -> list[dict[str, str]]:
    rows = [ln for ln in text.splitlines() if ln.strip().startswith("|")]
    if len(rows) < 2:
        return []
    split = lambda ln: [c.strip() for c in re.split(r"(?<!\\)\|", ln.strip().strip("|"))]  # noqa: E731
    head = [h.lower() for h in split(rows[0])]
    return [dict(zip(head, split(r))) for r in rows[2:]]


def _md_actions(text: str) -> list[ActionRecord]:
    out = []
    for row in _table_rows(text):
        key, action = row.get("id", ""), row.get("action", "")
        if not key or not action:
            continue
        out.append(ActionRecord(key=key, action=action, owner=row.get("owner") or None,
                                due=_date(row.get("due date") or row.get("due")),
                                priority=row.get("priority") or None,
                                verification=row.get("verification method") or row.get("verification") or "",
                                addresses=re.findall(r"(?:RC|CF)-\d+", row.get("addresses", ""))))
    return out


def _title(md: str) -> str | None:
    for line in md.splitlines():
        if line.startswith("# "):
            return re.sub(r"^postmortem\s*:\s*", "", line[2:].strip(), flags=re.I) or None
    return None


def _failure_modes(analysis: str) -> list[str]:
    m = re.search(r"###\s*Failure modes[^\n]*\n(?P<b>.*?)(?=\n###|\Z)", analysis, re.S | re.I)
    return [x for x in _BACKTICK.findall(m["b"]) if re.fullmatch(r"[a-z_]+\.[a-z_.]+", x)] if m else []


def from_markdown(md: str, ref: str) -> IncidentRecord:
    """Any Markdown postmortem: fields where the project's section names allow, the text whole."""
    secs = _sections(md)
    head = _headers(secs.get("", ""))
    rc_text = _find(secs, "root cause")
    sev = _SEVERITY.search(head.get("severity", ""))
    validation = _validate(md)
    services = [s.strip() for s in re.split(r"[,;]", head.get("services", "")) if s.strip()]
    return IncidentRecord(
        source="markdown", source_ref=ref, title=_title(md) or ref,
        incident_date=_date(head.get("incident date") or head.get("date")),
        postmortem_date=_date(head.get("postmortem date")),
        follow_up_review=_date(head.get("follow-up review")),
        severity=sev.group(1).upper() if sev else None,
        summary=_find(secs, "executive summary", "summary")[:4000],
        root_causes=_findings(rc_text, "RC"), contributing_factors=_findings(rc_text, "CF"),
        tags={"failure_mode": _failure_modes(_find(secs, "technical analysis")), "service": services},
        actions=_md_actions(_find(secs, "action items")),
        extra={"validation": validation, "sections": sorted(k for k in secs if k)},
        report_md=md, body=md)


def _validate(md: str) -> dict[str, Any]:
    """Hard-rule findings of the imported text (kept with it, not used to reject it)."""
    try:
        from agent.validators import validate_markdown
        found = validate_markdown(md)
    except Exception as exc:  # a validator bug must not lose the import
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"errors": sum(f.severity == "error" for f in found),
            "warnings": sum(f.severity == "warning" for f in found),
            "rules": sorted({f.rule for f in found})}


# ----------------------------------------------------------------------------- files

def import_path(path: Path) -> Iterator[IncidentRecord | ImportProblem]:
    """A report .json, a .md postmortem, a directory of them, or the public corpus' folder."""
    if path.is_dir():
        if _is_pma(path):
            yield from from_pma(path)
            return
        for p in sorted(path.rglob("*")):
            # A report's .md beside its .json is stored with it, not as a second incident.
            twin = p.suffix.lower() != ".json" and p.with_suffix(".json").is_file()
            if p.suffix.lower() in (".json", ".md", ".markdown") and p.is_file() and not twin:
                yield from import_path(p)
        return
    yield from _import_file(path)


def _import_file(path: Path) -> Iterator[IncidentRecord | ImportProblem]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        yield ImportProblem(str(path), f"unreadable: {exc}")
        return
    if path.suffix.lower() != ".json":
        yield from_markdown(text, path.name)
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield ImportProblem(str(path), f"not JSON: {exc}")
        return
    if isinstance(data, dict) and _looks_like_pma_file(data):
        yield from _pma_file(data, path)
    elif isinstance(data, dict) and "title" in data and "severity" in data:
        yield from _safe(lambda: from_report_json(data, path.name, _sibling_md(path)), str(path))
    else:
        yield ImportProblem(str(path), "JSON is neither a postmortem report nor a corpus file")


def _sibling_md(path: Path) -> str | None:
    md = path.with_suffix(".md")
    return md.read_text(encoding="utf-8", errors="replace") if md.is_file() else None


def _safe(build: Any, where: str) -> Iterator[IncidentRecord | ImportProblem]:
    try:
        yield build()
    except (ValidationError, ValueError, TypeError, KeyError, AttributeError) as exc:
        yield ImportProblem(where, f"invalid: {str(exc).splitlines()[0][:200]}")


# ----------------------------------------------------------------------------- public corpus

_PMA_KEYS = {"title", "root cause", "manifestation", "impact symptom"}


def _is_pma(path: Path) -> bool:
    return path.name == "anomaly_collection" or (path / "anomaly_collection").is_dir()


def _looks_like_pma_file(data: dict[str, Any]) -> bool:
    first = next(iter(data.values()), None)
    return isinstance(first, dict) and _PMA_KEYS <= set(first)


def from_pma(path: Path) -> Iterator[IncidentRecord | ImportProblem]:
    root = path / "anomaly_collection" if (path / "anomaly_collection").is_dir() else path
    for p in sorted(root.rglob("*.json")):
        try:
            data = json.loads(p.read_text(encoding="utf-8", errors="replace"))
        except (OSError, json.JSONDecodeError) as exc:
            yield ImportProblem(str(p), f"not JSON: {exc}")
            continue
        if isinstance(data, dict):
            yield from _pma_file(data, p)


def _pma_file(data: dict[str, Any], path: Path) -> Iterator[IncidentRecord | ImportProblem]:
    provider = path.parent.name
    for key, entry in data.items():
        if not isinstance(entry, dict):
            yield ImportProblem(f"{path}:{key}", "entry is not an object")
            continue
        yield from _safe(lambda: pma_record(key, entry, provider), f"{path}:{key}")


def _strings(v: Any) -> list[str]:
    """Leaf strings of the corpus' nested lists/dicts ("manifestation" mixes both)."""
    if isinstance(v, str):
        return [v]
    if isinstance(v, list):
        return [s for x in v for s in _strings(x)]
    if isinstance(v, dict):
        return [s for k, x in v.items() for s in [str(k), *_strings(x)]]
    return []


def pma_labels(entry: dict[str, Any]) -> list[str]:
    """Root-cause labels as 'layer-2' and 'layer-2/layer-3' strings."""
    labels = (entry.get("root cause") or {}).get("label") or []
    out = []
    for lab in labels if isinstance(labels, list) else [labels]:
        if isinstance(lab, dict) and lab.get("layer-2"):
            l2 = str(lab["layer-2"]).strip().lower()
            out.append(l2)
            if lab.get("layer-3"):
                out.append(f"{l2}/{str(lab['layer-3']).strip().lower()}")
    return out


def _pma_date(value: Any) -> date | None:
    try:
        return datetime.strptime(str(value).strip(), "%m/%d/%Y").date()
    except ValueError:
        return None


def _minutes(v: Any) -> float | None:
    return float(v) * 60 if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def pma_record(key: str, e: dict[str, Any], provider: str) -> IncidentRecord:
    rc = e.get("root cause") or {}
    det = e.get("detection") or {}
    services = _strings(e.get("service_name") or e.get("service name") or [])
    ops = _strings(e.get("operation") or [])
    mitigation = e.get("mitigation") or {}
    body = "\n".join(_strings([e.get("details") or "", rc.get("details") or "",
                               (mitigation.get("details") if isinstance(mitigation, dict) else "") or ""]))
    links = _strings(e.get("link") or [])
    return IncidentRecord(
        source="pma-corpus", source_ref=f"{provider}/{key}", title=str(e.get("title") or key),
        incident_date=_pma_date(e.get("time")), summary=str(e.get("summary") or ""),
        detection_method=(det.get("method") if isinstance(det, dict) else None),
        trigger_kind=ops[0] if ops else None,
        ttd_s=_minutes(e.get("detection time")), ttr_s=_minutes(e.get("duration")),
        impact={"symptoms": _strings(e.get("impact symptom") or []),
                "manifestation": e.get("manifestation")},
        root_causes=[{"statement": str(rc.get("details") or ""), "labels": pma_labels(e)}],
        contributing_factors=[],
        tags={"service": services, "trigger_kind": ops, "root_cause_label": pma_labels(e),
              "symptom": _strings(e.get("impact symptom") or []),
              "manifestation": _strings(e.get("manifestation") or []),
              "detection": _strings(det.get("tool") or []) if isinstance(det, dict) else []},
        extra={"provider": provider, "links": links, "human_error": e.get("human error"),
               "mitigation": mitigation, "propagation": e.get("propagation pass"),
               "refined_path": e.get("refined path"),
               "digest": hashlib.sha1(json.dumps(e, sort_keys=True).encode()).hexdigest()},
        body=body)
