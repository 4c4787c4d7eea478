"""A stock event (ARCHITECTURE.md, "Stock event") and what it does to a position.

An event is a fact a source reports about one node and one SKU: units received,
shipped, returned, adjusted (with a reason), reserved, released, or moved between
nodes as a linked pair (``transfer_out`` at the sender naming ``to_node``, then
``transfer_in`` at the receiver, sharing a ``transfer_id``). ``event_id`` is the
idempotency key: the same id with the same body (``body_hash``) is the same event.

Effects on a position (on hand, reserved, in transit):

============  ====================================================================
receipt       +on_hand
return        +on_hand
shipment      −on_hand
adjustment    ±on_hand (``qty`` is signed)
reservation   +reserved
release       −reserved
transfer_out  −on_hand at ``node``, +in_transit at ``to_node``
transfer_in   +on_hand and −in_transit at ``node`` (the receiver)
============  ====================================================================
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

__all__ = ["Effect", "Kind", "StockEvent", "day_of", "effects", "start_of"]

Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class Kind(StrEnum):
    RECEIPT = "receipt"
    SHIPMENT = "shipment"
    RETURN = "return"
    ADJUSTMENT = "adjustment"
    RESERVATION = "reservation"
    RELEASE = "release"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"


TRANSFERS = (Kind.TRANSFER_OUT, Kind.TRANSFER_IN)
RESERVATIONS = (Kind.RESERVATION, Kind.RELEASE)
# What changes on hand at the event's own node, per unit of ``qty`` (adjustments carry their sign in qty).
ON_HAND_SIGN = {
    Kind.RECEIPT: 1,
    Kind.RETURN: 1,
    Kind.ADJUSTMENT: 1,
    Kind.TRANSFER_IN: 1,
    Kind.SHIPMENT: -1,
    Kind.TRANSFER_OUT: -1,
}
# The events a node's own systems report; reservations and releases come from order taking.
PHYSICAL = tuple(ON_HAND_SIGN)


# The fields that link an event to another (its transfer's other leg, its reservation): required for
# these kinds, refused for the others.
_LINKS = {
    "transfer_id": (TRANSFERS, "a transfer"),
    "to_node": ((Kind.TRANSFER_OUT,), "a transfer_out (the receiver)"),
    "reservation_id": (RESERVATIONS, "a reservation or release"),
}


def _rule(message: str) -> PydanticCustomError:
    return PydanticCustomError("rule", message)


class StockEvent(BaseModel):
    """One reported stock event. Naive timestamps are refused; ``occurred_at`` is kept in UTC."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Name
    source: Name
    sequence: int | None = Field(default=None, ge=1, strict=True)  # the source's own counter: gaps show
    node: Name
    sku: Name
    kind: Kind
    qty: int = Field(strict=True)
    occurred_at: AwareDatetime
    # The checks below read ``kind`` (declared above them): pydantic validates fields in this order.
    reason: Name | None = Field(default=None, validate_default=True)
    transfer_id: Name | None = Field(default=None, validate_default=True)
    to_node: Name | None = Field(default=None, validate_default=True)
    reservation_id: Name | None = Field(default=None, validate_default=True)
    due: date | None = Field(default=None, validate_default=True)

    @field_validator("qty")
    @classmethod
    def _qty_fits_kind(cls, qty: int, info: ValidationInfo) -> int:
        kind = info.data.get("kind")
        if kind == Kind.ADJUSTMENT and qty == 0:
            raise _rule("an adjustment changes stock: qty must not be 0")
        if kind is not None and kind != Kind.ADJUSTMENT and qty <= 0:
            raise _rule(f"must be > 0 for a {kind} (only adjustments are signed)")
        return qty

    @field_validator("occurred_at")
    @classmethod
    def _in_utc(cls, occurred_at: datetime) -> datetime:
        return occurred_at.astimezone(UTC)

    @field_validator("reason")
    @classmethod
    def _reason_for_adjustments(cls, reason: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("kind") == Kind.ADJUSTMENT and reason is None:
            raise _rule('an adjustment needs a reason (e.g. "count", "damage")')
        return reason

    @field_validator("transfer_id", "to_node", "reservation_id")
    @classmethod
    def _only_for_its_kinds(cls, value: str | None, info: ValidationInfo) -> str | None:
        kinds, what = _LINKS[info.field_name]
        kind = info.data.get("kind")
        if kind is None:  # the kind itself is invalid: that is the error to report
            return value
        if kind in kinds and value is None:
            raise _rule(f"required for a {kind}")
        if kind not in kinds and value is not None:
            raise _rule(f"only for {what}, not a {kind}")
        return value

    @field_validator("to_node")
    @classmethod
    def _to_another_node(cls, to_node: str | None, info: ValidationInfo) -> str | None:
        if to_node is not None and to_node == info.data.get("node"):
            raise _rule("a transfer goes to another node")
        return to_node

    @field_validator("due")
    @classmethod
    def _due_for_reservations(cls, due: date | None, info: ValidationInfo) -> date | None:
        kind = info.data.get("kind")
        if due is not None and kind is not None and kind != Kind.RESERVATION:
            raise _rule("only a reservation has a due day")
        return due

    @property
    def day(self) -> date:
        return day_of(self.occurred_at)

    def body(self) -> dict[str, Any]:
        """The event as JSON values (what a dead letter keeps, and what ``body_hash`` reads)."""
        return self.model_dump(mode="json")

    def body_hash(self) -> str:
        """The canonical body's SHA-256: sorted keys, UTC timestamps, every field (absent ones as null)."""
        canonical = json.dumps(self.body(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Effect:
    """What one event changes at one node (units; signed)."""

    node: str
    on_hand: int = 0
    reserved: int = 0
    in_transit: int = 0


def effects(kind: Kind | str, node: str, qty: int, to_node: str | None = None) -> tuple[Effect, ...]:
    """The changes an event makes, one per node it touches (two for a transfer_out)."""
    kind = Kind(kind)
    if kind == Kind.RESERVATION:
        return (Effect(node, reserved=qty),)
    if kind == Kind.RELEASE:
        return (Effect(node, reserved=-qty),)
    if kind == Kind.TRANSFER_OUT:
        return Effect(node, on_hand=-qty), Effect(to_node, in_transit=qty)
    if kind == Kind.TRANSFER_IN:
        return (Effect(node, on_hand=qty, in_transit=-qty),)
    return (Effect(node, on_hand=ON_HAND_SIGN[kind] * qty),)


def day_of(moment: datetime) -> date:
    """The UTC day of a timestamp: positions are summed per UTC day."""
    return moment.astimezone(UTC).date()


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)
