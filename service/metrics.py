"""Prometheus metrics: job counts per status, stage durations, LLM tokens and cost.

Why job counts are read from the database at scrape time instead of kept as counters: jobs are
queued by API servers and run by Celery workers on other hosts, so no single process could count
them; the `draft_jobs` rows are the one place every process writes, so any API server's `/metrics`
reports the true totals. Stage durations and LLM usage are measured where the job runs (the API
process with the in-process queue, each worker otherwise; `postmortem worker --metrics-port` serves
them), so they live in this process's registry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.jobs.models import DraftJob, JobStatus

# One registry for this process's own measurements (not prometheus_client's global one, so tests
# that build several apps never register a metric twice).
REGISTRY = CollectorRegistry(auto_describe=True)

STAGE_SECONDS = Histogram(
    "postmortem_stage_duration_seconds",
    "Wall time of one draft stage, per stage.",
    ["stage"],
    # Offline stages take tens of milliseconds to seconds; LLM stages minutes.
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "postmortem_llm_tokens", "LLM tokens of finished drafts, per stage and direction.",
    ["stage", "direction"], registry=REGISTRY,
)
LLM_CALLS = Counter("postmortem_llm_calls", "LLM calls of finished drafts, per stage.", ["stage"], registry=REGISTRY)
LLM_COST = Counter(
    "postmortem_llm_cost_usd", "Estimated LLM cost of finished drafts in USD (list prices; 0 for unknown models).",
    ["model"], registry=REGISTRY,
)


class StageTimer:
    """An `on_stage(stage, "start"|"done")` callback that observes each stage's duration.

    A stage interrupted by a crash has no "done" and is not observed; its rerun on the worker that
    resumes the job is."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, stage: str, event: str) -> None:
        now = time.monotonic()
        with self._lock:
            if event == "start":
                self._started[stage] = now
                return
            began = self._started.pop(stage, None)
        if event == "done" and began is not None:
            STAGE_SECONDS.labels(stage=stage).observe(now - began)


class _StageUsage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class _Usage(BaseModel):
    """The part of `Report.usage` (written by the LLM engine's usage account) that is counted."""

    model_config = ConfigDict(extra="ignore")

    model: str = ""
    stages: dict[str, _StageUsage] = {}


def record_llm_usage(usage: Mapping[str, Any]) -> None:
    """Count a finished draft's LLM usage once (called when the job is done, so a crashed attempt
    that is resumed elsewhere is not counted twice). Offline drafts have no usage: nothing counted."""
    try:
        parsed = _Usage.model_validate(usage)
    except ValidationError:
        return  # a report from another version with another shape: better uncounted than wrong
    for stage, s in parsed.stages.items():
        LLM_CALLS.labels(stage=stage).inc(s.calls)
        LLM_TOKENS.labels(stage=stage, direction="input").inc(s.input_tokens)
        LLM_TOKENS.labels(stage=stage, direction="output").inc(s.output_tokens)
        if parsed.model:
            LLM_COST.labels(model=parsed.model).inc(s.cost_usd)


def job_counts(factory: sessionmaker[Session]) -> GaugeMetricFamily:
    """`postmortem_jobs{status=...}`: every status present, zero when no job has it."""
    with factory() as session:
        rows = session.execute(select(DraftJob.status, func.count()).group_by(DraftJob.status)).all()
    counts = {status.value: 0 for status in JobStatus}
    for status, n in rows:
        counts[str(status)] = int(n)
    family = GaugeMetricFamily("postmortem_jobs", "Draft jobs in the database, per status.", labels=["status"])
    for status, n in sorted(counts.items()):
        family.add_metric([status], n)
    return family


class ScrapeCollector:
    """What one `/metrics` request exposes: this process's registry plus the database job counts."""

    def __init__(self, factory: sessionmaker[Session] | None) -> None:
        self._factory = factory

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        if self._factory is not None:
            yield job_counts(self._factory)
