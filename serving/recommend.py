"""``POST /recommend``'s edge: the served forecast handed to ``planning.recommend``, its refusals as API errors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from planning import (
    DemandBasis,
    Lock,
    LockError,
    Plan,
    PlanningError,
    Replan,
    Site,
    SolverSettings,
    UnknownDemandColumn,
    load_site,
    recommend,
)
from serving.errors import ApiError

__all__ = ["load_default_site", "recommend_plan"]


def load_default_site(path: Path) -> Site | None:
    """The configured site, or None when there is none (requests must then bring one)."""
    return load_site(path) if path.exists() else None


def recommend_plan(
    forecast: pd.DataFrame,
    site: Site,
    basis: DemandBasis,
    settings: SolverSettings,
    locks: Sequence[Lock] = (),
    replan: Replan | None = None,
) -> Plan:
    """``planning.recommend`` on the forecast frame; 4xx ``ApiError`` for what the request got wrong."""
    try:
        return recommend(forecast.to_dict("records"), site, basis, settings, locks, replan)
    except UnknownDemandColumn as error:
        raise ApiError(422, "unknown_demand_column", str(error), "demand") from error
    except PlanningError as error:
        raise ApiError(409, "no_plan", str(error), "locks" if locks else "site") from error
    except LockError as error:
        raise ApiError(422, "invalid_lock", str(error), "locks") from error
    except (ValueError, ValidationError) as error:
        raise ApiError(422, "site_does_not_fit", str(error), "site") from error
