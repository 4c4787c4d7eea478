"""Stored plans: drafts, approved and superseded, each immutable, with who did what and when.

A plan row is written once and never updated; what happens to it is appended as
events (``created``, ``approved``, ``superseded``), and its status is its latest
event. Approving a draft supersedes every approved plan of the same site whose
period overlaps it, so a site has at most one approved plan for any day.
"""

from __future__ import annotations

import builtins
import hashlib
import uuid
from datetime import date, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from pydantic import BaseModel

from capcast.database import utc, writing
from planning.domain.plan import Plan
from planning.store.tables import plan_events, plans

__all__ = ["PlanEvent", "PlanNotDraft", "PlanNotFound", "PlanStatus", "PlanStore", "PlanSummary", "StoredPlan"]


class PlanStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SUPERSEDED = "superseded"


# A plan's status is named by its latest event; each kind happens at most once to a plan.
_STATUS_OF_EVENT = {"created": PlanStatus.DRAFT, "approved": PlanStatus.APPROVED, "superseded": PlanStatus.SUPERSEDED}
_EVENT_OF_STATUS = {status: kind for kind, status in _STATUS_OF_EVENT.items()}


class PlanNotFound(LookupError):
    def __init__(self, plan_id: str):
        super().__init__(f"no plan {plan_id!r}")
        self.plan_id = plan_id


class PlanNotDraft(ValueError):
    """Only a draft can be approved: an approved or superseded plan stays as it is."""

    def __init__(self, plan_id: str, status: PlanStatus):
        super().__init__(f"plan {plan_id} is {status}, not a draft: only a draft can be approved")
        self.plan_id = plan_id
        self.status = status


class PlanEvent(BaseModel):
    kind: str
    at: datetime
    by: str | None
    superseded_by: str | None


class PlanSummary(BaseModel):
    """A stored plan without its decisions: what a list shows. ``end`` is the plan's last day."""

    id: str
    site: str
    start: date
    days: int
    end: date
    status: PlanStatus
    created_at: datetime
    created_by: str | None
    approved_at: datetime | None
    approved_by: str | None
    superseded_by: str | None
    replaces: str | None
    cost: float
    expected_fill_rate: float
    solver_status: str


class StoredPlan(PlanSummary):
    lineage: dict
    plan: Plan
    events: list[PlanEvent]


def _stored_plans() -> sa.Subquery:
    """Every plan with its status named by its latest event and the who/when of its approval and
    supersession, in SQL (so lists filter and page on status), and the figures a summary shows read
    from the plan's JSON in the database (so a list never loads whole plans)."""
    last = (
        sa.select(plan_events.c.plan_id, sa.func.max(plan_events.c.id).label("event_id"))
        .group_by(plan_events.c.plan_id)
        .subquery("last")
    )
    latest, approved, superseded = (plan_events.alias(name) for name in ("latest", "approved", "superseded"))
    return (
        sa.select(
            plans.c.id,
            plans.c.site,
            plans.c.start,
            plans.c.days,
            latest.c.kind.label("latest_event"),
            plans.c.created_at,
            plans.c.created_by,
            approved.c.at.label("approved_at"),
            approved.c.by.label("approved_by"),
            superseded.c.superseded_by,
            plans.c.replaces,
            plans.c.plan[("kpis", "cost", "total")].as_float().label("cost"),
            plans.c.plan[("kpis", "expected_fill_rate")].as_float().label("expected_fill_rate"),
            plans.c.plan[("solver", "status")].as_string().label("solver_status"),
            plans.c.lineage,
            plans.c.plan,
        )
        .join(last, last.c.plan_id == plans.c.id)
        .join(latest, latest.c.id == last.c.event_id)
        .outerjoin(approved, sa.and_(approved.c.plan_id == plans.c.id, approved.c.kind == "approved"))
        .outerjoin(superseded, sa.and_(superseded.c.plan_id == plans.c.id, superseded.c.kind == "superseded"))
        .subquery("stored")
    )


_STORED = _stored_plans()
_SUMMARY = [column for column in _STORED.c if column.name not in ("lineage", "plan")]


def _summary_fields(row: sa.Row) -> dict:
    fields = dict(row._mapping)
    fields["status"] = _STATUS_OF_EVENT[fields.pop("latest_event")]
    fields["end"] = fields["start"] + timedelta(days=fields["days"] - 1)
    return fields


