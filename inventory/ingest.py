"""Applying a batch of stock events exactly once, inside the caller's transaction.

``apply_batch`` decides every event of a batch first and writes after, in bulk: the
existing ids, sequences, reservations and transfers the batch names are each read
with one query; the stock check reads, per item the batch ships from, only the
applied changes from its earliest shipment on (the item's running total in
``stock_items`` gives on hand before that); the writes are one multi-row insert of
events plus one upsert per touched (node, sku, day), item, source and node.

An event is bad when it does not validate, conflicts (its id exists with another
body), reuses another event's sequence of its source, does not pair (a second
reservation or transfer leg of an id, a release or transfer leg that does not match
its other half), releases more than its reservation holds, or is a shipment or
transfer_out that would leave on hand below 0 at any moment from its ``occurred_at``
on at a node that does not allow it. A transfer_in may come before its transfer_out
(in transit is negative until the other leg arrives); a release may not come before
its reservation.

Concurrency: on SQLite the caller's transaction holds the database's write lock
(``capcast.database.writing``). On PostgreSQL ``lock_items`` locks the ``stock_items``
rows of the batch's (node, sku) pairs, in one order, before anything is read; two
batches that share no item run side by side, and a clash the locks do not cover
(the same new event id for different items) ends in a unique violation the caller retries.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import ARRAY

from capcast.database import now
from inventory.config import InventoryConfig
from inventory.events import ON_HAND_SIGN, PHYSICAL, Kind, StockEvent, day_of, effects
from inventory.tables import (
    stock_days,
    stock_dead_letters,
    stock_events,
    stock_items,
    stock_nodes,
    stock_reservations,
    stock_sources,
    upsert,
)

__all__ = ["BatchRefused", "IngestResult", "Rejection", "apply_batch", "lock_items", "problem_message", "text_in"]

INVALID, CONFLICT, SEQUENCE, PAIRING, OVER_RELEASE, NEGATIVE_STOCK = (
    "invalid",
    "conflict",
    "sequence",
    "pairing",
    "over_release",
    "negative_stock",
)
_CHECKED = (Kind.SHIPMENT, Kind.TRANSFER_OUT)  # what the negative-stock rule refuses
_CHUNK = 2000  # bound parameters per IN list, well under SQLite's limit


@dataclass(frozen=True)
class Rejection:
    """Why the event at ``index`` of a batch was not applied; ``field`` is a dotted path into the event."""

    index: int
    event_id: str | None
    code: str  # invalid | conflict | sequence | pairing | over_release | negative_stock
    field: str | None
    message: str

    def error(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "field": self.field}


@dataclass(frozen=True)
class IngestResult:
    """What became of each event of a batch, by its index in the batch.

    ``refused``: the batch had bad events and was not partial, so nothing of it was written.
    ``negative``: applied events that left on hand below 0 at a node that allows it.
    ``dead_letters``: ids of the dead letters the bad events became (partial batches only).
    """

    applied: tuple[int, ...] = ()
    duplicates: tuple[int, ...] = ()
    rejected: tuple[Rejection, ...] = ()
    negative: tuple[int, ...] = ()
    dead_letters: tuple[int, ...] = ()
    refused: bool = False

    @property
    def ok(self) -> bool:
        return not self.rejected

    @property
    def conflicts(self) -> tuple[Rejection, ...]:
        return tuple(rejection for rejection in self.rejected if rejection.code == CONFLICT)


class BatchRefused(ValueError):
    """A batch (or the one event of a reservation or release) was refused: nothing of it is written."""

    def __init__(self, result: IngestResult):
        super().__init__("; ".join(f"event {r.index}: {problem_message([r])['message']}" for r in result.rejected))
        self.result = result


@dataclass
class _Candidate:
    index: int
    event: StockEvent
    digest: str


@dataclass
class _Reserved:
    node: str
    sku: str
    qty: int
    released: int


@dataclass
class _Decisions:
    rejected: dict[int, list[Rejection]] = field(default_factory=lambda: defaultdict(list))

    def reject(self, index: int, event_id: str | None, code: str, field_: str | None, message: str) -> None:
        self.rejected[index].append(Rejection(index, event_id, code, field_, message))


def apply_batch(
    connection: sa.Connection,
    config: InventoryConfig,
    items: Sequence[StockEvent | Any],
    *,
    received_at: datetime,
    partial: bool,
) -> IngestResult:
    """Decide and write a batch in the caller's transaction (see the module docstring).

    A refused batch (bad events, not ``partial``) writes nothing but the ``stock_items`` rows its
    locks need: the caller rolls the transaction back.
    """
    decisions = _Decisions()
    parsed = _parse(items, decisions)
    totals = lock_items(connection, {key for candidate in parsed for key in _items_of(candidate.event)})
    candidates, duplicates = _new_events(connection, parsed, decisions)
    candidates = _with_free_sequences(connection, candidates, decisions)
    candidates = _paired(connection, candidates, decisions)
    candidates, negative = _within_stock(connection, config, totals, candidates, decisions)
    rejected = tuple(rejection for index in sorted(decisions.rejected) for rejection in decisions.rejected[index])
    if rejected and not partial:
        return IngestResult(duplicates=tuple(duplicates), rejected=rejected, refused=True)
    _write(connection, candidates, received_at)
    dead = _dead_letters(connection, items, decisions, received_at) if rejected else ()
    return IngestResult(
        applied=tuple(sorted(candidate.index for candidate in candidates)),
        duplicates=tuple(duplicates),
        rejected=rejected,
        negative=tuple(sorted(negative)),
        dead_letters=dead,
    )


def lock_items(connection: sa.Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The on-hand totals of the (node, sku) items (absent: never seen), held until the transaction ends.

    PostgreSQL: their ``stock_items`` rows (made on first use) are locked, always in the same order,
    so two transactions never wait for each other in a circle. SQLite: the transaction holds the
    database's write lock already.
    """
    keys = sorted(set(keys))
    totals: dict[tuple[str, str], int] = {}
    if not keys:
        return totals
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        _put(connection, stock_items, [{"node": n, "sku": s} for n, s in keys], lambda i: i.on_conflict_do_nothing())
    item = [stock_items.c.node, stock_items.c.sku]
    for chunk in _chunks(keys):
        query = sa.select(*item, stock_items.c.on_hand).where(_among(connection, item, chunk))
        if postgresql:
            query = query.order_by(*item).with_for_update()
        totals.update({(node, sku): on_hand for node, sku, on_hand in connection.execute(query)})
    return totals


