"""`CeleryQueue`: draft jobs on RabbitMQ, run by `postmortem worker` processes on any host.

Why Celery on RabbitMQ: a worker that dies mid-draft (SIGKILL, OOM, a lost node) must not lose the
job. With `acks_late` the message is acknowledged only after `run_job` returns, and
`task_reject_on_worker_lost` plus RabbitMQ's requeue of unacknowledged messages when a consumer's
connection drops hands the job to another worker, which resumes it from the last finished stage via
the shared PostgreSQL checkpointer (service.checkpoints). Prefetch 1: a worker holds only the job it
is running, so a queued job never waits behind a busy worker while another one is idle.

Only the job id travels (JSON); the job itself is the `draft_jobs` row. The API process only
publishes (`send_task` by name), so it never imports the drafting engine for this.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from celery import Celery, Task
from kombu import Queue

from service.settings import ServiceSettings

log = logging.getLogger("postmortem.service.celery")

TASK_NAME = "postmortem.run_job"
def _celery(broker_url: str, queue_name: str) -> Celery:
    app = Celery("postmortem", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queue_name,
        task_queues=[Queue(queue_name, durable=True)],
        task_serializer="json",
        accept_content=["json"],
        # Progress and results are in the job row; a result backend would be a second copy.
        task_ignore_result=True,
        # The publish returns only once RabbitMQ has the message, so a job the API said it queued
        # is not lost if the broker restarts right after.
        broker_transport_options={"confirm_publish": True},
        broker_connection_retry_on_startup=True,
        # No remote-control mailbox: nothing here uses `celery inspect/control`, and its per-worker
        # exclusive queue (`celery@NAME.celery.pidbox`) makes a second worker with the same --name on
        # the same broker (another host, another deployment, a concurrent test run) exit at start.
        worker_enable_remote_control=False,
        # Logging is ours (service.logging: JSON lines), not Celery's.
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    return app


def make_worker_app(settings: ServiceSettings, queue_name: str) -> Celery:
    """The Celery app a worker runs: its one task runs `run_job` with these settings."""
    app = _celery(settings.broker_url, queue_name)

    @app.task(name=TASK_NAME, bind=True)
    def run_draft_job(self: Task, job_id: str) -> None:  # type: ignore[type-arg]
        from service.jobs.runner import run_job

        redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
        log.info("job started", extra={"job_id": job_id, "redelivered": redelivered})
        run_job(job_id, settings)
        log.info("job returned", extra={"job_id": job_id})

    return app


@lru_cache(maxsize=4)
def _publisher(broker_url: str, queue_name: str) -> Celery:
    # One connection pool per broker and queue per process, shared by every CeleryQueue.
    return _celery(broker_url, queue_name)


class CeleryQueue:
    """The `JobQueue` that publishes job ids for `postmortem worker` processes to run."""

    def __init__(self, settings: ServiceSettings, queue_name: str | None = None) -> None:
        self.queue_name = queue_name or settings.celery_queue
        self._app = _publisher(settings.broker_url, self.queue_name)

    def submit(self, job_id: str) -> None:
        self._app.send_task(TASK_NAME, args=[job_id], queue=self.queue_name)

    def close(self) -> None:
        # Nothing runs here; queued jobs stay in RabbitMQ for the workers.
        pass
