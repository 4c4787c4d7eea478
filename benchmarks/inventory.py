"""The stock ledger's speed and correctness (issue 12) on this machine, on SQLite and PostgreSQL, in
process (``Ledger``) and over HTTP on 127.0.0.1 (a real ``capcast serve``, source tokens):

- ingestion throughput for batches of 1, 100 and 1,000 events (``CLIENTS`` sources sending at once);
- received→applied latency (the ledger's own times: the service stamps received_at before the batch
  waits for the database, the ledger stamps applied_at when it writes the events, before its commit)
  and the clients' round trip (which includes the commit) at a sustained load of 5,000 events/s, and
  again at a lower rate when that one is not reached;
- ATP query latency on a ledger of 10,000 SKUs x 20 nodes x one year of events (bulk-ingested);
- reservations by 32 concurrent clients over HTTP, checked for double-booked units;
- the M5 replay (``benchmarks.m5_stock``: 1% duplicates, 5% reordering, 1% late) ending with
  positions equal to the straight sum of the source data.

SQLite runs as capcast opens it (WAL; the run reports its journal and synchronous modes).
PostgreSQL is a throwaway server the benchmark starts (``benchmarks.postgres_process``, as the
tests do: initdb + pg_ctl as ``postgres``), here with fsync on unless ``--pg-fsync off``.

    python -m benchmarks.inventory                # the issue's sizes (about half an hour)
    python -m benchmarks.inventory --quick        # small sizes (a few minutes)
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import math
import os
import pstats
import random
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import numpy as np
import sqlalchemy as sa

from benchmarks.common import OUT, console, print_table, start, write_result
from benchmarks.m5 import DATA
from benchmarks.m5_stock import StreamConfig, event_stream, expected_positions, fault_counts, m5_sales, synthetic_sales
from benchmarks.postgres_process import postgres_server
from benchmarks.service_process import running_service
from capcast.database import engine as open_engine
from capcast.database import upgrade
from inventory import Ledger
from inventory.tables import stock_events

__all__ = ["ledger_service", "ledger_settings", "main", "parser", "served_home"]

CLIENTS = 4  # sources sending at once in the throughput runs
BATCH_SIZES = (1, 100, 1000)
RESERVING_CLIENTS = 32
TARGETS = {"sqlite": 5_000, "postgresql": 10_000}  # events/s, batched (1,000 events a batch)
ATP_P99_MS, LATENCY_P99_MS = 20.0, 100.0
# The sustained load: this many sources, each sending batches of this size, offering this rate together.
SUSTAINED_RATE, SUSTAINED_BATCH, SUSTAINED_SOURCES = 5_000, 250, 10
PLANNER_TOKEN = "benchmark-planner"
LOGS = OUT / "inventory-logs"  # the services' output, kept for a look at any failed request


@dataclass(frozen=True)
class Sizes:
    repeats: int  # runs of each throughput figure: medians are reported
    batches: dict[int, int]  # batch size → batches each client sends per run
    sustained_s: float
    atp_skus: int
    atp_nodes: int
    atp_days: int
    atp_ship_every: int  # days between an item's shipments; a receipt covers three of them
    atp_queries: int
    reservation_attempts: int
    replay_series: int | None
    replay_days: int


FULL = Sizes(5, {1: 100, 100: 20, 1000: 5}, 30, 10_000, 20, 365, 60, 2_000, 100_000, None, 365)
QUICK = Sizes(3, {1: 30, 100: 5, 1000: 2}, 10, 500, 5, 60, 7, 300, 2_000, 40, 60)


# ---- the databases and the service ----------------------------------------------------------------


@contextmanager
def database_urls(kind: str, count: int, folder: Path, *, fsync: bool) -> Iterator[tuple[list[str], str]]:
    """``count`` fresh, empty databases of ``kind``; yields (URLs, how commits are made durable)."""
    if kind == "sqlite":
        urls = [f"sqlite:///{folder / f'ledger-{n}.db'}" for n in range(count)]
        engine = open_engine(urls[0])  # as capcast opens it
        with engine.connect() as connection:
            journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
        engine.dispose()
        yield urls, f"journal {journal}, synchronous {({0: 'OFF', 1: 'NORMAL', 2: 'FULL', 3: 'EXTRA'})[synchronous]}"
        return
    with postgres_server(fsync=fsync) as new_database:  # the tests' throwaway server, here with fsync on
        urls = [new_database() for _ in range(count)]
        engine = sa.create_engine(urls[0])
        with engine.connect() as connection:
            durability = "fsync " + connection.exec_driver_sql("SHOW fsync").scalar()
            durability += ", synchronous_commit " + connection.exec_driver_sql("SHOW synchronous_commit").scalar()
        engine.dispose()
        yield urls, durability


def migrated(url: str) -> sa.Engine:
    engine = open_engine(url)
    upgrade(engine)
    return engine


def served_home(folder: Path) -> Path:
    """A CAPCAST_HOME with a small trained champion (the service needs one to start); seconds to make."""
    from features.generate import SampleConfig, write_sample
    from features.io import load_panel
    from training.tracking import TrackingConfig
    from training.train import TrainConfig, train

    sample, _ = write_sample(folder / "data", seed=3, config=SampleConfig(products=2, locations=1, days=120))
    panel = load_panel(sample.parent)
    train(panel, TrackingConfig.embedded(folder), TrainConfig(horizon=7, n_estimators=10, num_threads=1))
    return folder


def ledger_settings(home: Path, database_url: str, tokens: dict[str, str]) -> dict[str, str]:
    """The service's settings for a ledger on ``database_url`` with a source token per name in
    ``tokens``: no site (no first plan job competes for the cores), the default ledger configuration."""
    return {
        "CAPCAST_DATABASE_URL": database_url,
        "CAPCAST_TOKENS": json.dumps([{"name": n, "role": "source", "token": t} for n, t in tokens.items()]),
        "CAPCAST_PLANNER_TOKEN": PLANNER_TOKEN,
        "CAPCAST_SITE": str(home / "ledger-service-has-no-site.yaml"),
        "CAPCAST_INVENTORY": str(home / "ledger-service-default-inventory.yaml"),
    }


@contextmanager
def ledger_service(home: Path, database_url: str, tokens: dict[str, str], log: IO | None = None) -> Iterator[str]:
    """``capcast serve`` of ``home``'s champion with ``ledger_settings``; yields the base URL."""
    with running_service(home, ready_timeout_s=180, log=log, env=ledger_settings(home, database_url, tokens)) as base:
        yield base


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---- workloads ------------------------------------------------------------------------------------