def problem_message(rejections: Sequence[Rejection]) -> dict[str, Any]:
    """One error for an event's rejections: the first one's code and field, every message."""
    first = rejections[0]
    message = "; ".join(f"{r.field}: {r.message}" if r.field else r.message for r in rejections)
    return {"code": first.code, "message": message, "field": first.field}


# ---- deciding ---------------------------------------------------------------------------------


def _parse(items: Sequence[Any], decisions: _Decisions) -> list[_Candidate]:
    parsed = []
    for index, item in enumerate(items):
        try:
            event = item if isinstance(item, StockEvent) else StockEvent.model_validate(item)
        except ValidationError as error:
            for problem in error.errors(include_url=False):
                where = ".".join(str(part) for part in problem["loc"]) or None
                decisions.reject(index, text_in(item, "event_id"), INVALID, where, problem["msg"])
            continue
        parsed.append(_Candidate(index, event, event.body_hash()))
    return parsed


def _new_events(
    connection: sa.Connection, parsed: list[_Candidate], decisions: _Decisions
) -> tuple[list[_Candidate], list[int]]:
    """Events not seen before; the same id with the same body is a duplicate, with another a conflict."""
    ids = {candidate.event.event_id for candidate in parsed}
    known = dict(
        _select_in(connection, [stock_events.c.event_id, stock_events.c.body_hash], [stock_events.c.event_id], ids)
    )
    fresh, duplicates = [], []
    for candidate in parsed:
        event_id = candidate.event.event_id
        digest = known.get(event_id)
        if digest is None:
            known[event_id] = candidate.digest
            fresh.append(candidate)
        elif digest == candidate.digest:
            duplicates.append(candidate.index)
        else:
            decisions.reject(
                candidate.index,
                event_id,
                CONFLICT,
                "event_id",
                f"event {event_id} exists with a different body: an event is never changed, send a new one",
            )
    return fresh, duplicates


