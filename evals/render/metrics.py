"""Prometheus `query_range` matrix responses, derived from simulated requests or from curves."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from evals.render.common import Ctx, curve_at, steps
from evals.render.logs import Request
from evals.scenarios.spec import Metric


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def samples(ctx: Ctx, m: Metric, requests: list[list[Request]]) -> list[tuple[datetime, float]]:
    out: list[tuple[datetime, float]] = []
    if m.derive is not None:
        recs = requests[m.stream]
        win = timedelta(seconds=m.window_s)
        lo = 0
        for t in steps(ctx.t(m.start), ctx.t(m.end), m.step_s):
            while lo < len(recs) and recs[lo].ts <= t - win:
                lo += 1
            window = [r for r in recs[lo:] if r.ts <= t]
            if not window:
                continue  # Prometheus returns no sample when the rate has no data
            if m.derive == "error_ratio":
                v = sum(r.status >= 500 for r in window) / len(window)
            elif m.derive == "p99_latency_ms":
                v = _p99([r.latency_ms for r in window]) / 1000.0  # seconds, as Prometheus exports
            else:
                v = len(window) / m.window_s
            out.append((t, round(v, m.decimals)))
        return out
    curve = [(ctx.t(a), v) for a, v in m.curve]
    for t in steps(ctx.t(m.start), ctx.t(m.end), m.step_s):
        base = curve_at(curve, t, 0.0)
        v = base * (1 + ctx.rng.gauss(0, m.noise)) if m.noise else base
        out.append((t, round(v, m.decimals)))
    return out


def matrix(m: Metric, pts: list[tuple[datetime, float]]) -> dict[str, object]:
    metric = {"__name__": m.name, **m.labels}
    values = [[int(t.timestamp()), _num(v)] for t, v in pts]
    return {"status": "success",
            "data": {"resultType": "matrix", "result": [{"metric": metric, "values": values}]}}


def _num(v: float) -> str:
    # Prometheus renders sample values as strings with Go's shortest float formatting.
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)
