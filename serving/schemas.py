"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NaiveDatetime, PositiveInt, WithJsonSchema, model_validator

from planning import DemandBasis, Lineage, Lock, Plan, Replan, Site, Unavailability

__all__ = [
    "ApproveRequest",
    "EventBatch",
    "ForecastPoint",
    "ForecastRequest",
    "ForecastResponse",
    "FutureValues",
    "HistoryRow",
    "IngestResponse",
    "ModelInfo",
    "PlanJobRequest",
    "RecommendRequest",
    "RecommendResponse",
    "Rejected",
    "ReleaseRequest",
    "ReloadResponse",
    "ReservationRequest",
    "SeriesForecast",
    "SeriesPage",
    "ServedSeries",
]


# Forecast periods are local time (a store's day, a site's hour): written without a UTC offset,
# which JSON Schema's "date-time" format requires, so they are declared as patterned strings.
_LOCAL_TIME = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$",
    "description": "local time without a UTC offset",
    "examples": ["2026-01-31T00:00:00"],
}
LocalTime = Annotated[datetime, WithJsonSchema(_LOCAL_TIME)]
# A request may give a day (its midnight) or a local time; an offset is refused.
LocalTimeInput = Annotated[
    NaiveDatetime,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$",
            "description": "a day (its midnight) or a local time, without a UTC offset",
            "examples": ["2026-02-01", "2026-02-01T14:00"],
        }
    ),
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _with_examples(*examples: dict) -> ConfigDict:
    """A request body's configuration with the examples its OpenAPI schema shows."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


class ModelInfo(BaseModel):
    """The one model version this process serves."""

    name: str
    version: str
    alias: str
    run_id: str
    data_fingerprint: str | None = Field(None, description="SHA-256 of the panel the version was trained on")
    max_horizon: int | None
    trained_until: date = Field(description="the day of the model's last period of data (see last_period for its hour)")
    last_period: LocalTime = Field(
        description="the model's last period of data, local time: midnight of the day for daily models, the hour for "
        "hourly ones; forecasts start one period (day or hour) later",
        examples=["2026-01-31T00:00:00", "2026-01-31T23:00:00"],
    )
    family_level_error: float = Field(
        0.0,
        description="relative error of a product family's level shared by its series, measured on backtests: what "
        "a plan adds to the spread of the series it sums; 0 when plans cover each family's own forecast "
        "(`plans_from`: family)",
    )
    hierarchy: list[list[str]] = Field(
        default_factory=list,
        description="the levels the model also forecasts, each the static columns that group the series (an "
        "aggregate's id is its group values joined with '/', e.g. 'F1' or 'CA/CA_1'; the total is 'total'); empty: "
        "the series alone",
        examples=[[["family"]], [["state_id"], ["state_id", "store_id"]]],
    )
    reconcile: str | None = Field(
        None,
        description="how the levels are made to add up: bottom_up, mint_shrink, wls_struct, ols or none (each level "
        "forecast directly); null without a hierarchy",
    )
    plans_from: Literal["series", "family"] = Field(
        "series",
        description="what /recommend and plan jobs cover: the sum of the series' forecasts per family, or each "
        "family's own reconciled forecast (a model with a `family` level)",
    )
    exogenous: list[str] = Field(
        default_factory=list, description="known-future columns the model reads (price, promo, ...); see `future`"
    )
    blanks: dict[str, Literal["refuse", "previous", "missing"] | float] = Field(
        default_factory=dict,
        description="what an empty (omitted or null) future value of each exogenous column means, as in the model's "
        "training: refuse (422), previous (the series' last known value), missing (unknown to the model) or the "
        "number it stands for; a column not named refuses",
        examples=[{"price": "previous", "promo": 0.0}],
    )
    takes_history: bool = Field(
        False, description="whether /forecast accepts `history` (versions trained before it existed do not)"
    )


class FutureValues(BaseModel):
    """Known-future values of one series in one forecast period: ``unique_id``, ``ds`` and one
    number per exogenous column of the model, e.g. ``{"unique_id": "P01-S1", "ds": "2026-02-01",
    "price": 4.2, "promo": 1}``, or ``"ds": "2026-02-01T14:00"`` for an hourly model. A value left
    out or null is empty: read as the model's blank policy says (``ModelInfo.blanks``)."""

    model_config = ConfigDict(extra="allow")

    unique_id: str
    # A date is its midnight. Naive, because forecast periods are local time: an offset is refused, not guessed away.
    ds: LocalTimeInput = Field(description="the forecast day (daily models) or hour (hourly models), local time")

    @model_validator(mode="after")
    def _values_are_numbers(self) -> FutureValues:
        for name, value in (self.model_extra or {}).items():
            if value is None:
                continue  # empty: the model's blank policy refuses or fills it
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        return self


_FUTURE_DESCRIPTION = (
    "known-future values for every requested series and forecast period (day, or hour for hourly models) "
    "when the model reads exogenous columns (model.exogenous); omitted: each series' most frequent recent value "
    "(regular price, no promotion)"
)


