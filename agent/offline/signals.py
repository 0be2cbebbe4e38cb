"""Anomaly onset and recovery, computed from log error buckets and metric series.

The rule is deliberately simple and explainable in the report: a baseline band is taken from the
quiet period before the incident window (or the first fifth of the data when no window is known),
and an anomaly is the first time a signal leaves the band for at least two consecutive points.
"""

from __future__ import annotations

import re
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


# ------------------------------------------------------------------ robust sustained deviations
# Used by agent/offline/window.py (the incident window). Thresholds come from first principles:
#
# MAD_K: 3.5 robust z-scores is the usual outlier cut for the modified z-score (Iglewicz and
#   Hoaglin); with the 1.4826 factor the MAD estimates a standard deviation for normal noise.
MAD_K = 3.5
MAD_TO_SD = 1.4826
# SUSTAIN_POINTS: three consecutive evaluations out of band. One point is a spike, two can be one
#   spike straddling a bucket edge; three is the smallest run that is neither.
SUSTAIN_POINTS = 3
# STRONG_POINTS: twice the sustain length; what a lone source needs to stand without a second one.
STRONG_POINTS = 2 * SUSTAIN_POINTS
# MIN_BASELINE: fewer than five quiet points give no usable median/MAD; use the whole series then
#   (the median stays robust while less than half the series is incident).
MIN_BASELINE = 5


@dataclass(frozen=True)
class Run:
    """One stretch of a series outside its baseline band."""

    start: int  # index of the first out-of-band point
    stop: int  # index of the first point of the return to baseline (len(points) if none)
    peak: int  # index of the worst point
    out_points: int  # points outside the band in the stretch
    to_end: bool  # the series ends while still out of band


def robust_band(values: list[float], *, min_rel: float, min_abs: float) -> tuple[float, float]:
    """(median, half-width of the quiet band): the larger of MAD_K robust SDs, a minimum change
    relative to the median, and an absolute floor (so a flat zero series still needs a real move)."""
    med = statistics.median(values)
    devs = sorted(abs(v - med) for v in values)
    mad = statistics.median(devs)
    usual = _usual_excursion(devs) if mad == 0 else 0.0
    width = max(MAD_K * MAD_TO_SD * mad, abs(med) * min_rel, min_abs, usual)
    return med, width if width > 0 else 1e-12


# USUAL_SHARE: a deviation the quiet stretch itself shows in one sample of ten is its normal
#   noise. The MAD misses it when more than half the quiet samples are identical (a ratio of a
#   handful of votes or requests is 0 most of the time and 0.25 or 0.5 on a single event), so
#   the band of such a series (MAD 0) is never narrower than the quiet stretch's 90th-percentile
#   deviation. Only then: where the MAD is informative it is also robust to an excursion inside
#   the quiet stretch, which a percentile is not.
USUAL_SHARE = 0.1


def _usual_excursion(sorted_devs: list[float]) -> float:
    if len(sorted_devs) < MIN_BASELINE:
        return 0.0
    return sorted_devs[min(len(sorted_devs) - 1, int(len(sorted_devs) * (1 - USUAL_SHARE)))]


def deviation_runs(points: list[tuple[float, float]], med: float, width: float, *, sign: float,
                   two_sided: bool, max_gap_s: float | None = None) -> list[Run]:
    """Every stretch outside [med - width, med + width] in the bad direction. A stretch survives
    dips shorter than SUSTAIN_POINTS (a flapping signal is one incident, not many) and is cut by
    a hole in the data longer than `max_gap_s`."""
    def out(v: float) -> bool:
        return abs(v - med) > width if two_sided else sign * (v - med) > width

    runs: list[Run] = []
    i, n = 0, len(points)
    while i < n:
        if not out(points[i][1]):
            i += 1
            continue
        start = peak = last_out = i
        count = 1
        j = i + 1
        while j < n:
            if max_gap_s is not None and points[j][0] - points[j - 1][0] > max_gap_s:
                break
            if out(points[j][1]):
                last_out, count = j, count + 1
                if abs(points[j][1] - med) > abs(points[peak][1] - med):
                    peak = j
            elif j - last_out >= SUSTAIN_POINTS:
                break
            j += 1
        stop = last_out + 1
        runs.append(Run(start, stop, peak, count, to_end=stop >= n))
        i = stop
    return runs


# MIN_QUIET_POINTS: in-band points a series must show before a deviation for the deviation to
#   mark a start: the same five points a baseline needs (MIN_BASELINE). A series whose export
#   begins mid-incident, or whose first samples are sparse and noisy, has none.
MIN_QUIET_POINTS = MIN_BASELINE


def quiet_before(points: list[tuple[float, float]], start: int, med: float, width: float, *,
                 sign: float, two_sided: bool) -> int:
    """In-band points before index `start` (anywhere earlier in the series)."""
    def inside(v: float) -> bool:
        return abs(v - med) <= width if two_sided else sign * (v - med) <= width

    return sum(1 for _, v in points[:start] if inside(v))


def is_sustained(run: Run) -> bool:
    """Three points out, or two when the series stops while still out (a coarse series that ends
    mid-incident cannot show a third)."""
    return run.out_points >= SUSTAIN_POINTS or (run.to_end and run.out_points >= 2)


def step_s(points: list[tuple[float, float]]) -> float:
    """Typical sampling interval of a series (median gap), 60 s when it cannot be told."""
    gaps = [b[0] - a[0] for a, b in zip(points, points[1:]) if b[0] > a[0]]
    return statistics.median(gaps) if gaps else 60.0


def counter_to_rate(points: list[tuple[float, float]], name: str) -> list[tuple[float, float]]:
    """A Prometheus counter (`*_total`, `*_count`, `*_sum`, never decreasing) says nothing by its
    level: it always "rises". Its per-second increase is the signal; resets are skipped."""
    if not re.search(r"(_total|_count|_sum|_bucket)$", name.split("{")[0]) or len(points) < 3:
        return points
    if any(b[1] < a[1] for a, b in zip(points, points[1:])):
        return points  # not monotonic: already a rate or a gauge despite the name
    return [(b[0], (b[1] - a[1]) / (b[0] - a[0])) for a, b in zip(points, points[1:]) if b[0] > a[0]]