class _Streams:
    """Per source, its events in the order it sends them (a store's receipts, shipments and returns,
    no faults), taken from the front run after run so that every batch is new to the ledger."""

    def __init__(self, prefix: str, sources: int, events_each: int, seed: int, start: date):
        skus = 50
        days = math.ceil(events_each / skus) + 14  # about 1.3 events an item a day: enough to spare
        sales = synthetic_sales(sources, skus, days, seed=seed, start=start)
        sales["node"] = prefix + sales["node"]
        config = StreamConfig(duplicates=0, reorder=0, late=0, slot_hours=24, batch=10**9, seed=seed)
        self.events: dict[str, list[dict]] = defaultdict(list)
        for batch in event_stream(sales, config):
            self.events[batch[0]["source"]] += batch
        self._taken = dict.fromkeys(self.events, 0)
        short = [source for source, events in self.events.items() if len(events) < events_each]
        if short:
            raise RuntimeError(f"the workload of {short[0]} is too short: {len(self.events[short[0]])}")

    def rewind(self) -> None:
        """From the front again (for a fresh database)."""
        self._taken = dict.fromkeys(self.events, 0)

    @property
    def sources(self) -> list[str]:
        return sorted(self.events)

    def take(self, source: str, count: int) -> list[dict]:
        first = self._taken[source]
        self._taken[source] = first + count
        if first + count > len(self.events[source]):
            raise RuntimeError(f"the workload of {source} ran out")
        return self.events[source][first : first + count]


