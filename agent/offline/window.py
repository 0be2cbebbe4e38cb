"""The incident window: onset, its uncertainty, and end, from corroborated signals.

Computed once per draft (remembered on the store) and carried in the analysis result, so the
timeline, detection, impact, severity, trigger ranking and the LLM engine all read the same onset.

Method, in the words the report quotes:
1. Every source becomes signals. Series (log error share per minute, HTTP 5xx ratio per minute,
   each metric series, eval scores) are compared with a quiet baseline by median and MAD; a
   deviation counts when it is SUSTAINED (signals.SUSTAIN_POINTS points, dips allowed) and larger
   than a minimum change relative to the baseline. Discrete sources (alerts firing, pages, user
   reports and tickets, failed evals, failed LLM requests, Kubernetes Warning events) become
   signals at their first occurrence; machine-emitted events need a small cluster.
2. The onset is the earliest sustained signal that another INDEPENDENT source (a different
   family: logs, one metric, alerts, pages, users, evals, traces, Kubernetes) backs within
   CORROBORATION_S. With a single source in the whole dump, a strongly sustained signal stands.
3. Everything earlier that is not corroborated (a lone blip, a short run, a single event) is a
   precursor: reported with its time and ids, never the onset.
4. The end is when the corroborated series are back in their band, else the page resolution.
Manifest times only narrow the search (HINT_SLACK_S each side); they are never the answer.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone

from agent.model import IncidentWindow, Precursor, Scope, WindowSignal
from agent.offline import signals, user_reports
from agent.offline.lexicon import USER_REPORT
from tools.models import Evidence, EvidenceKind
from tools.readers.prometheus import sample_points
from tools.store.reader import EvidenceReader

# Two independent sources must start within this of each other to describe the same incident.
# Alerts fire within minutes of a shift; pages and user reports can take an hour or two. Three
# hours admits slow human detection and still keeps apart events of different days or shifts.
CORROBORATION_S = 3 * 3600.0
# Manifests are written after the fact by people who round to the hour and may miss the quiet
# start: the search opens this long before the manifest start and closes this long after its end.
HINT_SLACK_S = 6 * 3600.0
# A minute with fewer log records than this says little about an error share.
MIN_RECORDS_PER_MINUTE = 5
# Error share must rise by at least 5 points of all records: error-level lines are common in
# healthy services (retries, client errors), so smaller moves are housekeeping, not incidents.
ERROR_SHARE_MIN_ABS = 0.05
# 5xx ratio: two points of all requests, twice the P2 line of the severity rule (1%).
HTTP_5XX_MIN_ABS = 0.02
# Relative change a load-like series (errors, latency, queue) must show: +50% of its baseline.
LOAD_MIN_REL = 0.5
# Quality-like series (scores, accuracy, throughput) move less when badly wrong: 10%.
QUALITY_MIN_REL = 0.1
# Machine-emitted discrete events (failed requests, failed evals, Kubernetes warnings) count as
# sustained when at least this many occur within EVENT_CLUSTER_S; a single one is a precursor.
MIN_EVENTS = 2
EVENT_CLUSTER_S = 15 * 60.0
# A hole in a per-minute log series longer than this breaks a run (logs stopped, not recovered).
MAX_LOG_GAP_S = 10 * 60.0
# A single record (a new warning, one error) is linked to the incident only by a tight
# coincidence: an independent sustained signal soon after it. "Soon" is the slowest usual alert
# path: a rule's `for:` of up to 30 minutes plus evaluation and grouping delays (up to 15).
# A lone record followed by nothing for longer is a precursor.
WEAK_CORROBORATION_S = 45 * 60.0
# Without a manifest start, the first fifth of the log records is taken as the quiet stretch.
QUIET_RECORD_SHARE = 0.2
# A measured series (or machine-event cluster) backs a single record only when it leaves its band
# within this: two sample steps of a 5-minute scrape, enough for a rate() window to catch up.
WEAK_SERIES_S = 10 * 60.0
# New messages considered: the first few after the quiet period carry the onset; later ones
# are symptoms already covered by the signals.
MAX_NEW_MESSAGES = 20
# Sustained signals kept in the window (it is checkpointed with the analysis): those around
# the incident, at most this many; a dump with thousands of series would otherwise bloat state.
MAX_SIGNALS = 50
# Precursors reported: the ones closest to the onset; older blips add length, not insight.
MAX_PRECURSORS = 10
# A deviation smaller than this share of the series' own range (its largest minus smallest
# value over the dump) is noise around a flat baseline: a series quiet at exactly 0 (median and
# MAD both 0) would otherwise count any tiny nonzero value. The incident, when the series sees
# it, is the range itself, so a tenth of it never hides it.
SCALE_FLOOR_FRAC = 0.1
# Metrics that measure a share of failed requests (error/5xx ratio, 0..1) get the same floor as
# the HTTP 5xx series from logs: a move under two points of all requests is not an incident.
_FAILURE_SHARE = ("5xx", "error", "fail")
_SHARE_WORDS = ("ratio", "rate", "share", "fraction", "percent", "pct")
ERROR_RECORDS = "error-level log records"
# Signal families that are someone's judgment that something is wrong (an alert rule, a page,
# a user): enough to tie a single warning record to an incident.
JUDGMENT_FAMILIES = frozenset({"alerting", "user"})
# Kubernetes Warning reasons that mean workload harm (not scheduling chatter).
K8S_HARM = ("BackOff", "CrashLoopBackOff", "OOMKilled", "OOMKilling", "Unhealthy", "Failed",
            "Evicted", "FailedMount", "NodeNotReady", "Killing")


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def _hms(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------ series signals


def _baseline(points: list[tuple[float, float]], quiet_until: float | None) -> list[float]:
    """The quiet stretch: before the manifest's start when the series reaches back that far,
    else the first fifth (at least signals.MIN_BASELINE points). Median and MAD of it resist a
    few odd points in it; the incident itself is never the reference."""
    if quiet_until is not None:
        quiet = [v for t, v in points if t <= quiet_until]
        if quiet:
            return quiet
    return [v for _, v in points[: max(signals.MIN_BASELINE, len(points) // 5)]]


def _series_signals(points: list[tuple[float, float]], *, name: str, family: str, ids: list[str],
                    sign: float, two_sided: bool, min_rel: float, min_abs: float,
                    quiet_until: float | None, max_gap_s: float | None = None) -> list[WindowSignal]:
    """Sustained runs become signals; short runs become non-sustained signals (precursors)."""
    if len(points) < signals.SUSTAIN_POINTS + 1:
        return []
    base = _baseline(points, quiet_until)
    values = [v for _, v in points]
    scale_floor = SCALE_FLOOR_FRAC * (max(values) - min(values))
    med, width = signals.robust_band(base, min_rel=min_rel, min_abs=max(min_abs, scale_floor))
    step = signals.step_s(points)
    # Samples before the manifest's start are a stretch the responders call quiet: one of them
    # is a baseline. Without that, the series must show MIN_QUIET_POINTS in-band points itself.
    labelled = quiet_until is not None and points[0][0] <= quiet_until
    need_quiet = 1 if labelled else signals.MIN_QUIET_POINTS
    out = []
    for run in signals.deviation_runs(points, med, width, sign=sign, two_sided=two_sided,
                                      max_gap_s=max_gap_s):
        t0, tp = points[run.start][0], points[run.peak][0]
        end = None if run.to_end else _utc(points[run.stop][0])
        quiet = signals.quiet_before(points, run.start, med, width, sign=sign, two_sided=two_sided)
        # A run with no quiet stretch before it (a series that starts out of band, its first
        # sparse and noisy samples) shows where the export begins, not where a change began.
        calm = quiet >= need_quiet
        out.append(WindowSignal(
            name=name, family=family, onset=_utc(t0), end=end, evidence=list(ids),
            sustained=signals.is_sustained(run) and calm,
            strong=calm and run.out_points >= signals.STRONG_POINTS,
            resolution_s=step, baseline=med, peak=points[run.peak][1], peak_at=_utc(tp),
            detail=(f"baseline median {med:.4g}, band ±{width:.4g}, peak {points[run.peak][1]:.4g}, "
                    f"{run.out_points} point(s) out"
                    + ("" if calm else f"; only {quiet} quiet point(s) before it"))
        ))
    return out


def _minute_rows(store: EvidenceReader) -> list[tuple[float, int, int, int, int]]:
    """(minute, records, errors, with status, 5xx) from the finalized per-minute table; a store
    that was never finalized gives no failed counts, so the 5xx series is then skipped."""
    if store.is_finalized():
        return store.minute_stats()
    return [(b, n, e, s, 0) for b, n, e, s in store.log_buckets(signals.BUCKET_S)]


def _log_signals(store: EvidenceReader, quiet_until: float | None) -> list[WindowSignal]:
    lo_ok, hi_ok = plausible_bounds(store)
    rows = [r for r in _minute_rows(store) if lo_ok <= r[0] <= hi_ok]
    share = [(b, e / n) for b, n, e, _s, _f in rows if n >= MIN_RECORDS_PER_MINUTE]
    http = [(b, f / s) for b, _n, _e, s, f in rows if s >= MIN_RECORDS_PER_MINUTE]
    out = _series_signals(share, name="log error share per minute", family="logs", ids=[],
                          sign=1.0, two_sided=False, min_rel=LOAD_MIN_REL,
                          min_abs=ERROR_SHARE_MIN_ABS, quiet_until=quiet_until, max_gap_s=MAX_LOG_GAP_S)
    if any(f for *_x, f in rows):
        out += _series_signals(http, name="HTTP 5xx ratio per minute", family="logs", ids=[],
                               sign=1.0, two_sided=False, min_rel=LOAD_MIN_REL,
                               min_abs=HTTP_5XX_MIN_ABS, quiet_until=quiet_until, max_gap_s=MAX_LOG_GAP_S)
    for s in out:  # cite the first error record of the run: the precise, quotable onset
        first = store.errors(start=s.onset, end=s.onset + timedelta(seconds=2 * s.resolution_s), limit=1)
        if first and first[0].ts is not None:
            s.evidence, s.onset = [first[0].id], max(first[0].ts, s.onset)
    return out


def _samples(ev: Evidence, lo_ok: float = float("-inf"), hi_ok: float = float("inf")) -> list[tuple[float, float]]:
    """Finite-or-inf samples within the plausible range, sorted by time."""
    # NaN never compares equal to itself
    return sorted((t, v) for t, v in sample_points(ev) if v == v and lo_ok <= t <= hi_ok)


def _metric_signals(store: EvidenceReader, quiet_until: float | None) -> list[WindowSignal]:
    out = []
    bounds = plausible_bounds(store)
    for ev in store.iter(kinds=[EvidenceKind.METRIC]):
        name = str(ev.attrs.get("name") or ev.text.split("{")[0])
        direction = signals.metric_direction(name)
        pts = signals.counter_to_rate(_samples(ev, *bounds), name)
        out += _series_signals(
            pts, name=name, family=f"metric:{name}",
            # Quality-like and unknown series are read both ways: a sudden jump in an eval score or
            # AUC (contamination, leakage) is as suspicious as a drop.
            ids=[ev.id], sign=-1.0 if direction is False or _is_volume(name) else 1.0,
            # Volume (work per second) is read one way whatever the name says: more of it is the
            # daily cycle or load, not harm; a drop is traffic lost.
            two_sided=not _is_volume(name) and direction is not True,
            min_rel=LOAD_MIN_REL if direction is True else QUALITY_MIN_REL,
            min_abs=HTTP_5XX_MIN_ABS if _is_failure_share(name, pts) else 0.0,
            quiet_until=quiet_until)
    return out


# Volume-like names (work done per second): more of it is load, not harm, so only a drop counts.
# Scores and accuracies stay two-sided (a sudden jump is contamination or leakage).
_VOLUME = ("throughput", "tokens_per_s", "qps", "rps", "requests_per", "per_second", "_per_s")


def _is_volume(name: str) -> bool:
    n = name.lower()
    return any(w in n for w in _VOLUME)


def _is_failure_share(name: str, pts: list[tuple[float, float]]) -> bool:
    """A failed-request share: named as an error/5xx ratio and every value within 0..1."""
    n = name.lower()
    return (any(w in n for w in _FAILURE_SHARE) and any(w in n for w in _SHARE_WORDS)
            and bool(pts) and all(0.0 <= v <= 1.0 for _, v in pts))


def _eval_signals(store: EvidenceReader, quiet_until: float | None) -> list[WindowSignal]:
    """Failed eval samples as events; each suite/metric's scores as a series (lower is worse)."""
    failed: list[Evidence] = []
    scores: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for ev in store.iter(kinds=[EvidenceKind.EVAL], dated_only=True):
        if ev.ts is None:
            continue
        if ev.attrs.get("passed") is False:
            failed.append(ev)
        score = ev.attrs.get("score")
        if isinstance(score, (int, float)) and not isinstance(score, bool):
            key = f"{ev.attrs.get('suite') or 'eval'} {ev.attrs.get('metric') or 'score'}"
            scores[key].append((ev.ts.timestamp(), float(score), ev.id))
    out = _event_signals(failed, name="failed eval results", family="eval", min_events=MIN_EVENTS)
    for key, rows in scores.items():
        rows.sort()
        sigs = _series_signals([(t, v) for t, v, _ in rows], name=f"eval score `{key}`", family="eval",
                               ids=[], sign=-1.0, two_sided=True, min_rel=QUALITY_MIN_REL,
                               min_abs=0.0, quiet_until=quiet_until)
        for s in sigs:
            s.evidence = [next(i for t, _v, i in rows if t >= s.onset.timestamp())]
        out += sigs
    return out


