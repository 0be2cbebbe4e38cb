"""Ops wiring that needs no running services: the Celery settings that make a killed worker's job
come back, the checkpointer choice, and the worker command's start-up errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver
from typer.testing import CliRunner

from service.checkpoints import is_postgres, libpq_url, open_checkpointer
from service.jobs.celery_queue import TASK_NAME, CeleryQueue, make_worker_app
from service.settings import ServiceSettings
from service.worker import app as worker_app
from tests.incidents_fixtures import pg_url  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    """The worker command installs its JSON handler on the root logger; later tests keep theirs."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield
    root.handlers[:], root.level = saved[0], saved[1]


def test_celery_redelivers_a_lost_workers_job_and_holds_one_job_per_worker() -> None:
    app = make_worker_app(ServiceSettings(broker_url="amqp://guest:guest@127.0.0.1:5672//"), "pm-test-queue")
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_default_queue == "pm-test-queue"
    # No exclusive per-name mailbox queue: two workers sharing a --name on one broker both start.
    assert conf.worker_enable_remote_control is False
    assert [q.name for q in conf.task_queues] == ["pm-test-queue"] and conf.task_queues[0].durable
    assert conf.accept_content == ["json"]  # job ids only; never pickle from the broker
    assert TASK_NAME in app.tasks


def test_queue_name_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTMORTEM_CELERY_QUEUE", "drafts-staging")
    settings = ServiceSettings()
    assert settings.celery_queue == "drafts-staging"
    assert CeleryQueue(settings).queue_name == "drafts-staging"  # what the API publishes to


@pytest.mark.parametrize(("url", "postgres"), [
    ("postgresql+psycopg://u:p@db:5432/pm", True),
    ("postgresql://u@db/pm", True),
    ("sqlite:////tmp/x.sqlite", False),
])
def test_postgres_urls_are_recognised(url: str, postgres: bool) -> None:
    assert is_postgres(url) is postgres


def test_libpq_url_drops_the_sqlalchemy_driver_and_keeps_the_password() -> None:
    assert libpq_url("postgresql+psycopg://u:s%40cret@db:6432/pm?sslmode=require") == \
        "postgresql://u:s%40cret@db:6432/pm?sslmode=require"


def test_sqlite_database_keeps_the_clis_sqlite_checkpointer(tmp_path: Path) -> None:
    with open_checkpointer(f"sqlite:///{tmp_path / 'service.sqlite'}", tmp_path / "runs") as saver:
        assert isinstance(saver, SqliteSaver)
    assert (tmp_path / "runs" / "checkpoints.sqlite").is_file()


def test_worker_with_unreachable_database_says_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Port 1: nothing listens, the connection is refused at once.
    monkeypatch.setenv("POSTMORTEM_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    monkeypatch.setenv("POSTMORTEM_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(worker_app, [])
    assert result.exit_code == 2
    assert "cannot open the service database" in result.output
    assert "POSTMORTEM_DATABASE_URL" in result.output and "Traceback" not in result.output


def test_worker_rejects_an_unknown_log_level() -> None:
    result = CliRunner().invoke(worker_app, ["--log-level", "LOUD"])
    assert result.exit_code == 2
    assert "DEBUG, INFO, WARNING or ERROR" in result.output


def test_checkpoints_keep_sub_second_timestamps() -> None:
    """A job resumed on another worker reads its timeline back from the checkpoint; a timestamp cut
    to whole seconds there changed durations computed after the resume (9m 18s instead of 9m 19s),
    so a resumed report differed from an uninterrupted one."""
    from datetime import datetime, timezone

    from agent.model import Detection, TimelineEvent
    from agent.runner import serializer

    at = datetime(2024, 12, 3, 6, 19, 0, 995150, tzinfo=timezone.utc)
    serde = serializer()
    event = serde.loads_typed(serde.dumps_typed(TimelineEvent(timestamp=at, event="rollback")))
    detection = serde.loads_typed(serde.dumps_typed(Detection(mitigated_at=at)))
    assert event.timestamp == at and detection.mitigated_at == at
    # The report JSON still writes whole seconds.
    assert TimelineEvent(timestamp=at, event="rollback").model_dump(mode="json")["timestamp"] == "2024-12-03T06:19:00Z"


def test_worker_names_a_bad_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTMORTEM_QUEUE", "kafka")
    result = CliRunner().invoke(worker_app, [])
    assert result.exit_code == 2
    assert "bad setting POSTMORTEM_QUEUE" in result.output and "Traceback" not in result.output


# --- migrations on PostgreSQL ------------------------------------------------------------------

def test_migration_waits_for_the_advisory_lock_another_process_holds(pg_url: str) -> None:
    from sqlalchemy import text

    from incidents.db import make_engine
    from service.db import MIGRATION_LOCK_KEY, migration_lock

    holder, waiter = make_engine(pg_url), make_engine(pg_url)
    try:
        with holder.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            with pytest.raises(TimeoutError, match="migration lock"), migration_lock(waiter, wait_s=0.3):
                pass
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
        with migration_lock(waiter, wait_s=0.3):  # free again: taken at once
            pass
    finally:
        holder.dispose()
        waiter.dispose()


def test_two_processes_starting_on_an_empty_database_both_find_it_migrated(pg_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from incidents.db import current_revision, head_revision
    from service.db import open_sessionmaker

    with ThreadPoolExecutor(max_workers=2) as pool:
        factories = list(pool.map(open_sessionmaker, [pg_url, pg_url]))  # raises if either start failed
    for factory in factories:
        engine = factory.kw["bind"]
        assert current_revision(engine) == head_revision()
        engine.dispose()


def test_service_database_falls_back_to_the_clis_postmortem_db(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    monkeypatch.delenv("POSTMORTEM_DATABASE_URL", raising=False)
    monkeypatch.setenv("POSTMORTEM_DB", str(tmp_path / "cli.sqlite"))
    assert ServiceSettings().resolved_database_url() == f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv("POSTMORTEM_DATABASE_URL", str(tmp_path / "service.sqlite"))  # the service's own wins
    assert ServiceSettings().resolved_database_url() == f"sqlite:///{tmp_path / 'service.sqlite'}"