def _atp_batches(sizes: Sizes, now: datetime, batch: int = 10_000) -> Iterator[list[dict]]:
    """One year (``atp_days``) of events for every item (node, sku), day after day as they would arrive:
    a receipt every 3 x ``atp_ship_every`` days covering the three shipments after it (items staggered
    over the days), then a reservation due in the next 4 weeks for one item in five. Nothing occurs
    after ``now``."""
    rng = random.Random(11)
    start, latest = now.date() - timedelta(days=sizes.atp_days), now - timedelta(seconds=1)
    every, count = sizes.atp_ship_every, sizes.atp_nodes * sizes.atp_skus
    shipped = [rng.randint(1, 5) for _ in range(count)]
    pending: list[dict] = []

    def add(item: int, kind: str, qty: int, day: int, hour: int, **extra: Any) -> None:
        node, sku = f"atp-{item // sizes.atp_skus:02d}", f"sku-{item % sizes.atp_skus:05d}"
        midnight = datetime.combine(start + timedelta(days=day), datetime.min.time(), UTC)
        pending.append(
            {"event_id": f"{node}/{sku}/{kind}/{day}", "source": node, "node": node, "sku": sku, "kind": kind}
            | {"qty": qty, "occurred_at": min(midnight + timedelta(hours=hour), latest).isoformat(), **extra}
        )

    for day in range(sizes.atp_days + 1):
        for offset in range(min(every, day + 1)):  # the items (offset, offset + every, ...) start on day offset
            phase = (day - offset) % (3 * every)
            kind = "receipt" if phase == 0 else "shipment" if phase % every == every // 3 + 1 else None
            for item in range(offset, count, every) if kind else ():
                add(
                    item,
                    kind,
                    shipped[item] if kind == "shipment" else 3 * shipped[item] + 2,
                    day,
                    6 + 6 * (kind == "shipment"),
                )
            if len(pending) >= batch:
                yield pending
                pending = []
    for item in range(count):
        if rng.random() < 0.2:
            due = (now.date() + timedelta(days=rng.randint(1, 28))).isoformat()
            add(item, "reservation", 1, sizes.atp_days, 0, reservation_id=f"item-{item}", due=due)
    yield pending


# ---- measurements ---------------------------------------------------------------------------------


def _at_once(work: Callable[[int], Any], count: int) -> tuple[list[Any], float]:
    """``work(i)`` on ``count`` threads released together; their results and the seconds until the last ended."""
    barrier = threading.Barrier(count + 1)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except BaseException as error:  # re-raised in the caller's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results, time.perf_counter() - started


def _in_process_sender(ledger: Ledger) -> Callable[[str], Callable[[list[dict]], None]]:
    def sender(_source: str) -> Callable[[list[dict]], None]:
        def send(batch: list[dict]) -> None:
            result = ledger.ingest(batch)
            if len(result.applied) + len(result.duplicates) != len(batch):
                raise RuntimeError(f"a batch was not applied: {result.rejected[:3]}")

        return send

    return sender


def _http_sender(base: str, tokens: dict[str, str]) -> Callable[[str], Callable[[list[dict]], None]]:
    clients: dict[str, httpx.Client] = {}

    def sender(source: str) -> Callable[[list[dict]], None]:
        if source not in clients:
            clients[source] = httpx.Client(base_url=base, headers=bearer(tokens[source]), timeout=120)
        client = clients[source]

        def send(batch: list[dict]) -> None:
            response = client.post("/inventory/events", json={"events": batch})
            if response.status_code != 200:
                raise RuntimeError(f"POST /inventory/events: {response.status_code} {response.text[:300]}")

        return send

    return sender


