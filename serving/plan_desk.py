"""The planner's desk behind the page and the plan endpoints: stored plans, plan jobs, approval and
export, each refusal an ``ApiError`` naming what is wrong. Routes in ``serving.service`` call it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from planning import Lineage, Plan, PlanDiff, Replan, SolveControl, plan_diff, shift_csv
from planning.store import (
    JobNotFound,
    JobStore,
    PlanJob,
    PlanNotDraft,
    PlanNotFound,
    PlanStatus,
    PlanStore,
    PlanSummary,
    StoredPlan,
)
from serving.auth import Role, Tokens
from serving.errors import ApiError
from serving.plan_jobs import STALE_AFTER, PlanJobs
from serving.plan_maker import PlanMaker
from serving.schemas import PlanJobRequest

__all__ = ["PlanDesk"]

_log = logging.getLogger(__name__)


class PlanDesk:
    """Plans of the service's site: made in the background, stored, compared, approved, exported.

    Args:
        planner: makes a plan (and its lineage) from a request with the served model.
        plans, jobs: the plan store and the job records (``planning.store``).
        tokens: the service's tokens; every write needs the planner role.
    """

    def __init__(self, planner: PlanMaker, plans: PlanStore, jobs: JobStore, tokens: Tokens):
        self.planner, self.plans, self.tokens = planner, plans, tokens
        self.jobs = PlanJobs(jobs, plans, self._make)
        self.stale_after = STALE_AFTER
        if recovered := self.jobs.recover():
            _log.warning("%d plan job(s) of a stopped process marked interrupted", recovered)

    # ---- reading ----------------------------------------------------------------------------

    def list(self, site: str | None, status: PlanStatus | None, limit: int, offset: int) -> list[PlanSummary]:
        return self.plans.list(site=site, status=status, limit=limit, offset=offset)

    def get(self, plan_id: str) -> StoredPlan:
        try:
            return self.plans.get(plan_id)
        except PlanNotFound as error:
            raise ApiError(404, "unknown_plan", str(error), "plan_id") from None

    def diff(self, before_id: str, after_id: str) -> PlanDiff:
        return plan_diff(self.get(before_id).plan, self.get(after_id).plan, before_id, after_id)

    def csv(self, plan_id: str) -> str:
        return shift_csv(self.get(plan_id).plan, plan_id)

    def job(self, job_id: str) -> PlanJob:
        try:
            job = self.jobs.jobs.get(job_id)
        except JobNotFound as error:
            raise ApiError(404, "unknown_job", str(error), "job_id") from None
        return self._settled(job)

    def recent_jobs(self, limit: int) -> list[PlanJob]:
        site = self.planner.default_site.name if self.planner.default_site else None
        return [self._settled(job) for job in self.jobs.jobs.list(site=site, limit=limit)]

    def _settled(self, job: PlanJob) -> PlanJob:
        """The job as it stands: one whose process stopped without a word (its heartbeat is stale)
        is marked interrupted now, not left running forever."""
        beat = job.heartbeat_at or job.created_at
        if job.finished or datetime.now(UTC) - beat <= self.stale_after:
            return job
        self.jobs.jobs.interrupt_stale(self.stale_after)
        return self.jobs.jobs.get(job.id)

    # ---- writing (each needs a planner token) --------------------------------------------------

    def submit(self, request: PlanJobRequest, authorization: str | None) -> PlanJob:
        """Start a plan job for ``request``; 4xx for what can be told wrong before solving (no site,
        a horizon beyond the model's, a plan larger than the limits, a plan to replace that does
        not exist)."""
        self.tokens.check(authorization, Role.PLANNER)
        site, _ = self.planner.check(request)
        if request.replaces is not None:
            try:
                self.plans.get(request.replaces)
            except PlanNotFound as error:
                raise ApiError(404, "unknown_plan", str(error), "replaces") from None
        # The time limit on record is the one the job runs with: a progress bar can count to it.
        limit = request.time_limit_s or self.planner.default_time_limit_s
        recorded = request.model_copy(update={"time_limit_s": limit}).model_dump(mode="json")
        return self.jobs.submit(site.name, recorded, replaces=request.replaces)

    def cancel(self, job_id: str, authorization: str | None) -> PlanJob:
        self.tokens.check(authorization, Role.PLANNER)
        self.job(job_id)
        return self.jobs.cancel(job_id)

    def approve(self, plan_id: str, by: str, authorization: str | None) -> StoredPlan:
        self.tokens.check(authorization, Role.PLANNER)
        try:
            return self.plans.approve(plan_id, by=by)
        except PlanNotFound as error:
            raise ApiError(404, "unknown_plan", str(error), "plan_id") from None
        except PlanNotDraft as error:
            raise ApiError(409, "not_a_draft", str(error), "plan_id") from None

    # ---- jobs ------------------------------------------------------------------------------------

    def start_first_plan(self) -> PlanJob | None:
        """A plan job for the configured site when it has no stored plan and no job under way, so a
        planner who opens the page finds a plan (or one being made); None when nothing was started."""
        site = self.planner.default_site
        if site is None or self.plans.list(site=site.name, limit=1):
            return None
        if any(not job.finished for job in self.jobs.jobs.list(site=site.name, limit=5)):
            return None
        return self.jobs.submit(site.name, PlanJobRequest().model_dump(mode="json"))

    def shutdown(self) -> None:
        self.jobs.shutdown()

    def _make(self, request: dict, replaces: str | None, control: SolveControl) -> tuple[Plan, Lineage]:
        job = PlanJobRequest.model_validate(request)
        replan = None
        if replaces is not None:
            previous = self.plans.get(replaces).plan
            replan = Replan(previous, job.frozen_days, job.change_penalty_per_shift)
        return self.planner.make(job, replan=replan, replaces=replaces, control=control)