def _site_lock(site: str) -> int:
    """A stable 64-bit key per site for PostgreSQL's advisory locks (Python's ``hash`` changes per process)."""
    digest = hashlib.blake2b(f"capcast.plans.approve:{site}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PlanStore:
    """Plans in the database of ``engine`` (from ``capcast.database.engine``; its migrations create the
    tables). Safe to share between threads and processes: approvals are serialised per site."""

    def __init__(self, engine: sa.Engine):
        self._engine = engine

    def add(
        self,
        plan: Plan,
        lineage: dict,
        *,
        replaces: str | None = None,
        by: str | None = None,
        at: datetime | None = None,
    ) -> StoredPlan:
        """Store ``plan`` as a draft. ``replaces``: the stored plan it was re-planned from (PlanNotFound if none)."""
        plan_id, at = uuid.uuid4().hex, utc(at)
        with writing(self._engine) as connection:
            if replaces is not None and not self._exists(connection, replaces):
                raise PlanNotFound(replaces)
            connection.execute(
                plans.insert().values(
                    id=plan_id,
                    site=plan.site,
                    start=plan.start,
                    days=plan.days,
                    created_at=at,
                    created_by=by,
                    replaces=replaces,
                    lineage=lineage,
                    plan=plan.model_dump(mode="json"),
                )
            )
            connection.execute(plan_events.insert().values(plan_id=plan_id, kind="created", at=at, by=by))
        return self.get(plan_id)

    def get(self, plan_id: str) -> StoredPlan:
        with self._engine.connect() as connection:
            return self._get(connection, plan_id)

    def list(
        self, *, site: str | None = None, status: PlanStatus | None = None, limit: int = 50, offset: int = 0
    ) -> builtins.list[PlanSummary]:
        """Summaries, newest first."""
        query = sa.select(*_SUMMARY).order_by(_STORED.c.created_at.desc(), _STORED.c.id.desc())
        if site is not None:
            query = query.where(_STORED.c.site == site)
        if status is not None:
            query = query.where(_STORED.c.latest_event == _EVENT_OF_STATUS[PlanStatus(status)])
        query = query.limit(limit).offset(offset)
        with self._engine.connect() as connection:
            return [PlanSummary(**_summary_fields(row)) for row in connection.execute(query)]

    def approve(self, plan_id: str, *, by: str, at: datetime | None = None) -> StoredPlan:
        """Approve a draft and supersede the approved plans of its site whose periods overlap it, at once.

        Raises PlanNotFound, or PlanNotDraft when the plan is approved or superseded already.
        """
        at = utc(at)
        with writing(self._engine) as connection:
            # SQLite: the transaction holds the database's write lock from its start (``writing``).
            # PostgreSQL: approvals of one site wait for each other here, until the holder commits.
            site = connection.execute(sa.select(plans.c.site).where(plans.c.id == plan_id)).scalar()
            if site is None:
                raise PlanNotFound(plan_id)
            if connection.dialect.name == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_site_lock(site))))
            plan = self._summary(connection, plan_id)
            if plan.status != PlanStatus.DRAFT:
                raise PlanNotDraft(plan_id, plan.status)
            replaced = self._approved_covering(connection, site, plan.start, plan.end)
            connection.execute(plan_events.insert().values(plan_id=plan_id, kind="approved", at=at, by=by))
            if replaced:
                connection.execute(
                    plan_events.insert(),
                    [
                        {"plan_id": other, "kind": "superseded", "at": at, "by": by, "superseded_by": plan_id}
                        for other in replaced
                    ],
                )
        return self.get(plan_id)

    def approved(self, site: str, day: date) -> StoredPlan | None:
        """The approved plan of ``site`` that covers ``day``, if any."""
        with self._engine.connect() as connection:
            covering = self._approved_covering(connection, site, day, day)
            return self._get(connection, covering[0]) if covering else None

    @staticmethod
    def _approved_covering(connection: sa.Connection, site: str, first: date, last: date) -> builtins.list[str]:
        """Ids of the approved plans of ``site`` whose periods meet [first, last], latest approved first."""
        query = (
            sa.select(_STORED.c.id, _STORED.c.start, _STORED.c.days)
            .where(_STORED.c.site == site, _STORED.c.start <= last, _STORED.c.latest_event == "approved")
            .order_by(_STORED.c.approved_at.desc())
        )
        # Date arithmetic differs between SQLite and PostgreSQL: the end of each period is checked here.
        return [row.id for row in connection.execute(query) if row.start + timedelta(days=row.days - 1) >= first]

    @staticmethod
    def _exists(connection: sa.Connection, plan_id: str) -> bool:
        return connection.execute(sa.select(plans.c.id).where(plans.c.id == plan_id)).first() is not None

    @staticmethod
    def _summary(connection: sa.Connection, plan_id: str) -> PlanSummary:
        row = connection.execute(sa.select(*_SUMMARY).where(_STORED.c.id == plan_id)).first()
        if row is None:
            raise PlanNotFound(plan_id)
        return PlanSummary(**_summary_fields(row))

    @staticmethod
    def _get(connection: sa.Connection, plan_id: str) -> StoredPlan:
        row = connection.execute(sa.select(_STORED).where(_STORED.c.id == plan_id)).first()
        if row is None:
            raise PlanNotFound(plan_id)
        fields = _summary_fields(row)
        plan = Plan.model_validate(fields.pop("plan"))
        events = connection.execute(
            sa.select(plan_events.c.kind, plan_events.c.at, plan_events.c.by, plan_events.c.superseded_by)
            .where(plan_events.c.plan_id == plan_id)
            .order_by(plan_events.c.id)
        )
        return StoredPlan(
            **fields,
            plan=plan,
            events=[PlanEvent(**event._mapping) for event in events],
        )