def _with_free_sequences(
    connection: sa.Connection, candidates: list[_Candidate], decisions: _Decisions
) -> list[_Candidate]:
    """A source numbers each of its events once: a sequence another event holds is refused."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for candidate in candidates:
        if candidate.event.sequence is not None:
            wanted[candidate.event.source].add(candidate.event.sequence)
    holder = {}
    for source, sequences in sorted(wanted.items()):
        rows = _select_in(
            connection,
            [stock_events.c.sequence, stock_events.c.event_id],
            [stock_events.c.sequence],
            sequences,
            stock_events.c.source == source,
        )
        holder.update({(source, sequence): event_id for sequence, event_id in rows})
    kept = []
    for candidate in candidates:
        event = candidate.event
        key = (event.source, event.sequence)
        if event.sequence is not None and key in holder:
            decisions.reject(
                candidate.index,
                event.event_id,
                SEQUENCE,
                "sequence",
                f"sequence {event.sequence} of source {event.source} is event {holder[key]}'s",
            )
            continue
        if event.sequence is not None:
            holder[key] = event.event_id
        kept.append(candidate)
    return kept


def _paired(connection: sa.Connection, candidates: list[_Candidate], decisions: _Decisions) -> list[_Candidate]:
    bad = _reservations_fit(connection, candidates, decisions) | _transfers_fit(connection, candidates, decisions)
    return [candidate for candidate in candidates if candidate.index not in bad]


def _reservations_fit(connection: sa.Connection, candidates: list[_Candidate], decisions: _Decisions) -> set[int]:
    """One reservation event per reservation id; releases at its node and SKU, of at most what it holds.
    Reservations are taken first, so a release may follow its reservation anywhere in the same batch."""
    ours = [c for c in candidates if c.event.kind in (Kind.RESERVATION, Kind.RELEASE)]
    columns = [stock_reservations.c[name] for name in ("reservation_id", "node", "sku", "qty", "released")]
    reservations = {
        row.reservation_id: _Reserved(row.node, row.sku, row.qty, row.released)
        for row in _select_in(
            connection, columns, [stock_reservations.c.reservation_id], {c.event.reservation_id for c in ours}
        )
    }
    bad = set()
    for candidate in sorted(ours, key=lambda c: (c.event.kind != Kind.RESERVATION, c.index)):
        event, rid = candidate.event, candidate.event.reservation_id
        held = reservations.get(rid)
        if event.kind == Kind.RESERVATION:
            if held is None:
                reservations[rid] = _Reserved(event.node, event.sku, event.qty, 0)
                continue
            problem = (PAIRING, "reservation_id", f"reservation {rid} exists already: release it to change it")
        elif held is None:
            problem = (PAIRING, "reservation_id", f"no reservation {rid} to release")
        elif (held.node, held.sku) != (event.node, event.sku):
            problem = (PAIRING, "reservation_id", f"reservation {rid} is for {held.sku} at {held.node}")
        elif event.qty > held.qty - held.released:
            problem = (
                OVER_RELEASE,
                "qty",
                f"releases {event.qty} but reservation {rid} holds {held.qty - held.released}",
            )
        else:
            held.released += event.qty
            continue
        decisions.reject(candidate.index, event.event_id, *problem)
        bad.add(candidate.index)
    return bad


def _transfers_fit(connection: sa.Connection, candidates: list[_Candidate], decisions: _Decisions) -> set[int]:
    """A transfer is one transfer_out and one transfer_in of the same SKU and quantity, the in at the
    out's ``to_node``. Either leg may come first; the second must match the first."""
    ours = [c for c in candidates if c.event.kind in (Kind.TRANSFER_OUT, Kind.TRANSFER_IN)]
    columns = [stock_events.c[name] for name in ("transfer_id", "kind", "node", "to_node", "sku", "qty")]
    legs: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in _select_in(connection, columns, [stock_events.c.transfer_id], {c.event.transfer_id for c in ours}):
        legs[row.transfer_id][row.kind] = row
    bad = set()
    for candidate in sorted(ours, key=lambda c: (c.event.kind != Kind.TRANSFER_OUT, c.index)):
        event = candidate.event
        mine = legs[event.transfer_id]
        other_kind = Kind.TRANSFER_IN if event.kind == Kind.TRANSFER_OUT else Kind.TRANSFER_OUT
        other = mine.get(other_kind)
        if event.kind in mine:
            problem = f"transfer {event.transfer_id} has its {event.kind} already"
        elif other is not None and (mismatch := _mismatch(event, other)):
            problem = f"transfer {event.transfer_id}: {mismatch}"
        else:
            mine[event.kind] = event
            continue
        decisions.reject(candidate.index, event.event_id, PAIRING, "transfer_id", problem)
        bad.add(candidate.index)
    return bad