def ingestion_rows(
    database: str, path: str, sender, streams: _Streams, sizes: Sizes, before: Callable[[], Any] | None = None
) -> list[dict]:
    """Events/s per batch size: ``CLIENTS`` sources each sending its batches one after another;
    ``before()`` runs before each batch size's runs (``--analyze``), untimed."""
    rows = []
    for size in BATCH_SIZES:
        if before is not None:
            before()
        rates = []
        for _ in range(sizes.repeats):
            sources = streams.sources[:CLIENTS]
            work = [[streams.take(s, size) for _ in range(sizes.batches[size])] for s in sources]
            sends = [sender(s) for s in sources]
            _, seconds = _at_once(lambda i, work=work, sends=sends: [sends[i](b) for b in work[i]], len(sources))
            rates.append(sum(map(len, itertools.chain(*work))) / seconds)
        target = TARGETS[database] if size == max(BATCH_SIZES) else None
        median = statistics.median(rates)
        rows.append(
            {
                "database": database,
                "path": path + (" (analyzed)" if before is not None else ""),
                "batch": size,
                "clients": CLIENTS,
                "events/s": round(median),
                "min": round(min(rates)),
                "max": round(max(rates)),
                "target": f">= {target:,}" if target else "",
                "met": ("met" if median >= target else f"not met ({median / target:.0%})") if target else "",
            }
        )
        console.print(f"  {database} {path} batch {size}: {median:,.0f} events/s", highlight=False)
    return rows


def sustained_row(
    database: str, base: str, engine: sa.Engine, streams: _Streams, tokens: dict[str, str], seconds: float, rate: int
) -> dict:
    """Every source sends a batch at fixed times (open loop: a late answer delays only its own source's
    next batch) so that together they offer ``rate`` events/s; latency from the ledger's own times
    (received→applied) and from the clients (request → answer)."""
    batch = SUSTAINED_BATCH
    sources = streams.sources
    interval = batch * len(sources) / rate
    started_wall = datetime.now(UTC)
    origin = time.perf_counter() + 0.5

    def client(i: int) -> tuple[list[tuple[float, float, int]], list[str]]:
        http = httpx.Client(base_url=base, headers=bearer(tokens[sources[i]]), timeout=120)
        sent, failed = [], []
        for k in itertools.count():
            due = origin + (k + i / len(sources)) * interval
            if due > origin + seconds:
                return sent, failed
            time.sleep(max(0.0, due - time.perf_counter()))
            events = streams.take(sources[i], batch)
            began = time.perf_counter()
            for _ in range(10):  # a source sends a batch again until it is taken (applied once whatever happens)
                try:
                    response = http.post("/inventory/events", json={"events": events})
                except httpx.TransportError as error:
                    failed.append(f"{type(error).__name__}: {error}")
                    continue
                if response.status_code == 200:
                    break
                failed.append(f"{response.status_code} {response.text[:200]}")
            else:
                raise RuntimeError(f"POST /inventory/events failed 10 times: {failed[-1]}")
            sent.append((began, time.perf_counter(), len(events)))

    results, _ = _at_once(client, len(sources))
    sends = [s for result, _ in results for s in result]
    failures = [f for _, result in results for f in result]
    if failures:
        console.print(f"  {len(failures)} failed request(s) at {rate:,}/s; the first: {failures[0]}", highlight=False)
    finished = max(done for _, done, _ in sends)
    achieved = sum(n for _, _, n in sends) / (finished - origin)
    query = sa.select(stock_events.c.received_at, stock_events.c.applied_at).where(
        stock_events.c.received_at >= started_wall, stock_events.c.source.in_(sources)
    )
    with engine.connect() as connection:
        applied = [(a - r).total_seconds() * 1000 for r, a in connection.execute(query)]
    round_trip = [(done - began) * 1000 for began, done, _ in sends]
    p99 = float(np.percentile(applied, 99))
    reached = rate >= SUSTAINED_RATE and achieved >= 0.95 * rate
    meets = reached and p99 <= LATENCY_P99_MS
    why = f"{SUSTAINED_RATE:,}/s not reached" if not reached else f"p99 {p99 / LATENCY_P99_MS:.1f}x the target"
    return {
        "database": database,
        "offered/s": rate,
        "achieved/s": round(achieved),
        "batch": batch,
        "sources": len(sources),
        "seconds": seconds,
        "applied_p50_ms": round(float(np.percentile(applied, 50)), 1),
        "applied_p99_ms": round(p99, 1),
        "trip_p50_ms": round(float(np.percentile(round_trip, 50)), 1),
        "trip_p99_ms": round(float(np.percentile(round_trip, 99)), 1),
        "failed_requests": len(failures),
        "target": f"p99 <= {LATENCY_P99_MS:g} ms at {SUSTAINED_RATE:,}/s",
        "met": "met" if meets else f"not met ({why})",
    }


