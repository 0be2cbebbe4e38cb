"""The queue interface every job backend implements.

A queue only carries job ids: the job's inputs, progress and result live in the `draft_jobs` row, so
an API server and a worker need share nothing but the database (and the data dir for the dump).
Both backends (in-process thread, Celery) end in `service.jobs.runner.run_job`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class JobQueue(Protocol):
    def submit(self, job_id: str) -> None:
        """Queue the job; returns at once. Submitting a finished job is harmless (run_job no-ops)."""
        ...

    def close(self) -> None:
        """Stop taking jobs and release the worker(s); jobs still queued resume on the next start."""
        ...
