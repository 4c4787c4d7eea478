"""The stock event ledger: exactly-once ingestion, positions as of any time, available-to-promise,
reservations without double-booking, dead letters, source gaps and data latency, reconciliation
with counts, and the shipment history as a demand panel.

SQLAlchemy Core on SQLite or PostgreSQL (the database of ``capcast.database``; its migrations
create the tables). ``Ledger`` is the entry point; everything else here is what it takes and returns.
"""

from inventory.atp import (
    AtpAnswer,
    AtpDay,
    OverRelease,
    OverReservation,
    Reservation,
    ReservationConflict,
    ReservationNotFound,
)
from inventory.config import InventoryConfig, NodeConfig, planned_receipts
from inventory.dead_letters import DeadLetter, DeadLetterNotFound, DeadLetterNotOpen
from inventory.events import Effect, Kind, StockEvent, effects
from inventory.ingest import BatchRefused, IngestResult, Rejection
from inventory.ledger import Ledger
from inventory.positions import Position
from inventory.reconcile import Count, Discrepancy
from inventory.sources import LatencyStats, NodeState, SourceState

__all__ = [
    "AtpAnswer",
    "AtpDay",
    "BatchRefused",
    "Count",
    "DeadLetter",
    "DeadLetterNotFound",
    "DeadLetterNotOpen",
    "Discrepancy",
    "Effect",
    "IngestResult",
    "InventoryConfig",
    "Kind",
    "LatencyStats",
    "Ledger",
    "NodeConfig",
    "NodeState",
    "OverRelease",
    "OverReservation",
    "Position",
    "Rejection",
    "Reservation",
    "ReservationConflict",
    "ReservationNotFound",
    "SourceState",
    "StockEvent",
    "effects",
    "planned_receipts",
]

# Marks this package as capcast's own: capcast checks it at start (capcast/packages.py).
__distribution__ = "capcast"
