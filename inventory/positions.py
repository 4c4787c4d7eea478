"""Stock positions as of any time: the day sums before that time's UTC day, plus its own day's events.

Nothing is replayed and nothing rewritten: a late event has added to its day's row like any other,
so a position as of T reads at most one row per earlier day and the events of T's day up to T.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from capcast.database import utc
from inventory.config import InventoryConfig
from inventory.events import day_of, effects, start_of
from inventory.tables import stock_days, stock_events

__all__ = ["Position", "family_stock", "position", "positions"]


@dataclass(frozen=True)
class Position:
    """Units of ``sku`` at ``node`` as of ``as_of`` (UTC): events that occurred at or before it count."""

    node: str
    sku: str
    on_hand: int
    reserved: int
    in_transit: int
    as_of: datetime


def position(connection: sa.Connection, node: str, sku: str, as_of: datetime | None = None) -> Position:
    """The position of one item (all zero when the ledger has never heard of it)."""
    as_of = utc(as_of)
    found = _totals(connection, as_of, node=node, sku=sku).get((node, sku), (0, 0, 0))
    return Position(node, sku, *found, as_of=as_of)


def positions(
    connection: sa.Connection, node: str | None = None, sku: str | None = None, as_of: datetime | None = None
) -> list[Position]:
    """Every item the ledger has events for as of ``as_of`` (filtered by node and/or sku), by node then sku."""
    as_of = utc(as_of)
    totals = _totals(connection, as_of, node=node, sku=sku)
    return [Position(n, s, *totals[(n, s)], as_of=as_of) for n, s in sorted(totals)]


def _totals(
    connection: sa.Connection, as_of: datetime, *, node: str | None, sku: str | None
) -> dict[tuple[str, str], tuple[int, int, int]]:
    day = day_of(as_of)
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    days = sa.select(
        stock_days.c.node,
        stock_days.c.sku,
        sa.func.sum(stock_days.c.on_hand),
        sa.func.sum(stock_days.c.reserved),
        sa.func.sum(stock_days.c.in_transit),
    ).where(stock_days.c.day < day)
    if node is not None:
        days = days.where(stock_days.c.node == node)
    if sku is not None:
        days = days.where(stock_days.c.sku == sku)
    for n, s, on_hand, reserved, in_transit in connection.execute(days.group_by(stock_days.c.node, stock_days.c.sku)):
        totals[(n, s)] = [int(on_hand), int(reserved), int(in_transit)]
    for kind, n, s, qty, to_node in connection.execute(_events_of_the_day(as_of, node=node, sku=sku)):
        for effect in effects(kind, n, qty, to_node):
            if node is None or effect.node == node:
                row = totals[(effect.node, s)]
                row[0] += effect.on_hand
                row[1] += effect.reserved
                row[2] += effect.in_transit
    return {key: tuple(values) for key, values in totals.items()}


def _events_of_the_day(as_of: datetime, *, node: str | None, sku: str | None) -> sa.Select | sa.CompoundSelect:
    """The events from the start of ``as_of``'s UTC day to ``as_of`` that change ``node`` (at it, or
    in transit to it)."""
    columns = [stock_events.c[name] for name in ("kind", "node", "sku", "qty", "to_node")]
    window = [stock_events.c.occurred_at >= start_of(day_of(as_of)), stock_events.c.occurred_at <= as_of]
    if sku is not None:
        window.append(stock_events.c.sku == sku)
    if node is None:
        return sa.select(*columns).where(*window)
    return sa.union_all(
        sa.select(*columns).where(*window, stock_events.c.node == node),
        sa.select(*columns).where(*window, stock_events.c.to_node == node),
    )


def family_stock(
    connection: sa.Connection, config: InventoryConfig, families: Iterable[str], as_of: datetime | None = None
) -> dict[str, int]:
    """Units on hand per family at the production node (``config.production_node``) as of ``as_of``:
    the sum over the family's SKUs of ``family_split``, never below 0; a plan's opening stock.

    Raises:
        ValueError: when no production node is configured.
    """
    if config.production_node is None:
        raise ValueError("the ledger's configuration names no production_node whose stock a plan starts from")
    stock = {}
    for family in families:
        skus = config.family_split.get(family, {})
        units = sum(position(connection, config.production_node, sku, as_of).on_hand for sku in skus)
        stock[family] = max(0, units)
    return stock
