"""Anomaly onset and recovery, computed from log error buckets and metric series.

The rule is deliberately simple and explainable in the report: a baseline band is taken from the
quiet period before the incident window (or the first fifth of the data when no window is known),
and an anomaly is the first time a signal leaves the band for at least two consecutive points.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timezone

from tools.models import Evidence

BUCKET_S = 60


@dataclass(frozen=True)
class Excursion:
    """A signal leaving its baseline band, and (if seen) coming back."""

    signal: str  # "log errors" or a metric name
    onset: datetime
    peak_at: datetime
    peak: float
    baseline: float
    recovered_at: datetime | None
    evidence: str  # evidence id of the signal


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def _baseline_split(points: list[tuple[float, float]], window_start: datetime | None) -> int:
    """Index where the baseline ends: the incident window start, else the first fifth."""
    if window_start is not None:
        cut = window_start.timestamp()
        idx = next((i for i, (t, _) in enumerate(points) if t > cut), len(points))
        if idx >= 1:
            return idx
    return max(2, len(points) // 5)


def find_excursion(
    points: list[tuple[float, float]],
    *,
    signal: str,
    evidence: str,
    window_start: datetime | None,
    min_rel: float = 0.5,
    min_abs: float = 0.0,
    higher_is_worse: bool = True,
    two_sided: bool = False,
) -> Excursion | None:
    """First sustained departure of `points` from baseline, its peak and return to baseline."""
    if len(points) < 4:
        return None
    split = _baseline_split(points, window_start)
    base_vals = [v for _, v in points[:split]]
    if not base_vals:
        return None
    mean = statistics.fmean(base_vals)
    sd = statistics.pstdev(base_vals)
    sign = 1.0 if higher_is_worse else -1.0
    margin = max(3 * sd, abs(mean) * min_rel, min_abs)

    def out(v: float) -> bool:
        if two_sided:
            return abs(v - mean) > margin
        return sign * (v - mean) > margin

    onset_idx = None
    for i in range(split, len(points) - 1):
        if out(points[i][1]) and out(points[i + 1][1]):
            onset_idx = i
            break
    if onset_idx is None:
        return None
    peak_idx = onset_idx
    i = onset_idx
    # The excursion lasts while the signal is out of band (allowing single-point dips).
    while i < len(points) and (out(points[i][1]) or (i + 1 < len(points) and out(points[i + 1][1]))):
        if abs(points[i][1] - mean) > abs(points[peak_idx][1] - mean) if two_sided else \
                sign * points[i][1] > sign * points[peak_idx][1]:
            peak_idx = i
        i += 1
    recovered = _utc(points[i][0]) if i < len(points) else None
    return Excursion(
        signal=signal,
        onset=_utc(points[onset_idx][0]),
        peak_at=_utc(points[peak_idx][0]),
        peak=points[peak_idx][1],
        baseline=mean,
        recovered_at=recovered,
        evidence=evidence,
    )


def log_error_excursion(
    buckets: list[tuple[float, int, int, int]], window_start: datetime | None, evidence: str
) -> Excursion | None:
    """Error-record count per minute; a gap-free series so quiet minutes count as zero."""
    if not buckets:
        return None
    counts = {b: e for b, _, e, _ in buckets}
    lo, hi = int(buckets[0][0]), int(buckets[-1][0])
    points = [(float(t), float(counts.get(float(t), 0))) for t in range(lo, hi + 1, BUCKET_S)]
    return find_excursion(
        points, signal="log errors per minute", evidence=evidence, window_start=window_start,
        min_rel=1.0, min_abs=2.0,
    )


def metric_direction(name: str) -> bool | None:
    """True if higher is worse, False if lower is worse, None if we cannot tell from the name."""
    n = name.lower()
    worse_high = ("error", "fail", "latency", "duration", "p99", "p95", "oom", "restart", "5xx",
                  "memory", "queue", "pending", "loss", "refusal", "timeout", "retries", "cost",
                  "tokens_per_request", "iterations", "tool_calls", "stale", "age", "lag")
    worse_low = ("accuracy", "score", "success", "throughput", "tokens_per_s", "qps", "hit_rate",
                 "recall", "precision", "availability", "freshness", "tokens_per_second")
    if any(w in n for w in worse_low):
        return False
    if any(w in n for w in worse_high):
        return True
    return None


def metric_excursion(ev: Evidence, window_start: datetime | None) -> Excursion | None:
    samples = ev.attrs.get("samples") or []
    name = str(ev.attrs.get("name") or ev.text.split("{")[0])
    points: list[tuple[float, float]] = []
    for s in samples:
        try:
            v = float(s[1])
        except (TypeError, ValueError, IndexError):
            continue
        if v != v:  # NaN
            continue
        points.append((float(s[0]), v))
    direction = metric_direction(name)
    # Quality-like and unknown series are checked both ways: a sudden jump in an eval score or
    # AUC is as suspicious as a drop (contamination, leakage).
    return find_excursion(
        points, signal=name, evidence=ev.id, window_start=window_start,
        higher_is_worse=direction is not False, two_sided=direction is not True,
        # Quality scores move a little when something is badly wrong; load-like series move a lot.
        min_rel=0.1 if direction is not True else 0.5,
    )
