"""Timeline construction: salient, deduplicated events with UTC timestamps and evidence ids.

Every event text is written here from fields of the evidence; quoted fragments are verbatim
substrings of the (already redacted) evidence text, and evidence flagged as instruction-like is
described, never quoted.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from contextvars import ContextVar
from datetime import datetime, timedelta

from agent.offline import signals
from agent.offline.lexicon import (
    CANARY,
    DECISION,
    DEPLOY,
    MITIGATION,
    OBSERVATION,
    RECOVERY,
    RESOLUTION,
    TROUBLE,
    USER_REPORT,
)
from agent.report import TimelineEvent
from agent.state import Scope
from tools.models import Evidence, EvidenceKind
from tools.store import EvidenceStore

MAX_EVENTS = 32
SNIPPET = 140
# Lower numbers win when two events collide or the cap is hit.
PRIORITY = {
    "trigger": 0, "anomaly": 1, "alert": 1, "page": 1, "detection": 1, "ack": 2, "mitigation": 2,
    "recovery": 2, "resolution": 2, "escalation": 3, "decision": 3, "deploy": 3, "context": 5,
}
PD_CATEGORY = {
    "trigger": "page", "acknowledge": "ack", "escalate": "escalation", "resolve": "resolution",
    "annotate": "decision",
}


# People named in the evidence (set per timeline build): quotes elide them so reports refer to
# roles; "…" keeps each remaining fragment verbatim for the grounding check.
PEOPLE: ContextVar[tuple[re.Pattern[str], ...]] = ContextVar("PEOPLE", default=())


def snippet(ev: Evidence, limit: int = SNIPPET) -> str:
    """A short verbatim fragment of an evidence text, safe to quote (or a description if not)."""
    if ev.flags:
        return "(content flagged as instruction-like; quoted nowhere, not followed)"
    text = " ".join(ev.text.split())
    text = text.replace("`", "'")
    for pat in PEOPLE.get():
        text = pat.sub("…", text)
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind(" ")] if " " in cut[40:] else cut


_HEXISH = re.compile(r"0x[0-9a-f]+|\b[0-9a-f]{8,}\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@functools.lru_cache(maxsize=65536)
def signature(text: str) -> str:
    """Error message with the variable parts (numbers, ids, hex) folded, for grouping.
    Cached: a log repeats the same lines, and a big window asks for tens of thousands."""
    t = _NUMBER.sub("#", _HEXISH.sub("#", text.lower()))
    return " ".join(t.split())[:120]


def incident_window(scope: Scope, store: EvidenceStore) -> tuple[datetime | None, datetime | None]:
    lo, hi = store.time_span()
    start = scope.window_start - timedelta(hours=2) if scope.window_start else lo
    end = scope.window_end + timedelta(hours=2) if scope.window_end else hi
    return start, end


class _Builder:
    def __init__(self) -> None:
        self.events: list[TimelineEvent] = []

    def add(self, ev: Evidence | None, when: datetime | None, text: str, category: str,
            extra_ids: list[str] | None = None) -> None:
        if when is None:
            return
        ids = ([ev.id] if ev is not None else []) + (extra_ids or [])
        self.events.append(
            TimelineEvent(
                timestamp=when, event=text, evidence=ids, category=category,
                assumed=bool(ev is not None and ev.ts_assumed),
            )
        )

    def finish(self) -> list[TimelineEvent]:
        ordered = sorted(self.events, key=lambda e: (e.timestamp, PRIORITY.get(e.category, 9)))
        kept: list[TimelineEvent] = []
        for e in ordered:
            dup = next(
                (
                    k for k in kept
                    if k.category == e.category
                    and abs((k.timestamp - e.timestamp).total_seconds()) <= 120
                    and (k.event == e.event or e.category in ("recovery", "resolution"))
                ),
                None,
            )
            if dup is None and e.evidence and e.category == "context":
                # The same record already explains an earlier row; keep the more specific one.
                dup = next((k for k in kept if k.evidence[:1] == e.evidence[:1]), None)
            if dup is not None:
                for i in e.evidence:
                    if i not in dup.evidence and len(dup.evidence) < 4:
                        dup.evidence.append(i)
                continue
            kept.append(e)
        if len(kept) > MAX_EVENTS:
            ranked = sorted(kept, key=lambda e: (PRIORITY.get(e.category, 9), e.timestamp))
            keep_ids = {id(e) for e in ranked[:MAX_EVENTS]}
            kept = [e for e in kept if id(e) in keep_ids]
        return kept


def log_anomaly(store: EvidenceStore, scope: Scope) -> tuple[signals.Excursion | None, Evidence | None]:
    exc = signals.log_error_excursion(store.log_buckets(signals.BUCKET_S), scope.window_start, "")
    if exc is None:
        return None, None
    first = store.errors(start=exc.onset, limit=1)
    return exc, (first[0] if first else None)


def metric_excursions(store: EvidenceStore, scope: Scope) -> list[tuple[signals.Excursion, Evidence]]:
    out = []
    for ev in store.iter(kinds=[EvidenceKind.METRIC]):
        exc = signals.metric_excursion(ev, scope.window_start)
        if exc is not None:
            out.append((exc, ev))
    return sorted(out, key=lambda p: p[0].onset)


def _fmt(v: float) -> str:
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 1:
        return f"{v:.2f}".rstrip("0").rstrip(".")
    return f"{v:.4f}".rstrip("0").rstrip(".")


def build_timeline(store: EvidenceStore, scope: Scope) -> list[TimelineEvent]:
    PEOPLE.set(tuple(re.compile(r"(?<![\w@])@?" + re.escape(n) + r"\b", re.I)
                     for n in sorted(store.people(), key=len, reverse=True)))
    start, end = incident_window(scope, store)
    b = _Builder()

    exc, first_err = log_anomaly(store, scope)
    if exc is not None and first_err is not None:
        b.add(first_err, first_err.ts,
              f"Error-level log records rise above baseline; first: `{snippet(first_err)}`", "anomaly")
        if exc.recovered_at is not None:
            after, _ = store.search(None, kinds=[EvidenceKind.LOG], start=exc.recovered_at, limit=1)
            b.add(after[0] if after else None, exc.recovered_at,
                  "Error-level log rate back within its baseline band", "recovery")

    for mexc, mev in metric_excursions(store, scope):
        _first_report_of_value(store, b, mexc, mev)
        b.add(mev, mexc.onset,
              f"Metric `{mexc.signal}` leaves its baseline band (baseline {_fmt(mexc.baseline)}, "
              f"peak {_fmt(mexc.peak)})", "anomaly")
        if mexc.recovered_at is not None:
            b.add(mev, mexc.recovered_at, f"Metric `{mexc.signal}` back within its baseline band",
                  "recovery")

    _new_signature(store, b, scope, start, end)
    _error_signatures(store, b, start, end)
    _alerts(store, b, start, end)
    _pages(store, b, start, end)
    _chat(store, b, start, end)
    _k8s(store, b, start, end)
    _log_keywords(store, b, start, end)
    _notes_and_traces(store, b, start, end)
    _implicated_entities(store, b, start, end)
    _trigger(store, b, scope, end)
    return b.finish()


ENTITY = re.compile(r"\b[a-z]{1,8}-\d{3,}[a-z0-9]*\b")


def _implicated_entities(store: EvidenceStore, b: _Builder, start: datetime | None,
                         end: datetime | None) -> None:
    """Identifiers responders name (a review id, a workspace, a checkpoint step) traced back to
    their first appearance in logs or traces: often the real start of the story."""
    counts: Counter[str] = Counter()
    for ev in store.iter(kinds=[EvidenceKind.CHAT, EvidenceKind.NOTE], start=start, end=end):
        if ev.flags or ev.attrs.get("bot"):
            continue
        counts.update(set(ENTITY.findall(ev.text.lower())))
    for entity, _n in counts.most_common(3):
        hits = store.match(f'"{entity}"', kinds=[EvidenceKind.LOG, EvidenceKind.TRACE],
                           start=start, end=end, limit=3)
        hits = [h for h in hits if not h.flags and entity in h.text.lower()]
        if hits:
            h = hits[0]
            b.add(h, h.ts, f"First appearance of `{entity}` (named by responders): `{snippet(h)}`",
                  "context")


def _trigger(store: EvidenceStore, b: _Builder, scope: Scope, end: datetime | None) -> None:
    """The top-ranked change before the first anomaly (the same ranking analysis reports)."""
    from agent.offline.changes import rank_triggers

    onsets = [e.timestamp for e in b.events if e.category == "anomaly"]
    if not onsets:
        return
    from agent.offline.taxonomy import classify

    lo, _ = incident_window(scope, store)
    modes = classify(store, lo, end, []).modes
    ranked = rank_triggers(store, min(onsets), scope.services, end, top=1, failure_modes=modes)
    if ranked and ranked[0].at is not None:
        t = ranked[0]
        ev = store.get(t.evidence[0])
        files = [str(f) for f in (ev.attrs.get("files") or [])][:3] if ev else []
        shown = f" (files: {', '.join(f'`{f}`' for f in files)})" if files else ""
        b.add(ev, t.at, f"Top-ranked change `{t.ref[:12]}` lands: {t.summary}{shown}", "trigger")


def _value_strings(ev: Evidence, exc: signals.Excursion) -> list[str]:
    """The sample values around the onset, as written in the series (e.g. "0.912")."""
    out = []
    for t, v in ev.attrs.get("samples") or []:
        if abs(float(t) - exc.onset.timestamp()) <= 1 and isinstance(v, str):
            out.append(v)
    if not out:
        out.append(f"{exc.peak:g}")
    return [v for v in out if len(v.strip("0.")) >= 2][:1]


def _first_report_of_value(store: EvidenceStore, b: _Builder, exc: signals.Excursion,
                           mev: Evidence) -> None:
    """Metric samples are coarse (hourly evals, 5-minute rates); a log or chat line that states
    the new value often pins the moment down more precisely."""
    for value in _value_strings(mev, exc):
        hits = store.match(f'"{value}"', kinds=[EvidenceKind.LOG, EvidenceKind.CHAT, EvidenceKind.NOTE],
                           start=exc.onset - timedelta(hours=2), end=exc.onset, limit=5)
        hits = [h for h in hits if not h.flags and value in h.text]
        if hits:
            h = hits[0]
            b.add(h, h.ts, f"First record stating the new `{exc.signal}` value {value}: `{snippet(h)}`",
                  "anomaly")


def _error_signatures(store: EvidenceStore, b: _Builder, start: datetime | None,
                      end: datetime | None) -> None:
    errors = store.errors(start=start, end=end, limit=20000)
    counts: Counter[str] = Counter()
    first: dict[str, Evidence] = {}
    for ev in errors:
        sig = signature(ev.text)
        counts[sig] += 1
        first.setdefault(sig, ev)
    for sig, n in counts.most_common(3):
        ev = first[sig]
        b.add(ev, ev.ts, f"First occurrence of `{snippet(ev)}` ({n} similar records in window)",
              "anomaly" if n > 1 else "context")


def baseline_cut(store: EvidenceStore, scope: Scope) -> datetime | None:
    """End of the quiet period: the incident window start, else the first fifth of the data."""
    if scope.window_start is not None:
        return scope.window_start
    lo, hi = store.time_span()
    if lo is None or hi is None:
        return None
    return lo + (hi - lo) / 5


def _new_signature(store: EvidenceStore, b: _Builder, scope: Scope, start: datetime | None,
                   end: datetime | None) -> None:
    """The first warning or error whose message never appeared during the quiet period."""
    cut = baseline_cut(store, scope)
    if cut is None:
        return
    seen = {signature(e.text) for e in store.errors(start=start, end=cut, limit=20000, include_warnings=True)}
    for ev in store.errors(start=cut, end=end, limit=20000, include_warnings=True):
        if ev.flags or signature(ev.text) in seen:
            continue
        level = "error" if ev.level in ("error", "critical") or (ev.attrs.get("status") or 0) >= 500 else "warning"
        b.add(ev, ev.ts, f"First new {level} not seen before the incident window: `{snippet(ev)}`"
              + (f" ({ev.service})" if ev.service else ""), "anomaly")
        return


def _alerts(store: EvidenceStore, b: _Builder, start: datetime | None, end: datetime | None) -> None:
    seen_firing: set[str] = set()
    last_resolved: dict[str, Evidence] = {}
    for ev in store.iter(kinds=[EvidenceKind.ALERT], start=start, end=end):
        name = str(ev.attrs.get("alertname") or "alert")
        status = str(ev.attrs.get("status") or "firing")
        if status == "firing" and name not in seen_firing:
            seen_firing.add(name)
            sev = (ev.attrs.get("labels") or {}).get("severity")
            label = f" (severity {sev})" if sev else ""
            kind = "canary alert" if CANARY.search(name) else "Alert"
            b.add(ev, ev.ts, f"{kind.capitalize()} `{name}` fires{label}", "alert")
        elif status == "resolved":
            last_resolved[name] = ev
    for name, ev in last_resolved.items():
        b.add(ev, ev.ts, f"Alert `{name}` resolves", "recovery")


def _pages(store: EvidenceStore, b: _Builder, start: datetime | None, end: datetime | None) -> None:
    for ev in store.iter(kinds=[EvidenceKind.PAGE], start=start, end=end):
        etype = str(ev.attrs.get("entry_type") or "")
        cat = PD_CATEGORY.get(etype)
        if cat is None:
            continue
        title = ev.attrs.get("title") or ""
        urgency = ev.attrs.get("urgency")
        texts = {
            "page": f"PagerDuty incident triggered{f' ({urgency} urgency)' if urgency else ''}"
                    f"{f': `{title}`' if title and not ev.flags else ''}",
            "ack": "On-call responder acknowledges the page",
            "escalation": "Page escalated to the next escalation level",
            "resolution": "PagerDuty incident resolved",
            "decision": f"Incident note added: `{snippet(ev)}`",
        }
        b.add(ev, ev.ts, texts[cat], cat)


def _chat(store: EvidenceStore, b: _Builder, start: datetime | None, end: datetime | None) -> None:
    first_human = True
    for ev in store.iter(kinds=[EvidenceKind.CHAT], start=start, end=end):
        if ev.attrs.get("bot") or ev.flags:
            continue
        channel = ev.attrs.get("channel") or "chat"
        text = ev.text
        said = f"in #{channel}: `{snippet(ev)}`"
        if USER_REPORT.search(text):
            b.add(ev, ev.ts, f"User-impact report relayed {said}", "detection")
        elif OBSERVATION.search(text) and not MITIGATION.search(text):
            b.add(ev, ev.ts, f"Problem noticed by a responder {said}", "detection")
        elif RESOLUTION.search(text):
            b.add(ev, ev.ts, f"Resolution declared {said}", "resolution")
        elif MITIGATION.search(text):
            b.add(ev, ev.ts, f"Mitigation step {said}", "mitigation")
        elif RECOVERY.search(text):
            b.add(ev, ev.ts, f"Recovery observed {said}", "recovery")
        elif DECISION.search(text):
            b.add(ev, ev.ts, f"Decision {said}", "decision")
        elif first_human:
            b.add(ev, ev.ts, f"First responder message {said}", "context")
        else:
            continue
        first_human = False


def _k8s(store: EvidenceStore, b: _Builder, start: datetime | None, end: datetime | None) -> None:
    seen: set[str] = set()
    for ev in store.iter(kinds=[EvidenceKind.K8S_EVENT], start=start, end=end):
        if str(ev.attrs.get("type") or "") != "Warning":
            continue
        reason = str(ev.attrs.get("reason") or "Warning")
        if reason in seen:
            continue
        seen.add(reason)
        obj = ev.attrs.get("object_name") or ""
        count = ev.attrs.get("count")
        times = f" (count {count})" if isinstance(count, int) and count > 1 else ""
        b.add(ev, ev.ts, f"Kubernetes warning `{reason}` on `{obj}`{times}", "anomaly")


_LOG_FTS = (
    "deploy OR deployed OR deployment OR rollout OR upgrade OR upgraded OR rollback OR revert "
    "OR reverted OR restarted OR released OR reindex OR disabled OR scaled OR killed OR halted "
    "OR paused OR stopped"
)


def _log_keywords(store: EvidenceStore, b: _Builder, start: datetime | None,
                  end: datetime | None) -> None:
    hits = store.match(_LOG_FTS, kinds=[EvidenceKind.LOG], start=start, end=end, limit=300)
    seen: set[str] = set()
    for ev in hits:
        if ev.flags or (ev.level in ("error", "critical") and not MITIGATION.search(ev.text)):
            continue
        sig = signature(ev.text)
        if sig in seen:
            continue
        if MITIGATION.search(ev.text):
            cat = "mitigation"
        elif DEPLOY.search(ev.text):
            cat = "deploy"
        else:
            continue
        seen.add(sig)
        b.add(ev, ev.ts, f"`{snippet(ev)}`" + (f" ({ev.service})" if ev.service else ""), cat)


def _notes_and_traces(store: EvidenceStore, b: _Builder, start: datetime | None,
                      end: datetime | None) -> None:
    for ev in store.iter(kinds=[EvidenceKind.NOTE], start=start, end=end, dated_only=True):
        if ev.flags:
            continue
        text = ev.text
        if USER_REPORT.search(text):
            cat = "detection"
        elif MITIGATION.search(text):
            cat = "mitigation"
        elif RESOLUTION.search(text):
            cat = "resolution"
        elif RECOVERY.search(text):
            cat = "recovery"
        elif DECISION.search(text):
            cat = "decision"
        elif OBSERVATION.search(text):
            cat = "detection"
        elif TROUBLE.search(text):
            cat = "anomaly"
        else:
            cat = "context"
        b.add(ev, ev.ts, f"Responder note: `{snippet(ev)}`", cat)
    first_failed = next(
        (
            ev for ev in store.iter(kinds=[EvidenceKind.TRACE], start=start, end=end)
            if ev.level in ("error", "critical") or ev.attrs.get("error")
            or str(ev.attrs.get("status", "ok")).lower() not in ("ok", "success", "200", "")
        ),
        None,
    )
    if first_failed is not None:
        model = first_failed.attrs.get("model") or "model"
        b.add(first_failed, first_failed.ts, f"First failed LLM request to `{model}`", "anomaly")
