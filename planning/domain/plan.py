"""What a plan says: decisions per line-shift, flows per family-day, KPIs and the solver's report."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

__all__ = [
    "BindingConstraint",
    "CostBreakdown",
    "DemandContext",
    "Explanation",
    "FamilyActualDay",
    "FamilyDay",
    "FamilyForecastDay",
    "Kpis",
    "LineDay",
    "MaintenanceReason",
    "Plan",
    "ReplanReport",
    "ShiftDecision",
    "SolverReport",
]


class ShiftDecision(BaseModel):
    line: str
    day: date
    shift: str
    staffed: bool
    maintenance: bool
    family: str | None = None
    speed_level: str | None = None
    production: int = 0


class FamilyDay(BaseModel):
    family: str
    day: date
    demand: int
    production: int
    stock: int
    backlog: int


class CostBreakdown(BaseModel):
    """Plan cost in the site's currency, by kind."""

    labour: float
    overtime: float
    energy: float
    changeover: float
    holding: float
    backlog: float
    lost_sales: float
    total: float


class Kpis(BaseModel):
    """Plan quality as the planner reads it.

    ``expected_fill_rate``: share of forecast demand shipped on its day
    (backlog served oldest first). ``line_utilisation``: staffed share of
    line-shifts not in maintenance. ``capacity_utilisation``: units made over
    what staffed shifts could make at their chosen speed.
    """

    expected_fill_rate: float
    line_utilisation: float
    capacity_utilisation: float
    changeovers: int
    cost: CostBreakdown


class SolverReport(BaseModel):
    status: str
    objective: float | None
    best_bound: float | None
    gap: float | None
    wall_time_s: float
    time_limit_s: float
    seed: int
    workers: int


class BindingConstraint(BaseModel):
    """A resource that limited the plan on one day."""

    day: date
    resource: str  # "labour pool", "minimum rest", "line capacity", "storage", "weekly budget", "cost"
    detail: str


class LineDay(BaseModel):
    line: str
    day: date
    staffed_shifts: int
    available_shifts: int
    production: int
    capacity: int  # units the staffed shifts could make at their chosen speeds
    utilisation: float  # production / capacity, 0 when nothing is staffed


class MaintenanceReason(BaseModel):
    line: str
    day: date
    shift: str
    window: tuple[date, date]
    demand_on_days: int
    window_average_demand: float
    reason: str


class Explanation(BaseModel):
    """Why the plan looks as it does: what bound it, how busy each line was, why maintenance sits where it does."""

    binding: list[BindingConstraint]
    utilisation: list[LineDay]
    maintenance: list[MaintenanceReason]


class ReplanReport(BaseModel):
    """How a re-plan relates to the plan it replaces."""

    previous_start: date
    frozen_days: int
    change_penalty_per_shift: float
    changed_shifts: int  # line-shifts in the frozen days whose staffing or family changed
    change_penalty: float  # included in the solver's objective, not in the plan's cost


class FamilyForecastDay(BaseModel):
    """A product family's demand forecast for one day, as the plan read it."""

    family: str
    day: date
    mean: float
    bands: dict[str, tuple[float, float]]  # central level in percent ("80", "95") -> (low, high)


class FamilyActualDay(BaseModel):
    """What a product family actually sold on one day before the forecast starts."""

    family: str
    day: date
    actual: float


class DemandContext(BaseModel):
    """What the plan was made from, for reading it beside the plan: the basis of the demand it
    covers, the family forecast with its bands, and recent actual demand before the forecast."""

    basis: str
    forecast: list[FamilyForecastDay]
    history: list[FamilyActualDay] = []


class Plan(BaseModel):
    site: str
    start: date
    days: int
    shifts: list[ShiftDecision]
    families: list[FamilyDay]
    kpis: Kpis
    solver: SolverReport
    explanation: Explanation | None = None
    replan: ReplanReport | None = None
    context: DemandContext | None = None
