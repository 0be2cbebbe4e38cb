"""The incident window: a corroborated onset, precursors kept apart, no invented times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from agent.model import IncidentWindow, Scope
from agent.offline import analysis, detection, signals, timeline
from agent.offline.window import compute_window
from agent.offline.window_facts import WindowFacts, window_facts
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

T0 = datetime(2026, 2, 3, 14, 0, tzinfo=timezone.utc)  # the real storm starts here


def _access_logs(start: datetime, minutes: int, bad: range, per_minute: int = 20) -> list[Evidence]:
    """nginx-style request records, one every few seconds; minutes in `bad` answer 5xx to half."""
    out = []
    for m in range(minutes):
        for i in range(per_minute):
            n = len(out) + 1
            failing = m in bad and i % 2 == 0
            out.append(Evidence(
                id=f"log:access.log:{n}", kind=EvidenceKind.LOG, ts=start + timedelta(minutes=m, seconds=i * 3),
                source="access.log", locator=f"line {n}", service="api",
                level="error" if failing else "info",
                text=f'"GET /v1/chat HTTP/1.1" {502 if failing else 200}',
                attrs={"status": 502 if failing else 200, "format": "access"},
            ))
    return out


def _store(tmp_path: Path, items: list[Evidence]) -> EvidenceReader:
    writer = StoreWriter.create(tmp_path / "e.db")
    writer.add_many(items)
    writer.finalize()
    return writer.reader()


def _series(rid: str, name: str, start: datetime, values: list[float], step_s: int = 60) -> Evidence:
    samples = [[(start + timedelta(seconds=i * step_s)).timestamp(), v] for i, v in enumerate(values)]
    return Evidence(id=rid, kind=EvidenceKind.METRIC, ts=start, source="prom.json", text=name,
                    attrs={"name": name, "samples": samples})


def _alert(at: datetime, name: str = "HighErrorRate") -> Evidence:
    return Evidence(id=f"alert:am.json:1:{name}", kind=EvidenceKind.ALERT, ts=at, source="am.json",
                    text=f"{name} firing", attrs={"alertname": name, "status": "firing"})


def test_isolated_warning_30h_early_is_a_precursor_not_the_onset(tmp_path: Path) -> None:
    # Logs from 32 h before to 1 h after the storm; one odd WARNING 30 h before.
    start = T0 - timedelta(hours=32)
    logs = _access_logs(start, 33 * 60, bad=range(32 * 60, 32 * 60 + 25), per_minute=6)
    warning = Evidence(id="log:app.log:1", kind=EvidenceKind.LOG, ts=T0 - timedelta(hours=30),
                       source="app.log", service="api", level="warning",
                       text="WARN connection pool nearly exhausted (48/50)")
    store = _store(tmp_path, logs + [warning, _alert(T0 + timedelta(minutes=4))])
    # The manifest's start is a loose hint (someone wrote it from the first odd record): the
    # warning falls after it, so the timeline lists it as a new warning.
    scope = Scope(title="5xx storm", window_start=T0 - timedelta(hours=30, minutes=10))
    events = timeline.build_timeline(store, scope)
    a = analysis.analyse(store, scope, events)
    w = a.window
    assert w is not None and w.onset is not None
    assert abs((w.onset - T0).total_seconds()) <= 60
    assert a.detection.first_anomaly_at == w.onset
    assert [s.family for s in w.corroborating] == ["logs", "alerting"]
    warn_rows = [e for e in events if "log:app.log:1" in e.evidence]
    assert warn_rows and all(e.category != "anomaly" for e in warn_rows)
    assert warn_rows[0].event.startswith("Precursor")
    onset_rows = [e for e in events if e.category == "anomaly" and e.event.startswith("Incident onset")]
    assert len(onset_rows) == 1 and "alert:am.json:1:HighErrorRate" in onset_rows[0].evidence
    dur = next(m.value for m in a.impact.metrics if m.name == "impact duration")
    assert dur < 60  # the 25-minute storm, not 30 hours


def test_short_blip_gives_a_short_window(tmp_path: Path) -> None:
    start = T0 - timedelta(hours=2)
    logs = _access_logs(start, 180, bad=range(120, 124))  # four bad minutes
    store = _store(tmp_path, logs + [_alert(T0 + timedelta(minutes=1))])
    w = compute_window(store, Scope(title="blip"))
    assert w.onset is not None and w.end is not None
    assert (w.end - w.onset).total_seconds() <= 6 * 60
    assert w.end_basis == "series back in band"


def test_corroborated_signal_beats_an_earlier_noisy_metric(tmp_path: Path) -> None:
    start = T0 - timedelta(hours=6)
    # A GPU temperature series with a 30-minute excursion 5 h before anything else happens.
    noisy = [60.0 + (i % 3) for i in range(6 * 60 + 60)]
    for i in range(60, 90):
        noisy[i] = 95.0
    metric = _series("metric:prom.json:1", "gpu_temperature_celsius", start, noisy)
    logs = _access_logs(start, 6 * 60 + 60, bad=range(6 * 60, 6 * 60 + 30), per_minute=6)
    store = _store(tmp_path, logs + [metric, _alert(T0 + timedelta(minutes=3))])
    w = compute_window(store, Scope(title="storm"))
    assert w.onset is not None and abs((w.onset - T0).total_seconds()) <= 60
    assert any(p.signal == "gpu_temperature_celsius" and "no independent source" in p.why
               for p in w.precursors)
    assert "corroborated" in w.method


def test_metric_only_incident(tmp_path: Path) -> None:
    start = T0 - timedelta(hours=3)
    lat = [0.2 + 0.01 * (i % 4) for i in range(240)]
    qps = [100.0 + (i % 5) for i in range(240)]
    for i in range(180, 220):  # latency triples and throughput halves at T0 for 40 minutes
        lat[i] *= 3
        qps[i] /= 2
    store = _store(tmp_path, [_series("metric:prom.json:1", "http_request_duration_seconds_p99", start, lat),
                              _series("metric:prom.json:2", "requests_qps", start, qps)])
    w = compute_window(store, Scope(title="slow"))
    assert w.onset == T0
    assert {s.name for s in w.corroborating} == {"http_request_duration_seconds_p99", "requests_qps"}
    assert w.end == T0 + timedelta(minutes=40)
    assert w.onset_uncertainty_s == 60


def test_no_signal_gives_no_onset_and_says_so(tmp_path: Path) -> None:
    logs = _access_logs(T0, 120, bad=range(0))
    chat = Evidence(id="chat:inc:1", kind=EvidenceKind.CHAT, ts=T0 + timedelta(minutes=30),
                    source="slack", text="anyone around for a quick question?", attrs={"channel": "inc"})
    store = _store(tmp_path, logs + [chat])
    scope = Scope(title="nothing", window_start=T0 + timedelta(minutes=10))
    events = timeline.build_timeline(store, scope)
    w = compute_window(store, scope)
    assert w.onset is None and w.onset_uncertainty_s is None and w.end is None
    assert w.method.startswith("No onset")
    d = detection.compute_detection(events, w)
    assert d.first_anomaly_at is None
    assert any("No corroborated onset" in g for g in d.data_gaps)


def test_window_is_computed_once_and_carried_in_analysis(tmp_path: Path) -> None:
    store = _store(tmp_path, _access_logs(T0 - timedelta(hours=1), 120, bad=range(60, 80))
                   + [_alert(T0 + timedelta(minutes=2))])
    scope = Scope(title="x")
    facts = window_facts(store, scope)
    events = timeline.build_timeline(store, scope, facts)
    a = analysis.analyse(store, scope, events, facts)
    assert a.window is facts.window  # carried, not computed again
    assert analysis.analyse(store, scope, events).window == facts.window == compute_window(store, scope)
    assert IncidentWindow.model_validate_json(a.window.model_dump_json()) == a.window
    assert WindowFacts.model_validate_json(facts.model_dump_json()) == facts  # fit for the graph state


def test_deviation_runs_need_sustain_and_survive_short_dips() -> None:
    flat = [(float(i * 60), 1.0) for i in range(30)]
    blip = list(flat)
    blip[10] = (600.0, 9.0)
    blip[11] = (660.0, 9.0)
    med, width = signals.robust_band([v for _, v in flat], min_rel=0.5, min_abs=0.0)
    runs = signals.deviation_runs(blip, med, width, sign=1.0, two_sided=False)
    assert len(runs) == 1 and not signals.is_sustained(runs[0])
    dip = list(flat)
    for i in (10, 11, 12, 14, 15, 16):  # one in-band point at 13 does not end the run
        dip[i] = (dip[i][0], 9.0)
    runs = signals.deviation_runs(dip, med, width, sign=1.0, two_sided=False)
    assert len(runs) == 1 and runs[0].out_points == 6 and runs[0].stop == 17


def test_counter_series_is_read_as_a_rate() -> None:
    counter = [(float(i * 60), float(i * 100)) for i in range(10)]
    rate = signals.counter_to_rate(counter, "http_requests_total")
    assert {v for _, v in rate} == {100 / 60}
    assert signals.counter_to_rate(counter, "queue_depth") == counter


def test_zero_baseline_series_ignores_tiny_blips_but_sees_the_storm(tmp_path: Path) -> None:
    # A 5xx ratio that is exactly 0 when quiet (median and MAD 0), with 1% blips every half
    # hour, then a real storm: only the storm is a sustained signal.
    start = T0 - timedelta(hours=4)
    vals = [0.0] * (4 * 60 + 40)
    for b in range(20, 4 * 60, 30):
        for i in range(b, b + 4):
            vals[i] = 0.012
    for i in range(4 * 60, 4 * 60 + 30):
        vals[i] = 0.4
    store = _store(tmp_path, [_series("metric:prom.json:1", "gateway_5xx_ratio", start, vals),
                              _alert(T0 + timedelta(minutes=3))])
    w = compute_window(store, Scope(title="storm"))
    assert w.onset is not None and abs((w.onset - T0).total_seconds()) <= 60
    early = [s for s in w.signals if s.family == "metric:gateway_5xx_ratio" and s.onset < T0]
    assert early == []


def test_new_warning_plus_short_series_run_is_not_an_onset(tmp_path: Path) -> None:
    # A new WARNING, a 4-point latency run right after it, and the real storm 2 h later
    # (with its alert): the warning stays a precursor.
    start = T0 - timedelta(hours=5)
    logs = _access_logs(start, 5 * 60 + 40, bad=range(5 * 60, 5 * 60 + 30), per_minute=6)
    warn_at = T0 - timedelta(hours=2)
    lat = [1.0 + 0.05 * (i % 3) for i in range(5 * 60 + 40)]
    for i in range(3 * 60 + 2, 3 * 60 + 6):
        lat[i] = 3.0
    warning = Evidence(id="log:app.log:1", kind=EvidenceKind.LOG, ts=warn_at, source="app.log",
                       service="api", level="warning", text="WARN moderation call slow (2.1s)")
    store = _store(tmp_path, logs + [warning, _series("metric:prom.json:1", "request_latency_p99", start, lat),
                                     _alert(T0 + timedelta(minutes=4))])
    w = compute_window(store, Scope(title="storm"))
    assert w.onset is not None and abs((w.onset - T0).total_seconds()) <= 60
    assert "log:app.log:1" not in w.onset_evidence


def test_single_error_record_followed_by_a_late_alert_is_not_the_onset(tmp_path: Path) -> None:
    # A lone error 40 min before a sustained storm whose alert fires 5 min into it: the alert
    # is explained by the storm, not by the lone record.
    start = T0 - timedelta(hours=3)
    logs = _access_logs(start, 3 * 60 + 40, bad=range(3 * 60, 3 * 60 + 30), per_minute=6)
    lone = Evidence(id="log:app.log:9", kind=EvidenceKind.LOG, ts=T0 - timedelta(minutes=40),
                    source="app.log", service="api", level="error", text="ERROR upstream reset by peer")
    store = _store(tmp_path, logs + [lone, _alert(T0 + timedelta(minutes=5))])
    w = compute_window(store, Scope(title="storm"))
    assert w.onset is not None and abs((w.onset - T0).total_seconds()) <= 60
