"""Daily sales as the stock events the stores would report: the M5 subset (or any frame of the same
shape) turned into batches of receipts, shipments and returns, with faulty delivery injected.

Each store is a node and the source of its own events; each item is a SKU. From the sales of one
item at one store:

- **shipments**: each day's units split into 1 to ``shipments`` intraday shipments (08:00-21:00 UTC);
- **receipts**: every 7 days at 06:00, enough to bring the stock (receipts less shipments so far, returns
  not counted) up to the next 7 days' sales plus ``safety`` of them, so on hand never goes below 0,
  whatever subset of shipments and returns has been delivered;
- **returns**: each day, a binomial ``returns`` share of its units, returned 1 to 3 days later.

Each source numbers its events 1, 2, 3, ... in the order they occurred; they are delivered in
batches, one per source and ``slot_hours`` of delivery time (at most ``batch`` events each), with
faults injected at the configured rates: a copy of an event delivered again up to 2 days later
(``duplicates``), shipments and returns delivered 1 to 24 hours late (``reorder``) or 2 to 10 days
late, backdated (``late``). Receipts are never delayed: a late receipt would leave shipments
delivered before it without stock, which the ledger refuses.

The positions the ledger must end with are a straight sum of the flows (``expected_positions``),
computed from the sales without the events.

    python -m benchmarks.m5_stock --out stream.jsonl --series 20 --days 90   # one POST body per line
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "StreamConfig",
    "daily_flows",
    "event_stream",
    "expected_positions",
    "fault_counts",
    "m5_sales",
    "synthetic_sales",
]

SALES_COLUMNS = ["node", "sku", "day", "units"]
_OPEN, _CLOSE = 8 * 3600, 21 * 3600  # shipments and returns happen between these seconds of the day
_RECEIPT_AT = time(6)
_WEEK = 7


@dataclass(frozen=True)
class StreamConfig:
    """How sales become events, and the faults of their delivery (rates are per event)."""

    duplicates: float = 0.01
    reorder: float = 0.05
    late: float = 0.01
    returns: float = 0.03
    shipments: int = 3  # at most this many shipments per item and day
    safety: float = 0.25  # receipts cover the next 7 days' sales and this share of them
    slot_hours: int = 6  # a source sends what it has every slot_hours
    batch: int = 1000  # at most this many events per batch
    seed: int = 0


def m5_sales(folder: Path, series: int | None = None, days: int | None = None) -> pd.DataFrame:
    """The M5 subset as sales: node = store_id, sku = item_id, the last ``days`` days of ``series`` series."""
    from benchmarks.m5 import m5_panel

    panel = m5_panel(folder, series)
    if days is not None:
        panel = panel[panel["ds"] > panel["ds"].max() - pd.Timedelta(days=days)]
    sales = pd.DataFrame(
        {
            "node": panel["store_id"].astype(str),
            "sku": panel["item_id"].astype(str),
            "day": panel["ds"].dt.date,
            "units": panel["y"].fillna(0).round().astype(int),
        }
    )
    return sales.sort_values(["node", "sku", "day"], ignore_index=True)


def synthetic_sales(nodes: int, skus: int, days: int, *, seed: int = 0, start: date = date(2025, 1, 6)) -> pd.DataFrame:
    """Sales of the same shape without the M5 data: Poisson units per day at a rate drawn per item
    (mostly slow movers, some fast), for ``nodes`` x ``skus`` items over ``days`` days from ``start``."""
    rng = np.random.default_rng(seed)
    keys = [(f"node-{n:02d}", f"sku-{s:05d}") for n in range(nodes) for s in range(skus)]
    rates = rng.gamma(0.8, 3.0, size=len(keys))
    units = rng.poisson(np.repeat(rates, days))
    return pd.DataFrame(
        {
            "node": np.repeat([node for node, _ in keys], days),
            "sku": np.repeat([sku for _, sku in keys], days),
            "day": np.tile([start + timedelta(days=d) for d in range(days)], len(keys)),
            "units": units.astype(int),
        }
    )


def daily_flows(sales: pd.DataFrame, config: StreamConfig = StreamConfig()) -> pd.DataFrame:
    """Per node, sku and day: units ``shipped`` (the sales), ``received`` and ``returned`` (see the
    module docstring); seeded by ``config.seed``. Days run from the first to the last of ``sales``."""
    rng = np.random.default_rng([config.seed, 1])
    first, last = sales["day"].min(), sales["day"].max()
    span = (last - first).days + 1
    frames = []
    for (node, sku), rows in sales.groupby(["node", "sku"], sort=True):
        shipped = np.zeros(span, dtype=np.int64)
        np.add.at(shipped, [(day - first).days for day in rows["day"]], rows["units"].to_numpy(dtype=np.int64))
        received = np.zeros(span, dtype=np.int64)
        stock = 0  # receipts less shipments: returns are a bonus, never counted on
        for start in range(0, span, _WEEK):
            need = int(shipped[start : start + _WEEK].sum())
            received[start] = max(0, need + math.ceil(config.safety * need) - stock)
            stock += received[start] - need
        returned = np.zeros(span, dtype=np.int64)
        back = rng.binomial(shipped, config.returns)
        lag = rng.integers(1, 4, size=span)
        for day in np.flatnonzero(back):
            if day + lag[day] < span:
                returned[day + lag[day]] += back[day]
        frame = pd.DataFrame({"shipped": shipped, "received": received, "returned": returned})
        frame.insert(0, "day", [first + timedelta(days=d) for d in range(span)])
        frame.insert(0, "sku", sku)
        frame.insert(0, "node", node)
        frames.append(frame[(frame[["shipped", "received", "returned"]] > 0).any(axis=1)])
    return pd.concat(frames, ignore_index=True)


def expected_positions(sales: pd.DataFrame, config: StreamConfig = StreamConfig()) -> dict[tuple[str, str], int]:
    """On hand per (node, sku) once every event is applied: receipts − shipments + returns, summed."""
    flows = daily_flows(sales, config)
    net = flows["received"] - flows["shipped"] + flows["returned"]
    return {(node, sku): int(units) for (node, sku), units in net.groupby([flows["node"], flows["sku"]]).sum().items()}


def event_stream(sales: pd.DataFrame, config: StreamConfig = StreamConfig()) -> list[list[dict[str, Any]]]:
    """The events of ``daily_flows`` as delivered: batches of event bodies (each batch one source's),
    in delivery order, with duplicates, reorderings and late events injected."""
    rng = np.random.default_rng([config.seed, 2])
    events = _events(daily_flows(sales, config), config, rng)
    deliveries = _deliveries(events, config, rng)
    slot = timedelta(hours=config.slot_hours)
    epoch = datetime.combine(sales["day"].min(), time(), UTC)
    grouped: dict[tuple[int, str], list[tuple[datetime, int, dict[str, Any]]]] = {}
    for order, (delivered_at, event) in enumerate(deliveries):
        key = ((delivered_at - epoch) // slot, event["source"])
        grouped.setdefault(key, []).append((delivered_at, order, event))
    batches = []
    for key in sorted(grouped):
        delivered = [event for _, _, event in sorted(grouped[key], key=lambda item: item[:2])]
        batches += [delivered[i : i + config.batch] for i in range(0, len(delivered), config.batch)]
    return batches


def _events(flows: pd.DataFrame, config: StreamConfig, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Every event of the flows, numbered per source in the order they occurred."""
    events = []
    for node, sku, day, shipped, received, returned in flows.itertuples(index=False):
        midnight = datetime.combine(day, time(), UTC)
        stamp = f"{node}:{sku}:{day:%Y%m%d}"
        if received:
            events.append(_body(f"{stamp}:r", node, sku, "receipt", received, datetime.combine(day, _RECEIPT_AT, UTC)))
        if shipped:
            parts = _split(int(shipped), int(rng.integers(1, config.shipments + 1)), rng)
            moments = np.sort(rng.integers(_OPEN, _CLOSE, size=len(parts)))
            for n, (units, second) in enumerate(zip(parts, moments)):
                occurred = midnight + timedelta(seconds=int(second))
                events.append(_body(f"{stamp}:s{n}", node, sku, "shipment", units, occurred))
        if returned:
            occurred = midnight + timedelta(seconds=int(rng.integers(_OPEN, _CLOSE)))
            events.append(_body(f"{stamp}:b", node, sku, "return", returned, occurred))
    events.sort(key=lambda event: (event["source"], event["occurred_at"], event["event_id"]))
    sequence: dict[str, int] = {}
    for event in events:
        sequence[event["source"]] = event["sequence"] = sequence.get(event["source"], 0) + 1
    return events


def _deliveries(
    events: list[dict[str, Any]], config: StreamConfig, rng: np.random.Generator
) -> list[tuple[datetime, dict[str, Any]]]:
    """(delivered at, event) for every delivery: each event once, some later than they occurred, and
    some a second time."""
    hour, day = 3600.0, 86_400.0
    count = len(events)
    reorder, late, duplicate = rng.random(count), rng.random(count), rng.random(count)
    delays = np.where(late < config.late, rng.uniform(2 * day, 10 * day, count), 0.0)
    delays = np.where((delays == 0) & (reorder < config.reorder), rng.uniform(hour, 24 * hour, count), delays)
    again = rng.uniform(0, 2 * day, count)
    deliveries = []
    for n, event in enumerate(events):
        occurred = datetime.fromisoformat(event["occurred_at"])
        delivered = occurred if event["kind"] == "receipt" else occurred + timedelta(seconds=float(delays[n]))
        deliveries.append((delivered, event))
        if duplicate[n] < config.duplicates:
            deliveries.append((delivered + timedelta(seconds=float(again[n])), dict(event)))
    return deliveries


def _split(units: int, parts: int, rng: np.random.Generator) -> list[int]:
    """``units`` as ``parts`` (at most ``units``) positive whole numbers."""
    parts = min(parts, units)
    cuts = np.sort(rng.choice(np.arange(1, units), size=parts - 1, replace=False)) if parts > 1 else []
    return [int(b - a) for a, b in zip([0, *cuts], [*cuts, units])]


def _body(event_id: str, node: str, sku: str, kind: str, qty: int, occurred_at: datetime) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "source": node,
        "node": node,
        "sku": sku,
        "kind": kind,
        "qty": int(qty),
        "occurred_at": occurred_at.isoformat(),
    }


