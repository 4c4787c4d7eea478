"""The stock ledger over the service: sources write their own events exactly once, bad batches are
named event by event, positions and ATP (with the approved plan's production) are read back, and
reservations never promise more than is available."""

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.serving.conftest import AS_PLANNER, PRODUCTION_NODE, as_source

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_ids = itertools.count()


def _event(kind="receipt", qty=10, node="store-1", sku="sku-a", source="store-1", **extra) -> dict:
    body = {"event_id": f"e{next(_ids)}", "source": source, "node": node, "sku": sku, "kind": kind, "qty": qty}
    return body | {"occurred_at": T0.isoformat()} | extra


def _post(client, events, source="store-1", **params):
    return client.post("/inventory/events", json={"events": events}, params=params, headers=as_source(source))


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


def _on_hand(client, node, sku, **params) -> int:
    [position] = client.get("/inventory/positions", params={"node": node, "sku": sku, **params}).json()
    return position["on_hand"]


def test_a_batch_is_applied_once_however_often_it_is_delivered(service_client):
    batch = [_event(sku="once", qty=7), _event(sku="once", kind="shipment", qty=2)]
    first = _post(service_client, batch).json()
    again = _post(service_client, batch).json()
    assert (first["applied"], first["duplicates"]) == ([0, 1], [])
    assert (again["applied"], again["duplicates"]) == ([], [0, 1])
    assert _on_hand(service_client, "store-1", "once") == 5


def test_a_reused_id_with_another_body_is_a_409_naming_the_event(service_client):
    event = _event(sku="conflict")
    _post(service_client, [event])
    error = _error(_post(service_client, [_event(sku="conflict"), {**event, "qty": 99}]), 409)
    assert error["code"] == "conflict" and error["details"][0]["field"] == "events.1.event_id"
    assert _on_hand(service_client, "store-1", "conflict") == 10  # nothing of the refused batch applied


def test_a_bad_batch_is_refused_whole_or_partly_applied_with_dead_letters(service_client):
    batch = [_event(sku="bad"), _event(sku="bad", kind="theft"), _event(sku="bad", qty=-3)]
    error = _error(_post(service_client, batch), 422)
    assert [d["field"] for d in error["details"]] == ["events.1.kind", "events.2.qty"]
    assert service_client.get("/inventory/positions", params={"sku": "bad"}).json() == []
    partial = _post(service_client, batch, partial="true").json()
    assert partial["applied"] == [0] and [r["index"] for r in partial["rejected"]] == [1, 2]
    assert len(partial["dead_letters"]) == 2 and _on_hand(service_client, "store-1", "bad") == 10


def test_a_shipment_beyond_stock_is_refused(service_client):
    error = _error(_post(service_client, [_event(sku="empty", kind="shipment", qty=1)]), 422)
    assert error["details"][0]["code"] == "negative_stock"


@pytest.mark.parametrize(
    "headers, events, status, field",
    [
        ({}, [_event()], 401, None),
        (AS_PLANNER, [_event()], 403, None),
        (as_source("store-1"), [_event(source="plant", node="plant")], 403, "events.0.source"),
    ],
)
def test_only_a_source_writes_and_only_its_own_events(service_client, headers, events, status, field):
    response = service_client.post("/inventory/events", json={"events": events}, headers=headers)
    assert _error(response, status)["field"] == field


def test_positions_as_of_a_time_count_late_events_where_they_happened(service_client):
    _post(service_client, [_event(sku="late", qty=5, occurred_at=(T0 + timedelta(days=2)).isoformat())])
    _post(service_client, [_event(sku="late", qty=3, occurred_at=T0.isoformat())])  # arrives later, happened first
    day_one = (T0 + timedelta(days=1)).isoformat()
    assert _on_hand(service_client, "store-1", "late", as_of=day_one) == 3
    assert _on_hand(service_client, "store-1", "late") == 8
    naive = service_client.get("/inventory/positions", params={"as_of": "2026-03-03T00:00:00"})
    assert _error(naive, 422)["field"] == "as_of"


