"""The stock event: what validates, what it changes, and when two bodies are the same event."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from inventory import Effect, Kind, StockEvent, effects
from tests.inventory.conftest import T0, event


def _problems(body: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as refused:
        StockEvent.model_validate(body)
    return {".".join(map(str, error["loc"])): error["msg"] for error in refused.value.errors()}


def test_a_valid_body_is_an_event_in_utc():
    parsed = StockEvent.model_validate(
        event("e1", "receipt", 5, T0, sequence=3) | {"occurred_at": "2026-03-02T11:00+02:00"}
    )
    assert parsed.occurred_at == T0 and parsed.occurred_at.utcoffset().total_seconds() == 0
    assert parsed.kind == Kind.RECEIPT and parsed.day == T0.date()


def test_every_bad_field_is_named():
    problems = _problems(event("", "sale", 5, T0) | {"qty": "5", "occurred_at": "2026-03-02T09:00:00", "colour": "red"})
    assert set(problems) == {"event_id", "kind", "qty", "occurred_at", "colour"}
    assert "timezone" in problems["occurred_at"]


def test_quantities_are_positive_except_signed_adjustments():
    assert set(_problems(event("e1", "shipment", 0, T0))) == {"qty"}
    assert set(_problems(event("e1", "shipment", -2, T0))) == {"qty"}
    assert set(_problems(event("e1", "adjustment", 0, T0, reason="count"))) == {"qty"}
    assert StockEvent.model_validate(event("e1", "adjustment", -2, T0, reason="damage")).qty == -2
    assert _problems(event("e1", "shipment", True, T0)) == {"qty": "Input should be a valid integer"}


def test_an_adjustment_needs_a_reason():
    assert set(_problems(event("e1", "adjustment", 3, T0))) == {"reason"}


def test_transfer_and_reservation_fields_belong_to_their_kinds():
    assert set(_problems(event("e1", "transfer_out", 3, T0))) == {"transfer_id", "to_node"}
    assert set(_problems(event("e1", "transfer_in", 3, T0, to_node="store-2"))) == {"transfer_id", "to_node"}
    assert set(_problems(event("e1", "transfer_out", 3, T0, transfer_id="t", to_node="store-1"))) == {"to_node"}
    assert set(_problems(event("e1", "reservation", 3, T0))) == {"reservation_id"}
    assert set(_problems(event("e1", "receipt", 3, T0, reservation_id="r", due="2026-03-05"))) == {
        "reservation_id",
        "due",
    }
    assert set(_problems(event("e1", "release", 3, T0, reservation_id="r", due="2026-03-05"))) == {"due"}


def test_the_same_moment_in_another_zone_is_the_same_body():
    here = StockEvent.model_validate(event("e1", "receipt", 5, T0))
    there = StockEvent.model_validate(event("e1", "receipt", 5, datetime.fromisoformat("2026-03-02T10:00:00+01:00")))
    other = StockEvent.model_validate(event("e1", "receipt", 6, T0))
    assert here.body_hash() == there.body_hash() != other.body_hash()


@pytest.mark.parametrize(
    ("kind", "qty", "expected"),
    [
        ("receipt", 5, (Effect("a", on_hand=5),)),
        ("return", 5, (Effect("a", on_hand=5),)),
        ("shipment", 5, (Effect("a", on_hand=-5),)),
        ("adjustment", -2, (Effect("a", on_hand=-2),)),
        ("reservation", 5, (Effect("a", reserved=5),)),
        ("release", 5, (Effect("a", reserved=-5),)),
        ("transfer_out", 5, (Effect("a", on_hand=-5), Effect("b", in_transit=5))),
        ("transfer_in", 5, (Effect("a", on_hand=5, in_transit=-5),)),
    ],
)
def test_what_each_kind_changes(kind, qty, expected):
    assert effects(kind, "a", qty, "b" if kind == "transfer_out" else None) == expected