def _mismatch(leg, other) -> str | None:
    out, into = (leg, other) if leg.kind == Kind.TRANSFER_OUT else (other, leg)
    if out.sku != into.sku:
        return f"transfer_out moves {out.sku}, transfer_in receives {into.sku}"
    if out.qty != into.qty:
        return f"transfer_out moves {out.qty} units, transfer_in receives {into.qty}"
    if out.to_node != into.node:
        return f"transfer_out goes to {out.to_node}, transfer_in is at {into.node}"
    return None


def _within_stock(
    connection: sa.Connection,
    config: InventoryConfig,
    totals: dict[tuple[str, str], int],
    candidates: list[_Candidate],
    decisions: _Decisions,
) -> tuple[list[_Candidate], list[int]]:
    """The negative-stock rule, per (node, sku) the batch ships from. On hand just before a moment is the
    item's total less the applied changes from that moment on, so only the changes from the batch's
    earliest shipment or transfer_out of the item on are read: none for a stream that comes in order,
    the days after it for a late one, never the rest of the ledger."""
    on_hand_changes: dict[tuple[str, str], list[_Candidate]] = defaultdict(list)
    for candidate in candidates:
        if candidate.event.kind in ON_HAND_SIGN:
            on_hand_changes[(candidate.event.node, candidate.event.sku)].append(candidate)
    first: dict[tuple[str, str], datetime] = {}
    for key, changes in on_hand_changes.items():
        checked = [c.event.occurred_at for c in changes if c.event.kind in _CHECKED]
        if checked:
            first[key] = min(checked)
    # Items whose checks start on the same day are read together, from the earliest of their starts.
    by_day: dict[date, list[tuple[str, str]]] = defaultdict(list)
    for key, moment in first.items():
        by_day[day_of(moment)].append(key)
    bad, negative = set(), []
    for keys in by_day.values():
        since = min(first[key] for key in keys)
        history = _on_hand_changes_since(connection, since, keys)
        for key in keys:
            opening = totals.get(key, 0) - sum(change for _, change in history[key])
            allowed = config.node(key[0]).allow_negative
            refused, below = _stock_decisions(opening, history[key], on_hand_changes[key], since, allowed)
            negative += below
            for candidate in refused:
                event = candidate.event
                decisions.reject(
                    candidate.index,
                    event.event_id,
                    NEGATIVE_STOCK,
                    "qty",
                    f"{event.kind} of {event.qty} would leave {event.sku} at {event.node} below 0 on hand"
                    " (the node does not allow negative stock)",
                )
                bad.add(candidate.index)
    return [candidate for candidate in candidates if candidate.index not in bad], negative