def build_atp_ledger(ledger: Ledger, sizes: Sizes, now: datetime) -> tuple[int, float]:
    """Bulk-ingest the ATP ledger; (events, seconds)."""
    events, started = 0, time.perf_counter()
    for batch in _atp_batches(sizes, now):
        result = ledger.ingest(batch)
        if result.refused:
            raise RuntimeError(f"an ATP batch was refused: {result.rejected[:3]}")
        events += len(batch)
    return events, time.perf_counter() - started


def atp_row(database: str, path: str, ask: Callable[[str, str, date, date], Any], sizes: Sizes, events: int) -> dict:
    """Latency of ATP queries for 4 weeks from today, one item at a time, items at random."""
    rng = random.Random(5)
    today = datetime.now(UTC).date()
    seconds = []
    for _ in range(sizes.atp_queries):
        node = f"atp-{rng.randrange(sizes.atp_nodes):02d}"
        sku = f"sku-{rng.randrange(sizes.atp_skus):05d}"
        began = time.perf_counter()
        ask(sku, node, today, today + timedelta(days=27))
        seconds.append(time.perf_counter() - began)
    p50, p99 = (float(np.percentile(seconds, p)) * 1000 for p in (50, 99))
    return {
        "database": database,
        "path": path,
        "skus": sizes.atp_skus,
        "nodes": sizes.atp_nodes,
        "events": events,
        "days": sizes.atp_days,
        "queries": sizes.atp_queries,
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "target": f"p99 <= {ATP_P99_MS:g} ms",
        "met": "met" if p99 <= ATP_P99_MS else f"not met ({p99 / ATP_P99_MS:.1f}x)",
    }


def _http_atp(base: str) -> Callable[[str, str, date, date], Any]:
    client = httpx.Client(base_url=base, timeout=60)

    def ask(sku: str, node: str, first: date, last: date) -> Any:
        params = {"sku": sku, "node": node, "from": first.isoformat(), "to": last.isoformat()}
        response = client.get("/inventory/atp", params=params)
        if response.status_code != 200:
            raise RuntimeError(f"GET /inventory/atp: {response.status_code} {response.text[:300]}")
        return response.json()

    return ask


