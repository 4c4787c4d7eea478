"""From a forecast to a capacity plan: the one path that ``capcast plan`` and ``POST /recommend`` share.

A forecast arrives as plain rows (``unique_id``, ``ds``, optionally ``family``,
``mean`` and quantile columns such as ``q10``/``q90``), from any source. What
the plan covers is the ``DemandBasis``: by default the service-level quantile
of each family's cumulative demand (``planning.domain.service_level``), or
the daily sums of one forecast column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from planning.domain.demand import Demand, demand_from_forecast
from planning.domain.locks import Lock
from planning.domain.plan import Plan
from planning.domain.service_level import service_level_demand
from planning.domain.site import Site
from planning.solver.solve import Replan, SolverSettings, solve

__all__ = ["DemandBasis", "UnknownDemandColumn", "demand_columns", "demand_for_forecast", "recommend"]

_QUANTILE = re.compile(r"q\d+(\.\d+)?")


@dataclass(frozen=True)
class DemandBasis:
    """What a plan covers.

    Args:
        service_level: probability in (0, 1) that cumulative family demand up to each day is covered.
        level_error: relative error of a family's level shared by its series (the forecaster's
            ``family_level_error``); 0 treats series as independent.
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
) -> Plan:
    """Plan ``site`` to cover the forecast ``rows`` as ``basis`` says, keeping the planner's ``locks``
    (``settings``: the solver's defaults when None).

    Raises:
        UnknownDemandColumn, ValueError: as ``demand_for_forecast``; ValueError also when the
            site and the forecast do not fit together (a family no line makes).
        LockError: when a lock names something the site or the planned days do not have.
        PlanningError: when the rules admit no plan or none was found in time.
    """
    demand = demand_for_forecast(rows, basis)
    return solve(site, demand, settings or SolverSettings(), locks=locks, replan=replan)
