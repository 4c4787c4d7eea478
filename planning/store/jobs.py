"""Plan jobs: the record of a planning run in the background, from queued to finished.

A job is queued, then started by one process (its ``owner``), which reports progress
(each report is also a heartbeat) until it finishes. Cancelling is a request the
running process reads in its next report. A job whose process died (a restart) stops
beating: ``interrupt_stale`` marks it interrupted at the next start, so no record is
lost and none stays "running" for ever. Every state change is one conditional UPDATE,
so two processes never both move a job.
"""

from __future__ import annotations

import builtins
import uuid
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from pydantic import BaseModel

from capcast.database import now, writing
from planning.store.tables import plan_jobs

__all__ = ["JobNotFound", "JobStatus", "JobStore", "PlanJob"]


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


_ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
INTERRUPTED_ERROR = {"code": "interrupted", "message": "the service stopped while this job ran", "field": None}


class JobNotFound(LookupError):
    def __init__(self, job_id: str):
        super().__init__(f"no plan job {job_id!r}")
        self.job_id = job_id


class PlanJob(BaseModel):
    id: str
    site: str
    status: JobStatus
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    owner: str | None
    request: dict
    replaces: str | None
    progress: dict | None
    cancel_requested: bool
    plan_id: str | None
    error: dict | None

    @property
    def finished(self) -> bool:
        return self.status not in _ACTIVE


class JobStore:
    """Plan jobs in the database of ``engine`` (from ``capcast.database.engine``; its migrations create the
    table). Safe to share between threads and processes."""

    def __init__(self, engine: sa.Engine):
        self._engine = engine

    def create(self, site: str, request: dict, *, replaces: str | None = None) -> PlanJob:
        """A queued job planning ``site`` as ``request`` says; ``replaces``: the plan it re-plans."""
        job_id = uuid.uuid4().hex
        with writing(self._engine) as connection:
            connection.execute(
                plan_jobs.insert().values(
                    id=job_id,
                    site=site,
                    status=JobStatus.QUEUED.value,
                    created_at=now(),
                    request=request,
                    replaces=replaces,
                    progress=None,
                    cancel_requested=False,
                    error=None,
                )
            )
            return self._get(connection, job_id)

    def get(self, job_id: str) -> PlanJob:
        with self._engine.connect() as connection:
            return self._get(connection, job_id)

    def list(self, *, site: str | None = None, limit: int = 50) -> builtins.list[PlanJob]:
        """Jobs, newest first."""
        query = sa.select(plan_jobs).order_by(plan_jobs.c.created_at.desc(), plan_jobs.c.id.desc()).limit(limit)
        if site is not None:
            query = query.where(plan_jobs.c.site == site)
        with self._engine.connect() as connection:
            return [PlanJob(**row._mapping) for row in connection.execute(query)]

    def start(self, job_id: str, owner: str) -> PlanJob:
        """Queued → running in the process ``owner`` (host:pid). ValueError when the job is not queued."""
        at = now()
        return self._move(
            job_id,
            (JobStatus.QUEUED,),
            status=JobStatus.RUNNING.value,
            started_at=at,
            heartbeat_at=at,
            owner=owner,
        )

    def report(self, job_id: str, progress: dict) -> bool:
        """Record a running job's progress and heartbeat; True when the job should stop.

        That is its ``cancel_requested``, read in the same statement; and True as well when the job is no
        longer running (cancelled while queued, or marked interrupted), as nothing it finds will be kept.
        """
        with writing(self._engine) as connection:
            cancel = connection.execute(
                plan_jobs.update()
                .where(plan_jobs.c.id == job_id, plan_jobs.c.status == JobStatus.RUNNING.value)
                .values(progress=progress, heartbeat_at=now())
                .returning(plan_jobs.c.cancel_requested)
            ).scalar()
            if cancel is None:
                self._get(connection, job_id)  # JobNotFound, or a job that is not running
                return True
            return cancel

    def request_cancel(self, job_id: str) -> PlanJob:
        """Ask a job to stop: a queued job is cancelled at once, a running one when its process next reports;
        a finished job is returned unchanged."""
        with writing(self._engine) as connection:
            connection.execute(
                plan_jobs.update()
                .where(plan_jobs.c.id == job_id, plan_jobs.c.status == JobStatus.QUEUED.value)
                .values(status=JobStatus.CANCELLED.value, cancel_requested=True, finished_at=now())
            )
            connection.execute(
                plan_jobs.update()
                .where(plan_jobs.c.id == job_id, plan_jobs.c.status == JobStatus.RUNNING.value)
                .values(cancel_requested=True)
            )
            return self._get(connection, job_id)

    def finish(
        self, job_id: str, status: JobStatus, *, plan_id: str | None = None, error: dict | None = None
    ) -> PlanJob:
        """Queued or running → ``status`` (a finished one), with the plan it made or the error it met.
        ValueError when the job has finished already."""
        if JobStatus(status) in _ACTIVE:
            raise ValueError(f"{status} is not a finished status")
        return self._move(
            job_id,
            _ACTIVE,
            status=JobStatus(status).value,
            finished_at=now(),
            plan_id=plan_id,
            error=error,
        )

    def interrupt_stale(self, older_than: timedelta) -> int:
        """Mark interrupted the queued and running jobs not heard of (heartbeat, else creation) for longer
        than ``older_than``: their process has gone. Returns how many."""
        at = now()
        with writing(self._engine) as connection:
            return connection.execute(
                plan_jobs.update()
                .where(
                    plan_jobs.c.status.in_([status.value for status in _ACTIVE]),
                    sa.func.coalesce(plan_jobs.c.heartbeat_at, plan_jobs.c.created_at) < at - older_than,
                )
                .values(status=JobStatus.INTERRUPTED.value, finished_at=at, error=INTERRUPTED_ERROR)
            ).rowcount

    def _move(self, job_id: str, allowed: tuple[JobStatus, ...], **values) -> PlanJob:
        """Change a job that is in one of the ``allowed`` states, in one conditional UPDATE."""
        with writing(self._engine) as connection:
            moved = connection.execute(
                plan_jobs.update()
                .where(plan_jobs.c.id == job_id, plan_jobs.c.status.in_([status.value for status in allowed]))
                .values(**values)
            ).rowcount
            job = self._get(connection, job_id)
            if not moved:
                raise ValueError(f"plan job {job_id} is {job.status}, not {' or '.join(allowed)}")
            return job

    @staticmethod
    def _get(connection: sa.Connection, job_id: str) -> PlanJob:
        row = connection.execute(sa.select(plan_jobs).where(plan_jobs.c.id == job_id)).first()
        if row is None:
            raise JobNotFound(job_id)
        return PlanJob(**row._mapping)
