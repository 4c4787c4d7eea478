"""KPIs and cost recomputed from a plan's decisions (not from the solver's objective)."""

from __future__ import annotations

from collections import defaultdict

from planning.plan import CostBreakdown, FamilyDay, Kpis, ShiftDecision
from planning.site import Site

__all__ = ["plan_cost", "plan_kpis", "fill_rate"]


def fill_rate(flows: list[FamilyDay]) -> float:
    """On-time share of demand; with oldest-first service, day d's late units are min(demand, backlog)."""
    demand = sum(f.demand for f in flows)
    late = sum(min(f.demand, f.backlog) for f in flows)
    return 1.0 if demand == 0 else 1.0 - late / demand


def plan_cost(site: Site, shifts: list[ShiftDecision], flows: list[FamilyDay]) -> CostBreakdown:
    costs = site.costs
    lines = {line.id: line for line in site.lines}
    shift_by_name = {shift.name: shift for shift in site.shifts}
    labour = energy = 0.0
    for decision in shifts:
        if not decision.staffed:
            continue
        line, shift = lines[decision.line], shift_by_name[decision.shift]
        labour += line.crew_per_shift * shift.hours * costs.labour_per_crew_hour * shift.labour_cost_multiplier
        level = next(l for l in line.speed_levels if l.name == decision.speed_level)
        energy += level.energy_cost_per_hour * shift.hours
    last_day = max(f.day for f in flows)
    holding = costs.holding_per_unit_day * sum(f.stock for f in flows)
    backlog = costs.backlog_per_unit_day * sum(f.backlog for f in flows)
    lost = costs.lost_sale_per_unit * sum(f.backlog for f in flows if f.day == last_day)
    return CostBreakdown(
        labour=round(labour, 2),
        energy=round(energy, 2),
        holding=round(holding, 2),
        backlog=round(backlog, 2),
        lost_sales=round(lost, 2),
        total=round(labour + energy + holding + backlog + lost, 2),
    )


def plan_kpis(site: Site, shifts: list[ShiftDecision], flows: list[FamilyDay]) -> Kpis:
    lines = {line.id: line for line in site.lines}
    hours = {shift.name: shift.hours for shift in site.shifts}
    available = [d for d in shifts if not d.maintenance]
    staffed = [d for d in shifts if d.staffed]
    capacity = defaultdict(int)
    for d in staffed:
        level = next(l for l in lines[d.line].speed_levels if l.name == d.speed_level)
        capacity[d.line] += level.units_per_hour * hours[d.shift]
    made = sum(d.production for d in staffed)
    total_capacity = sum(capacity.values())
    return Kpis(
        expected_fill_rate=round(fill_rate(flows), 4),
        line_utilisation=round(len(staffed) / len(available), 4) if available else 0.0,
        capacity_utilisation=round(made / total_capacity, 4) if total_capacity else 0.0,
        cost=plan_cost(site, shifts, flows),
    )
