"""A plan request made into a plan and its lineage with the served model: the one path that
``POST /recommend`` (at once) and plan jobs (``POST /plans``, in the background) share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from planning import (
    DemandBasis,
    Lineage,
    Lock,
    LockError,
    ModelRef,
    Plan,
    PlanningError,
    Replan,
    Site,
    SolveControl,
    SolverSettings,
    UnknownDemandColumn,
    load_site,
    plan_rows,
    recommend,
    rows_digest,
    site_digest,
    unavailability_locks,
)
from serving.errors import ApiError
from serving.future_input import future_frame
from serving.limits import DEFAULT_LIMITS, RequestLimits
from serving.model_store import ServedModel
from serving.schemas import PlanJobRequest, RecommendRequest

__all__ = ["FamilyStock", "PlanMaker", "load_default_site", "opening_stock", "recommend_or_refuse"]

# Units per family at the production node as of a time: ``Ledger.family_stock``.
FamilyStock = Callable[..., dict[str, int]]


@dataclass
class PlanMaker:
    """Plans with the served ``model`` for ``default_site`` (or a site a request brings).

    Args:
        model: the served model version: its forecast of every series is what a plan covers (the
            one reference to it in the service, so that swapping it is one assignment).
        default_site: the configured site; None when requests must bring one.
        default_time_limit_s: the solver's time limit when a request sets none.
        made_by: recorded in each plan's lineage.
        stock: the stock ledger's units per family at its production node (``Ledger.family_stock``),
            for requests that start from the ledger's stock.
    """

    model: ServedModel
    default_site: Site | None
    default_time_limit_s: float
    made_by: str = "capcast service"
    stock: FamilyStock | None = None
    limits: RequestLimits = DEFAULT_LIMITS

    def _opening_stock(self, site: Site, source: str, first_day: date) -> tuple[Site, str]:
        if source == "site":
            return site, "site"
        try:
            return opening_stock(site, self.stock, first_day)
        except ValueError as error:
            raise ApiError(422, "no_ledger_stock", str(error), "stock") from error

    def check(self, request: RecommendRequest | PlanJobRequest) -> tuple[Site, int]:
        """The site and the horizon a request plans; 4xx ``ApiError`` when either cannot be served
        or the plan would be larger than the limits allow."""
        site = self.site(request.site)
        horizon = self.model.horizon(request.horizon)
        self.limits.check_rows(future_rows=len(request.future or ()))
        self.limits.check_plan(site, horizon)
        return site, horizon

    def site(self, requested: Site | None) -> Site:
        site = requested or self.default_site
        if site is None:
            raise ApiError(422, "no_site", "no site configured on the service; send one in the request", "site")
        return site

    def make(
        self,
        request: RecommendRequest | PlanJobRequest,
        *,
        replan: Replan | None = None,
        replaces: str | None = None,
        control: SolveControl | None = None,
    ) -> tuple[Plan, Lineage]:
        """Forecast every series, plan what ``request`` asks for (its basis, locks, unavailable lines
        and time limit), and say where the plan came from; 4xx ``ApiError`` for what the request got
        wrong.

        Args:
            replan: the plan this one replaces, for the warm start and the change penalty.
            replaces: that plan's id in the plan store, for the lineage.
            control: progress out of the solve and a way to cancel it.
        """
        model = self.model  # one version for the whole plan, even if another is swapped in meanwhile
        site, horizon = self.check(request)
        # A model with a family level plans each family's own reconciled forecast (planning.plan_rows);
        # ModelInfo.family_level_error is then 0: the family's band already holds its series' shared error.
        rows, _ = plan_rows(model.all_series_forecast(horizon, future_frame(request.future)).to_dict("records"))
        forecast = pd.DataFrame(rows)
        days = sorted(pd.to_datetime(forecast["ds"]).dt.date.unique())
        site, stock_source = self._opening_stock(site, request.stock, days[0])
        try:
            unavailable = getattr(request, "unavailable", [])
            all_locks = [*request.locks, *unavailability_locks(site, days, unavailable)]
        except LockError as error:
            raise ApiError(422, "invalid_unavailable", str(error), "unavailable") from error
        basis = request.basis(model.info.family_level_error)
        settings = SolverSettings(time_limit_s=request.time_limit_s or self.default_time_limit_s)
        history = model.recent_history()
        plan = recommend_or_refuse(forecast, site, basis, settings, all_locks, replan, history, control)
        lineage = Lineage(
            model=ModelRef(
                name=model.info.name,
                version=model.info.version,
                run_id=model.info.run_id,
                data_fingerprint=model.info.data_fingerprint,
            ),
            forecast="baseline" if request.future is None else f"request sha256:{_future_digest(request.future)}",
            site=site.name,
            site_sha256=site_digest(site),
            service_level=basis.service_level,
            level_error=basis.level_error,
            demand_column=basis.column,
            horizon=horizon,
            solver={k: v for k, v in vars(settings).items() if isinstance(v, int | float | bool)},
            locks=all_locks,
            opening_stock=stock_source,
            initial_inventory=dict(site.initial_inventory),
            replaces=replaces,
            frozen_days=replan.frozen_days if replan else 0,
            change_penalty_per_shift=replan.change_penalty_per_shift if replan else 0.0,
            made_by=self.made_by,
        )
        return plan, lineage


def _future_digest(rows) -> str:
    return rows_digest([{"unique_id": r.unique_id, "ds": str(r.ds), **(r.model_extra or {})} for r in rows])


def opening_stock(site: Site, stock: FamilyStock | None, first_day: date) -> tuple[Site, str]:
    """``site`` starting from the ledger's stock at the start of ``first_day`` (UTC), and how the
    lineage names it; ValueError when there is no ledger or it names no production node."""
    if stock is None:
        raise ValueError("this service keeps no stock ledger")
    as_of = datetime.combine(first_day, time(), tzinfo=UTC)
    return site.with_opening_stock(stock(site.families, as_of=as_of)), f"ledger as of {as_of.isoformat()}"


def load_default_site(path: Path) -> Site | None:
    """The configured site, or None when there is none (requests must then bring one)."""
    return load_site(path) if path.exists() else None


def recommend_or_refuse(
    forecast: pd.DataFrame,
    site: Site,
    basis: DemandBasis,
    settings: SolverSettings,
    locks: Sequence[Lock] = (),
    replan: Replan | None = None,
    history: pd.DataFrame | None = None,
    control: SolveControl | None = None,
) -> Plan:
    """``planning.recommend`` on the forecast frame; 4xx ``ApiError`` for what the request got wrong."""
    try:
        actuals = () if history is None else history.to_dict("records")
        return recommend(forecast.to_dict("records"), site, basis, settings, locks, replan, actuals, control)
    except UnknownDemandColumn as error:
        raise ApiError(422, "unknown_demand_column", str(error), "demand") from error
    except PlanningError as error:
        raise ApiError(409, "no_plan", str(error), "locks" if locks else "site") from error
    except LockError as error:
        raise ApiError(422, "invalid_lock", str(error), "locks") from error
    except (ValueError, ValidationError) as error:
        raise ApiError(422, "site_does_not_fit", str(error), "site") from error