def fault_counts(batches: list[list[dict[str, Any]]]) -> dict[str, int]:
    """What a stream's delivery holds: events delivered, distinct ones, repeated deliveries,
    events delivered after a later one of their source (out of order), and events delivered after
    one of their source that occurred more than a day later (late, backdated)."""
    seen: set[str] = set()
    highest: dict[str, int] = {}
    newest: dict[str, datetime] = {}
    counts = dict.fromkeys(("batches", "events", "distinct", "duplicates", "out_of_order", "late"), 0)
    counts["batches"] = len(batches)
    for batch in batches:
        for event in batch:
            counts["events"] += 1
            if event["event_id"] in seen:
                counts["duplicates"] += 1
                continue
            seen.add(event["event_id"])
            source, occurred = event["source"], datetime.fromisoformat(event["occurred_at"])
            counts["out_of_order"] += event["sequence"] < highest.get(source, 0)
            counts["late"] += source in newest and newest[source] - occurred > timedelta(days=1)
            highest[source] = max(highest.get(source, 0), event["sequence"])
            newest[source] = max(newest.get(source, occurred), occurred)
    counts["distinct"] = len(seen)
    return counts


_DEMO_SETTINGS = ("duplicates", "reorder", "late", "returns", "batch", "seed")  # StreamConfig's, as options