# ------------------------------------------------------------------ event signals


def _event_signals(events: list[Evidence], *, name: str, family: str, min_events: int) -> list[WindowSignal]:
    """Each cluster of events (gaps under EVENT_CLUSTER_S) is one signal, sustained when it holds
    `min_events` or more (a Kubernetes event's own `count` included)."""
    dated = sorted((e for e in events if e.ts is not None), key=lambda e: e.ts)  # type: ignore[arg-type,return-value]
    out: list[WindowSignal] = []
    cluster: list[Evidence] = []

    def flush() -> None:
        if not cluster:
            return
        n = sum(max(int(c.attrs.get("count") or 1), 1) if isinstance(c.attrs.get("count"), int) else 1
                for c in cluster)
        out.append(WindowSignal(
            name=name, family=family, onset=cluster[0].ts, end=None,  # type: ignore[arg-type]
            evidence=[c.id for c in cluster[:3]], sustained=n >= min_events, strong=n >= 2 * max(min_events, 2),
            detail=f"{n} occurrence(s) between {_hms(cluster[0].ts)} and {_hms(cluster[-1].ts)}",  # type: ignore[arg-type]
        ))

    for e in dated:
        if cluster and (e.ts - cluster[-1].ts).total_seconds() > EVENT_CLUSTER_S:  # type: ignore[operator]
            flush()
            cluster = []
        cluster.append(e)
    flush()
    return out


