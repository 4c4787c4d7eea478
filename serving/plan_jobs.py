"""Plan jobs: a plan request solved in the background, its progress on record while CP-SAT runs.

``POST /plans`` answers at once with the job; a thread of this process makes the plan (one at a
time: CP-SAT takes the cores), writing the elapsed time, the best plan's cost and the proven bound
to the job store about once a second. The record, not this process, is the truth: any worker can
answer for a job, a cancel written by any worker stops it at its next report, and a job whose
process died is found by its stale heartbeat and marked interrupted, never left running.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from planning import Lineage, Plan, SolveCancelled, SolveControl, SolveProgress
from planning.store import JobStatus, JobStore, PlanJob, PlanStore
from serving.errors import ApiError

__all__ = ["HEARTBEAT_S", "STALE_AFTER", "PlanJobs"]

_log = logging.getLogger(__name__)

HEARTBEAT_S = 1.0
# A running job whose record has not moved for this long belongs to a process that stopped.
STALE_AFTER = timedelta(seconds=15)

# Makes a plan for a job's request, reporting to the control: (request, replaces, control) -> (plan, lineage).
MakePlan = Callable[[dict, str | None, SolveControl], tuple[Plan, Lineage]]


class PlanJobs:
    """Runs plan jobs of one service process.

    Args:
        jobs, plans: the stores the job records and the finished plans go to.
        make_plan: makes the plan of a request (``serving.plan_maker.PlanMaker`` in the service).
        heartbeat_s: how often a running job's progress is written, and a cancel looked for.
    """

    def __init__(self, jobs: JobStore, plans: PlanStore, make_plan: MakePlan, heartbeat_s: float = HEARTBEAT_S):
        self.jobs, self.plans = jobs, plans
        self._make_plan = make_plan
        self._heartbeat_s = heartbeat_s
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plan-job")
        self._running: dict[str, SolveControl] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def recover(self) -> int:
        """Mark the jobs a stopped process left queued or running as interrupted; how many."""
        return self.jobs.interrupt_stale(STALE_AFTER)

    def submit(self, site: str, request: dict, replaces: str | None = None) -> PlanJob:
        """Record a queued job and start it when the jobs before it are done."""
        job = self.jobs.create(site, request, replaces=replaces)
        self._executor.submit(self._run, job.id)
        return job

    def cancel(self, job_id: str) -> PlanJob:
        """Ask the job to stop: a queued job is cancelled at once, a running one at its next report
        (at once when it runs in this process)."""
        job = self.jobs.request_cancel(job_id)
        with self._lock:
            control = self._running.get(job_id)
        if control is not None:
            control.cancel()
        return job

    def shutdown(self) -> None:
        """Stop the running job (recorded as interrupted, as a restart's would be) and start no other."""
        self._stopping.set()
        with self._lock:
            for control in self._running.values():
                control.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _run(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job.status != JobStatus.QUEUED:  # cancelled or interrupted while it waited
            return
        try:
            self.jobs.start(job_id, self._owner)
        except ValueError:  # cancelled between the two reads
            return
        control = SolveControl()
        with self._lock:
            self._running[job_id] = control
        heartbeat = _Heartbeat(self.jobs, job_id, control, self._heartbeat_s)
        try:
            status, plan_id, error = self._make(job, control)
        finally:
            heartbeat.stop()
            with self._lock:
                self._running.pop(job_id, None)
        try:
            self.jobs.report(job_id, _progress(control.progress()))  # the final figures
            self.jobs.finish(job_id, status, plan_id=plan_id, error=error)
        except ValueError:  # another process already marked it (interrupted): its record stands
            _log.warning("plan job %s finished as %s after it was marked otherwise", job_id, status)

    def _make(self, job: PlanJob, control: SolveControl) -> tuple[JobStatus, str | None, dict | None]:
        """Make and store the job's plan: (status, stored plan id, error)."""
        try:
            plan, lineage = self._make_plan(job.request, job.replaces, control)
        except SolveCancelled:
            if self._stopping.is_set():
                return (
                    JobStatus.INTERRUPTED,
                    None,
                    _error("interrupted", "the service stopped while this job ran", None),
                )
            return JobStatus.CANCELLED, None, None
        except ApiError as error:
            return JobStatus.FAILED, None, _error(error.code, error.message, error.field)
        except Exception:
            _log.exception("plan job %s failed", job.id)
            return JobStatus.FAILED, None, _error("internal", "unexpected error; see the service log", None)
        stored = self.plans.add(plan, lineage.model_dump(mode="json"), replaces=job.replaces)
        return JobStatus.SUCCEEDED, stored.id, None


def _error(code: str, message: str, field: str | None) -> dict:
    return {"code": code, "message": message, "field": field}


class _Heartbeat:
    """Writes a job's progress every ``interval`` seconds, and cancels its solve when the record
    says a cancel was asked for (by this or any other process)."""

    def __init__(self, jobs: JobStore, job_id: str, control: SolveControl, interval: float):
        self._jobs, self._job_id, self._control = jobs, job_id, control
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(interval,), daemon=True, name=f"heartbeat-{job_id}")
        self._thread.start()

    def _beat(self, interval: float) -> None:
        while not self._stopped.wait(interval):
            try:
                if self._jobs.report(self._job_id, _progress(self._control.progress())):
                    self._control.cancel()
            except Exception:  # a missed beat is not fatal: the next one writes the same figures
                _log.exception("could not record the progress of plan job %s", self._job_id)

    def stop(self) -> None:
        self._stopped.set()
        if threading.current_thread() is not self._thread:
            self._thread.join()


def _progress(progress: SolveProgress) -> dict:
    return {
        "elapsed_s": progress.elapsed_s,
        "objective": progress.objective,
        "best_bound": progress.best_bound,
        "gap": progress.gap,
        "solutions": progress.solutions,
    }
