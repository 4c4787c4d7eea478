"""Available-to-promise and reservations, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from capcast.database import now
from inventory import OverRelease, OverReservation, ReservationConflict, ReservationNotFound
from tests.inventory.conftest import NODE, SKU, at, event

TODAY = date(2026, 3, 3)  # the day after T0's events


def day(n: int) -> date:
    return TODAY + timedelta(days=n)


@pytest.fixture
def stocked(ledger):
    """10 on hand at the default node."""
    assert ledger.ingest([event("in", "receipt", 10, at(0))]).ok
    return ledger


def test_atp_adds_scheduled_receipts_takes_committed_demand_and_never_promises_early_what_is_due_later(stocked):
    assert stocked.ingest(
        [
            event("r-now", "reservation", 2, at(1), reservation_id="now"),  # no due day: due today
            event("r-d4", "reservation", 6, at(1), reservation_id="d4", due=day(4).isoformat()),
        ]
    ).ok
    answer = stocked.atp(SKU, NODE, day(0), day(5), today=TODAY, scheduled=[(day(2), 10), (day(-1), 99)])
    assert [d.day for d in answer.days] == [day(n) for n in range(6)]
    # raw: 8, 8, 18, 18, 12, 12; day 2 and 3 may promise only what is left after day 4's commitment.
    assert [d.available for d in answer.days] == [8, 8, 12, 12, 12, 12]
    assert [d.scheduled for d in answer.days] == [0, 0, 10, 0, 0, 0]
    assert [d.committed for d in answer.days] == [0, 0, 0, 0, 6, 0]
    assert {(d.on_hand, d.reserved) for d in answer.days} == {(10, 2)}


def test_reservations_due_after_the_period_still_lower_it(stocked):
    stocked.ingest([event("r", "reservation", 7, at(1), reservation_id="r", due=day(30).isoformat())])
    answer = stocked.atp(SKU, NODE, day(1), day(2), today=TODAY)
    assert [d.available for d in answer.days] == [3, 3] and [d.committed for d in answer.days] == [0, 0]
    assert [
        d.available for d in stocked.atp(SKU, NODE, day(0), day(1), today=TODAY, scheduled=[(day(20), 5)]).days
    ] == [8, 8]


def test_atp_starts_today(stocked):
    with pytest.raises(ValueError, match="before today"):
        stocked.atp(SKU, NODE, day(-1), day(2), today=TODAY)
    with pytest.raises(ValueError, match="before first_day"):
        stocked.atp(SKU, NODE, day(2), day(1), today=TODAY)


def test_an_over_reservation_is_refused_with_the_quantity_available(stocked):
    first = stocked.reserve("o1", NODE, SKU, 6, day(2), source="web", today=TODAY)
    assert (first.qty, first.outstanding, first.due) == (6, 6, day(2))
    with pytest.raises(OverReservation) as refused:
        stocked.reserve("o2", NODE, SKU, 5, day(1), source="web", today=TODAY)
    assert refused.value.available == 4 and refused.value.requested == 5
    stocked.reserve("o2", NODE, SKU, 4, None, source="web", today=TODAY)  # no due day: today
    with pytest.raises(OverReservation) as refused:
        stocked.reserve("o3", NODE, SKU, 1, day(9), source="web", today=TODAY)
    assert refused.value.available == 0
    # Planned production lets a later day promise more, never an earlier one.
    stocked.reserve("o3", NODE, SKU, 5, day(3), source="web", today=TODAY, scheduled=[(day(3), 5)])
    assert stocked.position(NODE, SKU).reserved == 15


def test_a_reservation_is_an_event_of_the_ledger(stocked):
    stocked.reserve("o1", NODE, SKU, 3, day(1), source="web", occurred_at=at(2))
    assert stocked.position(NODE, SKU, at(1)).reserved == 0
    assert stocked.position(NODE, SKU, at(3)).reserved == 3
    (state,) = [s for s in stocked.sources() if s.source == "web"]
    assert state.events == 1


def test_a_retried_reservation_is_the_same_one_and_another_with_its_id_conflicts(stocked):
    first = stocked.reserve("o1", NODE, SKU, 3, day(1), source="web", today=TODAY)
    assert stocked.reserve("o1", NODE, SKU, 3, day(1), source="web", today=TODAY) == first
    with pytest.raises(ReservationConflict):
        stocked.reserve("o1", NODE, SKU, 4, day(1), source="web", today=TODAY)
    with pytest.raises(ValueError, match="at least 1 unit"):
        stocked.reserve("o2", NODE, SKU, 0, day(1), source="web", today=TODAY)
    assert stocked.position(NODE, SKU).reserved == 3


def test_releasing_gives_units_back_to_promise(stocked):
    stocked.reserve("o1", NODE, SKU, 8, day(1), source="web", today=TODAY)
    assert stocked.release("o1", 3, source="web").outstanding == 5
    assert stocked.atp(SKU, NODE, day(1), day(1), today=TODAY).days[0].available == 5
    with pytest.raises(OverRelease) as refused:
        stocked.release("o1", 6, source="web")
    assert refused.value.outstanding == 5
    assert stocked.release("o1", source="web", event_id="rel-2").outstanding == 0
    assert stocked.release("o1", source="web").released == 8  # nothing left: nothing to do
    with pytest.raises(ReservationNotFound):
        stocked.release("o9", source="web")
    assert stocked.position(NODE, SKU).reserved == 0


def test_atp_says_how_stale_the_node_is(ledger):
    ledger.ingest(
        [event("old", "receipt", 5, at(0)), event("new", "receipt", 5, now() - timedelta(minutes=5), node="daily")]
    )
    old = ledger.atp(SKU, NODE, day(0), day(0), today=TODAY)
    fresh = ledger.atp(SKU, "daily", now().date(), now().date())  # today by default: the position now
    never = ledger.atp(SKU, "nowhere", day(0), day(0), today=TODAY)
    assert old.stale and old.age_s > 86_400
    assert not fresh.stale and 200 < fresh.age_s < 400 and fresh.days[0].available == 5
    assert never.stale and never.age_s is None and never.days[0].available == 0
