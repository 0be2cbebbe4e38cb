"""Render scenario specs into incident dumps in real export formats, with their ground truth.

`generate_case(spec, out_dir)` is deterministic: one seeded `random.Random` per case, fixed git
identities and dates, no wall clock. Every impact number in the returned GroundTruth is computed
from the records this run wrote.

CLI: python -m evals.generate --out DIR [--case NAME | --all]
Writes DIR/examples/<name>/ for the bundled examples, DIR/evals/dataset/<case>/dump/ for the other
cases, and DIR/evals/dataset/<case>/ground_truth.json for every case (so `--out .` refreshes the
committed files).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from evals.ground_truth import (
    DetectionTruth,
    GroundTruth,
    ImpactTruth,
    KeyEvent,
    SecretTrap,
    Traps,
    TriggerTruth,
    Window,
    review_for,
    severity_rule,
)
from evals.render import alerts as r_alerts
from evals.render import git_repo, k8s, logs, metrics, pagerduty, slack, traces, traps
from evals.render.common import Ctx
from evals.scenarios.spec import Scenario

RESTART_REASONS = ("BackOff", "OOMKilling")


class SpecError(ValueError):
    """The spec's data does not produce the severity it declares (fix the data, not the rule)."""


def _manifest(spec: Scenario) -> str:
    zone = logs.local_zone(spec.timezone)
    start, end = spec.at(spec.window[0]), spec.at(spec.window[1])
    data = {
        "title": spec.title,
        "severity": spec.declared_severity or spec.truth.expected_severity,
        "commander": spec.commander,
        "timezone": spec.timezone,
        "window": {"start": start.astimezone(zone).isoformat(), "end": end.astimezone(zone).isoformat()},
        "services": list(spec.services),
    }
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _in(ts: datetime, a: datetime, b: datetime) -> bool:
    return a <= ts <= b