def reservation_row(database: str, base: str, ledger: Ledger, token: str, attempts: int) -> dict:
    """``RESERVING_CLIENTS`` threads reserve 1 to 3 units of random items among 50 (stock for about a
    fifth of what they ask); then, per item, units granted against units there were. A request that
    fails (5xx, connection lost) is sent again with the same reservation id (``failed`` counts them;
    ``unanswered``, attempts that never got an answer in 5 tries)."""
    items = [("resv", f"hot-{n:02d}") for n in range(50)]
    stock = max(5, math.ceil(0.2 * attempts * 2 / len(items)))
    moment = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    ledger.ingest(
        [
            {"event_id": f"resv-in-{sku}", "source": node, "node": node, "sku": sku}
            | {"kind": "receipt", "qty": stock, "occurred_at": moment}
            for node, sku in items
        ]
    )
    each = attempts // RESERVING_CLIENTS

    def client(i: int) -> dict:
        rng = random.Random(i)
        http = httpx.Client(base_url=base, headers=bearer(token), timeout=120)
        granted: dict[tuple[str, str], int] = defaultdict(int)
        outcome = dict.fromkeys(("granted", "refused", "unanswered", "failed", "wrong_available"), 0)
        for n in range(each):
            node, sku = rng.choice(items)
            qty = rng.randint(1, 3)
            body = {"reservation_id": f"c{i}-{n}", "node": node, "sku": sku, "qty": qty}
            for _ in range(5):  # asked again with the same id until answered: a reservation is made once
                try:
                    response = http.post("/inventory/reservations", json=body)
                except httpx.TransportError:
                    outcome["failed"] += 1
                    continue
                if response.status_code == 201:
                    granted[(node, sku)] += qty
                    outcome["granted"] += 1
                    break
                error = response.json().get("error", {})
                if response.status_code == 409 and error.get("code") == "over_reservation":
                    outcome["refused"] += 1
                    outcome["wrong_available"] += error["details"][0]["available"] >= qty
                    break
                outcome["failed"] += 1
            else:
                outcome["unanswered"] += 1
        return {"granted_units": granted, **outcome}

    results, seconds = _at_once(client, RESERVING_CLIENTS)
    granted: dict[tuple[str, str], int] = defaultdict(int)
    for result in results:
        for key, units in result["granted_units"].items():
            granted[key] += units
    reserved = {(p.node, p.sku): p.reserved for p in ledger.positions(node="resv")}
    # Units promised beyond the stock, by what the clients were told and by the ledger's own reservations.
    double_booked = max(
        sum(max(0, granted[key] - stock) for key in items), sum(max(0, reserved.get(key, 0) - stock) for key in items)
    )
    made = each * RESERVING_CLIENTS
    total = {name: sum(r[name] for r in results) for name in ("granted", "refused", "unanswered", "failed")}
    return {
        "database": database,
        "clients": RESERVING_CLIENTS,
        "attempts": made,
        **total,
        "attempts/s": round(made / seconds),
        "granted_units": sum(granted.values()),
        "stock_units": stock * len(items),
        "double_booked": double_booked,
        "ledger_disagrees": sum(granted[key] != reserved.get(key, 0) for key in items),
        "refused_wrongly": sum(r["wrong_available"] for r in results),
        "target": "0 double-booked",
        "met": "met" if double_booked == 0 else "not met",
    }


def replay_row(database: str, ledger: Ledger, sales, config: StreamConfig) -> dict:
    """The M5 stream, batch by batch, then every position against the straight sum."""
    batches = event_stream(sales, config)
    injected = fault_counts(batches)
    expected = expected_positions(sales, config)
    started = time.perf_counter()
    duplicates = refused = 0
    for batch in batches:
        result = ledger.ingest(batch)
        refused += result.refused
        duplicates += len(result.duplicates)
    seconds = time.perf_counter() - started
    found = {(p.node, p.sku): p.on_hand for p in ledger.positions()}
    mismatches = sum(found.get(key, 0) != units for key, units in expected.items()) + len(set(found) - set(expected))
    gaps = sum(len(source.gaps) for source in ledger.sources())
    return {
        "database": database,
        "series": sales.groupby(["node", "sku"]).ngroups,
        "days": sales["day"].nunique(),
        "batches": len(batches),
        "events": injected["events"],
        "dups_sent": injected["duplicates"],
        "dups_found": duplicates,
        "out_of_order": injected["out_of_order"],
        "late": injected["late"],
        "refused": refused,
        "gaps": gaps,
        "positions": len(expected),
        "mismatches": mismatches,
        "equal": "equal" if mismatches == 0 and refused == 0 else "NOT equal",
        "events/s": round(injected["events"] / seconds),
    }


def _analyzer(engine: sa.Engine) -> Callable[[], None]:
    """``ANALYZE`` of the ledger's database (PostgreSQL): the planner's statistics brought up to date, as
    autovacuum does on a running server a while after a table has grown (``--analyze``)."""

    def analyze() -> None:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")

    return analyze


def profile_ingestion(ledger: Ledger, streams: _Streams, batches: int = 3) -> str:
    """Where the time of in-process batches of 1,000 goes: cProfile's top functions by own time."""
    source = streams.sources[0]
    work = [streams.take(source, 1000) for _ in range(batches)]
    profile = cProfile.Profile()
    profile.enable()
    for batch in work:
        ledger.ingest(batch)
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(15)
    return out.getvalue()


# ---- the run --------------------------------------------------------------------------------------


SECTIONS = ("ingestion", "latency", "reservations", "atp", "replay")


