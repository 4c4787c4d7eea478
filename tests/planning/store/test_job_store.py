"""The plan-job records' contract, on SQLite and PostgreSQL: queued → running → finished, cancel, interruption."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from planning.store import JobNotFound, JobStatus, JobStore, PlanStore
from planning.store.tables import plan_jobs

SITE = "test-site"
REQUEST = {"service_level": 0.9, "time_limit_s": 30, "locks": [{"line": "L1", "day": "2026-01-06", "shift": "day"}]}
PROGRESS = {"elapsed_s": 3.2, "objective": 1234.5, "best_bound": 1100.0, "solutions": 4}


@pytest.fixture
def jobs(engine) -> JobStore:
    return JobStore(engine)


def test_a_job_runs_from_queued_to_succeeded(jobs, engine, week_plan):
    plan = PlanStore(engine).add(week_plan, {})
    queued = jobs.create(SITE, REQUEST, replaces=plan.id)
    assert (queued.status, queued.request, queued.replaces, queued.finished) == (
        JobStatus.QUEUED,
        REQUEST,
        plan.id,
        False,
    )
    assert (queued.started_at, queued.heartbeat_at, queued.owner, queued.progress, queued.error) == (None,) * 5
    assert queued.created_at.tzinfo == UTC and not queued.cancel_requested

    running = jobs.start(queued.id, "host:123")
    assert (running.status, running.owner) == (JobStatus.RUNNING, "host:123")
    assert running.started_at == running.heartbeat_at >= queued.created_at

    assert jobs.report(queued.id, PROGRESS) is False
    reported = jobs.get(queued.id)
    assert reported.progress == PROGRESS and reported.heartbeat_at > running.heartbeat_at

    done = jobs.finish(queued.id, JobStatus.SUCCEEDED, plan_id=plan.id)
    assert (done.status, done.plan_id, done.finished, done.error) == (JobStatus.SUCCEEDED, plan.id, True, None)
    assert done.finished_at >= reported.heartbeat_at
    assert jobs.get(queued.id) == done


def test_a_job_changes_state_only_along_its_lifecycle(jobs):
    job = jobs.create(SITE, REQUEST)
    with pytest.raises(ValueError, match="not a finished status"):
        jobs.finish(job.id, JobStatus.RUNNING)
    jobs.start(job.id, "host:1")
    with pytest.raises(ValueError, match="is running, not queued"):
        jobs.start(job.id, "host:2")
    error = {"code": "infeasible", "message": "labour pool too small", "field": "site.labour_pool_per_day"}
    failed = jobs.finish(job.id, JobStatus.FAILED, error=error)
    assert (failed.status, failed.error, failed.owner) == (JobStatus.FAILED, error, "host:1")
    with pytest.raises(ValueError, match="is failed"):
        jobs.finish(job.id, JobStatus.SUCCEEDED)
    assert jobs.get(job.id) == failed


def test_cancelling_a_queued_job_cancels_it_at_once(jobs):
    job = jobs.create(SITE, REQUEST)
    cancelled = jobs.request_cancel(job.id)
    assert (cancelled.status, cancelled.cancel_requested, cancelled.finished) == (JobStatus.CANCELLED, True, True)
    assert cancelled.finished_at is not None
    with pytest.raises(ValueError, match="is cancelled"):
        jobs.start(job.id, "host:1")


def test_cancelling_a_running_job_asks_its_process_to_stop(jobs):
    job = jobs.start(jobs.create(SITE, REQUEST).id, "host:1")
    asked = jobs.request_cancel(job.id)
    assert (asked.status, asked.cancel_requested) == (JobStatus.RUNNING, True)
    assert jobs.report(job.id, PROGRESS) is True
    stopped = jobs.finish(job.id, JobStatus.CANCELLED)
    assert stopped.status == JobStatus.CANCELLED
    assert jobs.request_cancel(job.id) == stopped  # a finished job is left as it is


def test_a_finished_job_is_not_cancelled(jobs):
    job = jobs.start(jobs.create(SITE, REQUEST).id, "host:1")
    done = jobs.finish(job.id, JobStatus.SUCCEEDED)
    assert jobs.request_cancel(job.id) == done


def _silent_since(engine, job_id: str, when: datetime, column: str) -> None:
    """Back-date a job's heartbeat (or creation), as a process that stopped beating long ago would leave it."""
    with engine.begin() as connection:
        connection.execute(plan_jobs.update().where(plan_jobs.c.id == job_id).values({column: when}))


def test_only_jobs_silent_for_too_long_are_marked_interrupted(jobs, engine):
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    beating = jobs.start(jobs.create(SITE, REQUEST).id, "host:1")
    stale = jobs.start(jobs.create(SITE, REQUEST).id, "host:2")
    _silent_since(engine, stale.id, long_ago, "heartbeat_at")
    queued_long_ago = jobs.create(SITE, REQUEST)
    _silent_since(engine, queued_long_ago.id, long_ago, "created_at")
    just_queued = jobs.create(SITE, REQUEST)
    finished_long_ago = jobs.start(jobs.create(SITE, REQUEST).id, "host:3")
    finished_long_ago = jobs.finish(finished_long_ago.id, JobStatus.SUCCEEDED)
    _silent_since(engine, finished_long_ago.id, long_ago, "heartbeat_at")

    assert jobs.interrupt_stale(timedelta(minutes=5)) == 2

    for job_id in (stale.id, queued_long_ago.id):
        interrupted = jobs.get(job_id)
        assert (interrupted.status, interrupted.finished) == (JobStatus.INTERRUPTED, True)
        assert interrupted.error == {
            "code": "interrupted",
            "message": "the service stopped while this job ran",
            "field": None,
        }
    assert jobs.get(beating.id).status == JobStatus.RUNNING
    assert jobs.get(just_queued.id).status == JobStatus.QUEUED
    assert jobs.get(finished_long_ago.id).status == JobStatus.SUCCEEDED
    assert jobs.report(stale.id, PROGRESS) is True  # its process, if alive after all, is told to stop
    assert jobs.interrupt_stale(timedelta(minutes=5)) == 0


def test_jobs_are_listed_newest_first_and_by_site(jobs):
    first, second = jobs.create(SITE, REQUEST), jobs.create(SITE, REQUEST)
    elsewhere = jobs.create("other", REQUEST)
    assert [j.id for j in jobs.list()] == [elsewhere.id, second.id, first.id]
    assert [j.id for j in jobs.list(site=SITE)] == [second.id, first.id]
    assert [j.id for j in jobs.list(limit=1)] == [elsewhere.id]


def test_an_unknown_job_is_not_found(jobs):
    calls = (jobs.get, jobs.request_cancel, lambda job_id: jobs.report(job_id, PROGRESS))
    for call in calls:
        with pytest.raises(JobNotFound, match="f" * 32):
            call("f" * 32)
    with pytest.raises(JobNotFound):
        jobs.start("f" * 32, "host:1")