def _on_hand_changes_since(
    connection: sa.Connection, since: datetime, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], list[tuple[datetime, int]]]:
    """Per (node, sku): the applied changes to on hand at or after ``since``."""
    history: dict[tuple[str, str], list[tuple[datetime, int]]] = defaultdict(list)
    item = [stock_events.c.node, stock_events.c.sku]
    for chunk in _chunks(sorted(keys)):
        rows = connection.execute(
            sa.select(*item, stock_events.c.kind, stock_events.c.qty, stock_events.c.occurred_at).where(
                _among(connection, item, chunk),
                stock_events.c.occurred_at >= since,
                stock_events.c.kind.in_([kind.value for kind in PHYSICAL]),
            )
        )
        for node, sku, kind, qty, occurred_at in rows:
            history[(node, sku)].append((occurred_at, ON_HAND_SIGN[Kind(kind)] * qty))
    return history


def _stock_decisions(
    opening: int,
    history: list[tuple[datetime, int]],
    changes: list[_Candidate],
    since: datetime,
    allow_negative: bool,
) -> tuple[list[_Candidate], list[int]]:
    """Which shipments and transfers out of one (node, sku) to refuse, and which leave it negative.

    On hand is judged after each instant (all changes at the same instant together, so the order
    of delivery never matters). A checked change is bad when on hand is below 0 at any instant from
    its own on, with it applied. When some are bad and the node does not allow it, they are taken
    one by one in batch order, each judged with those accepted before it.
    """
    for candidate in changes:
        if candidate.event.occurred_at < since:  # before the window: part of the opening balance
            opening += _on_hand_change(candidate.event)
    window = [c for c in changes if c.event.occurred_at >= since]
    instants = sorted({at for at, _ in history} | {c.event.occurred_at for c in window})
    position = {at: i for i, at in enumerate(instants)}
    fixed = [0] * len(instants)
    for at, change in history:
        fixed[position[at]] += change
    checked = []
    for candidate in window:
        if candidate.event.kind in _CHECKED:
            checked.append(candidate)
        else:
            fixed[position[candidate.event.occurred_at]] += _on_hand_change(candidate.event)

    def lowest_from(changes_at: list[int]) -> list[int]:
        """The lowest on hand at or after each instant."""
        balance, balances = opening, []
        for change in changes_at:
            balance += change
            balances.append(balance)
        for i in range(len(balances) - 2, -1, -1):
            balances[i] = min(balances[i], balances[i + 1])
        return balances

    every = list(fixed)
    for candidate in checked:
        every[position[candidate.event.occurred_at]] += _on_hand_change(candidate.event)
    lowest = lowest_from(every)
    below = [c for c in checked if lowest[position[c.event.occurred_at]] < 0]
    if not below:
        return [], []
    if allow_negative:
        return [], [c.index for c in below]
    refused, accepted = [], list(fixed)
    for candidate in sorted(checked, key=lambda c: c.index):
        trial = list(accepted)
        trial[position[candidate.event.occurred_at]] += _on_hand_change(candidate.event)
        if lowest_from(trial)[position[candidate.event.occurred_at]] < 0:
            refused.append(candidate)
        else:
            accepted = trial
    return refused, []


def _on_hand_change(event: StockEvent) -> int:
    return ON_HAND_SIGN[event.kind] * event.qty


# ---- writing ----------------------------------------------------------------------------------


def _write(connection: sa.Connection, candidates: list[_Candidate], received_at: datetime) -> None:
    if not candidates:
        return
    applied_at = now()
    events = [candidate.event for candidate in candidates]
    _put(
        connection,
        stock_events,
        [
            {
                **event.model_dump(),
                "kind": event.kind.value,
                "body_hash": candidate.digest,
                "received_at": received_at,
                "applied_at": applied_at,
            }
            for candidate, event in zip(candidates, events)
        ],
    )
    days = _day_sums(events)
    _add_up(connection, stock_days, ("node", "sku", "day"), [{**key, **sums} for key, sums in days])
    items: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(_POSITION, 0))
    for key, sums in days:
        for name in _POSITION:
            items[(key["node"], key["sku"])][name] += sums[name]
    _add_up(
        connection, stock_items, ("node", "sku"), [{"node": n, "sku": s, **v} for (n, s), v in sorted(items.items())]
    )
    _add_reservations(connection, events)
    _add_up(
        connection,
        stock_sources,
        ("source",),
        [
            {
                "source": source,
                "events": len(its),
                "last_sequence": max((e.sequence for e in its if e.sequence is not None), default=None),
                "last_received_at": received_at,
                "last_occurred_at": max(e.occurred_at for e in its),
            }
            for source, its in _grouped(events, lambda e: e.source)
        ],
        latest=("last_sequence", "last_received_at", "last_occurred_at"),
    )
    _add_up(
        connection,
        stock_nodes,
        ("node",),
        [
            {
                "node": node,
                "events": len(its),
                "last_received_at": received_at,
                "last_occurred_at": max(e.occurred_at for e in its),
            }
            for node, its in _grouped([e for e in events if e.kind in PHYSICAL], lambda e: e.node)
        ],
        latest=("last_received_at", "last_occurred_at"),
    )


