"""`InProcessQueue`: the default queue, one worker thread inside the API process.

Why a thread and not a pool: drafts are CPU-bound Python (the GIL would serialise a pool anyway)
and ingest already fans out to worker processes for big dumps; one job at a time keeps the app
responsive and memory bounded. Scale-out is the Celery queue, which calls the same `run_job`.
On start, jobs left queued or running by a previous process are submitted again: each resumes from
its checkpoint, so a restart loses no work.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from service.jobs.runner import run_job, sessions_for, unfinished_job_ids
from service.settings import ServiceSettings

log = logging.getLogger("postmortem.service.jobs")

_STOP = object()
CLOSE_WAIT_S = 30.0  # a running draft gets this long to finish before the process exits without it


class InProcessQueue:
    def __init__(self, settings: ServiceSettings, *, resume_unfinished: bool = True,
                 run: Callable[[str, ServiceSettings], None] = run_job) -> None:
        self.settings = settings
        self._run = run
        self._jobs: queue.Queue[object] = queue.Queue()
        self._closed = False
        self._pending = 0  # submitted and not yet finished
        self._idle = threading.Condition()
        self._thread = threading.Thread(target=self._work, name="draft-jobs", daemon=True)
        self._thread.start()
        if resume_unfinished:
            for job_id in unfinished_job_ids(sessions_for(settings)):
                self.submit(job_id)

    def submit(self, job_id: str) -> None:
        if self._closed:
            raise RuntimeError("the job queue is closed")
        with self._idle:
            self._pending += 1
        self._jobs.put(job_id)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._jobs.put(_STOP)
        # A draft still running is abandoned at exit (daemon thread); it resumes on the next start.
        self._thread.join(CLOSE_WAIT_S)

    def wait_idle(self, timeout: float) -> bool:
        """True once every submitted job has been run (for tests and graceful shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _work(self) -> None:
        while True:
            item = self._jobs.get()
            if item is _STOP:
                return
            try:
                self._run(str(item), self.settings)
            except Exception:  # noqa: BLE001 - one broken job must not stop the worker
                log.exception("draft job %s crashed the runner", item)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()
