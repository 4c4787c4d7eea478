"""The plan store's tables, as the stores query them (SQLAlchemy Core, the same on SQLite and PostgreSQL).

The migrations in ``capcast/migrations`` create them; these definitions never do
(the tests check that the migrated schema and these tables agree). ``plans`` and
``plan_events`` only ever grow: a plan row is never updated, and its status is its
latest event. ``plan_jobs`` rows are updated as their jobs run.
"""

from __future__ import annotations

import sqlalchemy as sa

from capcast.database import NAMING_CONVENTION, UtcDateTime

__all__ = ["metadata", "plan_events", "plan_jobs", "plans"]

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


EVENT_KINDS = ("created", "approved", "superseded")
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")


def _one_of(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN ({', '.join(repr(value) for value in values)})", name=column)


def _site_records(name: str, *columns: sa.Column | sa.Constraint) -> sa.Table:
    """A table of records about one site each, keyed by a uuid4 hex id (32 characters)."""
    key = sa.Column("id", sa.String(32), primary_key=True)
    return sa.Table(name, metadata, key, sa.Column("site", sa.String, nullable=False, index=True), *columns)


plans = _site_records(
    "plans",
    sa.Column("start", sa.Date, nullable=False),
    sa.Column("days", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String),
    sa.Column("replaces", sa.String(32), sa.ForeignKey("plans.id")),
    sa.Column("lineage", sa.JSON, nullable=False),
    sa.Column("plan", sa.JSON, nullable=False),
)

plan_events = sa.Table(
    "plan_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("plan_id", sa.String(32), sa.ForeignKey("plans.id"), nullable=False, index=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("by", sa.String),
    sa.Column("superseded_by", sa.String(32), sa.ForeignKey("plans.id")),
    _one_of("kind", EVENT_KINDS),
)

plan_jobs = _site_records(
    "plan_jobs",
    sa.Column("status", sa.String, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("started_at", UtcDateTime),
    sa.Column("finished_at", UtcDateTime),
    sa.Column("heartbeat_at", UtcDateTime),
    sa.Column("owner", sa.String),
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("replaces", sa.String(32)),
    # none_as_null: "no progress yet" is SQL NULL, not the JSON value null.
    sa.Column("progress", sa.JSON(none_as_null=True)),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("plan_id", sa.String(32), sa.ForeignKey("plans.id")),
    sa.Column("error", sa.JSON(none_as_null=True)),
    _one_of("status", JOB_STATUSES),
)
