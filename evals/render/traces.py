"""LLM request traces as JSON Lines, one record per model call."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from evals.render.common import Ctx, iso_ms
from evals.scenarios.spec import TraceRecord, TraceStream


@dataclass
class Trace:
    ts: datetime
    record: dict[str, object]
    tokens: int
    wasted: bool


def _record(ctx: Ctx, ts: datetime, model: str, system: str, prompt: str, output: str,
            pt: int, ct: int, latency: int, status: str, error: str, cost_per_1k: float) -> dict[str, object]:
    rec: dict[str, object] = {
        "timestamp": iso_ms(ts), "request_id": "req_" + ctx.hexid(20), "model": model,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": prompt}],
        "output": output, "prompt_tokens": pt, "completion_tokens": ct, "latency_ms": latency,
        "status": status,
    }
    if error:
        rec["error"] = error
    if cost_per_1k:
        rec["cost_usd"] = round((pt + ct) / 1000 * cost_per_1k, 6)
    return rec


def generate(ctx: Ctx, ts_spec: TraceStream, extra: list[TraceRecord]) -> list[Trace]:
    rng = ctx.rng
    phases = [(ctx.t(p.start), ctx.t(p.end), p) for p in ts_spec.phases]
    out: list[Trace] = []
    minute, end = ctx.t(ts_spec.start), ctx.t(ts_spec.end)
    carry = 0.0
    while minute < end:
        carry += ts_spec.rate_per_min
        n = int(carry)
        carry -= n
        for off in sorted(rng.randrange(0, 60_000) for _ in range(n)):
            ts = minute + timedelta(milliseconds=off)
            prompt = rng.choice(ts_spec.prompts)
            phase = next((p for a, b, p in phases if a <= ts < b), None)
            if phase is not None and rng.random() < phase.prob:
                output, status, error = rng.choice(phase.outputs), phase.status, phase.error
                ct_rng, lat_rng, wasted = phase.completion_tokens, phase.latency_ms, phase.wasted
            else:
                output, status, error = rng.choice(ts_spec.outputs), "ok", ""
                ct_rng, lat_rng, wasted = ts_spec.completion_tokens, ts_spec.latency_ms, False
            pt = rng.randint(*ts_spec.prompt_tokens)
            ct = rng.randint(*ct_rng) if status == "ok" else 0
            rec = _record(ctx, ts, ts_spec.model, ts_spec.system, prompt, output, pt, ct,
                          rng.randint(*lat_rng), status, error, ts_spec.cost_per_1k_tokens)
            out.append(Trace(ts, rec, pt + ct, wasted))
        minute += timedelta(minutes=1)
    for x in extra:
        ts = ctx.t(x.at) + timedelta(milliseconds=rng.randrange(0, 1000))
        pt, ct = rng.randint(*ts_spec.prompt_tokens), rng.randint(*ts_spec.completion_tokens)
        rec = _record(ctx, ts, x.model or ts_spec.model, ts_spec.system, x.prompt, x.output, pt, ct,
                      rng.randint(*ts_spec.latency_ms), x.status, "", ts_spec.cost_per_1k_tokens)
        out.append(Trace(ts, rec, pt + ct, False))
    out.sort(key=lambda t: (t.ts, str(t.record["request_id"])))
    return out


def render(traces: list[Trace]) -> str:
    return "".join(json.dumps(t.record, ensure_ascii=False) + "\n" for t in traces)