def _discrete_signals(store: EvidenceReader) -> list[WindowSignal]:
    alerts = [e for e in store.iter(kinds=[EvidenceKind.ALERT])
              if str(e.attrs.get("status") or "firing") == "firing"]
    pages = [e for e in store.iter(kinds=[EvidenceKind.PAGE]) if e.attrs.get("entry_type") == "trigger"]
    # Only spans that carry a model are LLM calls; other OpenTelemetry spans are not requests.
    traces = [e for e in store.iter(kinds=[EvidenceKind.TRACE]) if e.attrs.get("model") and (
        e.level in ("error", "critical") or e.attrs.get("error")
        or str(e.attrs.get("status", "ok")).lower() not in ("ok", "success", "200", "", "unset"))]
    k8s = [e for e in store.iter(kinds=[EvidenceKind.K8S_EVENT])
           if str(e.attrs.get("type") or "") == "Warning" and str(e.attrs.get("reason") or "") in K8S_HARM]
    # Alerts, pages and user reports are judgments already (an alert rule has its own `for:`):
    # one is enough. Machine-emitted failures need a cluster.
    # A page is usually the alert's own notification: one family, never each other's backing.
    return (_event_signals(alerts, name="alert firing", family="alerting", min_events=1)
            + _event_signals(pages, name="page triggered", family="alerting", min_events=1)
            + _user_signals(store)
            + _event_signals(traces, name="failed LLM requests", family="trace", min_events=MIN_EVENTS)
            + _event_signals(k8s, name="Kubernetes Warning events", family="k8s", min_events=MIN_EVENTS))


