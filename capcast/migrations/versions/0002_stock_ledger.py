"""The stock ledger: append-only stock events, their per-day sums, reservations, item locks, sources, nodes
and dead letters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

A migration is frozen once released: it spells out its tables with ``op`` and never
imports the application's table definitions (inventory/tables.py), which move on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite numbers rows by itself only for an INTEGER PRIMARY KEY.
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KEY = sa.String(128)
_KINDS = ("receipt", "shipment", "return", "adjustment", "reservation", "release", "transfer_out", "transfer_in")


def _timestamp(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _units(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), server_default="0", nullable=False)


def _latest() -> list[sa.Column]:
    return [_timestamp("last_received_at"), _timestamp("last_occurred_at")]


def _one_of(column: str, values: tuple[str, ...], table: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=f"ck_{table}_{column}")


def upgrade() -> None:
    op.create_table(
        "stock_events",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("event_id", _KEY, nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("source", _KEY, nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("node", _KEY, nullable=False),
        sa.Column("sku", _KEY, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        _timestamp("occurred_at", nullable=False),
        sa.Column("reason", _KEY, nullable=True),
        sa.Column("transfer_id", _KEY, nullable=True),
        sa.Column("to_node", _KEY, nullable=True),
        sa.Column("reservation_id", _KEY, nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        _timestamp("received_at", nullable=False),
        _timestamp("applied_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stock_events"),
        sa.UniqueConstraint("event_id", name="uq_stock_events_event_id"),
        sa.UniqueConstraint("source", "sequence", name="uq_stock_events_source"),
        _one_of("kind", _KINDS, "stock_events"),
    )
    op.create_index("ix_stock_events_occurred_at", "stock_events", ["occurred_at"])
    op.create_index("ix_stock_events_transfer_id", "stock_events", ["transfer_id"])
    op.create_index("ix_stock_events_reservation_id", "stock_events", ["reservation_id"])
    op.create_index("ix_stock_events_node_sku_occurred_at", "stock_events", ["node", "sku", "occurred_at"])
    op.create_index("ix_stock_events_to_node_sku_occurred_at", "stock_events", ["to_node", "sku", "occurred_at"])

    op.create_table(
        "stock_days",
        sa.Column("node", _KEY, nullable=False),
        sa.Column("sku", _KEY, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        _units("on_hand"),
        _units("reserved"),
        _units("in_transit"),
        _units("shipped"),
        _units("returned"),
        sa.PrimaryKeyConstraint("node", "sku", "day", name="pk_stock_days"),
    )

    op.create_table(
        "stock_reservations",
        sa.Column("reservation_id", _KEY, nullable=False),
        sa.Column("node", _KEY, nullable=False),
        sa.Column("sku", _KEY, nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        _units("released"),
        sa.Column("due", sa.Date(), nullable=True),
        _timestamp("occurred_at", nullable=False),
        sa.PrimaryKeyConstraint("reservation_id", name="pk_stock_reservations"),
    )
    op.create_index("ix_stock_reservations_node_sku_due", "stock_reservations", ["node", "sku", "due"])

    op.create_table(
        "stock_items",
        sa.Column("node", _KEY, nullable=False),
        sa.Column("sku", _KEY, nullable=False),
        _units("on_hand"),
        _units("reserved"),
        _units("in_transit"),
        sa.PrimaryKeyConstraint("node", "sku", name="pk_stock_items"),
    )

    op.create_table(
        "stock_sources",
        sa.Column("source", _KEY, nullable=False),
        _units("events"),
        sa.Column("last_sequence", sa.BigInteger(), nullable=True),
        *_latest(),
        sa.PrimaryKeyConstraint("source", name="pk_stock_sources"),
    )
    op.create_table(
        "stock_nodes",
        sa.Column("node", _KEY, nullable=False),
        _units("events"),
        *_latest(),
        sa.PrimaryKeyConstraint("node", name="pk_stock_nodes"),
    )

    op.create_table(
        "stock_dead_letters",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("event_id", sa.String(), nullable=True),
        _timestamp("received_at", nullable=False),
        sa.Column("error", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _timestamp("replayed_at"),
        sa.Column("replayed_event", _KEY, nullable=True),
        _timestamp("discarded_at"),
        sa.Column("discard_reason", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_stock_dead_letters"),
        _one_of("status", ("open", "replayed", "discarded"), "stock_dead_letters"),
    )
    op.create_index("ix_stock_dead_letters_status", "stock_dead_letters", ["status"])


def downgrade() -> None:
    op.drop_index("ix_stock_dead_letters_status", "stock_dead_letters")
    op.drop_table("stock_dead_letters")
    op.drop_table("stock_nodes")
    op.drop_table("stock_sources")
    op.drop_table("stock_items")
    op.drop_index("ix_stock_reservations_node_sku_due", "stock_reservations")
    op.drop_table("stock_reservations")
    op.drop_table("stock_days")
    for index in ("to_node_sku_occurred_at", "node_sku_occurred_at", "reservation_id", "transfer_id", "occurred_at"):
        op.drop_index(f"ix_stock_events_{index}", "stock_events")
    op.drop_table("stock_events")
