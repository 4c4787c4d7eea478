"""The ledger's shipments as a demand panel: the rows ``capcast train`` reads (features.validation).

One row per (node, sku) series per UTC day of the span, none missing: ``unique_id`` = ``{sku}-{node}``,
``ds`` (the day), ``y`` = units shipped net of returns (0 on a day without shipments; a day whose
returns exceed its shipments counts 0, as demand is never negative), the static attributes
``item_id`` (sku), ``store_id`` (node) and, when families are configured, ``family``; and
``in_stock``: 0 on a day that ended with nothing on hand (its sales were censored by the
stockout), 1 otherwise. Read from the day sums only.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from inventory.config import InventoryConfig
from inventory.tables import stock_days

__all__ = ["demand_history"]


def demand_history(
    connection: sa.Connection, config: InventoryConfig, first_day: date | None = None, last_day: date | None = None
) -> list[dict[str, Any]]:
    """The panel from ``first_day`` to ``last_day`` (by default the ledger's first and last day), sorted
    by series then day; every item with an event in the ledger is a series. When the configuration
    splits families into SKUs, each row also has its SKU's ``family`` (a SKU of no family is its own),
    the grouping the planner plans by."""
    bounds = connection.execute(sa.select(sa.func.min(stock_days.c.day), sa.func.max(stock_days.c.day))).one()
    if bounds[0] is None:
        return []
    first_day = first_day or bounds[0]
    last_day = last_day or bounds[1]
    if last_day < first_day:
        raise ValueError(f"last_day {last_day} is before first_day {first_day}")
    item = (stock_days.c.node, stock_days.c.sku)
    opening = {
        (node, sku): int(units)
        for node, sku, units in connection.execute(
            sa.select(*item, sa.func.sum(stock_days.c.on_hand)).where(stock_days.c.day < first_day).group_by(*item)
        )
    }
    days: dict[tuple[str, str], dict[date, tuple[int, int]]] = defaultdict(dict)
    for node, sku, day, on_hand, shipped, returned in connection.execute(
        sa.select(*item, stock_days.c.day, stock_days.c.on_hand, stock_days.c.shipped, stock_days.c.returned).where(
            stock_days.c.day.between(first_day, last_day)
        )
    ):
        days[(node, sku)][day] = (on_hand, shipped - returned)
    span = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    family = config.family_of_sku()
    rows = []
    for node, sku in sorted(set(opening) | set(days), key=lambda key: (f"{key[1]}-{key[0]}", key)):
        on_hand, its_days = opening.get((node, sku), 0), days.get((node, sku), {})
        for day in span:
            change, net = its_days.get(day, (0, 0))
            on_hand += change
            rows.append(
                {
                    "unique_id": f"{sku}-{node}",
                    "ds": day,
                    "y": float(max(net, 0)),
                    "item_id": sku,
                    "store_id": node,
                    "in_stock": 0 if on_hand <= 0 else 1,
                }
                | ({"family": family.get(sku, sku)} if family else {})
            )
    return rows