def _user_signals(store: EvidenceReader) -> list[WindowSignal]:
    """Tickets count by topic, as a rise against the topic's own baseline (user_reports.py); a
    lone ticket is never a signal. Chat messages relaying user reports are a judgment like a
    page; a single one is weaker (see below)."""
    from agent.offline.timeline import signature  # one message-folding rule for every stage

    tickets = [e for e in store.iter(kinds=[EvidenceKind.TICKET], dated_only=True)
               if user_reports.is_ticket_itself(e) and not e.flags]
    out = [WindowSignal(
        name=f"user reports on one topic ({rise.topic[:60]})", family="user", onset=rise.onset,
        evidence=[r.id for r in rise.reports[:3]], sustained=True,
        strong=len(rise.reports) >= 2 * user_reports.MIN_GROUP,
        detail=(f"{len(rise.reports)} report(s) within {user_reports.GROUP_WINDOW_S / 3600:.0f} h "
                f"against {rise.usual_per_window:.2f} usual per {user_reports.GROUP_WINDOW_S / 3600:.0f} h"))
        for rise in user_reports.topic_rises(tickets, lambda e: user_reports.ticket_topic(e, signature))]
    relays = [e for e in store.iter(kinds=[EvidenceKind.CHAT])
              if not e.attrs.get("bot") and not e.flags and USER_REPORT.search(e.text)]
    for s in _event_signals(relays, name="user report", family="user", min_events=1):
        if len(s.evidence) == 1:
            # One relayed report stands as a last resort and backs other signals, but is itself
            # backed only by a judgment or a strong series, never by a small bump.
            s.level = "warning"
        out.append(s)
    return out


