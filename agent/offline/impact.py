"""Impact numbers computed from logs, metrics and traces, each with its source.

A number the data cannot support becomes a `[DATA GAP]` that says which data would close it.
"""

from __future__ import annotations

from datetime import datetime

from agent.model import Detection, Impact, ImpactMetric, IncidentWindow
from agent.offline import signals
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader


def _round(v: float, nd: int = 2) -> float:
    return float(round(v, nd))


def _bounds(detection: Detection, window: IncidentWindow | None) -> tuple[datetime | None, datetime | None, str]:
    """Impact window: the corroborated onset to the resolution, else to the corroborated signals'
    return to baseline, else to the first mitigation."""
    start = window.onset if window is not None and window.onset is not None else detection.first_anomaly_at
    if detection.resolved_at is not None:
        return start, detection.resolved_at, "corroborated onset to resolution (or last recovery signal)"
    if window is not None and window.end is not None:
        return start, window.end, f"corroborated onset to window end ({window.end_basis})"
    return start, detection.mitigated_at, "corroborated onset to first mitigation"


def compute_impact(store: EvidenceReader, detection: Detection, window_start: datetime | None,
                   excursions: list[tuple[signals.Excursion, Evidence]],
                   window: IncidentWindow | None = None) -> Impact:
    imp = Impact()
    start, end, how = _bounds(detection, window)
    if start is not None and end is not None and end > start:
        minutes = (end - start).total_seconds() / 60
        imp.metrics.append(ImpactMetric(
            name="impact duration", value=_round(minutes, 1), unit="min",
            evidence=detection.evidence[:1] + detection.evidence[-1:],
            detail=how,
        ))
    else:
        imp.data_gaps.append("[DATA GAP] Impact duration: needs both the onset and the resolution time.")

    if start is not None:
        total, failed, sources, first_id, last_id = store.status_totals(start, end)
        if total:
            ids = [i for i in (first_id, last_id) if i]
            imp.metrics.append(ImpactMetric(
                name="requests served during impact", value=float(total), unit="requests",
                evidence=ids, detail=f"log records with an HTTP status in {', '.join(sources[:3])}",
            ))
            imp.metrics.append(ImpactMetric(
                name="failed requests (HTTP 5xx)", value=float(failed), unit="requests",
                evidence=ids, detail="log records with status >= 500 between onset and resolution",
            ))
            imp.metrics.append(ImpactMetric(
                name="error ratio over impact window", value=_round(100 * failed / total), unit="%",
                evidence=ids, detail="failed / all requests with a status, same window",
            ))
            peak = _peak_minute_ratio(store, start, end)
            if peak is not None:
                imp.metrics.append(ImpactMetric(
                    name="peak per-minute error ratio (logs)", value=_round(100 * peak), unit="%",
                    evidence=ids, detail="highest 5xx share of any one minute with >= 20 requests",
                ))
        else:
            imp.data_gaps.append("[DATA GAP] Failed requests: no request log with HTTP status "
                                 "covers the impact window (access logs or request logs are needed).")
    _metric_impacts(imp, excursions)
    _trace_impacts(imp, store, start, end)
    _k8s_impacts(imp, store, start, end)
    imp.users_affected = (
        "[DATA GAP] Distinct users affected cannot be counted: request logs carry no user or "
        "tenant id. A per-tenant request log or support-ticket export would close this."
    )
    return imp


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
                                    unit="requests", evidence=ids, detail="trace records in window"))
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
