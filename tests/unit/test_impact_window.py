"""Impact: measured first..last symptom, retries apart from user failures, security counted in users."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from agent.model import Detection, Impact
from agent.offline import impact
from tools.models import Evidence, EvidenceKind
from tools.store.reader import EvidenceReader
from tools.store.writer import StoreWriter

T0 = datetime(2026, 3, 14, 9, 30, tzinfo=timezone.utc)


def _access(i: int, ts: datetime, status: int, **attrs: object) -> Evidence:
    return Evidence(id=f"log:gw:{i}", kind=EvidenceKind.LOG, ts=ts, source="gw.log", service="gw",
                    level="error" if status >= 500 else "info", text=f"POST /v1 {status}",
                    attrs={"format": "access", "status": status, "method": "POST", "path": "/v1", **attrs})


def _store(tmp_path: Path, ev: list[Evidence]) -> EvidenceReader:
    s = StoreWriter.create(tmp_path / "e.db")
    s.add_many(ev)
    s.finalize()
    return s.reader()


def _metric(imp: Impact, name: str) -> float | None:
    return next((m.value for m in imp.metrics if m.name == name), None)


def test_window_is_first_to_last_symptom_not_the_page(tmp_path: Path) -> None:
    # Requests every 10 s for 3 h; 5xx only from minute 60 to minute 80 (every other request).
    ev = [_access(i, T0 + timedelta(seconds=10 * i), 503 if 360 <= i < 480 and i % 2 else 200) for i in range(1080)]
    store = _store(tmp_path, ev)
    page = Detection(first_anomaly_at=T0, resolved_at=T0 + timedelta(hours=3))  # the page's whole life
    imp = impact.compute_impact(store, page, None, [])
    assert _metric(imp, "impact duration") == round((479 - 361) * 10 / 60, 1)  # first to last 5xx
    dur = next(m for m in imp.metrics if m.name == "impact duration")
    assert dur.evidence == ["log:gw:361", "log:gw:479"] and "first to last failing" in dur.detail
    assert _metric(imp, "failed requests (HTTP 5xx)") == 60
    assert _metric(imp, "error ratio over impact window") == round(100 * 60 / 119, 2)


def test_retries_are_not_user_failures(tmp_path: Path) -> None:
    ev: list[Evidence] = []
    for r in range(20):  # 20 requests; the first 10 fail once and succeed on a retry with the same id
        ts = T0 + timedelta(seconds=30 * r)
        ev.append(_access(2 * r, ts, 503 if r < 10 else 200, request_id=f"req-{r}"))
        if r < 10:
            ev.append(_access(2 * r + 1, ts + timedelta(seconds=1), 503 if r < 3 else 200, request_id=f"req-{r}"))
    store = _store(tmp_path, ev)
    imp = impact.compute_impact(store, Detection(first_anomaly_at=T0, resolved_at=T0 + timedelta(hours=1)), None, [])
    assert _metric(imp, "failed requests (HTTP 5xx)") == 3  # only the ids whose last attempt failed
    assert _metric(imp, "failed retry attempts (not user-facing)") == 10
    retry = next(m for m in imp.metrics if m.name == "failed retry attempts (not user-facing)")
    assert "request id appears again" in retry.detail


def test_security_incident_counts_users_records_not_minutes(tmp_path: Path) -> None:
    url = "hxxps://claim-warranty[.]example"
    ev = [Evidence(id=f"trace:t:{i}", kind=EvidenceKind.TRACE, ts=T0 + timedelta(minutes=i), source="t.jsonl",
                   text=f"answer: verify your card at {url}" if i % 3 == 0 else "answer: see your orders page",
                   attrs={"model": "m", "request_id": f"req-{i}", "user_id": f"u-{i % 7}"}) for i in range(30)]
    ev.append(Evidence(id="log:app:1", kind=EvidenceKind.LOG, ts=T0, source="app.log", service="app", level="error",
                       text=f"output filter: phishing link {url} in response"))
    store = _store(tmp_path, ev)
    imp = impact.compute_impact(store, Detection(first_anomaly_at=T0), None, [])
    impact.exposure_impact(imp, store, ["rag.context_poisoning"], {"rag.context_poisoning": ["log:app:1"]},
                           T0 - timedelta(minutes=1), T0 + timedelta(hours=1))
    affected = [i for i in range(30) if i % 3 == 0]
    assert _metric(imp, "requests affected by the exposure") == len(affected) + 1  # + the filter's log line
    assert _metric(imp, "users affected by the exposure") == len({f"u-{i % 7}" for i in affected})
    assert _metric(imp, "impact duration") is None
    assert all(not (m.unit == "min" and m.value == 0) for m in imp.metrics)
    assert "distinct users" in imp.users_affected
