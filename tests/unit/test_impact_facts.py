"""Impact facts from request records: users and tenants counted from whatever id field the logs
carry, health probes never counted as requests, degraded HTTP-200 answers counted as failures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from agent.model import Detection, Impact
from agent.offline import degraded, impact, users
from tools.models import Evidence, EvidenceKind
from tools.probes import is_probe
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

T0 = datetime(2026, 5, 2, 10, 0, tzinfo=timezone.utc)


def _rec(i: int, ts: datetime, status: int, text: str = "", **attrs: object) -> Evidence:
    return Evidence(id=f"log:api:{i}", kind=EvidenceKind.LOG, ts=ts, source="api.log", service="api",
                    level="error" if status >= 500 else "info", text=text or f"POST /v1/answer {status}",
                    attrs={"status": status, "path": "/v1/answer", **attrs})


def _store(tmp_path: Path, ev: list[Evidence]) -> EvidenceReader:
    s = StoreWriter.create(tmp_path / "e.db")
    s.add_many(ev)
    s.finalize()
    return s.reader()


def _metric(imp: Impact, name: str) -> float | None:
    return next((m.value for m in imp.metrics if m.name == name), None)


def _page(hours: int = 1) -> Detection:
    return Detection(first_anomaly_at=T0, resolved_at=T0 + timedelta(hours=hours))


def test_users_and_tenants_counted_from_json_attrs(tmp_path: Path) -> None:
    ev = [_rec(i, T0 + timedelta(seconds=20 * i), 503 if i % 2 else 200,
               student_id=f"s{i % 7}", tenant_id=f"school-{i % 3}") for i in range(60)]
    imp = impact.compute_impact(_store(tmp_path, ev), _page(), None, [])
    assert imp.users_affected.startswith("7 distinct users (`student_id`)"), imp.users_affected
    assert "3 distinct tenants (`tenant_id`)" in imp.users_affected
    assert "[DATA GAP]" not in imp.users_affected


def test_users_counted_from_key_value_text(tmp_path: Path) -> None:
    ev = [Evidence(id=f"log:t:{i}", kind=EvidenceKind.LOG, ts=T0 + timedelta(seconds=30 * i), source="t.log",
                   level="error", text=f"request failed uid=u{i % 4} path=/chat", attrs={"status": 500})
          for i in range(12)]
    imp = impact.compute_impact(_store(tmp_path, ev), _page(), None, [])
    assert imp.users_affected.startswith("4 distinct users (`uid`)"), imp.users_affected


def test_gap_only_when_no_id_field_exists(tmp_path: Path) -> None:
    ev = [_rec(i, T0 + timedelta(seconds=20 * i), 503) for i in range(10)]
    imp = impact.compute_impact(_store(tmp_path, ev), _page(), None, [])
    assert imp.users_affected.startswith("[DATA GAP] Distinct users affected cannot be counted")


def test_ids_of_reads_the_field_kinds() -> None:
    ev = Evidence(id="x", kind=EvidenceKind.LOG, source="a.log", text="customer=c-9 org=acme", attrs={"session_id": "z"})
    got = users.ids_of(ev)
    assert got["user"] == ("customer", "c-9") and got["tenant"] == ("org", "acme") and got["session"][1] == "z"


def test_probes_are_not_requests(tmp_path: Path) -> None:
    real = [_rec(i, T0 + timedelta(seconds=60 * i), 503 if i < 5 else 200) for i in range(10)]
    probes = [Evidence(id=f"log:lb:{i}", kind=EvidenceKind.LOG, ts=T0 + timedelta(seconds=5 * i + 1),
                       source="lb.log", text="GET /healthz 503", level="error",
                       attrs={"status": 503, "path": "/healthz", "user_agent": "kube-probe/1.29"})
              for i in range(100)]
    imp = impact.compute_impact(_store(tmp_path, real + probes), _page(), None, [])
    assert _metric(imp, "requests served during impact") == 5.0  # first..last real 5xx: records 0-4
    assert _metric(imp, "failed requests (HTTP 5xx)") == 5.0
    served = next(m for m in imp.metrics if m.name == "requests served during impact")
    assert "probes" in served.detail and "excluded" in served.detail


def test_probe_shapes() -> None:
    assert is_probe({"path": "/api/readyz"}) and is_probe({"url": "http://10.0.0.1:8080/metrics"})
    assert is_probe({}, '10.1.2.3 - - "GET /livez HTTP/1.1" 200')
    assert is_probe({"user_agent": "kube-probe/1.30"})
    assert not is_probe({"path": "/v1/chat/completions"}) and not is_probe({"path": "/health-insurance/quote"})


def _answer(i: int, ts: datetime, fallback: bool, user: str) -> Evidence:
    return Evidence(id=f"log:rag:{i}", kind=EvidenceKind.LOG, ts=ts, source="rag.log", service="rag",
                    level="info", text="answered", attrs={"status": 200, "fallback": fallback, "user": user,
                                                          "answer_type": "fallback" if fallback else "grounded"})


def test_quality_incident_counts_degraded_answers_against_baseline(tmp_path: Path) -> None:
    before = [_answer(i, T0 - timedelta(minutes=60 - i), i % 20 == 0, f"u{i}") for i in range(60)]  # 5% fallback
    during = [_answer(100 + i, T0 + timedelta(minutes=i), i % 2 == 0, f"u{i % 10}") for i in range(40)]  # 50%
    imp = impact.compute_impact(_store(tmp_path, before + during), _page(), None, [])
    assert _metric(imp, "degraded answers during impact") == 20.0
    assert _metric(imp, "degraded answer share during impact") == 50.0
    assert _metric(imp, "degraded answer share before onset (baseline)") == 5.0
    assert imp.users_affected.startswith("5 distinct users (`user`)"), imp.users_affected  # u0,u2,u4,u6,u8


def test_no_quality_metric_when_share_matches_baseline(tmp_path: Path) -> None:
    before = [_answer(i, T0 - timedelta(minutes=60 - i), i % 4 == 0, "u") for i in range(60)]
    during = [_answer(100 + i, T0 + timedelta(minutes=i), i % 4 == 0, "u") for i in range(40)]
    imp = impact.compute_impact(_store(tmp_path, before + during), _page(), None, [])
    assert _metric(imp, "degraded answers during impact") is None


def test_low_score_against_baseline_floor(tmp_path: Path) -> None:
    def rec(i: int, ts: datetime, score: float) -> Evidence:
        return Evidence(id=f"log:s:{i}", kind=EvidenceKind.LOG, ts=ts, source="s.log", text="ok", attrs={"score": score})
    before = [rec(i, T0 - timedelta(minutes=50 - i), 0.7 + (i % 10) / 50) for i in range(40)]
    during = [rec(100 + i, T0 + timedelta(minutes=i), 0.2) for i in range(10)]
    store = _store(tmp_path, before + during)
    q = degraded.measure(store, T0, T0 + timedelta(hours=1))
    assert q.window.degraded == 10 and q.baseline.degraded == 0 and q.significant
