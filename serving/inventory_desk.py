"""The stock ledger behind ``/inventory/*``: sources write their own events, callers read positions
and available-to-promise (with the approved plan's production as scheduled receipts) and reserve
against it; every refusal an ``ApiError`` naming the event and field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from inventory import (
    AtpAnswer,
    IngestResult,
    InventoryConfig,
    Ledger,
    OverRelease,
    OverReservation,
    Reservation,
    ReservationConflict,
    ReservationNotFound,
    planned_receipts,
)
from inventory.ingest import problem_message
from planning.store import PlanStatus, PlanStore
from serving.auth import Role, Tokens
from serving.errors import ApiError
from serving.metrics import observe_stock_events

__all__ = ["MAX_ATP_DAYS", "InventoryDesk", "scheduled_receipts"]

MAX_ATP_DAYS = 366


class InventoryDesk:
    """Args:
    ledger: the stock ledger (its configuration names the production node and the split).
    plans: the plan store, for the approved plan's production; None when there is none.
    site: the planned site whose approved plan feeds the production node's ATP.
    tokens: a source token writes only its own events; admin writes any.
    """

    def __init__(self, ledger: Ledger, plans: PlanStore | None, site: str | None, tokens: Tokens):
        self.ledger, self.plans, self.site, self.tokens = ledger, plans, site, tokens
        self._production: dict[str, list[tuple[str, date, float]]] = {}  # approved plans never change

    def ingest(self, events: list[Any], partial: bool, authorization: str | None) -> IngestResult:
        """Apply a batch of a source's events; 403 for an event of another source, 409 when the
        batch was refused for a reused id with another body, 422 for any other bad event."""
        principal = self.tokens.check(authorization, Role.SOURCE)
        if principal.role is Role.SOURCE:
            for index, event in enumerate(events):
                source = event.get("source") if isinstance(event, dict) else None
                if source != principal.name:
                    message = f"token {principal.name!r} writes only its own events, not source {source!r}"
                    raise ApiError(403, "forbidden", message, f"events.{index}.source")
        received_at = datetime.now(UTC)
        result = self.ledger.ingest(events, partial=partial, received_at=received_at)
        if result.applied:
            observe_stock_events([events[i] for i in result.applied], received_at, datetime.now(UTC))
        if result.refused:
            details = [{**r.error(), "field": _event_field(r.index, r.field)} for r in result.rejected]
            first = result.rejected[0]
            status, code = (409, "conflict") if result.conflicts else (422, "invalid_events")
            message = f"{len(result.rejected)} bad event(s), nothing applied; first: event {first.index}: "
            message += problem_message([first])["message"]
            raise ApiError(status, code, message, details[0]["field"], details)
        return result

    def atp(self, sku: str, node: str, first_day: date, last_day: date, today: date | None = None) -> AtpAnswer:
        """ATP per day from ``first_day`` to ``last_day``; promises start ``today`` (the real one
        unless given: a planner asking "what if today were ..."), so the period may not start before."""
        today = today or date.today()
        if first_day < today:
            raise ApiError(422, "invalid_request", f"from must not be before today ({today})", "from")
        if last_day < first_day:
            raise ApiError(422, "invalid_request", "to must not be before from", "to")
        if (last_day - first_day).days >= MAX_ATP_DAYS:
            raise ApiError(422, "invalid_request", f"at most {MAX_ATP_DAYS} days at once", "to")
        scheduled = self.scheduled(sku, node, today)
        return self.ledger.atp(sku, node, first_day, last_day, today=today, scheduled=scheduled)

    def scheduled(self, sku: str, node: str, today: date) -> list[tuple[date, int]]:
        return scheduled_receipts(self.plans, self.site, self.ledger.config, sku, node, today, self._production)

    def reserve(
        self, reservation_id: str, node: str, sku: str, qty: int, due: date | None, authorization: str | None
    ) -> Reservation:
        """Reserve ``qty`` against ATP at once; 409 with the quantity available when it does not allow."""
        principal = self.tokens.check(authorization, Role.SOURCE, Role.PLANNER)
        today = date.today()
        if due is not None and due < today:
            raise ApiError(422, "invalid_request", f"due must not be before today ({today})", "due")
        try:
            return self.ledger.reserve(
                reservation_id, node, sku, qty, due, source=principal.name, scheduled=self.scheduled(sku, node, today)
            )
        except OverReservation as error:
            detail = {"code": "over_reservation", "message": str(error), "field": "qty", "available": error.available}
            raise ApiError(409, "over_reservation", str(error), "qty", [detail]) from None
        except ReservationConflict as error:
            raise ApiError(409, "reservation_conflict", str(error), "reservation_id") from None

    def release(self, reservation_id: str, qty: int | None, authorization: str | None) -> Reservation:
        principal = self.tokens.check(authorization, Role.SOURCE, Role.PLANNER)
        try:
            return self.ledger.release(reservation_id, qty, source=principal.name)
        except ReservationNotFound as error:
            raise ApiError(404, "unknown_reservation", str(error), "reservation_id") from None
        except OverRelease as error:
            raise ApiError(409, "over_release", str(error), "qty") from None

    def as_of(self, value: datetime | None) -> datetime | None:
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ApiError(422, "invalid_request", "as_of needs a time zone, e.g. 2026-03-02T09:00:00Z", "as_of")
        return value


def _event_field(index: int, field: str | None) -> str:
    return f"events.{index}" + (f".{field}" if field else "")


def scheduled_receipts(
    plans: PlanStore | None,
    site: str | None,
    config: InventoryConfig,
    sku: str,
    node: str,
    today: date,
    cache: dict[str, list[tuple[str, date, float]]] | None = None,
) -> list[tuple[date, int]]:
    """The approved plans' production of ``sku`` due at ``node`` from ``today`` on, when ``node`` is
    the production node receiving ``site``'s output (split from families to SKUs by the configuration;
    the cumulative rule of ATP looks past the period asked, so every day on is given). ``cache`` keeps
    each approved plan's production by its id: an approved plan never changes."""
    if plans is None or site is None or node != config.production_node:
        return []
    families = [f for f, shares in config.family_split.items() if sku in shares]
    if not families:
        return []
    cache = {} if cache is None else cache
    rows = []
    for summary in plans.list(site=site, status=PlanStatus.APPROVED, limit=500):
        if summary.end < today:
            continue
        if summary.id not in cache:
            cache[summary.id] = [(f.family, f.day, f.production) for f in plans.get(summary.id).plan.families]
        rows += [row for row in cache[summary.id] if row[0] in families and row[1] >= today and row[2]]
    return planned_receipts({family: config.family_split[family] for family in families}, rows).get(sku, [])