def _record_signals(store: EvidenceReader, quiet_until: float | None) -> list[WindowSignal]:
    """Single records that may mark an onset in sparse logs: each cluster of error-level records
    and the first occurrence of each warning or error message never seen in the quiet period.
    They are WEAK: only an independent signal right after them (WEAK_CORROBORATION_S) makes one
    the onset; otherwise they are precursors."""
    from agent.offline.timeline import signature  # one message-folding rule for every stage

    cut = _utc(quiet_until) if quiet_until is not None else log_quiet_cut(store)
    if cut is None:
        return []
    errors = store.errors(limit=20000)
    out = _event_signals(errors, name=ERROR_RECORDS, family="logs", min_events=10**9)
    seen = {signature(e.text) for e in store.errors(end=cut, limit=20000, include_warnings=True)}
    fresh: list[Evidence] = []
    for e in store.errors(start=cut, limit=20000, include_warnings=True):
        sig = signature(e.text)
        if sig in seen or e.flags or len(fresh) >= MAX_NEW_MESSAGES:
            continue
        seen.add(sig)
        fresh.append(e)  # the writer judged it worth a warning; corroboration decides the rest
    for e in fresh:
        out.append(WindowSignal(name="first new log message", family="logs", onset=e.ts,  # type: ignore[arg-type]
                                evidence=[e.id], sustained=False, level=e.level,
                                detail=f"{e.level} not seen before {_hms(cut)}"))
    return out


