"""The ledger's tables, as its queries use them (SQLAlchemy Core, the same on SQLite and PostgreSQL).

The migrations in ``capcast/migrations`` create them; these definitions never do (the tests
check that the migrated schema and these tables agree).

- ``stock_events``: the ledger itself, one row per applied event, never updated or deleted.
- ``stock_days``: per (node, sku, UTC day), the summed changes of that day's events (on hand,
  reserved, in transit, and the shipped and returned units the demand history reads). A position
  as of T is the sum of the days before T's day plus T's own day's events up to T, so an event,
  however late, adds to one row per node it touches and rewrites nothing.
- ``stock_reservations``: per reservation, its units and how many are released (ATP reads it).
- ``stock_items``: one row per (node, sku) seen, with the totals of all its events, which PostgreSQL
  transactions lock (FOR UPDATE) to take their turn on that item; SQLite's writers take turns on the
  whole database instead.
- ``stock_sources`` and ``stock_nodes``: per source and per node, counts and the latest times.
- ``stock_dead_letters``: events that could not be applied, kept for an operator to fix and replay.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from capcast.database import NAMING_CONVENTION, UtcDateTime
from inventory.events import Kind

__all__ = [
    "DEAD_LETTER_STATUSES",
    "metadata",
    "stock_days",
    "stock_dead_letters",
    "stock_events",
    "stock_items",
    "stock_nodes",
    "stock_reservations",
    "stock_sources",
    "upsert",
]

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

DEAD_LETTER_STATUSES = ("open", "replayed", "discarded")
# SQLite gives a table's own rowid to an INTEGER PRIMARY KEY only: a BIGINT key would not count up.
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KEY = sa.String(128)
_UNITS = sa.BigInteger


def _one_of(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN ({', '.join(repr(value) for value in values)})", name=column)


def _units(name: str) -> sa.Column:
    return sa.Column(name, _UNITS, nullable=False, server_default="0")


stock_events = sa.Table(
    "stock_events",
    metadata,
    sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),  # the order events were applied in
    sa.Column("event_id", _KEY, nullable=False, unique=True),
    sa.Column("body_hash", sa.String(64), nullable=False),
    sa.Column("source", _KEY, nullable=False),
    sa.Column("sequence", sa.BigInteger),
    sa.Column("node", _KEY, nullable=False),
    sa.Column("sku", _KEY, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("qty", _UNITS, nullable=False),
    sa.Column("occurred_at", UtcDateTime, nullable=False, index=True),  # every position's day so far
    sa.Column("reason", _KEY),
    sa.Column("transfer_id", _KEY, index=True),
    sa.Column("to_node", _KEY),
    sa.Column("reservation_id", _KEY, index=True),
    sa.Column("due", sa.Date),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("applied_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("source", "sequence"),  # NULL sequences never clash
    _one_of("kind", tuple(Kind)),
    sa.Index("ix_stock_events_node_sku_occurred_at", "node", "sku", "occurred_at"),
    # A transfer_out changes in transit at its receiver: a position reads them by ``to_node`` too.
    sa.Index("ix_stock_events_to_node_sku_occurred_at", "to_node", "sku", "occurred_at"),
)


def _position_sums(name: str, *, day: bool, extra: tuple[sa.Column, ...] = ()) -> sa.Table:
    """Summed changes to the position of each item (node, sku), or of each item and UTC day."""
    keys = [sa.Column("node", _KEY, primary_key=True), sa.Column("sku", _KEY, primary_key=True)]
    if day:
        keys.append(sa.Column("day", sa.Date, primary_key=True))
    return sa.Table(name, metadata, *keys, _units("on_hand"), _units("reserved"), _units("in_transit"), *extra)


stock_days = _position_sums("stock_days", day=True, extra=(_units("shipped"), _units("returned")))

stock_reservations = sa.Table(
    "stock_reservations",
    metadata,
    sa.Column("reservation_id", _KEY, primary_key=True),
    sa.Column("node", _KEY, nullable=False),
    sa.Column("sku", _KEY, nullable=False),
    sa.Column("qty", _UNITS, nullable=False),
    _units("released"),
    sa.Column("due", sa.Date),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Index("ix_stock_reservations_node_sku_due", "node", "sku", "due"),
)

# Totals of every applied event, whenever it occurred: on hand before a moment is the total less the
# changes from that moment on, so the stock check reads only those (never the whole day or ledger).
stock_items = _position_sums("stock_items", day=False)


def _latest_per(name: str, key: str, *columns: sa.Column) -> sa.Table:
    """Per ``key``: how many events were applied, and the latest received and occurred times."""
    return sa.Table(
        name,
        metadata,
        sa.Column(key, _KEY, primary_key=True),
        _units("events"),
        *columns,
        sa.Column("last_received_at", UtcDateTime),
        sa.Column("last_occurred_at", UtcDateTime),
    )


stock_sources = _latest_per("stock_sources", "source", sa.Column("last_sequence", sa.BigInteger))
# A node's physical events only: its own reports, not reservations made against it.
stock_nodes = _latest_per("stock_nodes", "node")

stock_dead_letters = sa.Table(
    "stock_dead_letters",
    metadata,
    sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("body", sa.JSON, nullable=False),  # as received, also when it is not a valid event
    sa.Column("source", sa.String),  # as the body says, when it says
    sa.Column("event_id", sa.String),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("error", sa.JSON, nullable=False),  # {code, message, field}
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("replayed_at", UtcDateTime),
    sa.Column("replayed_event", _KEY),
    sa.Column("discarded_at", UtcDateTime),
    sa.Column("discard_reason", sa.String),
    _one_of("status", DEAD_LETTER_STATUSES),
)


def upsert(connection: sa.Connection, table: sa.Table):
    """The dialect's INSERT that can say ``ON CONFLICT`` (SQLite and PostgreSQL spell it alike)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
