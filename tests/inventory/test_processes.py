"""The ledger across real processes, on SQLite and PostgreSQL, on 127.0.0.1 only and bounded in count:
clients in several threads and OS processes reserving through a real ``capcast serve``, a writer
killed with SIGKILL in the middle of a batch, and a replay of a sales stream with duplicates,
reorderings and late events. (Dead letters fixed and replayed: ``test_dead_letters.py``.)"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from benchmarks.m5_stock import StreamConfig, event_stream, expected_positions, fault_counts, synthetic_sales
from benchmarks.service_process import running_service
from inventory import Ledger
from inventory.tables import stock_events

ROOT = Path(__file__).resolve().parents[2]
STOCK = 100
THREADS, PROCESSES, ATTEMPTS = 4, 2, 15  # each process runs THREADS clients; so does the test itself
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ledger_settings(database_url: str, source: str, token: str, folder: Path) -> dict[str, str]:
    """``capcast serve`` on ``database_url`` with one source token and no site (no first plan job)."""
    return {
        "CAPCAST_DATABASE_URL": database_url,
        "CAPCAST_TOKENS": json.dumps([{"name": source, "role": "source", "token": token}]),
        "CAPCAST_PLANNER_TOKEN": "planner",
        "CAPCAST_SITE": str(folder / "no-site.yaml"),
    }


def reserving(base: str, token: str, node: str, sku: str, prefix: str, threads: int, attempts: int) -> dict:
    """``threads`` clients each asking ``attempts`` times for 1 to 3 units: units asked and granted, and
    every answer that was neither a reservation nor a refusal for want of stock."""
    outcomes = {"asked": 0, "granted": 0, "errors": []}
    lock = threading.Lock()

    def client(n: int) -> None:
        try:
            ask(n)
        except Exception as error:  # a client that stops (a timeout, a body that is not JSON) is an error
            with lock:
                outcomes["errors"].append(f"client {n}: {type(error).__name__}: {error}")

    def ask(n: int) -> None:
        rng = random.Random(f"{prefix}-{n}")
        with httpx.Client(base_url=base, headers=bearer(token), timeout=60) as http:
            for attempt in range(attempts):
                qty = rng.randint(1, 3)
                body = {"reservation_id": f"{prefix}-{n}-{attempt}", "node": node, "sku": sku, "qty": qty}
                response = http.post("/inventory/reservations", json=body)
                error = response.json()["error"] if response.status_code == 409 else {}
                short = error.get("code") == "over_reservation" and error["details"][0]["available"] < qty
                with lock:
                    outcomes["asked"] += qty
                    if response.status_code == 201:
                        outcomes["granted"] += qty
                    elif not short:
                        outcomes["errors"].append(f"{response.status_code} {response.text[:200]}")

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcomes


# A client process: ready once imported, starts on a line on its standard input, prints its outcomes.
_RESERVING_PROCESS = """
import json, sys
from tests.inventory.test_processes import reserving
print("ready", flush=True)
sys.stdin.readline()
print(json.dumps(reserving(*json.loads(sys.argv[1]))), flush=True)
"""


def test_threads_and_processes_reserving_over_http_never_promise_more_than_the_stock(
    trained_home, database_url, engine, tmp_path
):
    ledger = Ledger(engine)
    receipt = {"event_id": "in", "source": "shop", "node": "store", "sku": "hot", "kind": "receipt", "qty": STOCK}
    ledger.ingest([receipt | {"occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}])
    with (
        open(tmp_path / "serve.log", "w") as log,
        running_service(trained_home, 180, log, env=ledger_settings(database_url, "shop", "s3", tmp_path)) as base,
    ):
        children = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _RESERVING_PROCESS,
                    json.dumps([base, "s3", "store", "hot", f"p{n}", THREADS, ATTEMPTS]),
                ],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for n in range(PROCESSES)
        ]
        try:
            assert [child.stdout.readline().strip() for child in children] == ["ready"] * PROCESSES
            for child in children:
                child.stdin.write("go\n")
                child.stdin.flush()
            mine = reserving(base, "s3", "store", "hot", "t", THREADS, ATTEMPTS)
            theirs = [json.loads(child.communicate(timeout=120)[0]) for child in children]
        finally:
            for child in children:
                child.kill()
                child.wait()
        outcomes = [mine, *theirs]
        assert [error for outcome in outcomes for error in outcome["errors"]] == []
        granted = sum(outcome["granted"] for outcome in outcomes)
        assert sum(outcome["asked"] for outcome in outcomes) > 2 * STOCK  # far more asked than there was
        assert STOCK - 3 < granted <= STOCK  # nearly all of it promised, never more
        today = datetime.now(UTC).date().isoformat()
        atp = httpx.get(f"{base}/inventory/atp", params={"sku": "hot", "node": "store", "from": today, "to": today})
        assert atp.json()["days"][0]["available"] == STOCK - granted
    assert ledger.position("store", "hot").reserved == granted


# A writer process: reads its batch, says it has begun, ingests it in one transaction, says it is done.
_WRITING_PROCESS = """
import json, sys, time
from capcast.database import engine
from inventory import Ledger
batch = json.loads(open(sys.argv[2]).read())
ledger = Ledger(engine(sys.argv[1]))
print("begun", flush=True)
started = time.perf_counter()
result = ledger.ingest(batch)
print("done", len(result.applied), time.perf_counter() - started, flush=True)
"""
ITEMS, BATCH = 50, 3000


def _batch(round_: int) -> list[dict]:
    """Receipts of 2 and shipments of 1 (each after a receipt of its item): +30 on hand for each item."""
    events = []
    for n in range(BATCH):
        receipt = (n // ITEMS) % 2 == 0
        events.append(
            {"event_id": f"kill-{round_}-{n}", "source": "writer", "node": "w", "sku": f"item-{n % ITEMS}"}
            | {"kind": "receipt" if receipt else "shipment", "qty": 2 if receipt else 1}
            | {"occurred_at": (T0 + timedelta(days=round_, seconds=n)).isoformat()}
        )
    return events


def _write_and_maybe_kill(url: str, batch_file: Path, after: float | None) -> str:
    """Run the writer; SIGKILL it ``after`` seconds once it has begun (None: let it finish). Its last word."""
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITING_PROCESS, url, str(batch_file)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline().strip() == "begun"
        if after is None:
            return writer.communicate(timeout=120)[0].strip()
        threading.Event().wait(after)
        writer.send_signal(signal.SIGKILL)
        rest = writer.communicate(timeout=60)[0].strip()
        return rest or "killed"
    finally:
        writer.kill()
        writer.wait()


def test_a_writer_killed_mid_batch_leaves_all_of_the_batch_or_none(database_url, engine, tmp_path):
    ledger = Ledger(engine)

    def state(round_: int) -> tuple[int, dict[str, int]]:
        with engine.connect() as connection:
            present = connection.execute(
                sa.select(sa.func.count()).where(stock_events.c.event_id.like(f"kill-{round_}-%"))
            ).scalar()
        return present, {p.sku: p.on_hand for p in ledger.positions(node="w")}

    rng = random.Random(7)
    duration, outcomes = 0.0, []
    # The first round runs to its end (how long a batch takes); the others are killed early, midway and late.
    for round_, window in enumerate([None, (0.05, 0.35), (0.35, 0.7), (0.7, 1.0)]):
        batch_file = tmp_path / f"batch-{round_}.json"
        batch_file.write_text(json.dumps(_batch(round_)))
        _, before = state(round_)
        after = {f"item-{i}": before.get(f"item-{i}", 0) + 30 for i in range(ITEMS)}
        said = _write_and_maybe_kill(database_url, batch_file, window and rng.uniform(*window) * duration)
        if window is None:
            duration = float(said.split()[-1])
        present, positions = state(round_)
        assert present in (0, BATCH), f"round {round_}: {present} of {BATCH} events written ({said})"
        assert positions == (after if present else before), f"round {round_} ({said})"
        outcomes.append(("all" if present else "none", said))
        if not present:  # what was not written is sent again: the ledger takes it whole
            assert len(ledger.ingest(_batch(round_)).applied) == BATCH
    assert outcomes[0][0] == "all"
    assert sum(said == "killed" for _, said in outcomes) >= 2, outcomes  # most writers were stopped midway


def test_a_replayed_sales_stream_with_duplicates_reorderings_and_late_events_sums_up(engine):
    """The M5 replay on a small synthetic frame of the same shape (3 stores x 4 items x 60 days)."""
    sales = synthetic_sales(3, 4, 60, seed=5)
    config = StreamConfig(duplicates=0.05, reorder=0.1, late=0.03, slot_hours=24, seed=3)
    batches = event_stream(sales, config)
    faults = fault_counts(batches)
    assert min(faults["duplicates"], faults["out_of_order"], faults["late"]) > 0
    ledger = Ledger(engine)
    results = [ledger.ingest(batch) for batch in batches]
    assert [r.rejected for r in results if r.rejected] == []
    assert sum(len(r.duplicates) for r in results) == faults["duplicates"]
    expected = expected_positions(sales, config)
    assert {(p.node, p.sku): p.on_hand for p in ledger.positions()} == expected
    assert all(source.gaps == [] for source in ledger.sources())
    shipped = sa.select(sa.func.sum(stock_events.c.qty)).where(stock_events.c.kind == "shipment")
    with engine.connect() as connection:
        assert int(connection.execute(shipped).scalar()) == int(sales["units"].sum())  # each unit sold, shipped once
