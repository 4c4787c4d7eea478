"""The ledger's tests run on SQLite (a temp file) and on a throwaway PostgreSQL server, each test on a
fresh database migrated to head (``engine``, from ``tests/databases.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inventory import InventoryConfig, Ledger, NodeConfig

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning, long past: positions "now" include it all
NODE, SKU = "store-1", "sku-1"
# "loose" sells before its stock is booked; "daily" reports once a day; every other node is the default.
CONFIG = InventoryConfig(
    nodes={"loose": NodeConfig(allow_negative=True), "daily": NodeConfig(staleness_s=86_400)},
    family_split={"A": {"sku-1": 0.5, "sku-2": 0.5}},
)


@pytest.fixture
def ledger(engine) -> Ledger:
    return Ledger(engine, CONFIG)


def at(hours: float = 0, *, days: int = 0) -> datetime:
    """T0 plus some hours and days."""
    return T0 + timedelta(days=days, hours=hours)


def event(event_id: str, kind: str, qty: int, occurred_at: datetime, **fields: Any) -> dict[str, Any]:
    """An event's JSON body, as a source sends it; node, sku and source have defaults."""
    body = {
        "event_id": event_id,
        "source": "pos",
        "node": NODE,
        "sku": SKU,
        "kind": kind,
        "qty": qty,
        "occurred_at": occurred_at.isoformat(),
    }
    return body | fields
