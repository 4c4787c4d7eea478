"""The ledger's contract, on SQLite and PostgreSQL: exactly-once ingestion, atomic refusal or partial
batches, the negative-stock rule, positions as of any time, transfers, sources and latency."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta

import sqlalchemy as sa

from inventory import Ledger, StockEvent, effects
from inventory.tables import stock_dead_letters, stock_events
from tests.inventory.conftest import NODE, SKU, T0, at, event


def _on_hand(ledger: Ledger, when=None, node: str = NODE, sku: str = SKU) -> int:
    return ledger.position(node, sku, when).on_hand


def _count(engine, table) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_a_batch_is_applied_and_each_kind_moves_the_position(ledger):
    result = ledger.ingest(
        [
            event("e1", "receipt", 10, at(0)),
            event("e2", "shipment", 3, at(1)),
            event("e3", "return", 1, at(2)),
            event("e4", "adjustment", -2, at(3), reason="damage"),
            event("e5", "reservation", 4, at(4), reservation_id="r1"),
            event("e6", "release", 1, at(5), reservation_id="r1"),
        ]
    )
    assert result.ok and result.applied == (0, 1, 2, 3, 4, 5) and not result.refused
    position = ledger.position(NODE, SKU)
    assert (position.on_hand, position.reserved, position.in_transit) == (6, 3, 0)


def test_an_event_delivered_twice_is_applied_once(ledger):
    batch = [event("e1", "receipt", 10, at(0)), event("e2", "shipment", 4, at(1))]
    assert ledger.ingest(batch).applied == (0, 1)
    again = ledger.ingest([*batch, event("e3", "receipt", 1, at(2)), event("e3", "receipt", 1, at(2))])
    assert again.duplicates == (0, 1, 3) and again.applied == (2,)
    assert _on_hand(ledger) == 7


def test_the_same_moment_written_in_another_zone_is_a_duplicate(ledger):
    ledger.ingest([event("e1", "receipt", 10, at(0))])
    result = ledger.ingest([event("e1", "receipt", 10, at(0)) | {"occurred_at": "2026-03-02T10:00:00+01:00"}])
    assert result.duplicates == (0,) and result.ok


def test_the_same_id_with_another_body_is_a_conflict_never_dropped(ledger, engine):
    ledger.ingest([event("e1", "receipt", 10, at(0))])
    result = ledger.ingest([event("e2", "receipt", 1, at(1)), event("e1", "receipt", 11, at(0))])
    assert result.refused and result.applied == ()
    (conflict,) = result.conflicts
    assert (conflict.index, conflict.field, conflict.event_id, conflict.code) == (1, "event_id", "e1", "conflict")
    assert _on_hand(ledger) == 10 and _count(engine, stock_events) == 1
    # Within one batch too: the second body of an id is the conflict.
    inside = ledger.ingest([event("e7", "receipt", 1, at(1)), event("e7", "receipt", 2, at(1))])
    assert [(r.index, r.code) for r in inside.rejected] == [(1, "conflict")]


def test_one_bad_event_refuses_the_whole_batch_and_names_every_bad_one(ledger, engine):
    batch = [
        event("e1", "receipt", 10, at(0)),
        event("e2", "shipment", 0, at(1)),
        event("e3", "receipt", 5, at(2)),
        event("e4", "receipt", 5, at(2)) | {"occurred_at": "2026-03-02T11:00:00"},
        "not an event",
    ]
    result = ledger.ingest(batch)
    assert result.refused and result.applied == () and result.dead_letters == ()
    assert [(r.index, r.field, r.code) for r in result.rejected] == [
        (1, "qty", "invalid"),
        (3, "occurred_at", "invalid"),
        (4, None, "invalid"),
    ]
    assert ledger.positions() == [] and ledger.sources() == []
    assert _count(engine, stock_events) == 0 and _count(engine, stock_dead_letters) == 0


def test_a_partial_batch_applies_the_good_events_and_dead_letters_the_bad(ledger):
    batch = [
        event("e1", "receipt", 10, at(0)),
        event("e2", "shipment", 0, at(1)),
        event("e3", "shipment", 4, at(2)),
        {"event_id": "e4", "qty": "many"},
    ]
    result = ledger.ingest(batch, partial=True)
    assert result.applied == (0, 2) and not result.refused and {r.index for r in result.rejected} == {1, 3}
    assert _on_hand(ledger) == 6
    letters = ledger.dead_letters()
    assert [letter.id for letter in letters] == list(result.dead_letters)
    assert [letter.body for letter in letters] == [batch[1], batch[3]]  # as received, valid or not
    assert letters[0].error == {
        "code": "invalid",
        "message": "qty: must be > 0 for a shipment (only adjustments are signed)",
        "field": "qty",
    }
    assert (letters[1].event_id, letters[1].source, letters[1].status) == ("e4", None, "open")


def test_a_shipment_may_not_leave_on_hand_negative_at_any_later_moment(ledger):
    ledger.ingest([event("in", "receipt", 5, at(0)), event("late-out", "shipment", 3, at(5))])
    # At 2h on hand is 5, but the shipment at 5h would then find 1 - 3: the backdated one is refused.
    refused = ledger.ingest([event("early-out", "shipment", 3, at(2))])
    assert refused.refused and [(r.index, r.code, r.field) for r in refused.rejected] == [(0, "negative_stock", "qty")]
    assert ledger.ingest([event("early-out", "shipment", 2, at(2))]).applied == (0,)
    assert [_on_hand(ledger, at(h)) for h in (1, 3, 6)] == [5, 3, 0]
    # A shipment before any receipt is refused; with its receipt in the same batch it fits.
    assert ledger.ingest([event("x1", "shipment", 1, at(-1))]).refused
    assert ledger.ingest([event("x1", "shipment", 1, at(-1)), event("x0", "receipt", 1, at(-2))]).ok


def test_a_partial_batch_refuses_only_the_shipments_that_do_not_fit_in_batch_order(ledger):
    result = ledger.ingest(
        [
            event("in", "receipt", 5, at(0)),
            event("a", "shipment", 3, at(1)),
            event("b", "shipment", 3, at(2)),
            event("c", "shipment", 2, at(3)),
        ],
        partial=True,
    )
    assert result.applied == (0, 1, 3) and [r.index for r in result.rejected] == [2]
    assert _on_hand(ledger) == 0


def test_a_node_that_allows_negative_stock_applies_and_reports_it(ledger):
    result = ledger.ingest(
        [event("in", "receipt", 2, at(0), node="loose"), event("out", "shipment", 5, at(1), node="loose")]
    )
    assert result.ok and result.applied == (0, 1) and result.negative == (1,)
    assert _on_hand(ledger, node="loose") == -3


def test_positions_as_of_any_time_survive_late_backdated_and_reordered_batches(ledger):
    rng = random.Random(7)
    stream = []
    for n in range(120):
        kind = rng.choice(["receipt", "receipt", "shipment", "return", "reservation"])
        extra = {"reservation_id": f"r{n}"} if kind == "reservation" else {}
        sku = rng.choice(["sku-1", "sku-2"])
        # At "loose" (negative stock allowed) every event applies whatever the order it comes in.
        stream.append(event(f"e{n}", kind, rng.randint(1, 9), at(rng.uniform(0, 96)), node="loose", sku=sku, **extra))
    delivered = stream[:]
    rng.shuffle(delivered)
    on_time = [body for body in delivered if body["sku"] == "sku-1"]
    for start in range(0, len(on_time), 17):
        assert ledger.ingest(on_time[start : start + 17]).ok
    assert ledger.ingest([body for body in delivered if body["sku"] == "sku-2"]).ok  # days late, backdated
    assert ledger.ingest(delivered).duplicates == tuple(range(len(delivered)))

    parsed = [StockEvent.model_validate(body) for body in stream]
    for when in [at(h) for h in range(-1, 100, 5)] + [e.occurred_at for e in parsed[:20]]:
        expected = defaultdict(lambda: [0, 0])
        for e in parsed:
            if e.occurred_at <= when:
                for effect in effects(e.kind, e.node, e.qty):
                    expected[e.sku][0] += effect.on_hand
                    expected[e.sku][1] += effect.reserved
        for sku in ("sku-1", "sku-2"):
            position = ledger.position("loose", sku, when)
            assert [position.on_hand, position.reserved] == expected[sku], (sku, when)
    assert {(p.node, p.sku) for p in ledger.positions(as_of=at(100))} == {("loose", "sku-1"), ("loose", "sku-2")}


def test_positions_filter_by_node_and_sku(ledger):
    ledger.ingest(
        [
            event("a", "receipt", 1, at(0)),
            event("b", "receipt", 2, at(0), sku="sku-2"),
            event("c", "receipt", 3, at(0), node="store-2"),
        ]
    )
    assert [(p.node, p.sku, p.on_hand) for p in ledger.positions()] == [
        ("store-1", "sku-1", 1),
        ("store-1", "sku-2", 2),
        ("store-2", "sku-1", 3),
    ]
    assert [p.on_hand for p in ledger.positions(node="store-1")] == [1, 2]
    assert [p.on_hand for p in ledger.positions(sku="sku-1")] == [1, 3]
    assert ledger.positions(as_of=at(-1)) == []


def test_a_transfer_is_in_transit_between_its_out_and_its_in(ledger):
    ledger.ingest([event("in", "receipt", 10, at(0), node="dc")])
    transfer = {"transfer_id": "t1"}
    assert ledger.ingest([event("out", "transfer_out", 4, at(1), node="dc", to_node="store-2", **transfer)]).ok
    assert ledger.ingest([event("arrived", "transfer_in", 4, at(30), node="store-2", **transfer)]).ok
    during, after = ledger.positions(as_of=at(2)), ledger.positions(as_of=at(31))
    assert [(p.node, p.on_hand, p.in_transit) for p in during] == [("dc", 6, 0), ("store-2", 0, 4)]
    assert [(p.node, p.on_hand, p.in_transit) for p in after] == [("dc", 6, 0), ("store-2", 4, 0)]
    assert ledger.position("store-2", SKU, at(2)).in_transit == 4  # read by the receiver alone, on the out's day


def test_transfer_legs_must_match_and_may_come_in_either_order(ledger):
    ledger.ingest([event("in", "receipt", 10, at(0), node="dc")])
    first_in = ledger.ingest([event("t2-in", "transfer_in", 3, at(5), node="store-2", transfer_id="t2")])
    assert first_in.ok and ledger.position("store-2", SKU, at(6)).in_transit == -3  # until its out arrives
    wrong = [
        event("t2-out", "transfer_out", 4, at(1), node="dc", to_node="store-2", transfer_id="t2"),
        event("t2-out-b", "transfer_out", 3, at(1), node="dc", to_node="store-3", transfer_id="t2"),
    ]
    result = ledger.ingest(wrong)
    assert [(r.index, r.code, r.field) for r in result.rejected] == [(0, "pairing", "transfer_id")] * 1 + [
        (1, "pairing", "transfer_id")
    ]
    assert "4 units" in result.rejected[0].message and "store-3" in result.rejected[1].message
    assert ledger.ingest([event("t2-out", "transfer_out", 3, at(1), node="dc", to_node="store-2", transfer_id="t2")]).ok
    again = ledger.ingest([event("t2-in-b", "transfer_in", 3, at(6), node="store-2", transfer_id="t2")])
    assert "has its transfer_in already" in again.rejected[0].message
    assert ledger.position("store-2", SKU, at(6)).in_transit == 0


def test_releases_must_fit_their_reservation(ledger):
    assert ledger.ingest([event("res", "reservation", 5, at(0), reservation_id="r1", due="2026-03-10")]).ok
    cases = {
        "release more than held": (event("x", "release", 6, at(1), reservation_id="r1"), ("over_release", "qty")),
        "release of nothing": (event("x", "release", 1, at(1), reservation_id="r9"), ("pairing", "reservation_id")),
        "release elsewhere": (
            event("x", "release", 1, at(1), reservation_id="r1", node="store-2"),
            ("pairing", "reservation_id"),
        ),
        "reserve an id again": (
            event("x", "reservation", 1, at(1), reservation_id="r1"),
            ("pairing", "reservation_id"),
        ),
    }
    for name, (body, expected) in cases.items():
        (rejection,) = ledger.ingest([body]).rejected
        assert (rejection.code, rejection.field) == expected, name
    # A reservation and its release in one batch, in any order.
    both = [
        event("y", "release", 2, at(2), reservation_id="r2"),
        event("z", "reservation", 2, at(1), reservation_id="r2"),
    ]
    assert ledger.ingest(both).ok
    assert ledger.position(NODE, SKU).reserved == 5


def test_sequences_expose_gaps_and_are_never_reused(ledger):
    batch = [event(f"e{n}", "receipt", 1, at(n), sequence=n) for n in (3, 4, 7, 10)]
    batch.append(event("other", "receipt", 1, at(1), source="erp", sequence=1))
    assert ledger.ingest(batch).ok
    reused = ledger.ingest([event("e99", "receipt", 1, at(20), sequence=4)])
    assert [(r.code, r.field) for r in reused.rejected] == [("sequence", "sequence")]
    assert "event e4's" in reused.rejected[0].message
    states = {state.source: state for state in ledger.sources()}
    assert states["pos"].gaps == [(1, 2), (5, 6), (8, 9)] and states["pos"].last_sequence == 10
    assert states["pos"].events == 4 and states["pos"].last_occurred_at == at(10)
    assert states["erp"].gaps == [] and states["erp"].events == 1
    ledger.ingest([event(f"e{n}", "receipt", 1, at(n), sequence=n) for n in (1, 2, 5, 6, 8, 9)])
    assert {state.source: state.gaps for state in ledger.sources()} == {"erp": [], "pos": []}


def test_a_node_is_stale_when_its_last_event_is_older_than_its_staleness(ledger):
    from capcast.database import now

    recent = now() - timedelta(hours=2)
    ledger.ingest([event("a", "receipt", 1, recent, node="daily"), event("b", "receipt", 1, recent)])
    ledger.ingest([event("c", "reservation", 1, now(), reservation_id="r", node=NODE)])  # not a report of the node
    states = {state.node: state for state in ledger.nodes()}
    assert not states["daily"].stale and states[NODE].stale  # a day's staleness vs the default hour
    assert 7100 < states[NODE].age_s < 7300 and states[NODE].events == 1


def test_latency_is_measured_per_node_and_source(ledger):
    received = T0 + timedelta(seconds=30)
    ledger.ingest(
        [event("a", "receipt", 1, T0), event("b", "receipt", 1, T0 + timedelta(seconds=20))], received_at=received
    )
    ledger.ingest([event("c", "receipt", 1, T0, source="erp")], received_at=received)
    stats = {(s.node, s.source): s for s in ledger.latency()}
    assert set(stats) == {(NODE, "pos"), (NODE, "erp")}
    pos = stats[(NODE, "pos")]
    assert (pos.count, pos.received_p50_s, pos.received_p99_s) == (2, 10.0, 30.0)
    assert pos.applied_p99_s > 0  # applied after it was received (the given received_at is earlier still)
    assert ledger.latency(since=received + timedelta(days=365)) == []
