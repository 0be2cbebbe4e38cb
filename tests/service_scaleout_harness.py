"""Scale-out runs on the real services, shared by tests/test_service_scaleout.py and
benchmarks/service_scaleout.py.

Jobs are queued through the real API (`POST /api/drafts/path`). Every run gets its own PostgreSQL
database (created here, dropped with FORCE at the end) and its own RabbitMQ queue (random suffix,
deleted at the end), so parallel runs never see each other's jobs.
Worker processes are real `postmortem worker` processes started with subprocess and always killed.

To kill a worker *mid-draft* deterministically, one worker can be started through this module
(`python -m tests.service_scaleout_harness`): it is the normal worker, except that the first time
any job reaches `BLOCK_STAGE` it writes a marker file and waits there forever; the caller then
SIGKILLs it. No timing guess decides whether the kill lands mid-draft.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("POSTMORTEM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BROKER_URL = os.environ.get("POSTMORTEM_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672//")
BLOCK_STAGE = "analysis"  # after scoping, data_collection and timeline: their checkpoints exist
BLOCK_ENV = "POSTMORTEM_TEST_BLOCK_BEFORE_STAGE"
MARKER_ENV = "POSTMORTEM_TEST_BLOCKED_MARKER"
EXAMPLE_TODAY = date(2026, 4, 27)


def unreachable_reason() -> str | None:
    """Why the real services cannot be used here, or None when both answer."""
    import kombu
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} unreachable ({str(exc).splitlines()[0]})"
    try:
        with kombu.Connection(BROKER_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - kombu raises several unrelated types
        return f"RabbitMQ at {BROKER_URL} unreachable ({exc.__class__.__name__})"
    return None


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new empty database; yields its SQLAlchemy URL; dropped (even with open connections) after."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"pm_scaleout_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_queue() -> Iterator[str]:
    """A queue name no other run uses; the queue and its exchange (Celery declares both) are deleted after."""
    import kombu

    name = f"pm-scaleout-{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        with kombu.Connection(BROKER_URL) as conn:
            channel = conn.channel()
            channel.queue_delete(name)
            channel.exchange_delete(name)


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def log_entries(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out

    def started_jobs(self) -> list[tuple[str, bool]]:
        """(job id, redelivered) of every job this worker started, in order."""
        return [(e["job_id"], bool(e.get("redelivered"))) for e in self.log_entries()
                if e.get("message") == "job started"]


@dataclass
class WorkerPool:
    """Worker processes of one run; `close()` kills every one still alive."""

    env: dict[str, str]
    logs: Path
    workers: dict[str, Worker] = field(default_factory=dict)

    def start(self, name: str, *, block_marker: Path | None = None) -> Worker:
        env = dict(self.env)
        if block_marker is not None:
            env |= {BLOCK_ENV: BLOCK_STAGE, MARKER_ENV: str(block_marker)}
            cmd = [sys.executable, "-m", "tests.service_scaleout_harness", "--name", name]
        else:
            cmd = [sys.executable, "-m", "service.worker", "--name", name]
        log_path = self.logs / f"{name}.log"
        log = log_path.open("wb")
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.workers[name] = Worker(name, proc, log_path, log)
        return self.workers[name]

    def sigkill(self, name: str) -> None:
        w = self.workers[name]
        w.proc.send_signal(signal.SIGKILL)
        w.proc.wait(timeout=10)

    def check_alive(self, *names: str) -> None:
        for name in names:
            w = self.workers[name]
            if w.proc.poll() is not None:
                raise RuntimeError(f"worker {name} exited with {w.proc.returncode}; log:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 30) -> str:
        return "\n".join(self.workers[name].log_path.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        for w in self.workers.values():
            if w.proc.poll() is None:
                w.proc.kill()
            try:
                w.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            w.log.close()


def worker_env(database_url: str, data_dir: Path, queue_name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTMORTEM_")}
    env |= {
        "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "POSTMORTEM_DATABASE_URL": database_url,
        "POSTMORTEM_DATA_DIR": str(data_dir),
        "POSTMORTEM_BROKER_URL": BROKER_URL,
        "POSTMORTEM_CELERY_QUEUE": queue_name,
    }
    return env


@dataclass
class JobOutcome:
    job_id: str
    status: str
    error: str
    markdown: str | None
    attempts: int
    created_at: datetime
    finished_at: datetime

    @property
    def latency_s(self) -> float:
        return (self.finished_at - self.created_at).total_seconds()


def wait_finished(sessions: Any, ids: Sequence[str], timeout_s: float,
                  check: Any = None) -> dict[str, JobOutcome]:
    """Poll the rows until every job is done or failed; `check()` runs each round (raises to stop)."""
    from service.jobs.models import DraftJob

    deadline = time.monotonic() + timeout_s
    while True:
        with sessions() as s:
            rows = [s.get(DraftJob, i) for i in ids]
            if all(r is not None and r.job_status.finished for r in rows):
                return {r.id: JobOutcome(r.id, r.status, r.error, r.report_md, r.attempts, r.created_at,
                                         r.finished_at or r.created_at) for r in rows if r}
            waiting = [(r.id[:8], r.status, r.stage) for r in rows if r is not None and not r.job_status.finished]
        if time.monotonic() > deadline:
            raise TimeoutError(f"jobs not finished after {timeout_s:.0f}s: {waiting}")
        if check is not None:
            check()
        time.sleep(0.1)


def wait_for_file(path: Path, timeout_s: float, check: Any = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path.name} did not appear within {timeout_s:.0f}s")
        if check is not None:
            check()
        time.sleep(0.05)


@contextmanager
def api_submitter(settings: Any, dumps: Sequence[tuple[Path, date]]) -> Iterator[list[str]]:
    """Queue each dump through the real API (`POST /api/drafts/path` as an admin), so the job rows
    and the queue hand-off are the service's own; yields the job ids while the app is running
    (the in-process queue lives inside it)."""
    from tests.service_drafts_support import start_service

    roots = sorted({dump.resolve().parent for dump, _ in dumps})
    settings = settings.model_copy(update={"allowed_roots": roots})
    service = start_service(settings, users=("ada",))
    svc = next(service)
    try:
        ids = []
        for dump, today in dumps:
            response = svc.client.post("/api/drafts/path", headers=svc.auth("ada"),
                                       json={"path": str(dump.resolve()), "date": today.isoformat()})
            if response.status_code != 202:
                raise RuntimeError(f"queueing {dump.name} answered {response.status_code}: {response.text}")
            ids.append(response.json()["id"])
        yield ids
    finally:
        service.close()  # leaves the TestClient: the app's lifespan closes its queue


def wait_ready(pool: WorkerPool, name: str, timeout_s: float) -> None:
    """Until the worker consumes (its start-up imports the engine and opens the database)."""
    deadline = time.monotonic() + timeout_s
    while not any(e.get("message", "").endswith(" ready.") for e in pool.workers[name].log_entries()):
        pool.check_alive(name)
        if time.monotonic() > deadline:
            raise TimeoutError(f"worker {name} not ready after {timeout_s:.0f}s; log:\n{pool.tail(name)}")
        time.sleep(0.1)


@dataclass
class ScaleoutRun:
    outcomes: list[JobOutcome]  # in the order of the dumps given
    killed_job: str | None = None
    checkpoint_at_kill: bool = False
    redelivered_to: list[str] = field(default_factory=list)  # workers that got the killed job again

    @property
    def wall_s(self) -> float:
        """First job row created (by the API) to last job finished, read from the rows."""
        return (max(o.finished_at for o in self.outcomes) - min(o.created_at for o in self.outcomes)).total_seconds()


def run_celery(dumps: Sequence[tuple[Path, date]], tmp: Path, *, workers: int = 2, kill: bool = False,
               replace_killed: bool = False, timeout_s: float = 180.0) -> ScaleoutRun:
    """Draft `dumps` through the Celery queue with `workers` worker processes; with `kill`, the first
    worker is SIGKILLed while one of its jobs waits before BLOCK_STAGE (and, with `replace_killed`,
    a fresh worker takes its place so the run keeps `workers` workers)."""
    from service.checkpoints import has_checkpoint, open_checkpointer
    from service.db import open_sessionmaker
    from service.settings import ServiceSettings

    data_dir = tmp / "data"
    with scratch_database() as url, scratch_queue() as queue_name:
        # The API publishes to the queue the workers consume (POSTMORTEM_CELERY_QUEUE in worker_env).
        settings = ServiceSettings(database_url=url, data_dir=data_dir, broker_url=BROKER_URL, queue="celery",
                                   celery_queue=queue_name)
        # Schema and checkpoint tables exist before any worker starts, as a deployment's migrate step does.
        sessions = open_sessionmaker(settings.resolved_database_url())
        with open_checkpointer(url, settings.runs_dir()):
            pass
        pool = WorkerPool(worker_env(url, data_dir, queue_name), logs=tmp)
        marker = tmp / "blocked.marker"
        names = [f"w{i}" for i in range(workers)]
        try:
            pool.start(names[0], block_marker=marker if kill else None)
            for name in names[1:]:
                pool.start(name)
            for name in names:
                wait_ready(pool, name, timeout_s)
            with api_submitter(settings, dumps) as ids:
                pass  # the Celery queue only publishes: the API may stop, the workers go on
            run = ScaleoutRun(outcomes=[])
            living = list(names)
            if kill:
                wait_for_file(marker, timeout_s, check=lambda: pool.check_alive(*names))
                run.killed_job = pool.workers[names[0]].started_jobs()[-1][0]
                pool.sigkill(names[0])
                living.remove(names[0])
                with open_checkpointer(url, settings.runs_dir()) as saver:
                    run.checkpoint_at_kill = has_checkpoint(saver, run.killed_job)
                if replace_killed:
                    pool.start(f"{names[0]}-replacement")
                    living.append(f"{names[0]}-replacement")
            outcomes = wait_finished(sessions, ids, timeout_s, check=lambda: pool.check_alive(*living))
            run.outcomes = [outcomes[i] for i in ids]
            if run.killed_job is not None:
                run.redelivered_to = [name for name in living
                                      if (run.killed_job, True) in pool.workers[name].started_jobs()]
            return run
        finally:
            pool.close()
            sessions.kw["bind"].dispose()


def run_inprocess(dumps: Sequence[tuple[Path, date]], tmp: Path, timeout_s: float = 600.0) -> ScaleoutRun:
    """The default deployment: SQLite database, in-process queue (one worker thread in the app)."""
    from service.db import open_sessionmaker
    from service.settings import ServiceSettings

    settings = ServiceSettings(database_url=f"sqlite:///{tmp / 'service.sqlite'}", data_dir=tmp / "data")
    sessions = open_sessionmaker(settings.resolved_database_url())
    try:
        with api_submitter(settings, dumps) as ids:
            outcomes = wait_finished(sessions, ids, timeout_s)
        return ScaleoutRun(outcomes=[outcomes[i] for i in ids])
    finally:
        sessions.kw["bind"].dispose()


def _run_blocking_worker() -> None:
    """The normal worker, but the first job to reach BLOCK_STAGE stops there and says so."""
    import threading

    import agent.graph as graph

    stage, marker = os.environ[BLOCK_ENV], Path(os.environ[MARKER_ENV])
    original = graph._enter
    blocked = threading.Event()

    def enter(name: str, runtime: Any) -> None:
        if name == stage and not blocked.is_set():
            blocked.set()
            tmp = marker.with_suffix(".tmp")
            tmp.write_text(name, encoding="utf-8")
            tmp.rename(marker)  # atomic: the test never reads a half-written marker
            threading.Event().wait()  # until SIGKILL
        original(name, runtime)

    graph._enter = enter  # nodes look `_enter` up in the module at call time
    from service.worker import app

    app()


if __name__ == "__main__":
    _run_blocking_worker()
