"""What a plan says: decisions per line-shift, flows per family-day, KPIs and the solver's report."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

__all__ = ["ShiftDecision", "FamilyDay", "CostBreakdown", "Kpis", "SolverReport", "Plan"]


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


class Plan(BaseModel):
    site: str
    start: date
    days: int
    shifts: list[ShiftDecision]
    families: list[FamilyDay]
    kpis: Kpis
    solver: SolverReport
