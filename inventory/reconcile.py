"""Physical counts against the ledger: every difference becomes an ``adjustment`` with reason ``count``.

A count says how many units of a SKU were at a node at a moment. The ledger's on hand as of that
moment is compared with it, and the difference is booked at that moment, so positions after it
agree with the count. The adjustment's event id is derived from the count and the ledger figure it
corrects: running the same counts again finds nothing left to correct and writes nothing, and two
runs at once write each adjustment once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from capcast.database import now, utc
from inventory.config import InventoryConfig
from inventory.events import Kind, StockEvent
from inventory.ingest import BatchRefused, apply_batch, lock_items
from inventory.positions import position

__all__ = ["Count", "Discrepancy", "reconcile"]

REASON = "count"


class Count(BaseModel):
    """One counted item (a row of a counts file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    node: str = Field(min_length=1, max_length=128)
    sku: str = Field(min_length=1, max_length=128)
    qty: int = Field(ge=0)
    counted_at: AwareDatetime


@dataclass(frozen=True)
class Discrepancy:
    node: str
    sku: str
    counted_at: datetime
    counted: int
    ledger: int  # on hand in the ledger as of counted_at, before the adjustment
    difference: int  # counted − ledger: the adjustment's qty
    event_id: str  # the adjustment written


def reconcile(
    connection: sa.Connection, config: InventoryConfig, counts: list[Count], *, source: str = REASON
) -> list[Discrepancy]:
    """Compare and adjust, in the caller's writing transaction; the discrepancies in the counts' order
    of (node, sku, counted_at). Counts of one item at several moments each see the adjustments of the
    earlier ones."""
    lock_items(connection, {(count.node, count.sku) for count in counts})
    ordered = sorted(counts, key=lambda count: (count.node, count.sku, utc(count.counted_at)))
    found, adjustments = [], []
    for count in ordered:
        counted_at = utc(count.counted_at)
        ledger = position(connection, count.node, count.sku, counted_at).on_hand
        # Adjustments of this run at or before this moment, not yet in the ledger.
        ledger += sum(
            adjustment.qty
            for adjustment in adjustments
            if (adjustment.node, adjustment.sku) == (count.node, count.sku) and adjustment.occurred_at <= counted_at
        )
        difference = count.qty - ledger
        if difference == 0:
            continue
        event_id = _event_id(count.node, count.sku, counted_at, count.qty, ledger)
        item = {"node": count.node, "sku": count.sku, "occurred_at": counted_at}
        adjustments.append(
            StockEvent(**item, event_id=event_id, source=source, kind=Kind.ADJUSTMENT, qty=difference, reason=REASON)
        )
        found.append(Discrepancy(count.node, count.sku, counted_at, count.qty, ledger, difference, event_id))
    if adjustments:
        result = apply_batch(connection, config, adjustments, received_at=now(), partial=False)
        if result.refused:
            raise BatchRefused(result)
    return found


def _event_id(node: str, sku: str, counted_at: datetime, counted: int, ledger: int) -> str:
    key = f"{node}\x1f{sku}\x1f{counted_at.isoformat()}\x1f{counted}\x1f{ledger}"
    return f"count:{hashlib.sha256(key.encode()).hexdigest()[:40]}"
