"""`/metrics`: job counts come from the database rows, stage durations and LLM usage from this
process's registry (service.metrics)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from agent.llm.usage import UsageAccount
from service.app import create_app
from service.jobs.models import DraftJob
from service.metrics import REGISTRY, StageTimer, record_llm_usage
from service.settings import ServiceSettings


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServiceSettings(database_url=str(tmp_path / "service.sqlite"), data_dir=tmp_path / "data",
                               secret_key="test-secret-key-not-for-production")
    with TestClient(create_app(settings)) as c:
        yield c


def job_counts(client: TestClient) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    family = next(f for f in text_string_to_metric_families(response.text) if f.name == "postmortem_jobs")
    return {s.labels["status"]: s.value for s in family.samples}


def add_job(client: TestClient, status: str) -> None:
    factory = client.app.state.sessionmaker  # type: ignore[attr-defined]
    with factory() as s:
        s.add(DraftJob(id=uuid.uuid4().hex, status=status, source="path", dump_path="/nonexistent",
                       created_at=datetime.now(timezone.utc)))
        s.commit()


def test_job_counts_are_read_from_the_rows_with_every_status_present(client: TestClient) -> None:
    assert job_counts(client) == {"queued": 0, "running": 0, "done": 0, "failed": 0}
    for status in ("queued", "queued", "running", "failed"):
        add_job(client, status)
    assert job_counts(client) == {"queued": 2, "running": 1, "done": 0, "failed": 1}


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_stage_timer_observes_finished_stages_only() -> None:
    stage = f"test-stage-{uuid.uuid4().hex[:6]}"
    timer = StageTimer()
    timer(stage, "start")
    timer(stage, "done")
    timer(stage, "start")  # interrupted: no "done", so not observed
    assert sample("postmortem_stage_duration_seconds_count", {"stage": stage}) == 1
    assert sample("postmortem_stage_duration_seconds_sum", {"stage": stage}) >= 0


def test_llm_usage_counts_what_the_usage_account_reports() -> None:
    stage = f"test-stage-{uuid.uuid4().hex[:6]}"
    account = UsageAccount(model="gpt-4o-mini")
    cost = account.record(stage, input_tokens=1200, output_tokens=300, latency_s=0.5)
    account.record(stage, input_tokens=800, output_tokens=100, latency_s=0.5)
    cost_before = sample("postmortem_llm_cost_usd_total", {"model": "gpt-4o-mini"})

    record_llm_usage(account.as_dict())

    assert sample("postmortem_llm_tokens_total", {"stage": stage, "direction": "input"}) == 2000
    assert sample("postmortem_llm_tokens_total", {"stage": stage, "direction": "output"}) == 400
    assert sample("postmortem_llm_calls_total", {"stage": stage}) == 2
    assert cost > 0
    assert sample("postmortem_llm_cost_usd_total", {"model": "gpt-4o-mini"}) - cost_before == pytest.approx(
        account.totals().cost_usd, abs=1e-6)


def test_offline_and_malformed_usage_count_nothing() -> None:
    before = list(REGISTRY.collect())
    record_llm_usage({})  # the offline engine's report
    record_llm_usage({"stages": {"x": {"calls": "many"}}})  # another shape: not counted, no error
    assert [m.samples for m in REGISTRY.collect()] == [m.samples for m in before]
