"""KPIs and cost recomputed from a plan's decisions (not from the solver's objective)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date

from planning.domain.plan import CostBreakdown, FamilyDay, Kpis, ShiftDecision
from planning.domain.site import Site

__all__ = ["changeovers", "fill_rate", "operating_cost_by_day", "plan_cost", "plan_kpis", "staffed_capacity"]


def staffed_capacity(site: Site, decision: ShiftDecision) -> int:
    """Units a line-shift can make at the speed level chosen for it; 0 when it is not staffed."""
    if not decision.staffed:
        return 0
    line = next(line for line in site.lines if line.id == decision.line)
    level = line.speed_levels[line.level_index(decision.speed_level)]
    return level.units_per_hour * next(s.hours for s in site.shifts if s.name == decision.shift)


def fill_rate(flows: list[FamilyDay]) -> float:
    """On-time share of demand; with oldest-first service, day d's late units are min(demand, backlog)."""
    demand = sum(f.demand for f in flows)
    late = sum(min(f.demand, f.backlog) for f in flows)
    return 1.0 if demand == 0 else 1.0 - late / demand


def changeovers(site: Site, shifts: list[ShiftDecision]) -> list[ShiftDecision]:
    """Decisions where a line starts a different family than it ran the shift before."""
    order = {s.name: i for i, s in enumerate(site.shifts)}
    result = []
    for line in site.lines:
        own = sorted((d for d in shifts if d.line == line.id), key=lambda d: (d.day, order[d.shift]))
        for before, now in itertools.pairwise(own):
            if before.staffed and now.staffed and before.family != now.family:
                result.append(now)
    return result


def operating_cost_by_day(site: Site, shifts: list[ShiftDecision]) -> dict[date, dict[str, float]]:
    """Labour, overtime premium, energy and changeover cost per day."""
    costs = site.costs
    lines = {line.id: line for line in site.lines}
    shift_by_name = {shift.name: shift for shift in site.shifts}
    by_day: dict[date, dict[str, float]] = defaultdict(
        lambda: {"labour": 0.0, "overtime": 0.0, "energy": 0.0, "changeover": 0.0}
    )
    crew_hours: dict[date, float] = defaultdict(float)
    for decision in shifts:
        by_day[decision.day]  # every planned day gets a row, staffed or not
        if not decision.staffed:
            continue
        line, shift = lines[decision.line], shift_by_name[decision.shift]
        k = next(i for i, level in enumerate(line.speed_levels) if level.name == decision.speed_level)
        hours = line.crew_at(k) * shift.hours
        crew_hours[decision.day] += hours
        by_day[decision.day]["labour"] += hours * costs.labour_per_crew_hour * shift.labour_cost_multiplier
        by_day[decision.day]["energy"] += line.speed_levels[k].energy_cost_per_hour * shift.hours
    for decision in changeovers(site, shifts):
        by_day[decision.day]["changeover"] += lines[decision.line].changeover_cost
    if site.regular_crew_hours_per_day is not None:
        premium = costs.labour_per_crew_hour * (costs.overtime_multiplier - 1.0)
        for day, hours in crew_hours.items():
            by_day[day]["overtime"] += max(0.0, hours - site.regular_crew_hours_per_day) * premium
    return dict(by_day)


def plan_cost(site: Site, shifts: list[ShiftDecision], flows: list[FamilyDay]) -> CostBreakdown:
    costs = site.costs
    operating = operating_cost_by_day(site, shifts)
    totals = {
        name: sum(day[name] for day in operating.values()) for name in ("labour", "overtime", "energy", "changeover")
    }
    last_day = max(f.day for f in flows)
    totals["holding"] = costs.holding_per_unit_day * sum(f.stock for f in flows)
    totals["backlog"] = costs.backlog_per_unit_day * sum(f.backlog for f in flows)
    totals["lost_sales"] = costs.lost_sale_per_unit * sum(f.backlog for f in flows if f.day == last_day)
    return CostBreakdown(**{k: round(v, 2) for k, v in totals.items()}, total=round(sum(totals.values()), 2))


def plan_kpis(site: Site, shifts: list[ShiftDecision], flows: list[FamilyDay]) -> Kpis:
    available = [d for d in shifts if not d.maintenance]
    staffed = [d for d in shifts if d.staffed]
    capacity = sum(staffed_capacity(site, d) for d in staffed)
    made = sum(d.production for d in staffed)
    return Kpis(
        expected_fill_rate=round(fill_rate(flows), 4),
        line_utilisation=round(len(staffed) / len(available), 4) if available else 0.0,
        capacity_utilisation=round(made / capacity, 4) if capacity else 0.0,
        changeovers=len(changeovers(site, shifts)),
        cost=plan_cost(site, shifts, flows),
    )
