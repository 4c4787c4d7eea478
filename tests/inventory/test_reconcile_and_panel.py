"""Counts against the ledger, and the shipment history as a demand panel, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from inventory import Count
from tests.inventory.conftest import NODE, SKU, T0, at, event

DAY0 = T0.date()


def test_a_count_books_the_difference_as_an_adjustment_at_the_counted_moment(ledger):
    ledger.ingest([event("in", "receipt", 10, at(0)), event("out", "shipment", 3, at(5))])
    counts = [
        Count(node=NODE, sku=SKU, qty=8, counted_at=at(2)),  # ledger says 10
        Count(node=NODE, sku=SKU, qty=4, counted_at=at(6)),  # ledger says 7, 5 after the first adjustment
        Count(node=NODE, sku="sku-2", qty=0, counted_at=at(6)),  # agrees: nothing to book
    ]
    found = ledger.reconcile(counts)
    assert [(d.counted, d.ledger, d.difference) for d in found] == [(8, 10, -2), (4, 5, -1)]
    assert [ledger.position(NODE, SKU, at(h)).on_hand for h in (1, 2, 5, 6)] == [10, 8, 5, 4]
    assert ledger.reconcile(counts) == []  # again: nothing left to correct, nothing written
    assert {s.source: s.events for s in ledger.sources()} == {"count": 2, "pos": 2}


def test_a_later_event_before_a_count_is_corrected_by_a_new_run(ledger):
    ledger.ingest([event("in", "receipt", 10, at(0))])
    count = Count(node=NODE, sku=SKU, qty=10, counted_at=at(4))
    assert ledger.reconcile([count]) == []
    ledger.ingest([event("late", "shipment", 2, at(1))])
    (found,) = ledger.reconcile([count])
    assert (found.ledger, found.difference) == (8, 2)
    assert ledger.position(NODE, SKU, at(4)).on_hand == 10


def test_counts_are_typed_rows():
    with pytest.raises(ValueError, match="counted_at"):
        Count(node=NODE, sku=SKU, qty=1, counted_at=T0.replace(tzinfo=None))
    with pytest.raises(ValueError, match="qty"):
        Count(node=NODE, sku=SKU, qty=-1, counted_at=T0)


def test_demand_history_is_the_panel_train_reads_with_stockouts_marked(ledger):
    ledger.ingest(
        [
            event("in", "receipt", 5, at(0)),
            event("s1", "shipment", 3, at(1)),
            event("r1", "return", 1, at(2)),
            event("s2", "shipment", 3, at(0, days=1)),  # day 1 ends with 0 on hand: a stockout
            event("in2", "receipt", 4, at(0, days=3)),
            event("s3", "shipment", 1, at(1, days=3)),
            event("b-in", "receipt", 2, at(0, days=1), sku="sku-2"),
        ]
    )
    panel = ledger.demand_history()
    columns = ("ds", "family", "in_stock", "item_id", "store_id", "unique_id", "y")
    assert {tuple(sorted(row)) for row in panel} == {columns}
    assert {row["family"] for row in panel} == {"A"}  # both SKUs make family A (the configured split)
    by_series = {}
    for row in panel:
        by_series.setdefault(row["unique_id"], []).append(row)
    assert list(by_series) == ["sku-1-store-1", "sku-2-store-1"]
    first = by_series["sku-1-store-1"]
    assert [row["ds"] for row in first] == [DAY0 + timedelta(days=n) for n in range(4)]  # every day, none skipped
    assert [row["y"] for row in first] == [2.0, 3.0, 0.0, 1.0]  # net of returns
    assert [row["in_stock"] for row in first] == [1, 0, 0, 1]
    assert {(row["item_id"], row["store_id"]) for row in first} == {("sku-1", "store-1")}
    second = by_series["sku-2-store-1"]
    assert [(row["y"], row["in_stock"]) for row in second] == [(0.0, 0), (0.0, 1), (0.0, 1), (0.0, 1)]
    window = ledger.demand_history(DAY0 + timedelta(days=1), DAY0 + timedelta(days=2))
    assert [(row["ds"], row["in_stock"]) for row in window if row["item_id"] == SKU] == [
        (DAY0 + timedelta(days=1), 0),
        (DAY0 + timedelta(days=2), 0),
    ]


def test_demand_history_of_an_empty_ledger_is_empty(ledger):
    assert ledger.demand_history() == []
    assert ledger.demand_history(date(2026, 1, 1), date(2026, 1, 7)) == []


def test_a_plans_opening_stock_is_the_production_nodes_stock_per_family(engine):
    from inventory import InventoryConfig, Ledger

    config = InventoryConfig(production_node="plant", family_split={"A": {"a1": 0.5, "a2": 0.5}, "B": {"b1": 1.0}})
    ledger = Ledger(engine, config)
    ledger.ingest(
        [
            event("p1", "receipt", 5, at(0), node="plant", sku="a1"),
            event("p2", "receipt", 7, at(0), node="plant", sku="a2"),
            event("p3", "receipt", 9, at(0), sku="b1"),  # at a store: not the plant's
        ]
    )
    assert ledger.family_stock(["A", "B", "C"]) == {"A": 12, "B": 0, "C": 0}
    assert ledger.family_stock(["A"], as_of=at(0) - timedelta(hours=1)) == {"A": 0}
    with pytest.raises(ValueError, match="production_node"):
        Ledger(engine).family_stock(["A"])
