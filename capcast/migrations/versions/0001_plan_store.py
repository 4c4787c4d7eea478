"""The plan store: immutable plans, their append-only events (created, approved, superseded), and plan jobs.

Revision ID: 0001
Revises:
Create Date: 2026-05-02

A migration is frozen once released: it spells out its tables with ``op`` and never
imports the application's table definitions (planning/store/tables.py), which move on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timestamp(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        _timestamp("created_at", nullable=False),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.Column("replaces", sa.String(32), nullable=True),  # the plan this one was re-planned from
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_plans"),
        sa.ForeignKeyConstraint(["replaces"], ["plans.id"], name="fk_plans_replaces_plans"),
    )
    op.create_index("ix_plans_site", "plans", ["site"])

    op.create_table(
        "plan_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        _timestamp("at", nullable=False),
        sa.Column("by", sa.String(), nullable=True),
        sa.Column("superseded_by", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_plan_events"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_plan_events_plan_id_plans"),
        sa.ForeignKeyConstraint(["superseded_by"], ["plans.id"], name="fk_plan_events_superseded_by_plans"),
        sa.CheckConstraint("kind IN ('created', 'approved', 'superseded')", name="ck_plan_events_kind"),
    )
    op.create_index("ix_plan_events_plan_id", "plan_events", ["plan_id"])

    op.create_table(
        "plan_jobs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        _timestamp("created_at", nullable=False),
        _timestamp("started_at"),
        _timestamp("finished_at"),
        _timestamp("heartbeat_at"),
        sa.Column("owner", sa.String(), nullable=True),  # host:pid of the process running the job
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("replaces", sa.String(32), nullable=True),
        sa.Column("progress", sa.JSON(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("plan_id", sa.String(32), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_plan_jobs"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_plan_jobs_plan_id_plans"),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')",
            name="ck_plan_jobs_status",
        ),
    )
    op.create_index("ix_plan_jobs_site", "plan_jobs", ["site"])


def downgrade() -> None:
    op.drop_index("ix_plan_jobs_site", "plan_jobs")
    op.drop_table("plan_jobs")
    op.drop_index("ix_plan_events_plan_id", "plan_events")
    op.drop_table("plan_events")
    op.drop_index("ix_plans_site", "plans")
    op.drop_table("plans")
