"""Concurrent clients of one ledger, on SQLite and PostgreSQL: no unit promised twice, no event applied twice."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from inventory import OverReservation
from tests.inventory.conftest import NODE, SKU, at, event

THREADS, ATTEMPTS = 8, 25
DUE = date(2026, 3, 5)


def _at_once(work, count: int) -> list:
    """Run ``work(i)`` for i < count on as many threads, started together; their results."""
    start = threading.Barrier(count)

    def run(i):
        start.wait()
        return work(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_threads_reserving_one_item_never_promise_more_than_there_is(ledger):
    ledger.ingest([event("in", "receipt", 100, at(0))])

    def client(i: int) -> int:
        rng, reserved = random.Random(i), 0
        for attempt in range(ATTEMPTS):
            qty = rng.randint(1, 3)
            try:
                ledger.reserve(f"t{i}-{attempt}", NODE, SKU, qty, DUE, source="web", today=date(2026, 3, 3))
            except OverReservation as refused:
                assert refused.available < qty
            else:
                reserved += qty
        return reserved

    granted = sum(_at_once(client, THREADS))
    assert 97 < granted <= 100  # 400 units asked for: nearly all of the 100 promised, never more
    assert ledger.position(NODE, SKU).reserved == granted
    assert ledger.atp(SKU, NODE, DUE, DUE, today=date(2026, 3, 3)).days[0].available == 100 - granted


def test_two_threads_ingesting_one_batch_apply_it_once(ledger):
    batch = [event(f"e{n}", "receipt", 1, at(n / 10), sequence=n + 1) for n in range(200)]
    results = _at_once(lambda _: ledger.ingest(batch), 2)
    assert sorted(len(result.applied) for result in results) == [0, 200]
    assert sorted(len(result.duplicates) for result in results) == [0, 200]
    assert ledger.position(NODE, SKU).on_hand == 200
    assert ledger.sources()[0].events == 200


def test_one_id_sent_at_once_with_two_bodies_is_applied_once_and_the_other_is_a_conflict(ledger):
    # Different items: the item locks do not order the two, the unique event id does (PostgreSQL retries).
    bodies = [event("same", "receipt", 1, at(0), node="store-a"), event("same", "receipt", 1, at(0), node="store-b")]
    results = _at_once(lambda i: ledger.ingest([bodies[i]]), 2)
    assert sorted(len(result.applied) for result in results) == [0, 1]
    assert sorted(len(result.conflicts) for result in results) == [0, 1]
    assert sum(position.on_hand for position in ledger.positions()) == 1