_POSITION = ("on_hand", "reserved", "in_transit")


def _day_sums(events: list[StockEvent]) -> list[tuple[dict[str, Any], dict[str, int]]]:
    """The batch's changes summed per (node, sku, UTC day) each event touches, in key order."""
    names = (*_POSITION, "shipped", "returned")
    sums: dict[tuple[str, str, date], dict[str, int]] = defaultdict(lambda: dict.fromkeys(names, 0))
    for event in events:
        for effect in effects(event.kind, event.node, event.qty, event.to_node):
            row = sums[(effect.node, event.sku, event.day)]
            row["on_hand"] += effect.on_hand
            row["reserved"] += effect.reserved
            row["in_transit"] += effect.in_transit
        if event.kind in (Kind.SHIPMENT, Kind.RETURN):
            sums[(event.node, event.sku, event.day)]["shipped" if event.kind == Kind.SHIPMENT else "returned"] += (
                event.qty
            )
    return [({"node": n, "sku": s, "day": d}, row) for (n, s, d), row in sorted(sums.items())]


def _grouped(events: list[StockEvent], key: Callable[[StockEvent], str]) -> list[tuple[str, list[StockEvent]]]:
    groups: dict[str, list[StockEvent]] = defaultdict(list)
    for event in events:
        groups[key(event)].append(event)
    return sorted(groups.items())


def _add_up(
    connection: sa.Connection, table: sa.Table, key: tuple[str, ...], rows: list[dict], *, latest: tuple[str, ...] = ()
) -> None:
    """Upsert ``rows`` (one statement, executed for all): a new key is inserted; an existing one gets each
    value added, except the ``latest`` columns, which keep the larger value (NULL counts as smallest)."""
    if not rows:
        return
    added = [name for name in rows[0] if name not in key and name not in latest]

    def on_conflict(insert):
        def larger(name: str) -> sa.ColumnElement:
            mine, theirs = table.c[name], insert.excluded[name]
            return sa.case((sa.or_(mine.is_(None), theirs > mine), theirs), else_=mine)

        return insert.on_conflict_do_update(
            index_elements=[table.c[name] for name in key],
            set_={**{name: table.c[name] + insert.excluded[name] for name in added}, **{n: larger(n) for n in latest}},
        )

    _put(connection, table, rows, on_conflict)


def _add_reservations(connection: sa.Connection, events: list[StockEvent]) -> None:
    made = [event for event in events if event.kind == Kind.RESERVATION]
    _put(
        connection,
        stock_reservations,
        [
            {
                "reservation_id": event.reservation_id,
                "node": event.node,
                "sku": event.sku,
                "qty": event.qty,
                "released": 0,
                "due": event.due,
                "occurred_at": event.occurred_at,
            }
            for event in made
        ],
    )
    released: dict[str, int] = defaultdict(int)
    for event in events:
        if event.kind == Kind.RELEASE:
            released[event.reservation_id] += event.qty
    if released:
        table = stock_reservations
        connection.execute(
            table.update()
            .where(table.c.reservation_id == sa.bindparam("rid"))
            .values(released=table.c.released + sa.bindparam("units")),
            [{"rid": rid, "units": units} for rid, units in sorted(released.items())],
        )


