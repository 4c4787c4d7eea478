"""What each source has sent (sequence gaps), how fresh each node's view is, and data latency.

A source numbers its events 1, 2, 3, …: a missing range is a gap (events lost or still on their
way). A node is stale when its latest physical event (not a reservation made against it)
occurred longer ago than its ``staleness_s``. Latency is measured per event: received − occurred
(how late the source reports) and applied − received (how long capcast takes).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from capcast.database import now, utc
from inventory.config import InventoryConfig
from inventory.tables import stock_events, stock_nodes, stock_sources

__all__ = ["LatencyStats", "NodeState", "SourceState", "latency", "node_state", "nodes", "sources"]

LATENCY_WINDOW = 100_000  # the most recent events a latency figure reads


@dataclass(frozen=True)
class SourceState:
    source: str
    events: int
    last_sequence: int | None
    gaps: list[tuple[int, int]]  # missing sequence ranges, both ends included: [(5, 7)] lacks 5, 6 and 7
    last_received_at: datetime | None
    last_occurred_at: datetime | None


@dataclass(frozen=True)
class NodeState:
    node: str
    events: int  # physical events (the node's own reports)
    last_occurred_at: datetime | None
    last_received_at: datetime | None
    age_s: float | None  # now − last_occurred_at; None when the node never reported
    staleness_s: float
    stale: bool  # older than staleness_s, or never reported


@dataclass(frozen=True)
class LatencyStats:
    """Seconds, over ``count`` events of one node and source."""

    node: str
    source: str
    count: int
    received_p50_s: float  # received_at − occurred_at
    received_p99_s: float
    applied_p50_s: float  # applied_at − received_at
    applied_p99_s: float


def sources(connection: sa.Connection) -> list[SourceState]:
    """Every source that has had an event applied, by name, with its sequence gaps."""
    gaps = _gaps(connection)
    return [
        SourceState(
            source=row.source,
            events=row.events,
            last_sequence=row.last_sequence,
            gaps=gaps.get(row.source, []),
            last_received_at=row.last_received_at,
            last_occurred_at=row.last_occurred_at,
        )
        for row in connection.execute(sa.select(stock_sources).order_by(stock_sources.c.source))
    ]


def _gaps(connection: sa.Connection) -> dict[str, list[tuple[int, int]]]:
    """Missing ranges per source, from 1 (every counter starts there) to its highest sequence."""
    numbered = stock_events.c.sequence.is_not(None)
    following = sa.func.lead(stock_events.c.sequence).over(
        partition_by=stock_events.c.source, order_by=stock_events.c.sequence
    )
    neighbours = (
        sa.select(stock_events.c.source, stock_events.c.sequence, following.label("following"))
        .where(numbered)
        .subquery()
    )
    holes = sa.select(neighbours).where(neighbours.c.following > neighbours.c.sequence + 1)
    firsts = sa.select(stock_events.c.source, sa.func.min(stock_events.c.sequence)).where(numbered)
    found: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for source, first in connection.execute(firsts.group_by(stock_events.c.source)):
        if first > 1:
            found[source].append((1, first - 1))
    for source, sequence, following in connection.execute(holes.order_by(neighbours.c.source, neighbours.c.sequence)):
        found[source].append((sequence + 1, following - 1))
    return dict(found)


def nodes(connection: sa.Connection, config: InventoryConfig, *, at: datetime | None = None) -> list[NodeState]:
    """Every node that has reported, by name, with its age as of ``at`` (now by default)."""
    at = utc(at)
    rows = connection.execute(sa.select(stock_nodes).order_by(stock_nodes.c.node))
    return [_state(row.node, row, config, at) for row in rows]


def node_state(connection: sa.Connection, config: InventoryConfig, node: str) -> NodeState:
    """One node's freshness now (stale, with no age, when it never reported)."""
    row = connection.execute(sa.select(stock_nodes).where(stock_nodes.c.node == node)).first()
    return _state(node, row, config, now())


def _state(node: str, row: sa.Row | None, config: InventoryConfig, at: datetime) -> NodeState:
    staleness = config.node(node).staleness_s
    if row is None or row.last_occurred_at is None:
        return NodeState(node, 0, None, None, None, staleness, True)
    age = (at - row.last_occurred_at).total_seconds()
    return NodeState(node, row.events, row.last_occurred_at, row.last_received_at, age, staleness, age > staleness)


def latency(
    connection: sa.Connection, *, since: datetime | None = None, window: int = LATENCY_WINDOW
) -> list[LatencyStats]:
    """Percentiles per (node, source) over the latest ``window`` events received at or after ``since``."""
    query = sa.select(
        stock_events.c.node,
        stock_events.c.source,
        stock_events.c.occurred_at,
        stock_events.c.received_at,
        stock_events.c.applied_at,
    )
    if since is not None:
        query = query.where(stock_events.c.received_at >= utc(since))
    reported: dict[tuple[str, str], list[float]] = defaultdict(list)
    applied: dict[tuple[str, str], list[float]] = defaultdict(list)
    for node, source, occurred_at, received_at, applied_at in connection.execute(
        query.order_by(stock_events.c.id.desc()).limit(window)
    ):
        reported[(node, source)].append((received_at - occurred_at).total_seconds())
        applied[(node, source)].append((applied_at - received_at).total_seconds())
    return [
        LatencyStats(
            node=node,
            source=source,
            count=len(reported[(node, source)]),
            received_p50_s=_percentile(reported[(node, source)], 50),
            received_p99_s=_percentile(reported[(node, source)], 99),
            applied_p50_s=_percentile(applied[(node, source)], 50),
            applied_p99_s=_percentile(applied[(node, source)], 99),
        )
        for node, source in sorted(reported)
    ]


def _percentile(values: list[float], percent: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``percent``% of values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]