class HistoryRow(_Request):
    """One actual newer than the model's data, e.g. ``{"unique_id": "P01-S1", "ds": "2026-02-01", "y": 7}``."""

    unique_id: str
    ds: LocalTimeInput = Field(description="the day (daily models) or hour (hourly models) of the actual, local time")
    y: float = Field(ge=0, allow_inf_nan=False, description="the demand observed in that period")


_HISTORY_DESCRIPTION = (
    "actuals newer than the model's data, for requested series: each series' forecast starts the period after its "
    "last actual, without retraining; a row for a period the model already has replaces its figure, and a series' "
    "periods must follow on without a gap. A series the model does not know may be requested with its own "
    "actuals (at least 2): the cold-start method forecasts it, and its `method` says so. With `history`, "
    "`future` rows (when sent) are for the periods after each series' last actual."
)


class ForecastRequest(_Request):
    model_config = _with_examples(
        {"unique_ids": ["P01-S1", "P02-S1"], "horizon": 14},
        {
            "unique_ids": ["P01-S1"],
            "horizon": 2,
            "future": [
                {"unique_id": "P01-S1", "ds": "2026-02-01", "price": 3.99, "promo": 1},
                {"unique_id": "P01-S1", "ds": "2026-02-02", "price": 4.49, "promo": 0},
            ],
        },
        {
            "unique_ids": ["P01-S1", "NEW-ITEM"],
            "horizon": 7,
            "history": [
                {"unique_id": "P01-S1", "ds": "2026-02-01", "y": 12},
                {"unique_id": "NEW-ITEM", "ds": "2026-01-31", "y": 3},
                {"unique_id": "NEW-ITEM", "ds": "2026-02-01", "y": 5},
            ],
        },
    )

    unique_ids: list[str] = Field(
        min_length=1, description="series to forecast (at most the service's max_series_per_request, 5000 by default)"
    )
    horizon: int | None = Field(
        None,
        ge=1,
        description="periods ahead (days, or hours for hourly models), at most the model's max_horizon (the default)",
    )
    future: list[FutureValues] | None = Field(None, description=_FUTURE_DESCRIPTION)
    history: list[HistoryRow] | None = Field(None, description=_HISTORY_DESCRIPTION)


class ForecastPoint(BaseModel):
    ds: date | LocalTime = Field(description="the day (daily models) or the hour (hourly models), local time")
    mean: float
    quantiles: dict[str, float] = Field(description='e.g. {"q10": 3.1, "q50": 5.0, "q90": 7.9}')


class SeriesForecast(BaseModel):
    unique_id: str
    method: str = Field(
        description='"global model", or "cold start: historic average" for a series too short for it (a new item)'
    )
    points: list[ForecastPoint]


class ForecastResponse(BaseModel):
    model: ModelInfo
    horizon: int
    future: str = Field(description='where the known-future values came from: "request", "baseline" or "none"')
    forecasts: list[SeriesForecast]


class _PlanRequest(_Request):
    """What to plan and how: the fields ``POST /recommend`` and ``POST /plans`` share."""

    horizon: int | None = Field(
        None, ge=1, description="days to plan from the day after the model's data ends; default the model's max_horizon"
    )
    service_level: float = Field(
        0.95, gt=0, lt=1, description="probability that cumulative demand up to each day is covered"
    )
    future: list[FutureValues] | None = Field(None, description=_FUTURE_DESCRIPTION)
    level_error: float | None = Field(
        None,
        ge=0,
        le=2,
        allow_inf_nan=False,
        description="relative error of a family's level shared by its series; "
        "the model's family_level_error when omitted",
    )
    demand: str | None = Field(
        None, description='plan for the daily sums of one forecast column instead ("mean", "q90", ...)'
    )
    site: Site | None = Field(None, description="the site to plan; the service's configured site when omitted")
    stock: Literal["site", "ledger"] = Field(
        "site",
        description="opening stock per family: the site's initial_inventory, or \"ledger\": the stock ledger's units "
        "at the production node when the plan starts (its configured family split)",
    )
    locks: list[Lock] = Field(default_factory=list, description="decisions fixed by the planner; kept in the plan")
    frozen_days: int = Field(0, ge=0, description="first days in which changes to the replaced plan are charged")
    change_penalty_per_shift: float = Field(
        100.0, ge=0, allow_inf_nan=False, description="charge per changed line-shift"
    )

    def basis(self, model_level_error: float) -> DemandBasis:
        """What the plan covers; the model's family level error unless the request gives one."""
        level_error = model_level_error if self.level_error is None else self.level_error
        return DemandBasis(service_level=self.service_level, level_error=level_error, column=self.demand)


