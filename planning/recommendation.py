"""From a forecast to a capacity plan: the one path that ``capcast plan`` and ``POST /recommend`` share.

A forecast arrives as plain rows (``unique_id``, ``ds``, optionally ``family``,
``mean`` and quantile columns such as ``q10``/``q90``), from any source. What
the plan covers is the ``DemandBasis``: by default the service-level quantile
of each family's cumulative demand (``planning.domain.service_level``), or
the daily sums of one forecast column.

A forecast of a hierarchy (rows with a ``level``) holds its aggregates beside its series; ``plan_rows``
picks the rows a plan covers, so no unit is counted once per level.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from planning.domain.buckets import daily_rows
from planning.domain.demand import Demand, as_date, demand_from_forecast
from planning.domain.locks import Lock
from planning.domain.plan import DemandContext, FamilyActualDay, FamilyForecastDay, Plan
from planning.domain.service_level import family_bands, family_moments, service_level_demand
from planning.domain.site import Site
from planning.solver.control import SolveControl
from planning.solver.solve import Replan, SolverSettings, solve

__all__ = [
    "BOTTOM_LEVEL",
    "FAMILY_LEVEL",
    "DemandBasis",
    "UnknownDemandColumn",
    "demand_columns",
    "demand_context",
    "demand_for_forecast",
    "plan_rows",
    "recommend",
]

_QUANTILE = re.compile(r"q\d+(\.\d+)?")
# The ``level`` of a hierarchy's rows (``models.hierarchy``): a product family's own series, the series themselves.
FAMILY_LEVEL, BOTTOM_LEVEL = "family", "unique_id"


@dataclass(frozen=True)
class DemandBasis:
    """What a plan covers.

    Args:
        service_level: probability in (0, 1) that cumulative family demand up to each day is covered.
        level_error: relative error of a family's level shared by its series (the forecaster's
            ``family_level_error``); 0 treats series as independent. A plan of families' own forecasts
            (``plan_rows``) needs none: each family's band is calibrated on its own errors, which
            already hold the movement its series share.
        column: plan for the daily sums of this forecast column instead (``"mean"``, ``"q90"``).
    """

    service_level: float = 0.95
    level_error: float = 0.0
    column: str | None = None

    def describe(self) -> str:
        return self.column or f"service level {self.service_level:g}, level error {self.level_error:g}"


class UnknownDemandColumn(ValueError):
    """``DemandBasis.column`` is not a demand column of the forecast; ``choices`` lists those it has."""

    def __init__(self, column: str, choices: Sequence[str]):
        super().__init__(f"demand must be one of: {', '.join(choices)}; got {column!r}")
        self.choices = list(choices)


def plan_rows(rows: Iterable[Mapping]) -> tuple[list[Mapping], bool]:
    """The rows of a forecast that a plan covers, and whether they are families' own forecasts.

    A forecast of a hierarchy has a ``level`` on each row (``unique_id`` for the series themselves,
    the grouping columns of an aggregate's level joined with ``/``, ``total``). With a ``family``
    level, the plan covers each family's own reconciled forecast: those rows, whose ``unique_id`` and
    ``family`` are the family. Its band is calibrated on the family's own backtest errors, so it
    already carries what the family's series miss together: plan them with ``level_error`` 0.
    Otherwise the plan sums the series' rows (``unique_id`` level) per family. A forecast without
    ``level``: every row, as given.
    """
    rows = list(rows)
    levels = {row.get("level") for row in rows}
    if levels <= {None}:
        return rows, False
    if FAMILY_LEVEL in levels:
        return [{**row, "family": row["unique_id"]} for row in rows if row.get("level") == FAMILY_LEVEL], True
    return [row for row in rows if row.get("level") == BOTTOM_LEVEL], False


def demand_columns(columns: Iterable[str]) -> list[str]:
    """The columns of a forecast a plan can cover the daily sums of: ``mean`` and the quantiles."""
    return [c for c in columns if c == "mean" or _QUANTILE.fullmatch(c)]


def demand_for_forecast(rows: Iterable[Mapping], basis: DemandBasis) -> Demand:
    """Units per family and day that the plan must cover.

    Raises:
        UnknownDemandColumn: when ``basis.column`` is not in the forecast.
        ValueError: when the forecast has no rows, a negative or non-finite value, or no
            quantile pair to measure its spread.
    """
    rows = list(rows)
    if not rows:
        raise ValueError("forecast has no rows")
    if basis.column is None:
        return service_level_demand(rows, basis.service_level, level_error=basis.level_error)
    choices = demand_columns(rows[0].keys())
    if basis.column not in choices:
        raise UnknownDemandColumn(basis.column, choices)
    return demand_from_forecast(rows, basis.column)


def recommend(
    rows: Iterable[Mapping],
    site: Site,
    basis: DemandBasis = DemandBasis(),
    settings: SolverSettings | None = None,
    locks: Sequence[Lock] = (),
    replan: Replan | None = None,
    history: Iterable[Mapping] = (),
    control: SolveControl | None = None,
) -> Plan:
    """Plan ``site`` to cover the forecast ``rows`` (days, or weeks and months split into days:
    ``planning.domain.buckets``) as ``basis`` says, keeping the planner's ``locks``
    (``settings``: the solver's defaults when None). The plan carries its ``DemandContext``: the
    family forecast with 80% and 95% bands and the family totals of ``history`` (actual rows
    ``unique_id, ds, y`` and ``family`` before the forecast starts).

    Raises:
        UnknownDemandColumn, ValueError: as ``demand_for_forecast``; ValueError also when the
            site and the forecast do not fit together (a family no line makes).
        LockError: when a lock names something the site or the planned days do not have.
        PlanningError: when the rules admit no plan or none was found in time.
        SolveCancelled: when ``control`` was cancelled.
    """
    rows = daily_rows(list(rows))
    history = daily_rows(list(history), columns=("y",))
    demand = demand_for_forecast(rows, basis)
    plan = solve(site, demand, settings or SolverSettings(), locks=locks, replan=replan, control=control)
    return plan.model_copy(update={"context": demand_context(rows, basis, history)})


def demand_context(rows: Sequence[Mapping], basis: DemandBasis, history: Iterable[Mapping] = ()) -> DemandContext:
    """The family forecast (mean and 80%/95% bands with the basis' level error; the mean alone when
    the forecast has no quantiles) and the family totals of ``history``."""
    try:
        moments = family_moments(rows)
    except ValueError:  # no quantile pair: the plan covered one column; show the family means
        demand = demand_from_forecast(rows, "mean")
        forecast = [
            FamilyForecastDay(family=f, day=day, mean=units[d], bands={})
            for f, units in demand.units.items()
            for d, day in enumerate(demand.days)
        ]
    else:
        forecast = [
            FamilyForecastDay(family=family, day=day, mean=round(mean, 4), bands=_rounded(bands))
            for family, day, mean, bands in family_bands(moments, (80, 95), basis.level_error)
        ]
    totals: dict[tuple[str, date], float] = defaultdict(float)
    for row in history:
        totals[str(row.get("family") or row["unique_id"]), as_date(row["ds"])] += float(row["y"])
    actual = [FamilyActualDay(family=f, day=day, actual=round(y, 4)) for (f, day), y in sorted(totals.items())]
    return DemandContext(basis=basis.describe(), forecast=forecast, history=actual)


def _rounded(bands: Mapping[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    return {level: (round(low, 4), round(high, 4)) for level, (low, high) in bands.items()}
