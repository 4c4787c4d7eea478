"""``Ledger``: the stock ledger of one database, its one entry point.

Every write is one transaction (``capcast.database.writing``: on SQLite it holds the write lock
from its start), retried when PostgreSQL ends it for a clash with a concurrent one (a unique
violation on an event id or sequence another transaction wrote meanwhile, a deadlock or a
serialisation failure): the retry reads what the other one committed, so an event delivered twice
at once is applied once. Reads see one snapshot (REPEATABLE READ on PostgreSQL; a read transaction
on SQLite's WAL).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from capcast.database import utc, writing
from inventory import atp as atp_
from inventory import dead_letters as dead_letters_
from inventory import panel
from inventory import positions as positions_
from inventory import reconcile as reconcile_
from inventory import sources as sources_
from inventory.config import InventoryConfig
from inventory.events import StockEvent
from inventory.ingest import BatchRefused, IngestResult, apply_batch

__all__ = ["Ledger"]

T = TypeVar("T")
# PostgreSQL's SQLSTATEs for a clash with a concurrent transaction that a retry resolves.
_RETRYABLE = {"23505", "40001", "40P01"}  # unique_violation, serialization_failure, deadlock_detected


def _runs(function: Callable[..., T], *, writes: bool = False, configured: bool = False) -> Callable[..., T]:
    """A ``Ledger`` method running ``function(connection, [config,] ...)`` in a read snapshot or a write
    transaction; its signature and docstring are the function's, without those first parameters."""

    @functools.wraps(function)
    def method(self: Ledger, *args: Any, **kwargs: Any) -> T:
        def work(connection: sa.Connection) -> T:
            return (
                function(connection, self.config, *args, **kwargs)
                if configured
                else function(connection, *args, **kwargs)
            )

        return self._write(work) if writes else self._read(work)

    signature = inspect.signature(function)
    own = list(signature.parameters.values())[2 if configured else 1 :]
    method.__signature__ = signature.replace(
        parameters=[inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY), *own]
    )
    return method


class Ledger:
    """Stock events, positions, ATP and reservations in the database of ``engine`` (from
    ``capcast.database.engine``; its migrations create the tables). Safe to share between threads,
    and between processes on one database.

    Apart from ``ingest``, each method is the function of the same name in the module of its job,
    run in one transaction (reads in a snapshot, writes retried on a clash), given the ledger's
    configuration where it needs it: ``ledger.reserve(...)`` is ``atp.reserve(connection, config, ...)``.
    """

    def __init__(self, engine: sa.Engine, config: InventoryConfig | None = None, *, attempts: int = 5):
        self._engine = engine
        self.config = config or InventoryConfig()
        self._attempts = attempts

    def ingest(
        self, events: Iterable[StockEvent | Any], *, received_at: datetime | None = None, partial: bool = False
    ) -> IngestResult:
        """Apply a batch exactly once: each item a ``StockEvent`` or its JSON body (a dict).

        Without ``partial`` one bad event refuses the whole batch (``refused``; nothing written; every
        bad event in ``rejected`` with its index, field and reason). With it, bad events become dead
        letters and the rest are applied. Either way the batch is one transaction.
        """
        items, received_at = list(events), utc(received_at)

        def work(connection: sa.Connection) -> IngestResult:
            result = apply_batch(connection, self.config, items, received_at=received_at, partial=partial)
            if result.refused:
                raise BatchRefused(result)  # rolls back the locks' rows too
            return result

        try:
            return self._write(work)
        except BatchRefused as refused:
            return refused.result

    # ---- everything else: (module function, writes?, takes the configuration?) ----

    position = _runs(positions_.position)
    positions = _runs(positions_.positions)
    atp = _runs(atp_.atp, configured=True)
    reservation = _runs(atp_.reservation)
    reserve = _runs(atp_.reserve, writes=True, configured=True)  # OverReservation (with ``available``)
    release = _runs(atp_.release, writes=True, configured=True)
    sources = _runs(sources_.sources)
    nodes = _runs(sources_.nodes, configured=True)
    latency = _runs(sources_.latency)
    dead_letters = _runs(dead_letters_.listed)
    dead_letter = _runs(dead_letters_.get)
    fix = _runs(dead_letters_.fix, writes=True)
    replay = _runs(dead_letters_.replay, writes=True, configured=True)
    discard = _runs(dead_letters_.discard, writes=True)
    reconcile = _runs(reconcile_.reconcile, writes=True, configured=True)
    demand_history = _runs(panel.demand_history, configured=True)
    family_stock = _runs(positions_.family_stock, configured=True)

    # ---- transactions ----

    def _write(self, work: Callable[[sa.Connection], T]) -> T:
        attempt = 1
        while True:
            try:
                with writing(self._engine) as connection:
                    return work(connection)
            except sa.exc.DBAPIError as error:
                if getattr(error.orig, "sqlstate", None) not in _RETRYABLE or attempt >= self._attempts:
                    raise
                attempt += 1

    def _read(self, work: Callable[[sa.Connection], T]) -> T:
        with self._engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                return work(connection)
