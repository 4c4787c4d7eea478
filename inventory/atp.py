"""Time-phased available-to-promise, and reservations made against it without double-booking.

For an item (node, sku), from today on, per day d::

    raw(d)       = on_hand − reserved + scheduled receipts due from today to d
                   − committed demand due after today up to d
    available(d) = min(raw(d') for every d' >= d)

``on_hand`` is the position now; ``reserved`` the outstanding reservations due today or earlier
(or with no due day); committed demand the outstanding reservations due after today; scheduled
receipts what the caller adds (an approved plan's production for this SKU, which serving reads
from the plan store: inventory does not import planning). The running minimum from the end is the
cumulative rule: units promised for an early day must still be there on every later day, so
reservations due beyond the asked period still lower it, however far ahead they are due.

A reservation is made in the transaction that checks it: on SQLite the database's write lock
(``writing``) orders all writers; on PostgreSQL the item's ``stock_items`` row is locked first,
so a second reservation of the item (or a batch shipping from it) waits and then sees the first.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from capcast.database import now, utc
from inventory.config import InventoryConfig
from inventory.events import Kind, StockEvent
from inventory.ingest import BatchRefused, apply_batch, lock_items
from inventory.positions import position
from inventory.sources import node_state
from inventory.tables import stock_reservations

__all__ = [
    "AtpAnswer",
    "AtpDay",
    "OverRelease",
    "OverReservation",
    "Reservation",
    "ReservationConflict",
    "ReservationNotFound",
    "atp",
    "release",
    "reservation",
    "reserve",
]


@dataclass(frozen=True)
class AtpDay:
    day: date
    available: int  # what can still be promised for this day (negative: promised beyond what exists)
    on_hand: int  # now
    reserved: int  # now: outstanding reservations due today or earlier, or with no due day
    scheduled: int  # receipts scheduled for this day
    committed: int  # reservations due this day (after today)


@dataclass(frozen=True)
class AtpAnswer:
    node: str
    sku: str
    days: list[AtpDay]
    stale: bool  # the node's latest event is older than its staleness (or it never reported)
    age_s: float | None


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    node: str
    sku: str
    qty: int
    released: int
    due: date | None
    occurred_at: datetime

    @property
    def outstanding(self) -> int:
        return self.qty - self.released


class OverReservation(ValueError):
    """More units asked than are available to promise for the due day; ``available`` says how many are."""

    def __init__(self, node: str, sku: str, due: date, requested: int, available: int):
        super().__init__(f"{requested} of {sku} at {node} asked for {due}, {available} available to promise")
        self.node, self.sku, self.due = node, sku, due
        self.requested, self.available = requested, available


class OverRelease(ValueError):
    def __init__(self, reservation_id: str, requested: int, outstanding: int):
        super().__init__(f"release of {requested} asked, reservation {reservation_id} holds {outstanding}")
        self.reservation_id, self.requested, self.outstanding = reservation_id, requested, outstanding


class ReservationNotFound(LookupError):
    def __init__(self, reservation_id: str):
        super().__init__(f"no reservation {reservation_id!r}")
        self.reservation_id = reservation_id


class ReservationConflict(ValueError):
    """The reservation id exists for another item, quantity or due day (a retry must ask the same)."""

    def __init__(self, existing: Reservation):
        super().__init__(
            f"reservation {existing.reservation_id} exists: {existing.qty} of {existing.sku} at {existing.node}"
            f" due {existing.due}"
        )
        self.existing = existing


def atp(
    connection: sa.Connection,
    config: InventoryConfig,
    sku: str,
    node: str,
    first_day: date,
    last_day: date,
    *,
    today: date | None = None,
    scheduled: Iterable[tuple[date, int]] = (),
) -> AtpAnswer:
    """ATP per day from ``first_day`` to ``last_day`` (not before today: ValueError).

    ``today``: the day promises start from (default the UTC date now); the position is read as of
    now, or as of the end of ``today`` when it is given. ``scheduled``: (day, units) receipts to add.
    """
    if last_day < first_day:
        raise ValueError(f"last_day {last_day} is before first_day {first_day}")
    today, as_of = _today(today)
    if first_day < today:
        raise ValueError(f"first_day {first_day} is before today ({today}): promises start today")
    curve = _Curve.read(connection, node, sku, today, as_of, scheduled, through=last_day)
    state = node_state(connection, config, node)
    days = [curve.day(first_day + timedelta(days=n)) for n in range((last_day - first_day).days + 1)]
    return AtpAnswer(node, sku, days, state.stale, state.age_s)


def reserve(
    connection: sa.Connection,
    config: InventoryConfig,
    reservation_id: str,
    node: str,
    sku: str,
    qty: int,
    due: date | None,
    *,
    source: str,
    occurred_at: datetime | None = None,
    today: date | None = None,
    scheduled: Sequence[tuple[date, int]] = (),
) -> Reservation:
    """Reserve ``qty`` units due on ``due`` (today when None or past) if ATP allows, in the caller's
    writing transaction; else OverReservation with what is available.

    The same reservation id asked again for the same item, quantity and due day returns the
    reservation made the first time (a retried request); asked for anything else, ReservationConflict.
    ``scheduled``: receipts to count, as for ``atp`` (a sequence: a retried transaction reads it again).
    """
    if qty <= 0:
        raise ValueError(f"qty {qty}: a reservation holds at least 1 unit")
    lock_items(connection, [(node, sku)])
    existing = reservation(connection, reservation_id, missing_ok=True)
    if existing is not None:
        if (existing.node, existing.sku, existing.qty, existing.due) != (node, sku, qty, due):
            raise ReservationConflict(existing)
        return existing
    today, as_of = _today(today)
    day = max(due or today, today)
    curve = _Curve.read(connection, node, sku, today, as_of, scheduled, through=day)
    available = curve.available[day]
    if qty > available:
        raise OverReservation(node, sku, day, qty, max(available, 0))
    event = StockEvent(
        event_id=_event_id("reservation", reservation_id),
        source=source,
        node=node,
        sku=sku,
        kind=Kind.RESERVATION,
        qty=qty,
        occurred_at=utc(occurred_at),
        reservation_id=reservation_id,
        due=due,
    )
    _apply_one(connection, config, event)
    return reservation(connection, reservation_id)


def release(
    connection: sa.Connection,
    config: InventoryConfig,
    reservation_id: str,
    qty: int | None = None,
    *,
    source: str,
    occurred_at: datetime | None = None,
    event_id: str | None = None,
) -> Reservation:
    """Release ``qty`` units of a reservation (all it still holds when None), in the caller's writing
    transaction. ``event_id``: the release event's id, to make a retried request idempotent (a new
    id each call when None)."""
    found = reservation(connection, reservation_id)
    lock_items(connection, [(found.node, found.sku)])
    found = reservation(connection, reservation_id)  # as it is now that the item is ours
    qty = found.outstanding if qty is None else qty
    if qty <= 0 or qty > found.outstanding:
        if qty == 0 and found.outstanding == 0:
            return found
        raise OverRelease(reservation_id, qty, found.outstanding)
    event = StockEvent(
        event_id=event_id or f"release:{uuid.uuid4().hex}",
        source=source,
        node=found.node,
        sku=found.sku,
        kind=Kind.RELEASE,
        qty=qty,
        occurred_at=utc(occurred_at),
        reservation_id=reservation_id,
    )
    _apply_one(connection, config, event)
    return reservation(connection, reservation_id)


def reservation(connection: sa.Connection, reservation_id: str, *, missing_ok: bool = False) -> Reservation | None:
    row = connection.execute(
        sa.select(stock_reservations).where(stock_reservations.c.reservation_id == reservation_id)
    ).first()
    if row is None:
        if missing_ok:
            return None
        raise ReservationNotFound(reservation_id)
    return Reservation(**row._mapping)


@dataclass
class _Curve:
    today: date
    on_hand: int
    reserved: int
    scheduled: dict[date, int]
    committed: dict[date, int]
    available: dict[date, int]

    @classmethod
    def read(
        cls,
        connection: sa.Connection,
        node: str,
        sku: str,
        today: date,
        as_of: datetime,
        scheduled: Iterable[tuple[date, int]],
        *,
        through: date,
    ) -> _Curve:
        on_hand = position(connection, node, sku, as_of).on_hand
        table = stock_reservations
        outstanding = connection.execute(
            sa.select(table.c.due, sa.func.sum(table.c.qty - table.c.released))
            .where(table.c.node == node, table.c.sku == sku, table.c.qty > table.c.released)
            .group_by(table.c.due)
        )
        reserved, committed = 0, defaultdict(int)
        for due, units in outstanding:
            if due is None or due <= today:
                reserved += int(units)
            else:
                committed[due] += int(units)
        receipts: dict[date, int] = defaultdict(int)
        for day, units in scheduled:
            if day >= today:
                receipts[day] += int(units)
        horizon = max([through, *committed, *receipts])
        days = [today + timedelta(days=n) for n in range((horizon - today).days + 1)]
        raw, level = [], on_hand - reserved
        for day in days:
            level += receipts.get(day, 0) - committed.get(day, 0)
            raw.append(level)
        for i in range(len(raw) - 2, -1, -1):  # the cumulative rule: never above a later day
            raw[i] = min(raw[i], raw[i + 1])
        return cls(today, on_hand, reserved, dict(receipts), dict(committed), dict(zip(days, raw)))

    def day(self, day: date) -> AtpDay:
        return AtpDay(
            day=day,
            available=self.available[day],
            on_hand=self.on_hand,
            reserved=self.reserved,
            scheduled=self.scheduled.get(day, 0),
            committed=self.committed.get(day, 0),
        )


def _today(today: date | None) -> tuple[date, datetime]:
    """The first day of promises and the moment the position is read at."""
    if today is None:
        moment = now()
        return moment.date(), moment
    return today, datetime.combine(today, time.max, UTC)


def _event_id(prefix: str, key: str) -> str:
    """A stable event id for a reservation's own event (ids are at most 128 characters)."""
    event_id = f"{prefix}:{key}"
    return event_id if len(event_id) <= 128 else f"{prefix}:{hashlib.sha256(key.encode()).hexdigest()}"


def _apply_one(connection: sa.Connection, config: InventoryConfig, event: StockEvent) -> None:
    result = apply_batch(connection, config, [event], received_at=now(), partial=False)
    if result.refused:
        raise BatchRefused(result)
