"""Impact numbers computed from logs, metrics and traces, each with its source and definition.

Figures are measured over the symptom window (first to last failing user-facing record, else
first to last out-of-band metric point), retries are kept apart from user-facing failures, and a
security or data incident is counted in users, records and requests rather than minutes.

A number the data cannot support becomes a `[DATA GAP]` that says which data would close it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from agent.model import Detection, Impact, ImpactMetric, IncidentWindow
from agent.offline import degraded, exposure, retries, signals, users
from tools.models import Evidence, EvidenceKind
from tools.probes import PROBE_DEFINITION, http_status
from tools.store.reader import EvidenceReader


def _round(v: float, nd: int = 2) -> float:
    return float(round(v, nd))


def _bounds(detection: Detection, window: IncidentWindow | None) -> tuple[datetime | None, datetime | None, str]:
    """Where symptoms are searched: the corroborated onset to the resolution, else to the
    corroborated signals' return to baseline, else to the first mitigation."""
    start = window.onset if window is not None and window.onset is not None else detection.first_anomaly_at
    if detection.resolved_at is not None:
        return start, detection.resolved_at, "corroborated onset to resolution (or last recovery signal)"
    if window is not None and window.end is not None:
        return start, window.end, f"corroborated onset to window end ({window.end_basis})"
    return start, detection.mitigated_at, "corroborated onset to first mitigation"


@dataclass(frozen=True)
class SymptomWindow:
    """First to last symptom: the span impact is measured over, with the records at its ends."""

    start: datetime
    end: datetime
    evidence: list[str]
    definition: str


def symptom_window(store: EvidenceReader, detection: Detection, window: IncidentWindow | None,
                   excursions: list[tuple[signals.Excursion, Evidence]]) -> SymptomWindow | None:
    """First to last failing user-facing request (HTTP 5xx) inside the search bounds, else the
    first to last out-of-band point of the metric excursions. A page open for hours after the
    last failure, or a quiet hour before the first, does not dilute the figures."""
    lo, hi, how = _bounds(detection, window)
    if lo is None:
        return None
    _total, failed, _sources, first_id, last_id = store.status_totals(lo, hi)
    ends = store.get_many([i for i in (first_id, last_id) if i]) if failed else []
    dated = [e for e in ends if e.ts is not None]
    if dated:
        first, last = dated[0], dated[-1]
        return SymptomWindow(first.ts, last.ts, _dedupe([first.id, last.id]),  # type: ignore[arg-type]
                             f"first to last failing user-facing request (HTTP status >= 500) within the "
                             f"{how} span")
    recovered = [(x, ev) for x, ev in excursions if x.recovered_at is not None]
    if recovered:
        start = min(x.onset for x, _ in recovered)
        end = max(x.recovered_at for x, _ in recovered)  # type: ignore[type-var]
        names = ", ".join(sorted({f"`{x.signal}`" for x, _ in recovered})[:3])
        return SymptomWindow(start, end, _dedupe([ev.id for _, ev in recovered]),  # type: ignore[arg-type]
                             f"first out-of-band point to the return to band of {names}")
    return None