def plausible_bounds(store: EvidenceReader) -> tuple[float, float]:
    """The store's plausible time range (tools/plausible.py marks clock-skewed or placeholder
    timestamps outside it); (-inf, inf) when the store has none recorded."""
    span = store.get_meta("plausible_span") or {}
    lo = span.get("lo") if isinstance(span, dict) else None
    hi = span.get("hi") if isinstance(span, dict) else None
    return (float(lo) if isinstance(lo, (int, float)) else float("-inf"),
            float(hi) if isinstance(hi, (int, float)) else float("inf"))


def log_quiet_cut(store: EvidenceReader) -> datetime | None:
    """End of the logs' own quiet stretch: the minute by which the first fifth of the LOG RECORDS
    was written. The whole store's span includes months of git history, and one stray old log
    line stretches the logs' span too; either would put every line after the cut and make every
    message "new". Counting records is robust to both."""
    lo_ok, hi_ok = plausible_bounds(store)
    rows = sorted((r[0], r[1]) for r in _minute_rows(store) if lo_ok <= r[0] <= hi_ok)
    total = sum(n for _, n in rows)
    if not total:
        return None
    seen = 0
    for minute, n in rows:
        seen += n
        if seen >= total * QUIET_RECORD_SHARE:
            return _utc(minute)
    return _utc(rows[-1][0])


# ------------------------------------------------------------------ corroboration


def _corroborators(c: WindowSignal, pool: list[WindowSignal]) -> list[WindowSignal]:
    """Sustained signals of other families, one per family, starting within CORROBORATION_S of a
    sustained `c`, or within WEAK_CORROBORATION_S after a weak (single-record) `c`."""
    seen: set[str] = {c.family}
    out = []
    for s in sorted(pool, key=lambda s: s.onset):
        gap = (s.onset - c.onset).total_seconds()
        near = abs(gap) <= CORROBORATION_S if c.sustained else 0 <= gap <= WEAK_CORROBORATION_S
        if s.family in seen or not s.sustained or not near:
            continue
        if not c.sustained and s.family not in JUDGMENT_FAMILIES and gap > WEAK_SERIES_S:
            # The 45 minutes allow for an alert rule's delays; a measured series or a cluster of
            # machine events has no such delay, so it backs a single record only right after it.
            continue
        if not c.sustained and s.family in JUDGMENT_FAMILIES and _explained_later(c, s, pool):
            continue
        if c.end is not None and (s.onset - c.end).total_seconds() > WEAK_SERIES_S:
            # A run that was already back in its band well before the other source began is an
            # earlier episode, not the same incident seen twice.
            continue
        if c.level == "warning" and not (s.strong or s.family in JUDGMENT_FAMILIES):
            # A new warning plus a short series run is two weak hints, not an onset: a warning
            # needs a judgment (alert, page, user report) or a strongly sustained deviation.
            continue
        seen.add(s.family)
        out.append(s)
    return out


def _explained_later(c: WindowSignal, judgment: WindowSignal, pool: list[WindowSignal]) -> bool:
    """A judgment (alert, page, user report) after a single record is explained by a measured
    sustained deviation that starts between them, well after the record: the alert fired on
    that deviation, so it says nothing about the earlier record."""
    lo = c.onset.timestamp() + WEAK_SERIES_S
    hi = judgment.onset.timestamp()
    return any(m.sustained and m.family not in JUDGMENT_FAMILIES and lo < m.onset.timestamp() <= hi
               for m in pool)


def _loose(c: WindowSignal, pool: list[WindowSignal]) -> list[WindowSignal]:
    """An independent sustained signal within CORROBORATION_S after a single record."""
    return [s for s in pool if s.family != c.family and s.sustained
            and 0 <= (s.onset - c.onset).total_seconds() <= CORROBORATION_S][:1]


