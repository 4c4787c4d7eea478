"""From the served forecast to a capacity plan: aggregate to families, then solve."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from planning.demand import demand_from_forecast
from planning.model import LockError
from planning.plan import Lock, Plan
from planning.service_level import service_level_demand
from planning.site import Site, load_site
from planning.solve import PlanningError, Replan, SolverSettings, solve
from serving.errors import ApiError

__all__ = ["load_default_site", "plan_from_forecast"]


def load_default_site(path: Path) -> Site | None:
    """The configured site, or None when there is none (requests must then bring one)."""
    return load_site(path) if path.exists() else None


def plan_from_forecast(
    forecast: pd.DataFrame,
    site: Site,
    column: str | None,
    time_limit_s: float,
    service_level: float = 0.95,
    locks: Sequence[Lock] = (),
    replan: Replan | None = None,
    level_error: float = 0.0,
) -> Plan:
    """Plan ``site`` to cover the forecast at ``service_level`` (cumulative, per family), or, when
    ``column`` is given, the family-level sums of that column; 4xx ``ApiError`` on bad combinations."""
    choices = [c for c in forecast.columns if c == "mean" or re.fullmatch(r"q\d+(\.\d+)?", c)]
    if column is not None and column not in choices:
        raise ApiError(422, "unknown_demand_column", f"demand must be one of: {', '.join(choices)}", "demand")
    columns = [c for c in ("unique_id", "ds", "family") if c in forecast.columns] + choices
    rows = forecast[columns].to_dict("records")
    try:
        demand = (
            demand_from_forecast(rows, column)
            if column
            else service_level_demand(rows, service_level, level_error=level_error)
        )
        return solve(site, demand, SolverSettings(time_limit_s=time_limit_s), locks=locks, replan=replan)
    except PlanningError as error:
        raise ApiError(409, "no_plan", str(error), "locks" if locks else "site") from error
    except LockError as error:
        raise ApiError(422, "invalid_lock", str(error), "locks") from error
    except (ValueError, ValidationError) as error:
        raise ApiError(422, "site_does_not_fit", str(error), "site") from error
