"""Dead letters: events of partial batches that could not be applied, kept for an operator.

Each keeps the body as received (also when it was not a valid event), its source, when it was
received and why it failed ({code, message, field}). An open dead letter can be fixed (its body
replaced), replayed (applied now, with its original received_at: on success it is ``replayed``
and names the event; on failure it stays open with the new error) or discarded with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from capcast.database import now
from inventory.config import InventoryConfig
from inventory.ingest import IngestResult, apply_batch, problem_message, text_in
from inventory.tables import stock_dead_letters

__all__ = ["DeadLetter", "DeadLetterNotFound", "DeadLetterNotOpen", "discard", "fix", "listed", "replay"]


@dataclass(frozen=True)
class DeadLetter:
    id: int
    body: Any
    source: str | None
    event_id: str | None
    received_at: datetime
    error: dict[str, Any]
    status: str  # open | replayed | discarded
    replayed_at: datetime | None
    replayed_event: str | None
    discarded_at: datetime | None
    discard_reason: str | None


class DeadLetterNotFound(LookupError):
    def __init__(self, dead_letter_id: int):
        super().__init__(f"no dead letter {dead_letter_id}")
        self.id = dead_letter_id


class DeadLetterNotOpen(ValueError):
    """Only an open dead letter can be fixed, replayed or discarded."""

    def __init__(self, letter: DeadLetter):
        super().__init__(f"dead letter {letter.id} is {letter.status}, not open")
        self.letter = letter


def listed(
    connection: sa.Connection, *, status: str | None = "open", limit: int = 100, offset: int = 0
) -> list[DeadLetter]:
    """Dead letters, oldest first; ``status`` None for all."""
    query = sa.select(stock_dead_letters).order_by(stock_dead_letters.c.id).limit(limit).offset(offset)
    if status is not None:
        query = query.where(stock_dead_letters.c.status == status)
    return [DeadLetter(**row._mapping) for row in connection.execute(query)]


def get(connection: sa.Connection, dead_letter_id: int, *, lock: bool = False) -> DeadLetter:
    query = sa.select(stock_dead_letters).where(stock_dead_letters.c.id == dead_letter_id)
    row = connection.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise DeadLetterNotFound(dead_letter_id)
    return DeadLetter(**row._mapping)


def fix(connection: sa.Connection, dead_letter_id: int, body: Any) -> DeadLetter:
    """Replace the body of an open dead letter (it is checked when replayed, not here)."""
    _open(connection, dead_letter_id)
    _update(
        connection,
        dead_letter_id,
        body=body,
        source=text_in(body, "source"),
        event_id=text_in(body, "event_id"),
    )
    return get(connection, dead_letter_id)


def replay(connection: sa.Connection, config: InventoryConfig, dead_letter_id: int) -> IngestResult:
    """Apply an open dead letter's body now, in the caller's writing transaction."""
    letter = _open(connection, dead_letter_id)
    with connection.begin_nested() as attempt:  # a refusal undoes the attempt, not the new error below
        result = apply_batch(connection, config, [letter.body], received_at=letter.received_at, partial=False)
        if result.refused:
            attempt.rollback()
    if result.refused:
        _update(connection, dead_letter_id, error=problem_message(result.rejected))
    else:
        _update(
            connection, dead_letter_id, status="replayed", replayed_at=now(), replayed_event=letter.body["event_id"]
        )
    return result


def discard(connection: sa.Connection, dead_letter_id: int, reason: str) -> DeadLetter:
    if not reason.strip():
        raise ValueError("a discarded dead letter needs a reason")
    _open(connection, dead_letter_id)
    _update(connection, dead_letter_id, status="discarded", discarded_at=now(), discard_reason=reason)
    return get(connection, dead_letter_id)


def _open(connection: sa.Connection, dead_letter_id: int) -> DeadLetter:
    letter = get(connection, dead_letter_id, lock=True)
    if letter.status != "open":
        raise DeadLetterNotOpen(letter)
    return letter


def _update(connection: sa.Connection, dead_letter_id: int, **values: Any) -> None:
    connection.execute(stock_dead_letters.update().where(stock_dead_letters.c.id == dead_letter_id).values(**values))