def _pick_onset(cands: list[WindowSignal], single_source: bool) -> tuple[WindowSignal | None, list[WindowSignal], str]:
    """Tiers, each tried only when the one before finds nothing: corroborated; strongly sustained
    alone; a single record loosely backed within CORROBORATION_S; any sustained signal alone.
    A series blip (short run) is never a candidate: it is exactly the false onset to avoid."""
    cands = [c for c in cands if c.sustained or c.baseline is None]
    for c in cands:
        backers = _corroborators(c, cands)
        if backers:
            return c, backers, "corroborated" if c.sustained else "single record, corroborated right after"
    strong = [c for c in cands if c.strong]
    if strong:
        why = "single source, strongly sustained" if single_source else "uncorroborated, strongly sustained"
        return strong[0], [], why
    for c in cands:
        backers = _loose(c, cands)
        if not c.sustained and backers:
            return c, backers, "single record, loosely corroborated: low confidence"
    alone = [c for c in cands if c.sustained]
    if alone:
        return alone[0], [], "one uncorroborated sustained signal: low confidence"
    return None, [], ""


def _end(onset: WindowSignal, backers: list[WindowSignal], store: EvidenceReader) -> tuple[datetime | None, str]:
    """Last return to baseline of the corroborated series, else the first page resolution after
    the onset. A series still out of band at its end leaves the end open."""
    series = [s for s in [onset, *backers] if s.baseline is not None]
    if series and all(s.end is not None for s in series):
        return max(s.end for s in series if s.end is not None), "series back in band"
    for e in store.iter(kinds=[EvidenceKind.PAGE], start=onset.onset):
        if e.attrs.get("entry_type") == "resolve":
            return e.ts, "page resolved"
    return None, ""


def _method(onset: WindowSignal | None, backers: list[WindowSignal], how: str, n_pre: int,
            hinted: bool) -> str:
    rule = (f"sustained deviation (median/MAD baseline, >= {signals.SUSTAIN_POINTS} points out of band) "
            f"backed by an independent source within {CORROBORATION_S / 3600:.0f} h")
    hint = "; manifest times only narrowed the search" if hinted else ""
    pre = f"; {n_pre} earlier uncorroborated signal(s) kept as precursors" if n_pre else ""
    if onset is None:
        return (f"No onset: no {rule}, and no single source sustained long enough to stand alone"
                f"{pre}{hint}.")
    backed = ", ".join(f"{b.name} ({_hms(b.onset)})" for b in backers) or "none"
    if not onset.sustained:
        rule = (f"single record followed within {WEAK_CORROBORATION_S / 60:.0f} min by an independent "
                f"sustained signal (no earlier {rule})")
    return (f"Onset = first {rule} ({how}): {onset.name} at {_hms(onset.onset)}; corroborated by "
            f"{backed}{pre}{hint}.")


def _hint_range(scope: Scope | None) -> tuple[float | None, float | None]:
    if scope is None:
        return None, None
    lo = scope.window_start.timestamp() - HINT_SLACK_S if scope.window_start else None
    hi = scope.window_end.timestamp() + HINT_SLACK_S if scope.window_end else None
    return lo, hi


def compute_window(store: EvidenceReader, scope: Scope | None = None) -> IncidentWindow:
    """The incident window. The analysis computes it once and carries it (Analysis.window)."""
    return _compute(store, scope)


def _refine(store: EvidenceReader, sig: WindowSignal) -> None:
    """A metric sample only says the shift happened within one step before it. A log, chat or
    note line in that step that states the new value as the series writes it pins it down."""
    if not sig.family.startswith("metric:") or not sig.evidence:
        return
    ev = store.get(sig.evidence[0])
    t0 = sig.onset.timestamp()
    values = [v if isinstance(v, str) else f"{v:g}" for t, v in (ev.attrs.get("samples") or [] if ev else [])
              if abs(float(t) - t0) <= 1 and isinstance(v, (str, float, int))]
    # A value of one significant digit ("1", "0.5") matches too much unrelated text.
    values = [v for v in values if len(v.strip("0.")) >= 2]
    for value in values[:1]:
        hits = store.match(f'"{value}"', kinds=[EvidenceKind.LOG, EvidenceKind.CHAT, EvidenceKind.NOTE],
                           start=sig.onset - timedelta(seconds=sig.resolution_s), end=sig.onset, limit=5)
        hit = next((h for h in hits if not h.flags and value in h.text and h.ts is not None), None)
        if hit is not None and hit.ts is not None:
            sig.resolution_s = max((sig.onset - hit.ts).total_seconds(), 60.0)
            sig.onset, sig.evidence = hit.ts, [hit.id, *sig.evidence]
            sig.detail += f"; first stated at {_hms(hit.ts)}"


