"""`postmortem worker`: a Celery worker process that runs draft jobs from RabbitMQ.

Start as many as the load needs, on any host that reaches the broker, the service database
(PostgreSQL) and the data dir (uploads and run folders; a shared volume across hosts). Settings come
from the same `POSTMORTEM_*` environment as `postmortem serve`.

Why the `threads` pool with one job per process by default: a draft is CPU-bound Python, so one
process per core is the unit of scale; the pool's main thread stays free to answer the broker's
heartbeats while the job runs (a `solo` pool would miss them during a long draft, and RabbitMQ would
then hand the job to a second worker while the first still runs it). Killing the process kills its
job, and RabbitMQ redelivers it (see service.jobs.celery_queue).
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any, Optional

import typer

if TYPE_CHECKING:
    from service.settings import ServiceSettings

app = typer.Typer(add_completion=False, help="Run draft jobs queued on RabbitMQ (the celery queue).")


@app.command()
def worker(
    concurrency: int = typer.Option(1, "--concurrency", "-c", min=1,
                                    help="Jobs run at once by this process (one per core is best)"),
    queue: Optional[str] = typer.Option(None, "--queue", "-Q",
                                        help="RabbitMQ queue (default: POSTMORTEM_CELERY_QUEUE or postmortem-drafts)"),
    metrics_port: int = typer.Option(0, "--metrics-port", min=0, max=65535,
                                     help="Serve Prometheus metrics (stage durations, LLM usage) on this port; 0: off"),
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING or ERROR"),
    name: Optional[str] = typer.Option(None, "--name", help="Worker name (default: pid@host)"),
) -> None:
    """Run draft jobs until stopped (SIGTERM finishes the running job first; SIGKILL hands it to
    another worker, which resumes it)."""
    from celery.signals import setup_logging
    from pydantic import ValidationError

    from service.jobs.celery_queue import make_worker_app
    from service.logging import configure_logging
    from service.settings import ServiceSettings

    level = log_level.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise typer.BadParameter("use DEBUG, INFO, WARNING or ERROR", param_hint="--log-level")
    configure_logging(level)

    @setup_logging.connect(weak=False)
    def _keep_our_logging(**_kwargs: Any) -> None:
        """Connected, so Celery leaves the JSON logging configured above alone."""

    try:
        settings = ServiceSettings()
        queue_name = queue or settings.celery_queue
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "_".join(str(part) for part in first.get("loc", ())).upper()
        typer.echo(f"error: bad setting POSTMORTEM_{field}: {first.get('msg')}. Fix the environment "
                   "variable and start the worker again.", err=True)
        raise typer.Exit(2) from None
    _warm_up(settings)
    if metrics_port:
        from prometheus_client import start_http_server

        from service.metrics import REGISTRY

        start_http_server(metrics_port, registry=REGISTRY)
    celery_app = make_worker_app(settings, queue_name)
    w = celery_app.Worker(
        pool="threads", concurrency=concurrency, queues=[queue_name],
        hostname=name or f"postmortem-{os.getpid()}@{socket.gethostname()}",
        loglevel=level,
        # No worker-to-worker chatter: jobs need none of it, and it slows start-up by seconds.
        without_gossip=True, without_mingle=True, without_heartbeat=True,
    )
    w.start()
    raise typer.Exit(w.exitcode or 0)


def _warm_up(settings: ServiceSettings) -> None:
    """Import the drafting engine and open the database before taking a job: a worker that cannot
    reach the database says so at start (not on every job), and its first job is not slowed by
    seconds of imports while the broker thinks it is running."""
    import psycopg
    from sqlalchemy.exc import SQLAlchemyError

    from service.checkpoints import open_checkpointer
    from service.jobs.runner import sessions_for

    try:
        sessions_for(settings)
        with open_checkpointer(settings.resolved_database_url(), settings.runs_dir()):
            pass
    except (SQLAlchemyError, psycopg.Error, OSError) as exc:
        _cannot_start(exc)


def _cannot_start(exc: Exception) -> None:
    typer.echo(f"error: cannot open the service database ({exc.__class__.__name__}: "
               f"{str(exc).splitlines()[0] if str(exc) else ''}). Check POSTMORTEM_DATABASE_URL and that "
               "the database is up, then start the worker again.", err=True)
    raise typer.Exit(2)


if __name__ == "__main__":
    app()