def generate_case(spec: Scenario, out_dir: Path, dump_rel: str = "") -> GroundTruth:
    """Write the dump of `spec` into `out_dir` and return its ground truth."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = Ctx(spec, out_dir)
    planted, secret_where, injection = traps.plant(ctx, spec)
    ctx.spec = spec = planted
    truth = spec.truth
    anomaly, resolved = ctx.t(truth.anomaly_at), ctx.t(truth.resolved_at)
    mitigated = ctx.t(truth.mitigated_at) if truth.mitigated_at else None
    sources: list[str] = []

    # Logs: request streams and scenario messages, merged per file.
    zone = logs.local_zone(spec.timezone)
    files: dict[str, logs.LogFile] = {}
    requests: list[list[logs.Request]] = []
    for stream in spec.requests:
        recs = logs.simulate(ctx, stream)
        requests.append(recs)
        lf = files.setdefault(stream.file, logs.LogFile())
        for r in recs:
            lf.add(r.ts, logs.request_line(ctx, stream, r))
    for ev in spec.log_events:
        logs.render_event(ctx, ev, zone, files)
    for rel, lf in sorted(files.items()):
        ctx.write_text(rel, lf.render())
    if files:
        sources.append("logs")

    # Metrics.
    series: list[tuple[str, list[tuple[datetime, float]], bool]] = []
    for m in spec.metrics:
        pts = metrics.samples(ctx, m, requests)
        ctx.write_text(m.file, json.dumps(metrics.matrix(m, pts), separators=(",", ":")) + "\n")
        series.append((m.name, pts, m.derive == "p99_latency_ms" or m.name.endswith("_seconds")
                       or "seconds" in m.name))
    if spec.metrics:
        sources.append("metrics")

    # Traces.
    trace_recs: list[traces.Trace] = []
    if spec.traces is not None:
        trace_recs = traces.generate(ctx, spec.traces, spec.trace_records)
        ctx.write_text(spec.traces.file, traces.render(trace_recs))
        sources.append("traces")

    # Git.
    shas: dict[int, str] = {}
    if spec.commits:
        shas = git_repo.build(ctx, spec.commits)
        sources.append("git")

    # Chat, pages, alerts, k8s, notes, manifest.
    if spec.chat:
        slack.render(ctx, spec.chat)
        sources.append("slack")
    if spec.page is not None:
        pagerduty.render(ctx, spec.page)
        sources.append("pagerduty")
    alert_files = r_alerts.render(ctx, spec.alerts) if spec.alerts else []
    if spec.alerts:
        sources.append("alertmanager")
    if spec.k8s_events:
        k8s.render(ctx, spec.k8s_events)
        sources.append("k8s")
    ctx.write_text("notes.md", spec.notes.replace("{blame}", spec.blame))
    ctx.write_text("incident.yaml", _manifest(spec))
    sources += ["notes", "manifest"]

    impact = _impact(spec, ctx, requests, series, trace_recs, anomaly, resolved, mitigated)
    severity, reason = severity_rule(impact)
    if severity != truth.expected_severity:
        raise SpecError(f"{spec.name}: data gives {severity} ({reason}), spec expects "
                        f"{truth.expected_severity}")
    _check_log_peak_band(spec, requests, impact, anomaly, resolved)

    def chat_file(at: str) -> str:
        return f"slack/{slack.channel_name(ctx, 'incident')}/{ctx.t(at).strftime('%Y-%m-%d')}.json"

    def loc_file(loc: str, at: str) -> str:
        return {"log": spec.log_events[0].file if spec.log_events else "",
                "trace": spec.traces.file if spec.traces else "",
                "notes": "notes.md"}.get(loc) or chat_file(at)

    det_at = ctx.t(truth.detection_at)
    secrets = [SecretTrap(kind=k, value=v, file=loc_file(loc, truth.anomaly_at))  # type: ignore[arg-type]
               for k, (v, loc) in secret_where.items()]
    trap = Traps(secrets=secrets, canary=f"CANARY-{spec.injection.word}",
                 canary_file=loc_file(spec.injection.where, truth.anomaly_at),
                 injection=injection, blame_sentence=spec.blame)

    trigger = None
    trig_idx = [i for i, c in enumerate(spec.commits) if c.trigger]
    if truth.trigger_kind == "commit":
        if len(trig_idx) != 1:
            raise SpecError(f"{spec.name}: a commit trigger needs exactly one trigger commit")
        c = spec.commits[trig_idx[0]]
        trigger = TriggerTruth(kind="commit", ref=shas[trig_idx[0]], terms=truth.trigger_terms,
                               at=ctx.t(c.at, c.day_offset))
    else:
        trigger = TriggerTruth(kind=truth.trigger_kind, ref=truth.trigger_ref, terms=truth.trigger_terms,
                               at=ctx.t(truth.trigger_at) if truth.trigger_at else None)

    gt = GroundTruth(
        case=spec.name, title=spec.title, dump=dump_rel,
        window=Window(start=ctx.t(spec.window[0]), end=ctx.t(spec.window[1])),
        severity=severity, severity_reason=reason, review_type=review_for(severity),
        key_events=_key_events(spec, ctx, trigger, alert_files),
        trigger=trigger,
        detection=DetectionTruth(method=truth.detection_method, time=det_at, terms=truth.detection_terms),
        first_anomaly_at=anomaly, mitigated_at=mitigated, resolved_at=resolved, impact=impact,
        failure_modes=truth.failure_modes, root_cause_terms=truth.root_cause_terms,
        contributing_factor_terms=truth.contributing_factor_terms, traps=trap, sources=sources,
    )
    return gt


def _impact(spec: Scenario, ctx: Ctx, requests: list[list[logs.Request]],
            series: list[tuple[str, list[tuple[datetime, float]], bool]], trace_recs: list[traces.Trace],
            anomaly: datetime, resolved: datetime, mitigated: datetime | None) -> ImpactTruth:
    truth = spec.truth
    imp = ImpactTruth(duration_min=round((resolved - anomaly).total_seconds() / 60, 1),
                      customer_visible=truth.customer_visible, safety_harm=truth.safety_harm,
                      internal_impact=truth.internal_impact, gpu_hours_lost=truth.gpu_hours_lost)
    if requests:
        _request_impact(imp, requests, anomaly, resolved)
    _error_ratio_peak(imp, series, requests, anomaly, resolved)
    _latency_impact(imp, series, anomaly, resolved)
    if trace_recs:
        _llm_impact(imp, trace_recs, anomaly, resolved)
    if spec.k8s_events:
        imp.container_restarts = sum(e.count for e in spec.k8s_events if e.reason in RESTART_REASONS)
    imp.high_urgency_page = spec.page is not None and spec.page.urgency == "high"
    if mitigated is not None:
        imp.time_to_mitigate_min = round((mitigated - anomaly).total_seconds() / 60, 1)
    return imp


def _request_impact(imp: ImpactTruth, requests: list[list[logs.Request]], anomaly: datetime,
                    resolved: datetime) -> None:
    """Requests and 5xx failures in the request logs over the symptom window: first to last 5xx
    between the first anomaly and resolution (the span a reader of the impact numbers means)."""
    during = sorted((r for recs in requests for r in recs if _in(r.ts, anomaly, resolved)), key=lambda r: r.ts)
    failing = [r for r in during if r.status >= 500]
    if not failing:
        return
    # To the second, as the access logs print times: the evidence cannot order two requests of one second.
    first, last = failing[0].ts.replace(microsecond=0), failing[-1].ts.replace(microsecond=0)
    window = [r for r in during if first <= r.ts.replace(microsecond=0) <= last]
    imp.symptom_duration_min = round((last - first).total_seconds() / 60, 1)
    imp.total_requests = len(window)
    imp.failed_requests = len(failing)
    imp.error_ratio = round(imp.failed_requests / len(window), 4)


def _error_ratio_peak(imp: ImpactTruth, series: list[tuple[str, list[tuple[datetime, float]], bool]],
                      requests: list[list[logs.Request]], anomaly: datetime, resolved: datetime) -> None:
    """The error-ratio metric's peak, else the request logs' per-minute 5xx peak."""
    ratio = next((pts for name, pts, _ in series if "error_ratio" in name), None)
    if ratio:
        imp.error_ratio_peak = max(v for _, v in ratio)
        imp.error_ratio_peak_source = "max sample of the error-ratio metric"
    elif requests:
        peak = _log_minute_peak(requests, anomaly, resolved)
        if peak is not None:
            imp.error_ratio_peak = peak
            imp.error_ratio_peak_source = "max per-minute 5xx share in request logs (minutes with >= 20 requests)"


def _latency_impact(imp: ImpactTruth, series: list[tuple[str, list[tuple[datetime, float]], bool]],
                    anomaly: datetime, resolved: datetime) -> None:
    """p99 latency before the incident (mean) and during it (max), in ms, from the first latency series."""
    lat = next(((pts, sec) for name, pts, sec in series if "p99" in name or "latency" in name), None)
    if not lat:
        return
    pts, sec = lat
    scale = 1000.0 if sec else 1.0
    base = [v for t, v in pts if t < anomaly]
    during = [v for t, v in pts if _in(t, anomaly, resolved)]
    if base and during:
        imp.p99_latency_baseline_ms = round(scale * sum(base) / len(base), 1)
        imp.p99_latency_peak_ms = round(scale * max(during), 1)


def _llm_impact(imp: ImpactTruth, trace_recs: list[traces.Trace], anomaly: datetime, resolved: datetime) -> None:
    """LLM requests, tokens and failures during the incident; wasted tokens when any trace wastes them."""
    inside = [t for t in trace_recs if _in(t.ts, anomaly, resolved)]
    imp.llm_requests = len(inside)
    imp.llm_tokens = sum(t.tokens for t in inside)
    imp.failed_llm_requests = sum(t.record["status"] != "ok" for t in inside)
    if any(t.wasted for t in trace_recs):
        imp.tokens_wasted = sum(t.tokens for t in inside if t.wasted)


def _log_minute_peak(requests: list[list[logs.Request]], a: datetime, b: datetime) -> float | None:
    buckets: dict[int, list[int]] = {}
    for recs in requests:
        for r in recs:
            if _in(r.ts, a - timedelta(minutes=1), b + timedelta(minutes=1)):
                k = int(r.ts.timestamp()) // 60
                tot = buckets.setdefault(k, [0, 0])
                tot[0] += 1
                tot[1] += r.status >= 500
    ratios = [f / n for n, f in buckets.values() if n >= 20]
    return round(max(ratios), 4) if ratios else None


def _band(x: float | None) -> int:
    if x is None:
        return -1
    return sum(x >= t for t in (0.01, 0.10, 0.50))


def _check_log_peak_band(spec: Scenario, requests: list[list[logs.Request]], imp: ImpactTruth,
                         a: datetime, b: datetime) -> None:
    """The per-minute log peak must not fall in a higher severity band than the metric peak, so a
    reader that prefers the logs cannot reach a higher severity than the ground truth."""
    if not requests or imp.error_ratio_peak is None:
        return
    log_peak = _log_minute_peak(requests, a, b)
    if log_peak is not None and _band(log_peak) > _band(imp.error_ratio_peak):
        raise SpecError(f"{spec.name}: log per-minute peak {log_peak} and metric peak "
                        f"{imp.error_ratio_peak} fall in different severity bands")


def _key_events(spec: Scenario, ctx: Ctx, trigger: TriggerTruth | None,
                alert_files: list[str]) -> list[KeyEvent]:
    t = spec.truth
    ev: list[KeyEvent] = []
    if trigger is not None and trigger.at is not None and trigger.at >= ctx.t(spec.window[0]):
        ev.append(KeyEvent(time=trigger.at, tolerance_s=60, terms=t.trigger_terms, category="trigger",
                           source="repo.bundle" if trigger.kind == "commit" else ""))
    ev.append(KeyEvent(time=ctx.t(t.anomaly_at), tolerance_s=180, terms=t.anomaly_terms, category="anomaly"))
    for a in spec.alerts:
        f = next((x for x in alert_files if a.alertname in x and x.endswith("firing.json")), "")
        ev.append(KeyEvent(time=ctx.t(a.starts), tolerance_s=60, terms=[a.alertname], category="alert", source=f))
    if spec.page is not None:
        cat = {"trigger": "page", "acknowledge": "ack", "escalate": "escalation", "resolve": "resolution"}
        for e in spec.page.entries:
            if e.type in cat:
                terms = [spec.page.title.split(":")[0].split()[0], e.type]
                ev.append(KeyEvent(time=ctx.t(e.at), tolerance_s=60, terms=terms, category=cat[e.type],  # type: ignore[arg-type]
                                   source="pagerduty/log_entries.json"))
    if t.detection_method != "alert":
        ev.append(KeyEvent(time=ctx.t(t.detection_at), tolerance_s=120, terms=t.detection_terms,
                           category="detection"))
    for at, terms in t.decisions:
        ev.append(KeyEvent(time=ctx.t(at), tolerance_s=120, terms=terms, category="decision"))
    if t.mitigated_at:
        ev.append(KeyEvent(time=ctx.t(t.mitigated_at), tolerance_s=120, terms=t.mitigation_terms,
                           category="mitigation"))
    if t.recovered_at:
        ev.append(KeyEvent(time=ctx.t(t.recovered_at), tolerance_s=300, terms=t.recovery_terms,
                           category="recovery"))
    if not any(k.category == "resolution" for k in ev):
        ev.append(KeyEvent(time=ctx.t(t.resolved_at), tolerance_s=120, terms=t.resolution_terms,
                           category="resolution"))
    ev.sort(key=lambda k: (k.time, k.category))
    return ev


def case_paths(name: str, out_root: Path, examples: set[str]) -> tuple[Path, str, Path]:
    """(dump dir, dump path relative to the root, ground-truth file) for a case under `out_root`."""
    rel = f"examples/{name}" if name in examples else f"evals/dataset/{name}/dump"
    return out_root / rel, rel, out_root / "evals" / "dataset" / name / "ground_truth.json"


def write_case(spec: Scenario, out_root: Path, examples: set[str]) -> GroundTruth:
    import shutil

    dump, rel, gt_path = case_paths(spec.name, out_root, examples)
    if dump.exists():
        shutil.rmtree(dump)  # stale files from an older spec must not survive
    gt = generate_case(spec, dump, dump_rel=rel)
    gt_path.parent.mkdir(parents=True, exist_ok=True)
    gt_path.write_text(gt.to_json(), encoding="utf-8")
    return gt


def main(argv: list[str] | None = None) -> int:
    from evals.scenarios.registry import CASES, EXAMPLES

    ap = argparse.ArgumentParser(prog="python -m evals.generate", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="root to write into (use . for the repo)")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--case", choices=sorted(CASES), help="generate one case")
    group.add_argument("--all", action="store_true", help="generate every case (the default)")
    args = ap.parse_args(argv)
    names = [args.case] if args.case else sorted(CASES)
    for name in names:
        try:
            gt = write_case(CASES[name], args.out, EXAMPLES)
        except SpecError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"{name}: {gt.severity}/{gt.review_type} -> {gt.dump} ({', '.join(gt.sources)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