class RecommendRequest(_PlanRequest):
    model_config = _with_examples(
        {"horizon": 14, "service_level": 0.95, "time_limit_s": 10},
        {
            "horizon": 7,
            "demand": "q90",
            "stock": "ledger",
            "locks": [{"line": "L1", "day": "2026-02-02", "shift": "night", "staffed": False}],
        },
    )

    time_limit_s: float | None = Field(
        None,
        gt=0,
        description="CP-SAT time limit; the service default when omitted; at most the service's "
        "max_recommend_time_limit_s (60 s by default): longer solves are plan jobs",
    )
    previous_plan: Plan | None = Field(None, description="the plan this one replaces: warm start and change penalty")

    def replan(self) -> Replan | None:
        if self.previous_plan is None:
            return None
        return Replan(self.previous_plan, self.frozen_days, self.change_penalty_per_shift)


class PlanJobRequest(_PlanRequest):
    """A plan to make in the background (``POST /plans``); its progress and result are a plan job."""

    model_config = _with_examples(
        {"horizon": 28, "time_limit_s": 120},
        {
            "replaces": "plan-0b7c",
            "frozen_days": 3,
            "unavailable": [{"line": "L2", "first_day": "2026-02-05", "days": 2}],
        },
    )

    time_limit_s: float | None = Field(
        None, gt=0, le=3600, description="CP-SAT time limit; the service default when omitted"
    )
    replaces: str | None = Field(
        None, description="id of the stored plan this one re-plans: warm start, and changes in frozen days charged"
    )
    unavailable: list[Unavailability] = Field(
        default_factory=list, description="lines that cannot run on some days: none of their shifts is staffed"
    )


class ApproveRequest(_Request):
    model_config = _with_examples({"by": "a.planner@example.com"})

    by: str = Field(min_length=1, max_length=200, description="who approves: recorded with the plan")


class RecommendResponse(BaseModel):
    model: ModelInfo
    future: str = Field(description='where the known-future values came from: "request", "baseline" or "none"')
    demand: str = Field(description='what the plan covers: "service level 0.95" or a forecast column')
    plan: Plan
    lineage: Lineage = Field(description="everything that produced the plan: model version, site, basis, solver")


class ServedSeries(BaseModel):
    unique_id: str
    method: str = Field(description='how it is forecast: "global model" or the cold-start method')
    attributes: dict[str, str] = Field(description="its static attributes (family, store, ...)")


class SeriesPage(BaseModel):
    """A page of the series the served version forecasts, sorted by id."""

    total: int = Field(description="series the version serves (matching the prefix, when one is given)")
    offset: int
    series: list[ServedSeries]
    next_offset: int | None = Field(description="the offset of the next page; null on the last one")


class ReloadResponse(BaseModel):
    """What ``POST /admin/reload`` found: the version serving after the check, the one the alias
    names, and whether it was swapped in."""

    serving: ModelInfo
    candidate: str | None = Field(description="the version the alias names now; null when the registry did not answer")
    swapped: bool


class EventBatch(_Request):
    """Stock events of one source (``StockEvent`` fields each: event_id, source, sequence, node, sku,
    kind, qty, occurred_at, reason, transfer_id, to_node, reservation_id, due); checked one by one,
    so that a bad event is named by its index and field."""

    model_config = _with_examples(
        {
            "events": [
                {
                    "event_id": "s1-000123",
                    "source": "store-1",
                    "sequence": 123,
                    "node": "store-1",
                    "sku": "P01",
                    "kind": "shipment",
                    "qty": 2,
                    "occurred_at": "2026-02-01T10:15:00+01:00",
                },
                {
                    "event_id": "s1-000124",
                    "source": "store-1",
                    "sequence": 124,
                    "node": "store-1",
                    "sku": "P01",
                    "kind": "adjustment",
                    "qty": -1,
                    "reason": "damage",
                    "occurred_at": "2026-02-01T10:20:00+01:00",
                },
            ]
        }
    )

    events: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)


class Rejected(BaseModel):
    index: int
    event_id: str | None
    code: str
    field: str | None
    message: str


class IngestResponse(BaseModel):
    """What became of each event of a batch, by its index: applied, duplicates (applied before,
    not again), negative (applied at a node allowed to go below zero), rejected (partial batches:
    each became the dead letter of the same position in ``dead_letters``)."""

    applied: list[int]
    duplicates: list[int]
    negative: list[int]
    rejected: list[Rejected]
    dead_letters: list[int]


class ReservationRequest(_Request):
    model_config = _with_examples(
        {"reservation_id": "order-7781", "node": "dc-1", "sku": "P01", "qty": 12, "due": "2026-02-03"}
    )

    reservation_id: str = Field(min_length=1, max_length=128, description="the caller's id: a retry reserves once")
    node: str
    sku: str
    qty: PositiveInt
    due: date | None = Field(None, description="the day the units are promised for; today when omitted")


class ReleaseRequest(_Request):
    model_config = _with_examples({"qty": 4}, {})

    qty: PositiveInt | None = Field(None, description="units to release; all that the reservation holds when omitted")
