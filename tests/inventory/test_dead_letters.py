"""Dead letters, on SQLite and PostgreSQL: listed, fixed, replayed, discarded."""

from __future__ import annotations

import pytest

from inventory import DeadLetterNotFound, DeadLetterNotOpen
from tests.inventory.conftest import NODE, SKU, at, event


@pytest.fixture
def letters(ledger):
    """A partial batch whose shipment found no stock and whose second item was no event at all."""
    result = ledger.ingest([event("big", "shipment", 4, at(1)), {"event_id": "junk"}], partial=True)
    assert result.applied == () and len(result.dead_letters) == 2
    return result.dead_letters


def test_a_dead_letter_stays_open_until_a_replay_succeeds(ledger, letters):
    shipment, _ = letters
    failed = ledger.replay(shipment)
    assert failed.refused and failed.rejected[0].code == "negative_stock"
    assert ledger.dead_letter(shipment).status == "open"
    ledger.ingest([event("in", "receipt", 5, at(0))])
    replayed = ledger.replay(shipment)
    assert replayed.applied == (0,)
    letter = ledger.dead_letter(shipment)
    assert (letter.status, letter.replayed_event) == ("replayed", "big") and letter.replayed_at is not None
    assert ledger.position(NODE, SKU).on_hand == 1
    with pytest.raises(DeadLetterNotOpen):
        ledger.replay(shipment)


def test_a_replay_that_fails_records_the_new_error(ledger, letters):
    _, junk = letters
    assert ledger.dead_letter(junk).error["code"] == "invalid"
    ledger.fix(junk, event("junk", "receipt", 3, at(0), reason=""))
    assert ledger.replay(junk).refused
    letter = ledger.dead_letter(junk)
    assert letter.status == "open" and letter.error["field"] == "reason" and letter.source == "pos"


def test_a_fixed_dead_letter_replays_with_its_original_received_time(ledger, letters):
    _, junk = letters
    received = ledger.dead_letter(junk).received_at
    fixed = ledger.fix(junk, event("junk", "receipt", 3, at(0)))
    assert fixed.body["qty"] == 3 and fixed.event_id == "junk"
    assert ledger.replay(junk).applied == (0,)
    assert ledger.position(NODE, SKU).on_hand == 3
    assert ledger.sources()[0].last_received_at == received
    assert [letter.id for letter in ledger.dead_letters()] == [letters[0]]
    assert [letter.status for letter in ledger.dead_letters(status=None)] == ["open", "replayed"]


def test_a_discarded_dead_letter_keeps_its_reason_and_is_closed(ledger, letters):
    shipment, _ = letters
    with pytest.raises(ValueError, match="reason"):
        ledger.discard(shipment, " ")
    discarded = ledger.discard(shipment, "sent twice by the old POS")
    assert (discarded.status, discarded.discard_reason) == ("discarded", "sent twice by the old POS")
    with pytest.raises(DeadLetterNotOpen):
        ledger.fix(shipment, event("big", "shipment", 1, at(1)))
    assert [letter.status for letter in ledger.dead_letters(status="discarded")] == ["discarded"]
    with pytest.raises(DeadLetterNotFound):
        ledger.discard(999, "no such letter")


def test_replaying_an_event_applied_meanwhile_is_a_duplicate_and_closes_the_letter(ledger, letters):
    shipment, _ = letters
    ledger.ingest([event("in", "receipt", 5, at(0)), event("big", "shipment", 4, at(1))])
    assert ledger.replay(shipment).duplicates == (0,)
    assert ledger.dead_letter(shipment).status == "replayed"
    assert ledger.position(NODE, SKU).on_hand == 1
