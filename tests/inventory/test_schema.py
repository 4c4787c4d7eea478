"""The database itself refuses what the ledger never writes: an unknown kind, a reused event id."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from inventory.tables import stock_events


def test_the_database_refuses_an_unknown_event_kind_and_a_reused_event_id(engine):
    moment = datetime(2026, 3, 2, tzinfo=UTC)
    row = {"body_hash": "0" * 64, "source": "pos", "node": "n", "sku": "s", "qty": 1}
    row |= {"occurred_at": moment, "received_at": moment, "applied_at": moment}
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(stock_events.insert().values(**row, event_id="e1", kind="theft"))
    with engine.begin() as connection:
        connection.execute(stock_events.insert().values(**row, event_id="e1", kind="receipt"))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(stock_events.insert().values(**row, event_id="e1", kind="shipment"))
