"""`run_job`: the one function both queues call to run (or resume) a draft job.

Idempotent, so a queue may deliver a job twice (Celery redelivers a job whose worker died): a
finished job is a no-op, a job whose run already has a checkpoint resumes from its last finished
stage (the run id is the job id), and a job another process is running right now (the run folder's
lock is held) is left to that process. Progress goes to the job row, the only thing the API reads.

When the draft is done its report is stored on the row (Markdown and JSON, exactly as the CLI writes
them) and imported into the incident database through the same importer as
`postmortem incidents import` (incidents.importers.from_report_json + incidents.store.save), with
the `restricted` flag and members the job was submitted with.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from incidents.models import Incident
from service.jobs.models import DraftJob, JobStatus
from service.settings import ServiceSettings

log = logging.getLogger("postmortem.service.jobs")

INCIDENT_SOURCE_REF = "service-draft:{job_id}"


def now() -> datetime:
    return datetime.now(timezone.utc)


@lru_cache(maxsize=8)
def _sessions(url: str) -> sessionmaker[Session]:
    # One engine per database per process: a worker runs many jobs on the same database.
    from service.db import open_sessionmaker

    return open_sessionmaker(url)


def sessions_for(settings: ServiceSettings) -> sessionmaker[Session]:
    return _sessions(settings.resolved_database_url())


class _Progress:
    """Writes stage and ingest percent to the job row, only when they change (ingest reports every
    chunk; the row needs whole percents)."""

    def __init__(self, sessions: sessionmaker[Session], job_id: str) -> None:
        from service.metrics import StageTimer

        self.sessions = sessions
        self.job_id = job_id
        self.percent = -1
        self.timer = StageTimer()  # stage durations for /metrics

    def _write(self, **values: object) -> None:
        with self.sessions() as s:
            job = s.get(DraftJob, self.job_id)
            if job is not None:
                for k, v in values.items():
                    setattr(job, k, v)
                s.commit()

    def on_stage(self, stage: str, phase: str) -> None:
        self.timer(stage, phase)
        if phase == "start":
            self._write(stage=stage)

    def on_ingest(self, done: int, total: int, _label: str) -> None:
        pct = min(100, done * 100 // total) if total > 0 else 0
        if pct != self.percent:
            self.percent = pct
            self._write(percent=pct)


def run_job(job_id: str, settings: ServiceSettings) -> None:
    """Run the draft job `job_id` to its end, recording progress, result or error on its row."""
    sessions = sessions_for(settings)
    with sessions() as s:
        job = s.get(DraftJob, job_id)
        if job is None:
            log.warning("draft job %s not found; nothing to run", job_id)
            return
        if job.job_status.finished:
            return
        job.status, job.attempts, job.error = JobStatus.running.value, job.attempts + 1, ""
        job.started_at = job.started_at or now()
        s.commit()
        attempts, dump, today = job.attempts, Path(job.dump_path), job.postmortem_date
    if attempts > settings.max_job_attempts:
        # Every earlier delivery ended without a result (its worker died: out of memory on a huge
        # archive, say); with late acknowledgement the broker would hand it out forever.
        log.warning("draft job %s failed after %d attempts", job_id, attempts - 1)
        _fail(sessions, job_id, poison_message(attempts - 1))
        return
    _run(job_id, dump, today, settings, sessions)


def poison_message(attempts: int) -> str:
    return (f"The draft was started {attempts} times and its worker stopped each time before it finished "
            "(often out of memory on a very large dump). Drop bulky files the dump does not need "
            "(core dumps, model weights) and submit it again, or ask an operator to check the worker logs.")


def _run(job_id: str, dump: Path, today: date | None, settings: ServiceSettings,
         sessions: sessionmaker[Session]) -> None:
    from agent.render import render_json
    from agent.runner import RunError, run_draft
    from tools.workdir_lock import WorkdirBusy, WorkdirLock

    from service.checkpoints import has_checkpoint, open_checkpointer

    base = settings.runs_dir()
    progress = _Progress(sessions, job_id)
    try:
        # The run folder's lock (not waited for) keeps a redelivered job from running beside its
        # first delivery; the data dir is shared by every worker (the uploads are there).
        with WorkdirLock(base / "runs" / job_id, wait_s=0), \
                open_checkpointer(settings.resolved_database_url(), base) as saver:
            resume = has_checkpoint(saver, job_id)
            result = run_draft(None if resume else dump, base=base, run_id=job_id, resume=resume,
                               today=today, on_stage=progress.on_stage, on_ingest_progress=progress.on_ingest,
                               saver=saver)
    except WorkdirBusy:
        log.info("draft job %s is being run by another process; leaving it", job_id)
        return
    except RunError as exc:
        _fail(sessions, job_id, str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - a job must end with a row that says what happened
        log.exception("draft job %s failed", job_id)
        _fail(sessions, job_id, f"The draft stopped on an internal error ({exc.__class__.__name__}); "
                                "the server log has the details. Retry by submitting the dump again.")
        return
    _finish(sessions, job_id, result.markdown, render_json(result.report))
    from service.metrics import record_llm_usage

    record_llm_usage(result.report.usage)  # once, when done: a resumed attempt is not counted twice


def _fail(sessions: sessionmaker[Session], job_id: str, message: str) -> None:
    with sessions() as s:
        job = s.get(DraftJob, job_id)
        if job is not None:
            job.status, job.error, job.finished_at = JobStatus.failed.value, message, now()
            s.commit()


def _finish(sessions: sessionmaker[Session], job_id: str, markdown: str, report_json: str) -> None:
    """Store the report and make it an incident, in one transaction (all of it or none)."""
    from incidents.importers import from_report_json
    from incidents.store import save

    with sessions() as s:
        job = s.get(DraftJob, job_id)
        if job is None:
            return
        record = from_report_json(json.loads(report_json), INCIDENT_SOURCE_REF.format(job_id=job_id), markdown)
        incident = save(s, record)
        set_access(s, incident, job.restricted, job.member_ids)
        job.report_md, job.report_json, job.incident_id = markdown, report_json, incident.id
        job.status, job.percent, job.stage, job.finished_at = JobStatus.done.value, 100, "close", now()
        s.commit()


def set_access(s: Session, incident: Incident, restricted: bool, member_ids: list[int]) -> None:
    """The incident's `restricted` flag and members (migration 0002), as the job was submitted."""
    from service.models import IncidentMember

    incident.restricted = restricted
    have = set(s.scalars(select(IncidentMember.user_id).where(IncidentMember.incident_id == incident.id)))
    for uid in member_ids:
        if uid not in have:
            s.add(IncidentMember(incident_id=incident.id, user_id=uid))


def unfinished_job_ids(sessions: sessionmaker[Session]) -> list[str]:
    """Jobs queued or running when the last process stopped, oldest first: the in-process queue
    resubmits them at start (each resumes from its checkpoint)."""
    with sessions() as s:
        rows = s.scalars(select(DraftJob.id).where(DraftJob.status.in_([JobStatus.queued.value, JobStatus.running.value]))
                         .order_by(DraftJob.created_at))
        return list(rows)

