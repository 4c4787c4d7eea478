"""The plan store: plans (immutable drafts, approved and superseded versions) and plan-job records.

Tables in SQLAlchemy Core (``tables``), so the same queries run on SQLite and
PostgreSQL; the schema is created by capcast's Alembic migrations, never here.
``PlanStore`` and ``JobStore`` each take an engine and own the queries on their tables.
"""

from planning.store.jobs import JobNotFound, JobStatus, JobStore, PlanJob
from planning.store.plans import PlanEvent, PlanNotDraft, PlanNotFound, PlanStatus, PlanStore, PlanSummary, StoredPlan

__all__ = [
    "JobNotFound",
    "JobStatus",
    "JobStore",
    "PlanEvent",
    "PlanJob",
    "PlanNotDraft",
    "PlanNotFound",
    "PlanStatus",
    "PlanStore",
    "PlanSummary",
    "StoredPlan",
]