def _dead_letters(
    connection: sa.Connection, items: Sequence[Any], decisions: _Decisions, received_at: datetime
) -> tuple[int, ...]:
    rows = []
    for index in sorted(decisions.rejected):
        body = _as_json(items[index])
        rows.append(
            {
                "body": body,
                "source": text_in(body, "source"),
                "event_id": text_in(body, "event_id"),
                "received_at": received_at,
                "error": problem_message(decisions.rejected[index]),
                "status": "open",
            }
        )
    inserted = connection.execute(
        stock_dead_letters.insert().returning(stock_dead_letters.c.id, sort_by_parameter_order=True), rows
    )
    return tuple(inserted.scalars())


# ---- small helpers ----------------------------------------------------------------------------


def _items_of(event: StockEvent) -> list[tuple[str, str]]:
    """The (node, sku) pairs an event changes."""
    keys = [(event.node, event.sku)]
    if event.to_node is not None:
        keys.append((event.to_node, event.sku))
    return keys


def _select_in(
    connection: sa.Connection, columns: list, keys: list[sa.Column], values: Iterable, *where: sa.ColumnElement
) -> list[sa.Row]:
    """The rows whose ``keys`` take one of ``values`` (scalars for one key column, tuples for several)."""
    wanted = sorted(value for value in set(values) if value is not None)
    rows: list[sa.Row] = []
    for chunk in _chunks(wanted):
        rows += connection.execute(sa.select(*columns).where(_among(connection, keys, chunk), *where)).all()
    return rows


def _among(connection: sa.Connection, keys: list[sa.Column], values: list) -> sa.ColumnElement:
    """``keys`` take one of ``values``: an IN list on SQLite; on PostgreSQL one array per key column, so the
    statement stays short and alike whatever the batch (the server and the driver parse it quickly)."""
    if connection.dialect.name != "postgresql":
        return keys[0].in_(values) if len(keys) == 1 else sa.tuple_(*keys).in_(values)
    tuples = values if len(keys) > 1 else [(value,) for value in values]
    arrays = [sa.literal([value[i] for value in tuples], ARRAY(key.type)) for i, key in enumerate(keys)]
    listed = sa.select(sa.func.unnest(*arrays).table_valued(*(key.name for key in keys)).render_derived())
    return sa.tuple_(*keys).in_(listed)


def _put(
    connection: sa.Connection,
    table: sa.Table,
    rows: list[dict[str, Any]],
    on_conflict: Callable[[Any], Any] | None = None,
) -> None:
    """Insert ``rows`` (all with the same keys): on PostgreSQL one INSERT … SELECT from arrays (a statement
    per row would each be planned and run apart); on SQLite one statement run for every row, in the
    process. ``on_conflict(insert)`` returns the insert with its ON CONFLICT clause."""
    if not rows:
        return
    insert = upsert(connection, table)
    if connection.dialect.name == "postgresql":
        names = list(rows[0])
        values = {name: [row[name] for row in rows] for name in names}
        # A column with one value for every row (the batch's received_at, a kind's empty fields) is sent once.
        varying = [name for name in names if any(value != values[name][0] for value in values[name])] or names[:1]
        arrays = [sa.literal(values[name], ARRAY(table.c[name].type)) for name in varying]
        unnested = sa.func.unnest(*arrays).table_valued(*varying).render_derived()
        columns = [unnested.c[n] if n in varying else sa.literal(values[n][0], table.c[n].type) for n in names]
        insert = insert.from_select(names, sa.select(*columns).select_from(unnested))
        connection.execute(on_conflict(insert) if on_conflict else insert)
    else:
        connection.execute(on_conflict(insert) if on_conflict else insert, rows)


def _chunks(values: list) -> Iterator[list]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _as_json(item: Any) -> Any:
    """A batch item as JSON values, whatever it is (a dead letter keeps even a body that is not an event)."""
    if isinstance(item, StockEvent):
        return item.body()
    return json.loads(json.dumps(item, default=str))


def text_in(body: Any, name: str) -> str | None:
    """A text field of a raw body, if it is a JSON object with one."""
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None