def _recurring_background(s: WindowSignal, found: list[WindowSignal]) -> bool:
    """A lone cluster of error records after an earlier lone cluster of the same kind is the
    service's usual background of errors, not a start: only the first such cluster may be one."""
    return (not s.sustained and s.name == ERROR_RECORDS
            and any(o.name == ERROR_RECORDS and not o.sustained and o.onset < s.onset for o in found))


def _compute(store: EvidenceReader, scope: Scope | None) -> IncidentWindow:
    hint_lo, hint_hi = _hint_range(scope)
    quiet = scope.window_start.timestamp() if scope is not None and scope.window_start else None
    found = (_log_signals(store, quiet) + _metric_signals(store, quiet)
             + _eval_signals(store, quiet) + _discrete_signals(store) + _record_signals(store, quiet))
    found.sort(key=lambda s: (s.onset, s.family))

    def in_hint(s: WindowSignal) -> bool:
        t = s.onset.timestamp()
        return (hint_lo is None or t >= hint_lo) and (hint_hi is None or t <= hint_hi)

    cands = [s for s in found if in_hint(s) and not _recurring_background(s, found)]
    families = {s.family for s in found}
    onset, backers, how = _pick_onset(cands, single_source=len(families) == 1)
    cut = onset.onset if onset else None
    precursors = [
        Precursor(at=s.onset, signal=s.name, evidence=s.evidence[:2],
                  why=("single record or short blip, nothing independent right after it" if not s.sustained else
                       "outside the manifest's time range" if not in_hint(s) else
                       "no independent source backs it"))
        for s in found if (cut is None or s.onset < cut)
    ][-MAX_PRECURSORS:]
    w = IncidentWindow(precursors=precursors, signals=[s for s in found if s.sustained][:MAX_SIGNALS],
                       method=_method(onset, backers, how, len(precursors), hint_lo is not None))
    if onset is None:
        return w
    _refine(store, onset)
    w.method = _method(onset, backers, how, len(precursors), hint_lo is not None)
    w.onset, w.corroborating = onset.onset, [onset, *backers]
    w.onset_uncertainty_s = onset.resolution_s
    if "loosely" in how:  # the record may be a precursor: the onset lies between it and the backer
        w.onset_uncertainty_s = max(onset.resolution_s, (backers[0].onset - onset.onset).total_seconds())
    w.onset_evidence = onset.evidence[:1] or next((b.evidence[:1] for b in backers if b.evidence), [])
    w.end, w.end_basis = _end(onset, backers, store)
    lo = onset.onset - timedelta(seconds=CORROBORATION_S)
    w.signals = [s for s in w.signals if s.onset >= lo and (w.end is None or s.onset <= w.end)][:MAX_SIGNALS]
    return w


def metric_excursions(store: EvidenceReader, w: IncidentWindow) -> list[tuple[signals.Excursion, Evidence]]:
    """Metric signals overlapping the window, in the shape impact reporting uses."""
    out = []
    for s in w.signals:
        if not s.family.startswith("metric:") or w.onset is None or s.peak is None:
            continue
        if s.onset < w.onset - timedelta(seconds=CORROBORATION_S) or (w.end is not None and s.onset > w.end):
            continue
        ev = store.get(s.evidence[0]) if s.evidence else None
        if ev is not None:
            out.append((signals.Excursion(
                signal=s.name, onset=s.onset, peak_at=s.peak_at or s.onset, peak=s.peak,
                baseline=s.baseline or 0.0, recovered_at=s.end, evidence=ev.id), ev))
    return out
