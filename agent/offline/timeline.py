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
from datetime import datetime, timedelta, timezone

from agent.model import IncidentWindow, Scope, TimelineEvent, WindowSignal
from agent.offline import signals
from agent.offline.window import log_quiet_cut, plausible_bounds
from agent.offline.window import metric_excursions as window_metric_excursions
from agent.offline.lexicon import (
    CANARY,
    DEPLOY,
    MITIGATION,
    TROUBLE,
)
from agent.offline import statements, templates, user_reports
from agent.offline.window_facts import WindowFacts, window_facts
from agent.validators.people import people
from tools.models import Evidence, EvidenceKind
from tools.readers.flags import MAX_DIFFS, changed_leaves
from tools.store.reader import EvidenceReader

MAX_EVENTS = 40  # an incident with a rollback story has ~15 milestones plus corroborating rows
SNIPPET = 140
# Lower numbers win when two events collide or the cap is hit.
PRIORITY = {
    "trigger": 0, "anomaly": 1, "alert": 1, "page": 1, "detection": 1, "ack": 2, "mitigation": 2,
    "recovery": 2, "resolution": 2, "declared": 2, "decision": 2, "diagnosis": 2, "user_report": 3, "escalation": 3, "deploy": 3,
    "context": 5,
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
    # A backtick would close the code span the report quotes this in; "…" in its place keeps each
    # fragment verbatim (a quote check reads fragments between ellipses), where "'" would not.
    text = " ".join(text.replace("`", " … ").split())
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


def incident_window(scope: Scope, store: EvidenceReader) -> tuple[datetime | None, datetime | None]:
    lo, hi = store.time_span()
    # Implausible stamps (year 1 or 9999 placeholders, marked by tools/plausible.py) never bound
    # the window: they would stretch it across millennia and overflow date arithmetic.
    ok_lo, ok_hi = plausible_bounds(store)
    if lo is not None and lo.timestamp() < ok_lo:
        lo = datetime.fromtimestamp(ok_lo, tz=timezone.utc)
    if hi is not None and hi.timestamp() > ok_hi:
        hi = datetime.fromtimestamp(ok_hi, tz=timezone.utc)
    start = scope.window_start - timedelta(hours=2) if scope.window_start else lo
    end = scope.window_end + timedelta(hours=2) if scope.window_end else hi
    return start, end


class _Builder:
    def __init__(self) -> None:
        self.events: list[TimelineEvent] = []
        self.window: IncidentWindow | None = None  # the draft's incident window (onset for triggers)

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
        """One row per happening: rows of the same kind (an alert and the page it raised count as
        one) within a short tolerance that name an overlapping entity merge, earliest time kept;
        rows explaining the same record merge whatever their kind."""
        ordered = sorted(self.events, key=lambda e: (e.timestamp, PRIORITY.get(e.category, 9)))
        kept: list[TimelineEvent] = []
        for e in ordered:
            dup = next((k for k in kept if _same_happening(k, e)), None)
            if dup is None and e.evidence and e.category in SAME_RECORD_MERGES:
                # Several detectors explain the same record (onset, first new error, top
                # template): one row, the most specific text kept.
                dup = next((k for k in kept if k.evidence[:1] == e.evidence[:1]
                            and k.category in SAME_RECORD_MERGES), None)
            if dup is not None:
                _merge(dup, e)
                continue
            kept.append(e)
        if len(kept) > MAX_EVENTS:
            ranked = sorted(kept, key=lambda e: (PRIORITY.get(e.category, 9), e.timestamp))
            keep_ids = {id(e) for e in ranked[:MAX_EVENTS]}
            kept = [e for e in kept if id(e) in keep_ids]
        return kept


# Categories that name the same kind of happening seen from different tools.
GROUP = {"alert": "alerting", "page": "alerting"}
TOLERANCE_S = {"alerting": 300, "recovery": 300}
# Kinds of happening that occur once per incident, so closeness in time is enough.
ONCE = frozenset({"resolution", "declared", "ack"})
# Groups whose rows are merged on a shared entity: one alert seen by Alertmanager, PagerDuty and
# an alert bot. Other rows with different texts stay apart (each may carry its own detail).
ENTITY_MERGE = frozenset({"alerting"})
MAX_IDS = 8
SAME_RECORD_MERGES = frozenset({"anomaly", "context"})
_ENTITY_TOKEN = re.compile(r"[A-Za-z][\w.:/-]*[\w]")
_CHANNEL = re.compile(r"#[\w.-]+")


def _entities(text: str) -> set[str]:
    """Identifier-like words a row names (CamelCase alert names, pod-7, v0.6.4, flag_keys)."""
    out = set()
    for tok in _ENTITY_TOKEN.findall(_CHANNEL.sub(" ", text)):
        if len(tok) >= 4 and (any(c.isdigit() for c in tok) or "-" in tok or "_" in tok
                              or any(c.isupper() for c in tok[1:])):
            out.add(tok.lower())
    return out


def _same_happening(k: TimelineEvent, e: TimelineEvent) -> bool:
    group = GROUP.get(e.category, e.category)
    if GROUP.get(k.category, k.category) != group:
        return False
    if abs((k.timestamp - e.timestamp).total_seconds()) > TOLERANCE_S.get(group, 120):
        return False
    if k.event == e.event or group in ONCE:
        return True
    return group in ENTITY_MERGE and bool(_entities(k.event) & _entities(e.event))


def _merge(into: TimelineEvent, e: TimelineEvent) -> None:
    """Fold a duplicate row into the earlier one: its ids, and what it adds when it is a
    different kind of row (a page merged into its alert still says the page happened)."""
    for i in e.evidence:
        if i not in into.evidence and len(into.evidence) < MAX_IDS:
            into.evidence.append(i)
    if e.category != into.category and e.category in ("page", "ack", "escalation"):
        head = e.event.split(": `", 1)[0]
        if head not in into.event:
            into.event = f"{into.event}; {head}"
    elif "`" in e.event and "`" not in into.event:
        # A tool's bare row ("PagerDuty incident resolved") folded with a responder's words about
        # the same moment keeps those words: they say what was seen ("error rate back to 1%").
        into.event = f"{into.event}; {e.event}"


def log_anomaly(store: EvidenceReader, scope: Scope) -> tuple[signals.Excursion | None, Evidence | None]:
    exc = signals.log_error_excursion(store.log_buckets(signals.BUCKET_S), scope.window_start, "")
    if exc is None:
        return None, None
    first = store.errors(start=exc.onset, limit=1)
    return exc, (first[0] if first else None)


def metric_excursions(store: EvidenceReader, scope: Scope) -> list[tuple[signals.Excursion, Evidence]]:
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


def build_timeline(store: EvidenceReader, scope: Scope, facts: WindowFacts | None = None) -> list[TimelineEvent]:
    """The timeline rows, built around the incident window of `facts` (computed when not given)."""
    facts = facts if facts is not None else window_facts(store, scope)
    PEOPLE.set(tuple(re.compile(r"(?<![\w@])@?" + re.escape(n) + r"\b", re.I)
                     for n in sorted(people(store), key=len, reverse=True)))
    start, end = incident_window(scope, store)
    b = _Builder()

    win = facts.window
    b.window = win
    _window_rows(store, b, win)

    _new_signature(store, b, scope, start, end)
    _error_signatures(store, b, start, end)
    _alerts(store, b, start, end)
    _pages(store, b, start, end)
    _chat(store, b, start, end)
    _k8s(store, b, start, end)
    _log_keywords(store, b, start, end)
    _notes_and_traces(store, b, start, end)
    _changes_evals_tickets(store, b, start, end)
    _access_rates(store, b, start, end)
    _implicated_entities(store, b, start, end)
    _demote_precursors(b, win)
    _trigger(store, b, scope, facts.modes.result().modes)
    _reverts(store, b, end)
    return b.finish()


_SHIPPED_UNDO = re.compile(r"revert|roll(?:ed|ing)?[ -]?back|rollback|deployed|downgrad", re.I)
REPORTED_STEP_S = 900  # a responder's "rollback deployed" this soon after a merge is the same step


def _fold_into_reported_step(b: _Builder, ev: Evidence | None, when: datetime, note: str) -> bool:
    """When responders already reported the mitigation the merge led to, cite the merge on that
    row instead of adding a second row for one step."""
    later = [e for e in b.events if e.category == "mitigation" and _SHIPPED_UNDO.search(e.event)
             and 0 <= (e.timestamp - when).total_seconds() <= REPORTED_STEP_S]
    if not later or ev is None:
        return False
    row = min(later, key=lambda e: e.timestamp)
    if ev.id not in row.evidence and len(row.evidence) < MAX_IDS:
        row.evidence.append(ev.id)
    row.event = f"{row.event} ({note})"
    return True


def _reverts(store: EvidenceReader, b: _Builder, end: datetime | None) -> None:
    """Revert commits after the onset: when each was merged and when it reached production (the
    deploy or sync that names it). Responders often say only "merged" or "argo picked it up", so
    the change records, not the chat, carry these steps."""
    from agent.offline.change_model import collect_changes

    win = b.window
    onset = win.onset if win is not None and win.onset is not None else None
    if onset is None or end is None or end <= onset:
        return
    for c in collect_changes(store, onset, end):
        if c.kind != "commit" or not c.reverts or c.landed_at is None or not c.evidence:
            continue
        ev = store.get(c.evidence[0])
        name = f"`{c.ref[:12]}`"
        if not _fold_into_reported_step(b, ev, c.landed_at, f"revert {name} merged {c.landed_at:%H:%M:%S}"):
            b.add(ev, c.landed_at, f"Revert {name} merged: {c.summary}", "mitigation")
        prod = store.get(c.production_evidence) if c.production_evidence else None
        if prod is not None and prod.id != c.evidence[0] and c.reached_production_at is not None:
            b.add(prod, c.reached_production_at, f"Revert {name} reaches production: `{snippet(prod)}`",
                  "mitigation")


def _signal_text(s: WindowSignal) -> str:
    if s.family.startswith("metric:"):
        return (f"Metric `{s.name}` leaves its baseline band (baseline {_fmt(s.baseline or 0.0)}, "
                f"peak {_fmt(s.peak if s.peak is not None else 0.0)})")
    if s.baseline is not None:
        return f"{s.name[0].upper()}{s.name[1:]} rises above baseline ({s.detail})"
    return f"{s.name[0].upper()}{s.name[1:]}: {s.detail}"


def _window_rows(store: EvidenceReader, b: _Builder, win: IncidentWindow) -> None:
    """One onset row citing every corroborating source, a row for each corroborator that starts
    later, and one recovery row when the corroborated series return to baseline."""
    if win.onset is None or not win.corroborating:
        return
    first = win.corroborating[0]
    ev = store.get(win.onset_evidence[0]) if win.onset_evidence else None
    quoted = f"; first: `{snippet(ev)}`" if ev is not None and ev.kind == EvidenceKind.LOG else ""
    backed = ", ".join(s.name for s in win.corroborating[1:]) or "no second source (single source)"
    # At most four ids per row, as merged rows keep (the validators read longer lists as padding).
    ids = [i for i in win.evidence_ids() if ev is None or i != ev.id][: 4 - (ev is not None)]
    b.add(ev, win.onset, f"Incident onset: {_signal_text(first)}{quoted}; corroborated by {backed}",
          "anomaly", extra_ids=ids)
    for s in win.corroborating[1:]:
        if s.baseline is not None and (s.onset - win.onset).total_seconds() > (win.onset_uncertainty_s or 0):
            b.add(store.get(s.evidence[0]) if s.evidence else None, s.onset, _signal_text(s), "anomaly")
    for mexc, mev in window_metric_excursions(store, win):
        _first_report_of_value(store, b, mexc, mev)
    if win.end is not None and win.end_basis == "series back in band":
        _recovery_row(store, b, win)


def _recovery_row(store: EvidenceReader, b: _Builder, win: IncidentWindow) -> None:
    """Cite the record that shows the return: the last series' own sample (a metric) or the first
    log record at or after it, at that record's time."""
    assert win.end is not None
    names = ", ".join(s.name for s in win.corroborating if s.baseline is not None)
    last = next(s for s in win.corroborating if s.end == win.end)
    metric_id = next((i for i in last.evidence if i.startswith("metric:")), None)
    if metric_id is not None:
        b.add(store.get(metric_id), win.end, f"Back within baseline band: {names}", "recovery")
        return
    after, _ = store.search(None, kinds=[EvidenceKind.LOG], start=win.end, limit=1)
    if after and after[0].ts is not None:
        b.add(after[0], after[0].ts, f"Back within baseline band: {names}", "recovery")


def _demote_precursors(b: _Builder, win: IncidentWindow) -> None:
    """Anomaly rows earlier than the corroborated onset (beyond its uncertainty) are precursors:
    kept in the timeline as context, never the first anomaly."""
    if win.onset is None:
        return
    cut = win.onset - timedelta(seconds=win.onset_uncertainty_s or 0)
    for e in b.events:
        if e.category == "anomaly" and e.timestamp < cut:
            e.category = "context"
            e.event = f"Precursor (before the corroborated onset): {e.event}"


ENTITY = re.compile(r"\b[a-z]{1,8}-\d{3,}[a-z0-9]*\b")


def _implicated_entities(store: EvidenceReader, b: _Builder, start: datetime | None,
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


def _trigger(store: EvidenceReader, b: _Builder, scope: Scope, failure_modes: list[str]) -> None:
    """The top-ranked change before the first anomaly: the ranking the analysis reports (the same
    arguments, so the same ranking). A commit shipped later by a deploy gets two rows: when it
    landed and when it reached production."""
    from agent.offline.changes import draft_ranking

    win = b.window
    if win is not None and win.onset is not None:  # the corroborated onset, as analysis uses it
        onset, unc = win.onset, float(win.onset_uncertainty_s or 0.0)
    else:
        onsets = [e.timestamp for e in b.events if e.category == "anomaly"]
        if not onsets:
            return
        onset, unc = min(onsets), 0.0
    ranked = draft_ranking(store, scope, onset, unc, failure_modes)
    if not ranked or ranked[0].at is None:
        return
    t = ranked[0]
    ev = store.get(t.evidence[0])
    files = [str(f) for f in (ev.attrs.get("files") or [])][:3] if ev is not None and t.kind == "commit" else []
    shown = f" (files: {', '.join(f'`{f}`' for f in files)})" if files else ""
    name = f"`{t.ref[:12]}`" if t.kind == "commit" else f"{t.kind.replace('_', ' ')} `{t.ref[:60]}`"
    prod = store.get(t.production_evidence) if t.production_evidence else None
    if t.landed_at is not None and prod is not None and prod.id != t.evidence[0]:
        b.add(ev, t.landed_at, f"Top-ranked change {name} lands: {t.summary}{shown}", "trigger")
        b.add(prod, t.at, f"Top-ranked change {name} reaches production: `{snippet(prod)}`", "trigger")
        return
    verb = "lands" if t.kind == "commit" else "takes effect"
    b.add(ev, t.at, f"Top-ranked change {name} {verb}: {t.summary}{shown}", "trigger")


def _value_strings(ev: Evidence, exc: signals.Excursion) -> list[str]:
    """The sample values around the onset, as written in the series (e.g. "0.912")."""
    out = []
    for t, v in ev.attrs.get("samples") or []:
        if abs(float(t) - exc.onset.timestamp()) <= 1 and isinstance(v, str):
            out.append(v)
    if not out:
        out.append(f"{exc.peak:g}")
    return [v for v in out if len(v.strip("0.")) >= 2][:1]


def _first_report_of_value(store: EvidenceReader, b: _Builder, exc: signals.Excursion,
                           mev: Evidence) -> None:
    """Metric samples are coarse (hourly evals, 5-minute rates); a log or chat line that states
    the new value often pins the moment down more precisely."""
    for value in _value_strings(mev, exc):
        hits = store.match(f'"{value}"', kinds=[EvidenceKind.LOG, EvidenceKind.CHAT, EvidenceKind.NOTE],
                           start=exc.onset - timedelta(hours=2), end=exc.onset, limit=5)
        hits = [h for h in hits if not h.flags and value in h.text and not templates.is_access_line(h)]
        if hits:
            h = hits[0]
            b.add(h, h.ts, f"First record stating the new `{exc.signal}` value {value}: `{snippet(h)}`",
                  "anomaly")


def _error_signatures(store: EvidenceReader, b: _Builder, start: datetime | None,
                      end: datetime | None) -> None:
    """The three most frequent error templates of the window, each at its first record with
    its count (the template is described; only the sample record is quoted)."""
    errors = store.errors(start=start, end=end, limit=20000)
    for t in [t for t in templates.mine(errors) if not _FRAME.match(templates.message(t.first))][:3]:
        ev = t.first
        last = [] if t.count < 2 else _last_id(errors, t)
        b.add(ev, ev.ts, f"First record of a recurring error: `{snippet(ev)}` ({t.count} records "
              "of this template in window)" if t.count > 1 else f"Error: `{snippet(ev)}`",
              "anomaly" if t.count > 1 else "context", extra_ids=last)


# A stack frame or traceback header names no failure of its own; its exception line does.
_FRAME = re.compile(r'\s*(?:File "|at [\w.$]+\(|Traceback \(most recent|\.\.\.|\^)')


def _last_id(errors: list[Evidence], t: templates.Template) -> list[str]:
    """The id of the template's last record, so the row cites both ends of the run."""
    shape = templates.fold(templates.message(t.first))
    last = next((e for e in reversed(errors) if e.ts == t.last_ts
                 and templates.fold(templates.message(e)) == shape), None)
    return [last.id] if last is not None and last.id != t.first.id else []


def baseline_cut(store: EvidenceReader, scope: Scope) -> datetime | None:
    """End of the quiet period: the incident window start, else the first fifth of the logs' span."""
    if scope.window_start is not None:
        return scope.window_start
    return log_quiet_cut(store)


def _new_signature(store: EvidenceReader, b: _Builder, scope: Scope, start: datetime | None,
                   end: datetime | None) -> None:
    """The first warning or error whose template never appeared during the quiet period."""
    cut = baseline_cut(store, scope)
    if cut is None:
        return
    base = store.errors(start=start, end=cut, limit=20000, include_warnings=True)
    window = store.errors(start=cut, end=end, limit=20000, include_warnings=True)
    fresh = templates.new_since(base, window)
    if not fresh:
        return
    t = fresh[0]
    ev = t.first
    level = "error" if t.levels & {"error", "critical"} else "warning"
    times = f", {t.count} records of this template" if t.count > 1 else ""
    b.add(ev, ev.ts, f"First new {level} not seen before the incident window: `{snippet(ev)}`"
          + (f" ({ev.service}{times})" if ev.service else f" ({times[2:]})" if times else ""),
          "anomaly" if level == "error" or _near_onset(b.window, ev.ts) else "context")


# A new warning is a symptom only near the corroborated onset; elsewhere it is background (a
# credential or config notice), shown as context. Ten minutes covers a warning that precedes
# the first error of the same failure by a few sample intervals.
NEW_WARNING_NEAR_ONSET_S = 600.0


def _near_onset(win: IncidentWindow | None, when: datetime | None) -> bool:
    """Whether `when` is not well after the corroborated onset (true when there is no onset)."""
    if win is None or win.onset is None or when is None or when < win.onset:
        return True  # earlier ones are labelled precursors by _demote_precursors
    slack = max(NEW_WARNING_NEAR_ONSET_S, float(win.onset_uncertainty_s or 0.0))
    return abs((when - win.onset).total_seconds()) <= slack


def _access_rates(store: EvidenceReader, b: _Builder, start: datetime | None,
                  end: datetime | None) -> None:
    """HTTP request lines as a rate: the first minute whose 5xx count leaves the quiet period's
    band, with the window's 5xx share. No request line is ever a row of its own."""
    rows = [r for r in store.minute_stats() if r[3] > 0]
    if not rows or start is None:
        return
    lo, hi = start.timestamp(), (end.timestamp() if end else float("inf"))
    before = [r[4] for r in rows if r[0] < lo]
    during = [r for r in rows if lo <= r[0] <= hi]
    if not during:
        return
    mean = sum(before) / len(before) if before else 0.0
    spread = (sum((x - mean) ** 2 for x in before) / len(before)) ** 0.5 if before else 0.0
    onset = next((r for r in during if r[4] >= 3 and r[4] > mean + 4 * spread), None)
    if onset is None:
        return
    minute = datetime.fromtimestamp(onset[0], tz=start.tzinfo)
    total, failed, _src, first_id, _last = store.status_totals(minute, minute + timedelta(seconds=59))
    ev = store.get(first_id) if first_id else None
    if ev is None or ev.ts is None:
        return
    peak = max(during, key=lambda r: r[4])
    b.add(ev, ev.ts, f"HTTP 5xx responses rise: {onset[4]} of {onset[3]} requests in the first minute "
          f"(quiet-period mean {mean:.1f}/min; peak {peak[4]}/min)", "anomaly")


# What each statement intent is called in a row.
LABEL = {
    "declare": "Incident declared / commander assigned", "escalate": "Escalation",
    "decide": "Decision", "mitigate": "Mitigation step", "recover": "Recovery observed",
    "resolve": "Resolution declared", "user_report": "User-impact report relayed",
    "diagnosis": "Root cause found (responder)",
    "observe": "Problem noticed by a responder", "deploy": "Deploy announced",
    "alert_firing": "Alert notification", "alert_resolved": "Alert resolved notification",
}


def _milestone(st: statements.Statement) -> str | None:
    """The timeline category a responder's statement is a milestone of, or None. Chat and notes
    share this rule (and statements.classify, one verb order for both); only what an unclassified
    line becomes differs: a chat line is dropped (except the first human one), a note is kept as
    context, since a note is written for the record."""
    cat = statements.CATEGORY.get(st.intent)
    return cat if cat is not None and cat != "context" and st.confidence >= 0.5 else None


def _chat(store: EvidenceReader, b: _Builder, start: datetime | None, end: datetime | None) -> None:
    first_human = True
    for ev in store.iter(kinds=[EvidenceKind.CHAT], start=start, end=end):
        if ev.flags:
            continue
        bot = bool(ev.attrs.get("bot"))
        st = statements.classify(ev.text, bot=bot)
        said = f"in #{ev.attrs.get('channel') or 'chat'}: `{snippet(ev)}`"
        cat = _milestone(st)
        if cat is not None:
            b.add(ev, ev.ts, f"{LABEL[st.intent]} {said}", cat)
        elif first_human and not bot:
            b.add(ev, ev.ts, f"First responder message {said}", "context")
        else:
            continue
        first_human = first_human and bot


def _k8s(store: EvidenceReader, b: _Builder, start: datetime | None, end: datetime | None) -> None:
    """One row per warning reason, at its FIRST occurrence (an event object is exported with its
    last time; `first_ts` says when it began) with the total count."""
    first: dict[str, tuple[datetime, Evidence]] = {}
    counts: Counter[str] = Counter()
    for ev in store.iter(kinds=[EvidenceKind.K8S_EVENT], start=start, end=end):
        if str(ev.attrs.get("type") or "") != "Warning":
            continue
        reason = str(ev.attrs.get("reason") or "Warning")
        when = _k8s_first_ts(ev)
        n = ev.attrs.get("count")
        counts[reason] += n if isinstance(n, int) and n > 0 else 1
        if when is not None and (reason not in first or when < first[reason][0]):
            first[reason] = (when, ev)
    for reason, (when, ev) in first.items():
        times = f"count {counts[reason]}" if counts[reason] > 1 else ""
        obj = ev.attrs.get("object_name") or ""
        if ev.ts is None or when == ev.ts or store.has_timestamp(when, 1.0):
            b.add(ev, when, f"Kubernetes warning `{reason}` on `{obj}` first seen"
                  + (f" ({times})" if times else ""), "anomaly")
        else:
            # The event object is stored at its last time; a row is dated only with a time some
            # record is stored at, so it says which end of the run it shows.
            b.add(ev, ev.ts, f"Kubernetes warning `{reason}` on `{obj}` ({times + ', ' if times else ''}"
                  "last reported at this time)", "anomaly")


def _k8s_first_ts(ev: Evidence) -> datetime | None:
    raw = ev.attrs.get("first_ts")
    if isinstance(raw, str) and raw:
        try:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return ev.ts
        return when if when.tzinfo is not None else ev.ts
    return ev.ts


_LOG_FTS = (
    "deploy OR deployed OR deployment OR rollout OR upgrade OR upgraded OR rollback OR revert "
    "OR reverted OR restarted OR released OR reindex OR disabled OR scaled OR killed OR halted "
    "OR paused OR stopped OR hotfix OR mitigated OR drained OR downgraded OR restored OR recovered"
)
# A restore from a snapshot or backup that finished: the data is back, a recovery step.
RESTORE_DONE = re.compile(
    r"(?<![a-z])(?:restored|recovered)\b.{0,20}\bfrom (?:the |a )?(?:snapshot|backup)|"
    r"(?<![a-z])(?:restor\w*|recover\w*)\b.{0,60}\b(?:finished|completed?|done|succeeded)\b|"
    r"\b(?:snapshot|backup) (?:restore|recovery) (?:finished|completed?|done|succeeded)\b",
    re.I,
)


def _log_keywords(store: EvidenceReader, b: _Builder, start: datetime | None,
                  end: datetime | None) -> None:
    hits = store.match(_LOG_FTS, kinds=[EvidenceKind.LOG], start=start, end=end, limit=300)
    seen: set[str] = set()
    for ev in hits:
        if ev.flags or templates.is_access_line(ev):
            continue
        if ev.level in ("error", "critical") and not MITIGATION.search(ev.text):
            continue
        sig = signature(ev.text)
        if sig in seen:
            continue
        if RESTORE_DONE.search(ev.text) and ev.level not in ("error", "critical"):
            cat = "recovery"
        elif MITIGATION.search(ev.text):
            cat = "mitigation"
        elif DEPLOY.search(ev.text):
            cat = "deploy"
        else:
            continue
        seen.add(sig)
        b.add(ev, ev.ts, f"`{snippet(ev)}`" + (f" ({ev.service})" if ev.service else ""), cat)


# Keys whose value is a share of traffic: a ramp step reads "rollout 10% → 50%".
_PERCENT_KEY = re.compile(r"^(?:rollout|percent(?:age)?|weight|traffic|canary_?weight|setweight)$", re.I)


def _change_steps(attrs: dict[str, object]) -> list[tuple[str, str, str]]:
    """What a flag/config change changed, from its before/after values: (key, before, after), with
    traffic shares as percentages.

    Without it a ramp 10 → 50 → 100 is three identical "flag updated" rows."""
    before_v, after_v = attrs.get("before"), attrs.get("after")
    created = before_v is None and isinstance(after_v, dict)  # a new strategy: only its share matters
    steps = []
    for key, before, after in changed_leaves({} if created else before_v, after_v)[:MAX_DIFFS]:
        share = bool(_PERCENT_KEY.match(key))
        if created and not share:
            continue
        if share:
            before, after = (v if v == "none" or v.endswith("%") else f"{v}%" for v in (before, after))
        steps.append((key, before, after))
    return steps


def _step_text(steps: list[tuple[str, str, str]]) -> str:
    return ", ".join(f"{key} {before} → {after}" for key, before, after in steps)


def _ramped_to_zero(steps: list[tuple[str, str, str]]) -> bool:
    """A traffic share set to 0 ends exposure: that is a mitigation, not a deploy."""
    return any(_PERCENT_KEY.match(key) and after == "0%" for key, _, after in steps)


def _changes_evals_tickets(store: EvidenceReader, b: _Builder, start: datetime | None,
                           end: datetime | None) -> None:
    """Flag/config/deploy changes, failing evals or canaries (first per suite) and the first
    user ticket (with how many followed in the window)."""
    _change_rows(store, b, start, end)
    _failed_eval_rows(store, b, start, end)
    if not _topic_ticket_row(store, b):
        _first_ticket_row(store, b, start, end)


# Actions that take a change back: its row is a mitigation, not a deploy.
UNDO_ACTIONS = ("rolled_back", "disabled", "reverted")


def _change_rows(store: EvidenceReader, b: _Builder, start: datetime | None, end: datetime | None) -> None:
    for ev in store.iter(kinds=[EvidenceKind.CHANGE], start=start, end=end):
        if ev.flags:
            continue
        a = ev.attrs
        what = " ".join(str(x) for x in (a.get("change_type"), f"`{a['target']}`" if a.get("target") else None,
                                           a.get("action")) if x)
        steps = _change_steps(a)
        step = _step_text(steps)
        cat = "mitigation" if str(a.get("action") or "") in UNDO_ACTIONS or _ramped_to_zero(steps) else "deploy"
        b.add(ev, ev.ts, f"Change: {what or snippet(ev)}"
              + (f" in {a['environment']}" if a.get("environment") else "")
              + (f" ({step})" if step else ""), cat)


def _failed_eval_rows(store: EvidenceReader, b: _Builder, start: datetime | None, end: datetime | None) -> None:
    """The first failing run of each eval suite or canary."""
    failed_suites: set[str] = set()
    for ev in store.iter(kinds=[EvidenceKind.EVAL], start=start, end=end):
        suite = str(ev.attrs.get("suite") or ev.attrs.get("run") or "eval")
        if ev.attrs.get("passed") is False and suite not in failed_suites:
            failed_suites.add(suite)
            metric = ev.attrs.get("metric")
            b.add(ev, ev.ts, f"Eval `{suite}` fails" + (f" on `{metric}`" if metric else ""), "anomaly")


def _first_ticket_row(store: EvidenceReader, b: _Builder, start: datetime | None, end: datetime | None) -> None:
    """Without a topic that rose with the incident: the window's first dated ticket."""
    tickets = [t for t in store.iter(kinds=[EvidenceKind.TICKET], start=start, end=end) if t.ts]
    if not tickets:
        return
    t0 = tickets[0]
    more = f" ({len(tickets)} tickets in window)" if len(tickets) > 1 else ""
    subject = t0.attrs.get("subject") if not t0.flags else None
    b.add(t0, t0.ts, "First user report (support ticket)"
          + (f": `{subject}`" if isinstance(subject, str) and subject in t0.text else "") + more,
          "user_report")  # users noticing is not the organisation detecting


def _topic_ticket_row(store: EvidenceReader, b: _Builder) -> bool:
    """The first ticket of the topic that rose with the incident (the rise nearest the onset).
    A support queue always has tickets; its first one in the window is usually unrelated."""
    win = b.window
    if win is None or win.onset is None:
        return False
    tickets = [e for e in store.iter(kinds=[EvidenceKind.TICKET], dated_only=True)
               if user_reports.is_ticket_itself(e) and not e.flags]
    rises = user_reports.topic_rises(tickets, lambda e: user_reports.ticket_topic(e, signature))
    onset = win.onset
    if not rises:
        return False
    rise = min(rises, key=lambda r: abs((r.onset - onset).total_seconds()))
    first = rise.reports[0]
    subject = first.attrs.get("subject")
    shown = f": `{subject}`" if isinstance(subject, str) and subject in first.text else ""
    b.add(first, first.ts, f"First user report on the incident's topic ({rise.topic[:80]}){shown} "
          f"({len(rise.reports)} reports of this topic within {user_reports.GROUP_WINDOW_S / 3600:.0f} h)",
          "user_report")
    return True


def _notes_and_traces(store: EvidenceReader, b: _Builder, start: datetime | None,
                      end: datetime | None) -> None:
    for ev in store.iter(kinds=[EvidenceKind.NOTE], start=start, end=end, dated_only=True):
        if ev.flags:
            continue
        cat = _milestone(statements.classify(ev.text))
        if cat is None:
            cat = "anomaly" if TROUBLE.search(ev.text) else "context"
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


def _alerts(store: EvidenceReader, b: _Builder, start: datetime | None, end: datetime | None) -> None:
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


def _pages(store: EvidenceReader, b: _Builder, start: datetime | None, end: datetime | None) -> None:
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
            # PagerDuty's own word ("Acknowledged by ...") so the row reads like the log entry.
            "ack": "Page acknowledged by the on-call responder (ack)",
            "escalation": "Page escalated to the next escalation level",
            "resolution": "PagerDuty incident resolved",
            "decision": f"Incident note added: `{snippet(ev)}`",
        }
        b.add(ev, ev.ts, texts[cat], cat)