def test_reservations_never_promise_more_than_is_available(service_client):
    _post(service_client, [_event(sku="promise", qty=10)])
    body = {"reservation_id": "r1", "node": "store-1", "sku": "promise", "qty": 6}
    made = service_client.post("/inventory/reservations", json=body, headers=as_source("store-1"))
    assert made.status_code == 201 and made.json()["qty"] == 6
    retry = service_client.post("/inventory/reservations", json=body, headers=as_source("store-1"))
    assert retry.json()["qty"] == 6  # the same reservation, not a second one
    over = service_client.post("/inventory/reservations", json={**body, "reservation_id": "r2"}, headers=AS_PLANNER)
    error = _error(over, 409)
    assert error["code"] == "over_reservation" and error["details"][0]["available"] == 4
    released = service_client.post("/inventory/reservations/r1/release", json={"qty": 2}, headers=as_source("store-1"))
    assert released.json()["released"] == 2
    today = date.today().isoformat()
    atp = service_client.get("/inventory/atp", params={"sku": "promise", "node": "store-1", "from": today, "to": today})
    assert atp.json()["days"][0]["available"] == 6


def test_atp_at_the_plant_counts_the_approved_plans_production(service_client):
    from tests.serving.test_plans_api import _plan

    stored = _plan(service_client, {})
    service_client.post(f"/plans/{stored['id']}/approve", json={"by": "Ann"}, headers=AS_PLANNER)
    made = [f for f in stored["plan"]["families"] if f["production"] > 0]
    family, first = made[0]["family"], min(f["day"] for f in made)
    last = max(f["day"] for f in made if f["family"] == family)
    # The sample's plan lies in the past: ask as on its first day.
    params = {"sku": f"{family}-sku", "node": PRODUCTION_NODE, "from": first, "to": last, "today": first}
    answer = service_client.get("/inventory/atp", params=params).json()
    planned = sum(f["production"] for f in made if f["family"] == family and f["day"] <= last)
    assert sum(day["scheduled"] for day in answer["days"]) == planned  # each day's planned production
    assert answer["days"][-1]["available"] == planned  # the plant holds nothing else
    elsewhere = service_client.get("/inventory/atp", params={**params, "node": "store-1"}).json()
    assert sum(day["scheduled"] for day in elsewhere["days"]) == 0


def test_sources_show_their_gaps_and_nodes_their_age(service_client):
    _post(service_client, [_event(sku="seq", sequence=n) for n in (1, 2, 5)])
    source = next(s for s in service_client.get("/inventory/sources").json() if s["source"] == "store-1")
    assert [3, 4] in source["gaps"]
    node = next(n for n in service_client.get("/inventory/nodes").json() if n["node"] == "store-1")
    assert node["stale"] is True and node["age_s"] > 0  # its events happened long ago
    latency = service_client.get("/inventory/latency").json()
    assert any(row["node"] == "store-1" and row["count"] > 0 for row in latency)


def test_a_plan_can_start_from_the_ledgers_stock_at_the_plant(service_client):
    from tests.serving.test_plans_api import _plan

    site = service_client.get("/site").json()
    family = site["lines"][0]["families"][0]
    # Received the day the model's data ends: on hand when the plan starts, the day after.
    received = service_client.get("/model").json()["trained_until"] + "T12:00:00+00:00"
    receipt = _event(node=PRODUCTION_NODE, sku=f"{family}-sku", qty=321, source="plant", occurred_at=received)
    _post(service_client, [receipt], source="plant")
    stored = _plan(service_client, {"stock": "ledger"})
    lineage = stored["lineage"]
    assert lineage["opening_stock"].startswith("ledger as of ") and lineage["initial_inventory"][family] == 321
    first_day = min(f["day"] for f in stored["plan"]["families"])
    opening = next(f for f in stored["plan"]["families"] if f["family"] == family and f["day"] == first_day)
    assert opening["stock"] - opening["backlog"] == 321 + opening["production"] - opening["demand"]
    from_site = _plan(service_client, {})
    assert from_site["lineage"]["opening_stock"] == "site"