def run_database(kind: str, sizes: Sizes, args: argparse.Namespace, folder: Path) -> dict[str, list]:
    tables: dict[str, list] = defaultdict(list)
    wanted = set(args.only or SECTIONS)
    attempts = args.attempts or sizes.reservation_attempts
    with database_urls(kind, 4, folder, fsync=args.pg_fsync == "on") as (urls, durability):
        console.print(f"[bold]{kind}[/] ({durability})", highlight=False)
        tables["durability"].append({"database": kind, "commits": durability})
        ingest_url, service_url, atp_url, replay_url = urls
        per_client = sizes.repeats * sum(size * count for size, count in sizes.batches.items())
        # The workloads follow one another in time, as a ledger's events do (all before today).
        today = datetime.now(UTC).date()
        streams = _Streams("bench-", CLIENTS, per_client, seed=1, start=today - timedelta(days=1500))

        if "ingestion" in wanted:
            engine = migrated(ingest_url)
            ledger = Ledger(engine)
            before = _analyzer(engine) if args.analyze and kind == "postgresql" else None
            with _loaded(tables, kind, "ingestion in process"):
                sender = _in_process_sender(ledger)
                tables["ingestion"] += ingestion_rows(kind, "in-process", sender, streams, sizes, before)
            if args.profile:
                text = profile_ingestion(ledger, _Streams("prof-", 1, 3000, seed=4, start=today - timedelta(days=200)))
                console.print(text, highlight=False, markup=False)
                tables["profile"].append({"database": kind, "in_process_batches_of_1000": text})
            engine.dispose()

        if wanted & {"ingestion", "latency", "reservations"}:
            engine = migrated(service_url)
            analyze = _analyzer(engine) if args.analyze and kind == "postgresql" else None
            offered = SUSTAINED_RATE * int(sizes.sustained_s)
            each = 2 * offered // SUSTAINED_SOURCES + 5000
            live = _Streams("live-", SUSTAINED_SOURCES, each, seed=2, start=today - timedelta(days=each // 50 + 20))
            tokens = {s: f"token-{s}" for s in [*streams.sources, *live.sources, "resv"]}
            with (
                open(LOGS / f"serve-{kind}.log", "w") as log,
                ledger_service(args.home, service_url, tokens, log) as base,
            ):
                if "ingestion" in wanted:
                    streams.rewind()  # a fresh database: the same events again
                    with _loaded(tables, kind, "ingestion over HTTP"):
                        sender = _http_sender(base, tokens)
                        tables["ingestion"] += ingestion_rows(kind, "http", sender, streams, sizes, analyze)
                if "latency" in wanted:
                    with _loaded(tables, kind, "sustained load"):
                        if analyze is not None:
                            analyze()
                        row = sustained_row(kind, base, engine, live, tokens, sizes.sustained_s, SUSTAINED_RATE)
                        tables["latency"].append(row)
                        if row["achieved/s"] < 0.95 * SUSTAINED_RATE:  # and at a rate it keeps up with
                            lower = int(0.8 * row["achieved/s"]) // 100 * 100
                            if analyze is not None:
                                analyze()
                            tables["latency"].append(
                                sustained_row(kind, base, engine, live, tokens, sizes.sustained_s, lower)
                            )
                        if analyze is not None:
                            for row in tables["latency"]:
                                row["database"] = f"{kind} (analyzed)"
                    for row in tables["latency"]:
                        console.print(f"  {kind} sustained: {row}", highlight=False)
                if "reservations" in wanted:
                    with _loaded(tables, kind, "reservations"):
                        row = reservation_row(kind, base, Ledger(engine), tokens["resv"], attempts)
                    tables["reservations"].append(row)
                    console.print(f"  {kind} reservations: {row}", highlight=False)
            engine.dispose()

        if "atp" in wanted:
            engine = migrated(atp_url)
            ledger = Ledger(engine)
            with _loaded(tables, kind, "ATP ledger build"):
                events, seconds = build_atp_ledger(ledger, sizes, datetime.now(UTC))
            console.print(f"  {kind} ATP ledger: {events:,} events in {seconds:.0f} s", highlight=False)
            tables["atp_build"].append(
                {"database": kind, "events": events, "seconds": round(seconds), "events/s": round(events / seconds)}
            )
            with _loaded(tables, kind, "ATP queries"):
                tables["atp"].append(atp_row(kind, "in-process", ledger.atp, sizes, events))
                with (
                    open(LOGS / f"serve-atp-{kind}.log", "w") as log,
                    ledger_service(args.home, atp_url, {}, log) as base,
                ):
                    tables["atp"].append(atp_row(kind, "http", _http_atp(base), sizes, events))
            engine.dispose()

        if "replay" in wanted and (args.data / "sales_daily_280.csv.gz").exists():
            engine = migrated(replay_url)
            config = StreamConfig(duplicates=0.01, reorder=0.05, late=0.01, slot_hours=24)
            sales = m5_sales(args.data, sizes.replay_series, sizes.replay_days)
            with _loaded(tables, kind, "M5 replay"):
                tables["replay"].append(replay_row(kind, Ledger(engine), sales, config))
            engine.dispose()
        elif "replay" in wanted:
            console.print(f"  no M5 data at {args.data}: the replay is skipped", highlight=False)
    return tables


@contextmanager
def _loaded(tables: dict[str, list], kind: str, what: str) -> Iterator[None]:
    """Note the machine's load (1-minute average, 2 shared cores) and the minutes around a section."""
    before, started = os.getloadavg()[0], time.perf_counter()
    yield
    tables["load"].append(
        {
            "database": kind,
            "section": what,
            "minutes": round((time.perf_counter() - started) / 60, 1),
            "load_before": round(before, 1),
            "load_after": round(os.getloadavg()[0], 1),
        }
    )


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: 500 SKUs x 5 nodes x 60 days, 2,000 reservations"
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-fsync", choices=("on", "off"), default="on", help="PostgreSQL's fsync (default on)")
    parser.add_argument("--data", type=Path, default=DATA / "m5_subset", help="the m5_subset folder (the replay)")
    parser.add_argument("--profile", action="store_true", help="also profile in-process batches of 1,000")
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="PostgreSQL: ANALYZE (untimed) before each batch size's ingestion runs and the sustained load",
    )
    parser.add_argument("--home", type=Path, help="a CAPCAST_HOME with a champion (default: one trained here)")
    parser.add_argument(
        "--only", nargs="+", choices=SECTIONS, help="only these sections (written to inventory-<sections>.json)"
    )
    parser.add_argument("--attempts", type=int, help="reservation attempts (default: 100,000; 2,000 with --quick)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args, command = start(parser(), __spec__.name, argv)
    sizes = QUICK if args.quick else FULL
    LOGS.mkdir(parents=True, exist_ok=True)
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    tables: dict[str, list] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="capcast-inventory-bench-") as tmp:
        folder = Path(tmp)
        if args.home is None:
            args.home = served_home(folder / "home")
        for kind in kinds:
            (folder / kind).mkdir()
            for name, rows in run_database(kind, sizes, args, folder / kind).items():
                tables[name] += rows
    titles = {
        "ingestion": f"ingestion throughput: {CLIENTS} sources sending at once, median of {sizes.repeats} runs",
        "latency": f"sustained load over HTTP: {SUSTAINED_SOURCES} sources, batches of {SUSTAINED_BATCH}",
        "atp_build": "the ATP ledger, bulk-ingested in batches of 10,000",
        "atp": "ATP for 4 weeks, one item at random per query, one client",
        "reservations": f"reservations over HTTP: {RESERVING_CLIENTS} concurrent clients, 50 items",
        "replay": "M5 replay (1% duplicates, 5% reordering, 1% late), in process",
        "durability": "how commits are made durable",
        "load": "the machine's load around each section (1-minute average; 2 cores shared with others)",
    }
    for name, title in titles.items():
        if tables.get(name):
            print_table(title, tables[name])
    name = "inventory" + "".join(f"-{section}" for section in args.only or ())  # a part: a file of its own
    write_result(name, command, dict(tables), extra={"quick": args.quick, "sizes": vars(sizes)})


if __name__ == "__main__":
    main()
