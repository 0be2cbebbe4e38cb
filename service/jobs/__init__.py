"""Draft jobs: the job row, the queues that run it, and the one function every queue calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.jobs.base import JobQueue
    from service.settings import ServiceSettings


def make_queue(settings: ServiceSettings) -> JobQueue:
    """The queue the settings name. The in-process one resubmits unfinished jobs as it starts."""
    if settings.queue == "celery":
        from service.jobs.celery_queue import CeleryQueue

        return CeleryQueue(settings)
    from service.jobs.inprocess import InProcessQueue

    return InProcessQueue(settings)
