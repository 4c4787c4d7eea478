"""What the service reports on ``/metrics`` (Prometheus, beside BentoML's own request metrics):
how late stock data arrives and is applied, per node and source, and when each node last reported.

``time() - capcast_stock_node_last_event_timestamp_seconds`` is a node's age; compare it with the
node's staleness in the ledger's configuration (``GET /inventory/nodes`` flags it too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from prometheus_client import Gauge, Histogram

__all__ = ["observe_stock_events"]

# From a second (a till posting at once) to a day (a node that reports nightly).
_DELAY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86400, float("inf"))
_APPLY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, float("inf"))

RECEIVED_DELAY = Histogram(
    "capcast_stock_event_received_delay_seconds",
    "Seconds from when a stock event occurred to when the service received it",
    ["node", "source"],
    buckets=_DELAY_BUCKETS,
)
APPLIED_DELAY = Histogram(
    "capcast_stock_event_applied_delay_seconds",
    "Seconds from when the service received a stock event to when it was applied to the ledger",
    ["node", "source"],
    buckets=_APPLY_BUCKETS,
)
LAST_EVENT = Gauge(
    "capcast_stock_node_last_event_timestamp_seconds",
    "When the latest stock event of a node occurred (Unix time)",
    ["node"],
    multiprocess_mode="max",
)


# This process's latest event per node: a late event must not move the gauge back.
_latest: dict[str, float] = {}


def observe_stock_events(events: Iterable[Mapping], received_at: datetime, applied_at: datetime) -> None:
    """Record the delays of applied events (their bodies, with ``node``, ``source``, ``occurred_at``)."""
    applied_delay = max(0.0, (applied_at - received_at).total_seconds())
    for event in events:
        occurred = datetime.fromisoformat(str(event["occurred_at"]).replace("Z", "+00:00"))
        node, source = str(event["node"]), str(event["source"])
        RECEIVED_DELAY.labels(node, source).observe(max(0.0, (received_at - occurred).total_seconds()))
        APPLIED_DELAY.labels(node, source).observe(applied_delay)
        _latest[node] = max(_latest.get(node, 0.0), occurred.timestamp())
        LAST_EVENT.labels(node).set(_latest[node])
