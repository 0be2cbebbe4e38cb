"""Detection & response: how and when the incident was noticed, and the response durations.

Definitions (shown in the report): time to detect = detection - first anomaly; time to
acknowledge = first acknowledgement of the page - the page firing (detection when no page fired);
time to mitigate = first mitigation step - first anomaly; time to resolve = resolution - first anomaly.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from agent.model import Detection, IncidentWindow, TimelineEvent
from agent.offline.window import CORROBORATION_S

DETECTION_CATEGORIES = ("alert", "page", "detection")


def _first(events: list[TimelineEvent], *cats: str, after: datetime | None = None) -> TimelineEvent | None:
    for e in events:
        if e.category in cats and (after is None or e.timestamp >= after):
            return e
    return None


def _first_strong(events: list[TimelineEvent], after: datetime | None) -> TimelineEvent | None:
    for e in events:
        if e.category in DETECTION_CATEGORIES and (after is None or e.timestamp >= after) and not is_weak(e):
            return e
    return None


def _last(events: list[TimelineEvent], *cats: str) -> TimelineEvent | None:
    found = [e for e in events if e.category in cats]
    return found[-1] if found else None


def _secs(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return max((b - a).total_seconds(), 0.0)


# A warning-level notification pages nobody; an alert that does, or a page, is how on-call hears.
# A quoted chat line shows a code span as "… warning …" (timeline.snippet keeps quotes verbatim).
_LOW_SEVERITY = re.compile(r"severity (?:warning|warn|info|low|minor|none)\b|- '(?:warning|info)'|- … (?:warning|info) …"
                           r"|\((?:warning|info)\)", re.I)
# A relayed user report is the organisation detecting when it escalates or speaks for several
# reports; one customer's anecdote in a support channel usually waits ("probably a phrasing thing").
_CHANNEL = re.compile(r"#[\w.-]+")
_ESCALATES = re.compile(r"\bescalat\w*|\bpag(?:e|ed|ing)\b", re.I)
_SEVERAL = re.compile(
    r"\b(?:\d{1,6}\+?|three|four|five|six|seven|eight|nine|ten|several|many|multiple|dozens? of|hundreds? of)"
    r"\s+(?:\w+\s+){0,2}?(?:tickets?|reports?|complaints?|customers?|users?|accounts?|tenants?|teachers?|"
    r"students?|clients?)\b", re.I)


def is_weak(event: TimelineEvent) -> bool:
    """A detection-category row that is only a notice: a warning-level alert, or a single user
    report nobody escalated. It stands as detection only when nothing stronger follows."""
    text = event.event
    if event.category == "alert":
        return bool(_LOW_SEVERITY.search(text))
    if event.category == "detection" and detected_by(event) == "user report":
        said = _CHANNEL.sub(" ", text)  # "#support-escalations" names a channel, not an escalation
        return not (_ESCALATES.search(said) or _SEVERAL.search(said))
    return False


def detected_by(event: TimelineEvent) -> str:
    text = event.event.lower()
    if "canary" in text:
        return "canary"
    if event.category == "detection":
        return "on-call observation" if "noticed by a responder" in text or "responder note" in text else "user report"
    if event.category == "alert":
        return "automated alert"
    return "page"


def _onset(d: Detection, events: list[TimelineEvent], window: IncidentWindow | None) -> None:
    """First anomaly = the corroborated onset of the incident window. Without a window (callers
    that only have a timeline) the earliest anomaly row stands in."""
    if window is not None:
        if window.onset is not None:
            d.first_anomaly_at = window.onset
            d.evidence += window.onset_evidence[:1] or window.evidence_ids()[:1]
        else:
            d.data_gaps.append(f"[DATA GAP] No corroborated onset: {window.method} Logs or metrics "
                               "covering the quiet period before the incident are needed.")
        return
    anomaly = _first(events, "anomaly")
    if anomaly is not None:
        d.first_anomaly_at = anomaly.timestamp
        d.evidence += anomaly.evidence[:1]
    else:
        d.data_gaps.append("[DATA GAP] No signal shows when the anomaly began (no error logs or "
                           "metrics leaving baseline); logs or metrics from before the incident are needed.")


def acknowledged_page(events: list[TimelineEvent], since: datetime | None, detected_at: datetime | None = None,
                      ) -> tuple[TimelineEvent | None, TimelineEvent | None]:
    """(the page or paging alert that was acknowledged, its first acknowledgement).

    Time to acknowledge runs from the page firing to its first ack (a PagerDuty acknowledge
    entry, a chat "acked"); a support escalation or user report that came before the page is
    detection, not acknowledgement. The page is the first paging row (page, or an alert that is not
    warning-level) after the incident began; the ack the first after it."""
    paged = next((e for e in events if e.category in ("page", "alert") and not is_weak(e)
                  and (since is None or e.timestamp >= since)), None)
    ack = _first(events, "ack", after=paged.timestamp if paged is not None else detected_at)
    return paged, ack


def compute_detection(events: list[TimelineEvent], window: IncidentWindow | None = None) -> Detection:
    d = Detection()
    _onset(d, events, window)
    # Nothing detects an incident before it starts: an alert or report from well before the
    # onset (further than the corroboration span) belongs to a precursor. Closer ones stay: the
    # onset itself may be late when its first signal was not readable.
    since = None
    if window is not None and window.onset is not None:
        since = window.onset - timedelta(seconds=max(window.onset_uncertainty_s or 0, CORROBORATION_S))
    detect = _first_strong(events, since) or _first(events, *DETECTION_CATEGORIES, after=since)
    if detect is not None:
        d.detected_at = detect.timestamp
        d.detected_by = detected_by(detect)
        d.detection_detail = detect.event
        d.evidence += detect.evidence[:1]
    else:
        d.data_gaps.append("[DATA GAP] No alert, page or user report found; the detection path is unknown.")
    paged, ack = acknowledged_page(events, since, d.detected_at)
    if ack is not None:
        d.acknowledged_at = ack.timestamp
        d.evidence += ack.evidence[:1]
        d.ack_evidence = (paged.evidence[:1] if paged is not None else []) + ack.evidence[:1]
    mitig = _first(events, "mitigation", after=d.first_anomaly_at or d.detected_at)
    if mitig is not None:
        d.mitigated_at = mitig.timestamp
        d.evidence += mitig.evidence[:1]
    else:
        d.data_gaps.append("[DATA GAP] No mitigation step found in chat, logs or pages.")
    resolved = _last(events, "resolution")
    if resolved is not None:
        d.resolved_at = resolved.timestamp
        d.evidence += resolved.evidence[:1]
    else:
        rec = _last(events, "recovery")
        if rec is not None:
            d.resolved_at = rec.timestamp
            d.evidence += rec.evidence[:1]
            d.data_gaps.append("[ASSUMPTION] No explicit resolution record; the last recovery "
                               "signal is used as the resolution time.")
    start = d.first_anomaly_at or d.detected_at
    d.time_to_detect_s = _secs(d.first_anomaly_at, d.detected_at)
    d.time_to_acknowledge_s = _secs(paged.timestamp if paged is not None else d.detected_at, d.acknowledged_at)
    d.time_to_mitigate_s = _secs(start, d.mitigated_at)
    d.time_to_resolve_s = _secs(start, d.resolved_at)
    return d


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "[DATA GAP]"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{h}h {m:02d}m"
    if m:
        return f"{m}m {sec:02d}s"
    return f"{sec}s"