def _dedupe(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def compute_impact(store: EvidenceReader, detection: Detection, window_start: datetime | None,
                   excursions: list[tuple[signals.Excursion, Evidence]],
                   window: IncidentWindow | None = None) -> Impact:
    imp = Impact()
    sym = symptom_window(store, detection, window, excursions)
    if sym is not None:
        imp.window_start, imp.window_end, imp.window_definition = sym.start, sym.end, sym.definition
    if sym is not None and sym.end > sym.start:
        imp.metrics.append(ImpactMetric(
            name="impact duration", value=_round((sym.end - sym.start).total_seconds() / 60, 1), unit="min",
            evidence=sym.evidence, detail=sym.definition,
        ))
    elif sym is None:
        imp.data_gaps.append("[DATA GAP] Impact duration: no failing request or out-of-band metric "
                             "point bounds the symptoms (request logs or an error-ratio series are needed).")
    start = sym.start if sym is not None else _bounds(detection, window)[0]
    end = sym.end if sym is not None else None
    if start is not None:
        _request_impacts(imp, store, start, end, sym)
    _metric_impacts(imp, excursions)
    # Tokens are spent for the whole incident, not only while requests failed: counted over the
    # span the detection table states, first anomaly to resolution (the cost side of impact).
    inc_end = detection.resolved_at or _bounds(detection, window)[1]
    _trace_impacts(imp, store, detection.first_anomaly_at or start, inc_end)
    _k8s_impacts(imp, store, start, end)
    onset = start if start is not None else None
    quality = degraded.measure(store, onset, end) if onset is not None else None
    if quality is not None and quality.significant:
        _degraded_impacts(imp, quality)
    imp.users_affected = _users_affected(store, start, end, quality)
    return imp


def _degraded_impacts(imp: Impact, q: degraded.Degraded) -> None:
    """A quality incident: answers that came back worse, against the share before onset."""
    ids = _dedupe([q.records[0].id, q.records[-1].id])
    marks = ", ".join(f"{k} ({n})" for k, n in sorted(q.reasons.items(), key=lambda kv: -kv[1])[:4])
    imp.metrics.append(ImpactMetric(
        name="degraded answers during impact", value=float(q.window.degraded), unit="answers", evidence=ids,
        detail=f"answer records in the window marked degraded by their own fields: {marks}; HTTP status "
               "does not show these (the requests succeeded)"))
    imp.metrics.append(ImpactMetric(
        name="degraded answer share during impact", value=_round(100 * q.window.share), unit="%", evidence=ids,
        detail=f"{q.window.degraded} of {q.window.answers} answer records in the window"))
    imp.metrics.append(ImpactMetric(
        name="degraded answer share before onset (baseline)", value=_round(100 * q.baseline.share), unit="%",
        evidence=ids, detail=f"{q.baseline.degraded} of {q.baseline.answers} answer records in the "
                             f"{int(degraded.BASELINE_SPAN.total_seconds() // 3600)} h before onset"))


MAX_USER_SCAN = 200_000


def _failing_records(store: EvidenceReader, start: datetime | None, end: datetime | None,
                     quality: degraded.Degraded | None) -> list[Evidence]:
    """Failing user-facing records: HTTP 5xx that are not probes, and degraded answers."""
    out: list[Evidence] = []
    if start is not None:
        for n, ev in enumerate(store.iter(kinds=[EvidenceKind.LOG], start=start, end=end)):
            if n >= MAX_USER_SCAN:
                break
            st = http_status(ev)
            if st is not None and st >= 500:
                out.append(ev)
    if quality is not None and quality.significant:
        out += quality.records
    return out


def _users_affected(store: EvidenceReader, start: datetime | None, end: datetime | None,
                    quality: degraded.Degraded | None) -> str:
    failing = _failing_records(store, start, end, quality)
    said = users.statement(users.count(failing), "failing user-facing records (HTTP 5xx excluding probes, "
                                                 "or degraded answers) in the impact window")
    if said is not None:
        return said
    field_name = users.carries_ids(islice(store.iter(kinds=[EvidenceKind.LOG, EvidenceKind.TRACE]), 20_000))
    if field_name is not None:
        return (f"[DATA GAP] Request records carry `{field_name}`, but none of the {len(failing)} failing "
                "user-facing records in the impact window does, so distinct users cannot be counted.")
    return ("[DATA GAP] Distinct users affected cannot be counted: request logs carry no user or "
            "tenant id. A per-tenant request log or support-ticket export would close this.")


def _request_impacts(imp: Impact, store: EvidenceReader, start: datetime, end: datetime | None,
                     sym: SymptomWindow | None) -> None:
    span = "first to last symptom" if sym is not None else "from onset"
    total, failed, sources, first_id, last_id = store.status_totals(start, end)
    if not total:
        imp.data_gaps.append("[DATA GAP] Failed requests: no request log with HTTP status "
                             "covers the impact window (access logs or request logs are needed).")
        return
    ids = [i for i in (first_id, last_id) if i]
    tries = retries.separate(store, start, end, total)
    imp.metrics.append(ImpactMetric(
        name="requests served during impact", value=float(total), unit="requests",
        evidence=ids, detail=f"log records with an HTTP status in {', '.join(sources[:3])}, {span}; {PROBE_DEFINITION}",
    ))
    if tries is None:
        imp.metrics.append(ImpactMetric(
            name="failed requests (HTTP 5xx)", value=float(failed), unit="requests", evidence=ids,
            detail=f"log records with status >= 500, {span}; no retry attempt field, repeated request "
                   "id or retry line in these records, so each is taken as a user-facing failure",
        ))
        ratio = failed / total
    else:
        imp.metrics.append(ImpactMetric(
            name="failed requests (HTTP 5xx)", value=float(tries.user_failed), unit="requests",
            evidence=tries.evidence or ids, detail=f"user-facing failures, {span}: {tries.definition}",
        ))
        imp.metrics.append(ImpactMetric(
            name="failed retry attempts (not user-facing)", value=float(tries.retry_failed),
            unit="requests", evidence=tries.evidence or ids,
            detail=f"5xx records that were retries of an earlier attempt, {span}: {tries.definition}",
        ))
        ratio = tries.user_failed / tries.user_total if tries.user_total else 0.0
    imp.metrics.append(ImpactMetric(
        name="error ratio over impact window", value=_round(100 * ratio), unit="%",
        evidence=ids, detail=f"user-facing failed / user-facing requests with a status, {span}",
    ))
    peak = _peak_minute_ratio(store, start, end)
    if peak is not None:
        imp.metrics.append(ImpactMetric(
            name="peak per-minute error ratio (logs)", value=_round(100 * peak), unit="%",
            evidence=ids, detail="highest 5xx share of any one minute with >= 20 requests",
        ))


def _peak_minute_ratio(store: EvidenceReader, start: datetime, end: datetime | None) -> float | None:
    """Worst one-minute 5xx ratio in the window, from the store's per-minute totals."""
    lo = start.timestamp() - 60
    hi = end.timestamp() + 60 if end else float("inf")
    best = None
    for b, _n, _e, with_status, failed in store.minute_stats():
        if lo <= b <= hi and with_status >= 20:
            r = failed / with_status
            best = r if best is None else max(best, r)
    return best


def _metric_impacts(imp: Impact, excursions: list[tuple[signals.Excursion, Evidence]]) -> None:
    for exc, ev in excursions:
        unit = str(ev.attrs.get("unit") or "value")  # the reader stored it when the name states one
        imp.metrics.append(ImpactMetric(
            name=f"{exc.signal} peak", value=_round(exc.peak, 4), unit=unit, evidence=[ev.id],
            detail=f"baseline mean {_round(exc.baseline, 4)} {unit} before the window; peak at "
                   f"{exc.peak_at.strftime('%H:%M:%SZ')}",
        ))


def _trace_impacts(imp: Impact, store: EvidenceReader, start: datetime | None,
                   end: datetime | None) -> None:
    if store.count(kinds=[EvidenceKind.TRACE]) == 0:
        imp.data_gaps.append("[DATA GAP] Token and model-cost impact: no LLM request traces "
                             "were provided.")
        return
    n = failed = tokens = 0
    cost = 0.0
    ids: list[str] = []
    for ev in store.iter(kinds=[EvidenceKind.TRACE], start=start, end=end):
        if not ev.attrs.get("model"):
            continue  # an OpenTelemetry span that is not an LLM call
        n += 1
        tokens += int(ev.attrs.get("total_tokens") or 0) or (
            int(ev.attrs.get("prompt_tokens") or 0) + int(ev.attrs.get("completion_tokens") or 0))
        cost += float(ev.attrs.get("cost_usd") or 0.0)
        if ev.level in ("error", "critical") or ev.attrs.get("error"):
            failed += 1
        if len(ids) < 1:
            ids.append(ev.id)
        last = ev.id
    if n == 0:
        return
    ids.append(last)
    imp.metrics.append(ImpactMetric(name="LLM requests during impact", value=float(n),
                                    unit="requests", evidence=ids,
                                    detail="trace records from the first anomaly to resolution"))
    imp.metrics.append(ImpactMetric(name="LLM tokens during impact", value=float(tokens),
                                    unit="tokens", evidence=ids, detail="sum of trace token counts"))
    if failed:
        imp.metrics.append(ImpactMetric(name="failed LLM requests", value=float(failed),
                                        unit="requests", evidence=ids,
                                        detail="traces with an error status"))
    if cost:
        imp.metrics.append(ImpactMetric(name="LLM cost during impact", value=_round(cost, 2),
                                        unit="USD", evidence=ids, detail="sum of exported cost_usd"))


def _k8s_impacts(imp: Impact, store: EvidenceReader, start: datetime | None,
                 end: datetime | None) -> None:
    kills = 0
    ids: list[str] = []
    for ev in store.iter(kinds=[EvidenceKind.K8S_EVENT], start=start, end=end):
        reason = str(ev.attrs.get("reason") or "")
        if reason in ("OOMKilling", "OOMKilled", "BackOff", "CrashLoopBackOff"):
            c = ev.attrs.get("count")
            kills += c if isinstance(c, int) and c > 0 else 1
            if len(ids) < 3:
                ids.append(ev.id)
    if kills:
        imp.metrics.append(ImpactMetric(name="container kills / restart back-offs", value=float(kills),
                                        unit="events", evidence=ids,
                                        detail="Kubernetes warning events (sum of event counts)"))


def exposure_impact(imp: Impact, store: EvidenceReader, modes: list[str], mode_evidence: dict[str, list[str]],
                    start: datetime | None, end: datetime | None) -> None:
    """For a security or data incident, replace minutes of downtime with the users, records and
    requests the evidence shows were exposed; never report a zero-minute impact for one."""
    sec = exposure.security_modes(modes)
    said = exposure.exposure_records(store, start, end)
    if not sec and not said:
        return
    seeds = said + [e for e in store.get_many([i for m in sec for i in mode_evidence.get(m, [])]) if not e.flags]
    seeds += [e for e in store.iter(kinds=[EvidenceKind.TRACE, EvidenceKind.LOG, EvidenceKind.NOTE,
                                            EvidenceKind.CHAT], start=start, end=end) if e.flags][:20]
    found = exposure.measure(store, sec, seeds, start, end)
    # Minutes of downtime say little about an exposure; they stay only when requests really failed
    # over that span (then they are a measured figure beside the exposure counts).
    imp.metrics = [m for m in imp.metrics if m.name != "impact duration"
                   or ("failing user-facing request" in m.detail and m.value > 0)]
    if not found.records:
        imp.users_affected = ("[DATA GAP] A security or data exposure is indicated, but no request, trace or "
                              "log record in the window shows who received it; an access or audit log of the "
                              "affected feature would close this.")
        return
    how = "records in the window that " + "; or ".join(found.basis)
    ids = found.evidence
    imp.metrics.append(ImpactMetric(name="records showing the exposure", value=float(found.records),
                                    unit="records", evidence=ids, detail=how))
    imp.metrics.append(ImpactMetric(name="requests affected by the exposure", value=float(len(found.requests)),
                                    unit="requests", evidence=ids,
                                    detail="distinct request ids among those records (a record without one "
                                           "counts as its own request)"))
    if found.first is not None and found.last is not None and found.first.ts and found.last.ts \
            and found.last.ts > found.first.ts:
        imp.metrics.append(ImpactMetric(
            name="exposure window", value=_round((found.last.ts - found.first.ts).total_seconds() / 60, 1),
            unit="min", evidence=ids, detail="first to last record showing the exposure"))
    if found.users:
        imp.metrics.append(ImpactMetric(name="users affected by the exposure", value=float(len(found.users)),
                                        unit="users", evidence=ids,
                                        detail=f"distinct `{found.user_key}` values among those records"))
        imp.users_affected = (f"{len(found.users)} distinct users (`{found.user_key}`) received or were "
                              f"exposed by {len(found.requests)} affected requests ({', '.join(ids)}).")
    else:
        imp.users_affected = (f"[DATA GAP] {len(found.requests)} requests were affected ({', '.join(ids)}), "
                              "but those records carry no user or tenant id, so distinct users cannot be "
                              "counted; an access log with user ids for these requests would close this.")
    imp.safety_exposure = (f"{found.records} records show the exposure between the first and last "
                           f"affected record ({', '.join(ids)}); counted in users, records and requests, "
                           "not minutes of downtime.")