def _demo_parser() -> argparse.ArgumentParser:
    from benchmarks.m5 import DATA

    defaults = StreamConfig()
    parser = argparse.ArgumentParser(description="Write the M5 subset as stock event batches, one POST body a line.")
    parser.add_argument("--out", type=Path, required=True, help="the JSON lines file: {'events': [...]} per line")
    parser.add_argument("--expected", type=Path, help="also write the expected final positions here (CSV)")
    parser.add_argument("--data", type=Path, default=DATA / "m5_subset", help="the m5_subset folder")
    parser.add_argument("--series", type=int, default=None, help="this many series (default: all 280)")
    parser.add_argument("--days", type=int, default=365, help="the last this many days")
    for name in ("duplicates", "reorder", "late", "returns"):
        parser.add_argument(f"--{name}", type=float, default=getattr(defaults, name), help="rate per event")
    parser.add_argument("--batch", type=int, default=defaults.batch, help="at most this many events per batch")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    return parser


def demo(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.m5_stock``: write a stream for a demo (``POST /inventory/events`` each line)."""
    args = _demo_parser().parse_args(argv)
    config = StreamConfig(**{name: getattr(args, name) for name in _DEMO_SETTINGS})
    sales = m5_sales(args.data, args.series, args.days)
    batches = event_stream(sales, config)
    with args.out.open("w", encoding="utf-8") as out:
        for batch in batches:
            out.write(json.dumps({"events": batch}) + "\n")
    if args.expected is not None:
        expected = expected_positions(sales, config)
        rows = [{"node": node, "sku": sku, "on_hand": units} for (node, sku), units in sorted(expected.items())]
        pd.DataFrame(rows).to_csv(args.expected, index=False)
    counts = fault_counts(batches)
    print(f"{args.out}: " + ", ".join(f"{value} {name.replace('_', ' ')}" for name, value in counts.items()))


if __name__ == "__main__":
    demo()
