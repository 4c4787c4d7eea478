"""Property: however a stream of events is reordered, duplicated and cut into batches, the positions as
of every moment are those of applying it once in order (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from inventory import InventoryConfig, Ledger, NodeConfig
from tests.inventory.conftest import T0, event

# Negative stock allowed everywhere: a shipment delivered before its receipt applies all the same.
ANYTHING_GOES = InventoryConfig(default=NodeConfig(allow_negative=True))
NODES, SKUS = ("n1", "n2"), ("a", "b")
_examples = itertools.count()


# Hypothesis caches what it reads of the code (from collection on) under ./.hypothesis: keep it out of the tree.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "capcast-hypothesis")

step = st.tuples(
    st.sampled_from(["receipt", "shipment", "return", "adjustment", "reservation", "transfer"]),
    st.integers(1, 9),
    st.integers(0, 3 * 24 * 60),  # minutes after T0: three days, so day sums and same-day events both count
    st.sampled_from(NODES),
    st.sampled_from(SKUS),
    st.booleans(),  # adjustments: up or down
)


def _stream(steps, prefix: str) -> list[dict]:
    """Bodies for ``steps``; a transfer is two events, the in a few hours after the out. Names carry
    ``prefix`` so that every example has items of its own."""
    bodies = []
    for n, (kind, qty, minute, node, sku, up) in enumerate(steps):
        when, where = T0 + timedelta(minutes=minute), f"{prefix}{node}"
        common = {"node": where, "sku": sku, "source": f"{prefix}src", "sequence": len(bodies) + 1}
        if kind == "transfer":
            other = f"{prefix}{NODES[1 - NODES.index(node)]}"
            link = {"transfer_id": f"{prefix}t{n}"}
            bodies.append(event(f"{prefix}{n}o", "transfer_out", qty, when, **common, to_node=other, **link))
            arrival = when + timedelta(hours=qty)
            bodies.append(event(f"{prefix}{n}i", "transfer_in", qty, arrival, **common | {"node": other}, **link))
            bodies[-1]["sequence"] = len(bodies)
        elif kind == "adjustment":
            bodies.append(event(f"{prefix}{n}", kind, qty if up else -qty, when, **common, reason="count"))
        elif kind == "reservation":
            bodies.append(event(f"{prefix}{n}", kind, qty, when, **common, reservation_id=f"{prefix}r{n}"))
        else:
            bodies.append(event(f"{prefix}{n}", kind, qty, when, **common))
    return bodies


def _positions(ledger: Ledger, prefix: str, moments) -> list[tuple]:
    return [
        (moment, node, p.sku, p.on_hand, p.reserved, p.in_transit)
        for moment in moments
        for node in NODES
        for p in ledger.positions(node=f"{prefix}{node}", as_of=moment)
    ]


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
@settings(
    max_examples=40,
    deadline=timedelta(seconds=5),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(step, min_size=1, max_size=12), data=st.data())
def test_any_order_and_duplication_of_a_stream_gives_the_positions_of_applying_it_once_in_order(engine, steps, data):
    ledger = Ledger(engine, ANYTHING_GOES)  # one database for every example: names keep them apart
    example = next(_examples)
    in_order, shuffled = f"x{example}o-", f"x{example}s-"
    ordered = sorted(_stream(steps, in_order), key=lambda body: body["occurred_at"])
    assert ledger.ingest(ordered).applied == tuple(range(len(ordered)))

    bodies = _stream(steps, shuffled)
    delivered = data.draw(st.permutations(bodies), label="order")
    repeats = data.draw(st.lists(st.sampled_from(bodies), max_size=len(bodies)), label="sent again")
    delivered = data.draw(st.permutations(delivered + repeats), label="order with repeats")
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(delivered) - 1)), max_size=4), label="batches"))
    for start, end in itertools.pairwise([0, *cuts, len(delivered)]):
        result = ledger.ingest(delivered[start:end])
        assert result.ok, result.rejected

    moments = [*sorted({T0 + timedelta(minutes=s[2]) for s in steps}), T0 + timedelta(days=5)]
    moments += [moment - timedelta(microseconds=1) for moment in moments]
    assert _positions(ledger, shuffled, moments) == _positions(ledger, in_order, moments)
