"""Explain a plan to the planner: binding resources per day, utilisation per line and day,
and why each maintenance stop sits where it does. Reads only the plan, site and demand."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from planning.domain.demand import Demand
from planning.domain.labour import crew_groups
from planning.domain.plan import BindingConstraint, Explanation, LineDay, MaintenanceReason, Plan, ShiftDecision
from planning.domain.site import Line, Site
from planning.review.kpis import operating_cost_by_day, staffed_capacity

__all__ = ["explain"]


def _binding(site: Site, plan: Plan) -> list[BindingConstraint]:
    lines = {line.id: line for line in site.lines}
    by_day = defaultdict(list)
    for decision in plan.shifts:
        by_day[decision.day].append(decision)
    flows_by_day = defaultdict(list)
    for flow in plan.families:
        flows_by_day[flow.day].append(flow)
    operating = operating_cost_by_day(site, plan.shifts)
    week_cost: dict[int, float] = defaultdict(float)
    for day, costs in operating.items():
        week_cost[(day - plan.start).days // 7] += sum(costs.values())
    rest_binding = _rest_binding(site, plan)
    result = []
    for day in sorted(by_day):
        decisions = by_day[day]
        people, smallest_crew = _people_staffed(lines, decisions), _smallest_idle_crew(lines, decisions)
        idle = [d for d in decisions if not d.staffed and not d.maintenance]
        short = [f.family for f in flows_by_day[day] if f.backlog > 0]
        if smallest_crew is not None and people + smallest_crew > site.labour_pool_per_day:
            result.append(
                BindingConstraint(
                    day=day,
                    resource="labour pool",
                    detail=f"{people} of {site.labour_pool_per_day} people staffed; no idle shift could be crewed",
                )
            )
        if not idle:
            result.append(
                BindingConstraint(day=day, resource="line capacity", detail="every available line-shift is staffed")
            )
        stock = sum(f.stock for f in flows_by_day[day])
        if site.storage_capacity and stock >= 0.98 * site.storage_capacity:
            result.append(
                BindingConstraint(
                    day=day, resource="storage", detail=f"{stock} of {site.storage_capacity} units stored"
                )
            )
        week = (day - plan.start).days // 7
        if site.weekly_budget is not None and week_cost[week] >= 0.98 * site.weekly_budget:
            result.append(
                BindingConstraint(
                    day=day,
                    resource="weekly budget",
                    detail=f"week {week + 1} spends {week_cost[week]:,.2f} of {site.weekly_budget:,.2f}",
                )
            )
        result += [b for b in rest_binding if b.day == day]
        if short and not any(b.day == day for b in result):
            result.append(
                BindingConstraint(
                    day=day, resource="cost", detail=f"backlog of {', '.join(short)} was cheaper than more shifts"
                )
            )
    return result


def _people_staffed(lines: dict[str, Line], decisions: list[ShiftDecision]) -> int:
    return sum(lines[d.line].crew_at(lines[d.line].level_index(d.speed_level)) for d in decisions if d.staffed)


def _smallest_idle_crew(lines: dict[str, Line], decisions: list[ShiftDecision]) -> int | None:
    """The fewest people any idle (not staffed, not in maintenance) line-shift among ``decisions`` could run with."""
    idle = [lines[d.line] for d in decisions if not d.staffed and not d.maintenance]
    return min((line.crew_at(k) for line in idle for k in range(len(line.speed_levels))), default=None)


def _rest_binding(site: Site, plan: Plan) -> list[BindingConstraint]:
    """Groups of shifts on consecutive days that the minimum rest keeps apart, full enough
    that no idle shift among them could be crewed; reported on their last day."""
    if site.min_rest_hours == 0:
        return []
    lines = {line.id: line for line in site.lines}
    shift_index = {shift.name: s for s, shift in enumerate(site.shifts)}
    days = [plan.start + timedelta(days=k) for k in range(plan.days)]
    by_slot = defaultdict(list)
    for d in plan.shifts:
        by_slot[(d.day - plan.start).days, shift_index[d.shift]].append(d)
    result = []
    for group in crew_groups(site, days):
        if len({d for d, _ in group.slots}) < 2:
            continue  # one day: the labour pool check covers it
        decisions = [d for slot in group.slots for d in by_slot[slot]]
        people, smallest_crew = _people_staffed(lines, decisions), _smallest_idle_crew(lines, decisions)
        if smallest_crew is not None and people + smallest_crew > site.labour_pool_per_day:
            last_day = days[max(d for d, _ in group.slots)]
            detail = f"{group.description}: {people} people staffed"
            result.append(BindingConstraint(day=last_day, resource="minimum rest", detail=detail))
    return result


def _utilisation(site: Site, plan: Plan) -> list[LineDay]:
    rows: dict = defaultdict(lambda: {"staffed": 0, "available": 0, "production": 0, "capacity": 0})
    for d in plan.shifts:
        row = rows[d.line, d.day]
        row["available"] += not d.maintenance
        if d.staffed:
            row["staffed"] += 1
            row["production"] += d.production
            row["capacity"] += staffed_capacity(site, d)
    return [
        LineDay(
            line=line_id,
            day=day,
            staffed_shifts=r["staffed"],
            available_shifts=r["available"],
            production=r["production"],
            capacity=r["capacity"],
            utilisation=round(r["production"] / r["capacity"], 4) if r["capacity"] else 0.0,
        )
        for (line_id, day), r in sorted(rows.items())
    ]


def _maintenance(site: Site, demand: Demand, plan: Plan) -> list[MaintenanceReason]:
    daily = {day: sum(units[d] for units in demand.units.values()) for d, day in enumerate(demand.days)}
    result = []
    for line in site.lines:
        stops = sorted((d for d in plan.shifts if d.line == line.id and d.maintenance), key=lambda d: (d.day, d.shift))
        if not stops or line.maintenance is None:
            continue
        rule = line.maintenance
        first = plan.start + timedelta(days=rule.earliest_day)
        last = plan.start + timedelta(days=min(rule.latest_day, plan.days - 1))
        window_days = [day for day in daily if first <= day <= last]
        stop_days = sorted({d.day for d in stops})
        on_days = sum(daily[day] for day in stop_days)
        average = sum(daily[day] for day in window_days) / len(window_days)
        quieter = sum(1 for day in window_days if daily[day] < daily[stop_days[0]])
        if quieter == 0:
            reason = "the quietest day of its window"
        else:
            others = [d.line for d in plan.shifts if d.maintenance and d.line != line.id and d.day in window_days]
            reason = f"{quieter} day(s) of its window are quieter"
            if others:
                at_once = site.max_lines_in_maintenance
                reason += f"; line(s) {', '.join(sorted(set(others)))} are down then too (at most {at_once} at once)"
            reason += "; this day cost least once labour, storage and changeovers are counted"
        result.append(
            MaintenanceReason(
                line=line.id,
                day=stops[0].day,
                shift=stops[0].shift,
                window=(first, last),
                demand_on_days=on_days,
                window_average_demand=round(average, 1),
                reason=reason,
            )
        )
    return result


def explain(site: Site, demand: Demand, plan: Plan) -> Explanation:
    return Explanation(
        binding=_binding(site, plan), utilisation=_utilisation(site, plan), maintenance=_maintenance(site, demand, plan)
    )
