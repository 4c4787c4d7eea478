"""Run a plan against the demand that actually happened.

Production executes as planned; stock and backlog follow the realised
demand (backlog served oldest first). The outcome prices the plan's shifts as
planned and its stock, backlog and lost sales as realised.
"""

from __future__ import annotations

from dataclasses import dataclass

from planning.domain.demand import Demand
from planning.domain.plan import CostBreakdown, FamilyDay, Plan
from planning.domain.site import Site
from planning.review.kpis import fill_rate, plan_cost, staffed_capacity

__all__ = ["Outcome", "simulate"]


@dataclass(frozen=True)
class Outcome:
    """What a plan delivered against realised demand.

    ``idle_capacity`` is the share of staffed capacity (at the chosen speeds)
    left unused; ``storage_overflow_units`` the units above the storage cap
    summed over days (stock the plan made for demand that did not come).
    """

    fill_rate: float
    cost: CostBreakdown
    late_units: int
    lost_units: int
    idle_capacity: float
    storage_overflow_units: int


def simulate(site: Site, plan: Plan, actual: Demand) -> Outcome:
    if tuple(sorted({f.day for f in plan.families})) != actual.days:
        raise ValueError("the plan and the realised demand cover different days")
    made = {(f.family, f.day): f.production for f in plan.families}
    flows: list[FamilyDay] = []
    for family in site.families:
        units = actual.units.get(family, (0,) * len(actual.days))
        net = site.initial_inventory.get(family, 0)
        for d, day in enumerate(actual.days):
            production = made.get((family, day), 0)
            net += production - units[d]
            flows.append(
                FamilyDay(
                    family=family,
                    day=day,
                    demand=units[d],
                    production=production,
                    stock=max(net, 0),
                    backlog=max(-net, 0),
                )
            )
    stock_by_day: dict = {}
    for f in flows:
        stock_by_day[f.day] = stock_by_day.get(f.day, 0) + f.stock
    capacity = sum(staffed_capacity(site, d) for d in plan.shifts)
    produced = sum(d.production for d in plan.shifts if d.staffed)
    last = actual.days[-1]
    return Outcome(
        fill_rate=round(fill_rate(flows), 4),
        cost=plan_cost(site, plan.shifts, flows),
        late_units=sum(min(f.demand, f.backlog) for f in flows),
        lost_units=sum(f.backlog for f in flows if f.day == last),
        idle_capacity=round(1 - produced / capacity, 4) if capacity else 0.0,
        storage_overflow_units=sum(max(0, s - site.storage_capacity) for s in stock_by_day.values()),
    )
