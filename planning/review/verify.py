"""An independent check of a plan against the site's hard rules, in plain Python.

It reads only the plan, the site and the demand, never the solver model, so
a modelling mistake shows up here as a violation instead of being trusted.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from planning.domain.demand import Demand
from planning.domain.plan import Plan
from planning.domain.site import Site
from planning.review.kpis import operating_cost_by_day, plan_cost

__all__ = ["plan_violations"]


def _shift_rules(site: Site, plan: Plan) -> list[str]:
    lines = {line.id: line for line in site.lines}
    hours = {shift.name: shift.hours for shift in site.shifts}
    problems = []
    for d in plan.shifts:
        where = f"line {d.line}, {d.day}, shift {d.shift}"
        line = lines.get(d.line)
        if line is None or d.shift not in hours:
            problems.append(f"{where}: unknown line or shift")
            continue
        if d.staffed and d.maintenance:
            problems.append(f"{where}: staffed during maintenance")
        if d.staffed != (d.family is not None) or d.staffed != (d.speed_level is not None):
            problems.append(f"{where}: staffed={d.staffed} but family={d.family}, speed={d.speed_level}")
            continue
        if not d.staffed:
            if d.production:
                problems.append(f"{where}: {d.production} units made on an unstaffed shift")
            continue
        if d.family not in line.families:
            problems.append(f"{where}: family {d.family} is not eligible on this line")
        level = next((level for level in line.speed_levels if level.name == d.speed_level), None)
        if level is None:
            problems.append(f"{where}: unknown speed level {d.speed_level}")
        elif not 0 <= d.production <= level.units_per_hour * hours[d.shift]:
            problems.append(f"{where}: {d.production} units exceed {level.name} capacity")
    expected = {
        (line.id, plan.start + timedelta(days=k), s.name)
        for line in site.lines
        for k in range(plan.days)
        for s in site.shifts
    }
    seen = [(d.line, d.day, d.shift) for d in plan.shifts]
    if len(seen) != len(set(seen)) or set(seen) != expected:
        problems.append("plan does not hold exactly one decision per line, day and shift")
    return problems


def _maintenance_rules(site: Site, plan: Plan) -> list[str]:
    problems = []
    order = {s.name: i for i, s in enumerate(site.shifts)}
    n_shifts = len(site.shifts)

    def slot(decision) -> int:
        return (decision.day - plan.start).days * n_shifts + order[decision.shift]

    down_per_slot: dict[int, int] = defaultdict(int)
    for line in site.lines:
        slots = sorted(slot(d) for d in plan.shifts if d.line == line.id and d.maintenance)
        for t in slots:
            down_per_slot[t] += 1
        rule = line.maintenance
        if rule is None or rule.earliest_day >= plan.days:
            if slots:
                problems.append(f"line {line.id}: maintenance planned but none is due")
            continue
        contiguous = slots == list(range(slots[0], slots[0] + len(slots))) if slots else False
        if len(slots) != rule.duration_shifts or not contiguous:
            problems.append(
                f"line {line.id}: maintenance must be {rule.duration_shifts} consecutive shifts, got {len(slots)}"
            )
        elif not rule.earliest_day <= slots[0] // n_shifts <= rule.latest_day:
            window = f"{rule.earliest_day}-{rule.latest_day}"
            problems.append(f"line {line.id}: maintenance starts on day {slots[0] // n_shifts}, outside days {window}")
    for t, count in sorted(down_per_slot.items()):
        if count > site.max_lines_in_maintenance:
            limit = site.max_lines_in_maintenance
            problems.append(f"day {t // n_shifts}, shift {t % n_shifts}: {count} lines in maintenance, at most {limit}")
    return problems


def _roster(site: Site, plan: Plan) -> list[str]:
    """Give every staffed line-shift its crew from a roster of ``labour_pool_per_day`` people, in
    order of start: a person works at most one shift a day and rests ``min_rest_hours`` between
    shifts. Any free person will do (one free for a shift stays free for every later one), so
    this greedy roster finds people whenever any roster could."""
    lines = {line.id: line for line in site.lines}
    shifts = {shift.name: (s, shift) for s, shift in enumerate(site.shifts)}
    starts = site.shift_starts
    staffed = []
    for d in plan.shifts:
        if d.staffed:
            s, shift = shifts[d.shift]
            day = (d.day - plan.start).days
            names = [level.name for level in lines[d.line].speed_levels]
            level = names.index(d.speed_level) if d.speed_level in names else None
            crew = lines[d.line].crew_at(level) if level is not None else lines[d.line].crew_per_shift
            staffed.append((24 * day + starts[s], day, shift, d, crew))
    free_from = [0] * site.labour_pool_per_day  # hour from which each person may start again
    last_day = [-1] * site.labour_pool_per_day
    problems = []
    for begin, day, shift, decision, crew in sorted(staffed, key=lambda row: row[0]):
        free = [p for p in range(site.labour_pool_per_day) if free_from[p] <= begin and last_day[p] != day]
        if len(free) < crew:
            where = f"line {decision.line}, {decision.day}, shift {decision.shift}"
            problems.append(
                f"{where}: needs {crew} people, {len(free)} of the pool of {site.labour_pool_per_day} are free "
                f"(one shift a day, {site.min_rest_hours} h rest)"
            )
            continue
        for p in free[:crew]:
            free_from[p], last_day[p] = begin + shift.hours + site.min_rest_hours, day
    return problems


def _labour_rules(site: Site, plan: Plan) -> list[str]:
    lines = {line.id: line for line in site.lines}
    shifts_run: dict = defaultdict(int)
    for d in plan.shifts:
        if d.staffed:
            shifts_run[d.line, d.day] += 1
    problems = _roster(site, plan)
    problems += [
        f"line {line_id} on {day}: {count} shifts, at most {lines[line_id].max_shifts_per_day}"
        for (line_id, day), count in sorted(shifts_run.items())
        if lines[line_id].max_shifts_per_day is not None and count > lines[line_id].max_shifts_per_day
    ]
    return problems


def _budget_rules(site: Site, plan: Plan) -> list[str]:
    if site.weekly_budget is None:
        return []
    by_day = operating_cost_by_day(site, plan.shifts)
    weeks: dict[int, float] = defaultdict(float)
    for day, costs in by_day.items():
        weeks[(day - plan.start).days // 7] += sum(costs.values())
    return [
        f"week {week + 1}: operating cost {cost:,.2f} exceeds the weekly budget {site.weekly_budget:,.2f}"
        for week, cost in sorted(weeks.items())
        if cost > site.weekly_budget + 0.01
    ]


def _balance_rules(site: Site, demand: Demand, plan: Plan) -> list[str]:
    problems = []
    made: dict = defaultdict(int)
    for d in plan.shifts:
        if d.staffed:
            made[d.family, d.day] += d.production
    flows = {(f.family, f.day): f for f in plan.families}
    stock_per_day: dict = defaultdict(int)
    for family in site.families:
        units = demand.units.get(family, (0,) * len(demand.days))
        net = site.initial_inventory.get(family, 0)
        for k, day in enumerate(demand.days):
            flow = flows.get((family, day))
            if flow is None:
                problems.append(f"{family} on {day}: no balance row")
                continue
            if flow.demand != units[k] or flow.production != made[family, day]:
                problems.append(f"{family} on {day}: demand/production rows disagree with the forecast or the shifts")
            if flow.stock < 0 or flow.backlog < 0:
                problems.append(f"{family} on {day}: negative stock or backlog")
            if flow.stock > 0 and flow.backlog > 0:
                problems.append(f"{family} on {day}: stock and backlog at once")
            net += made[family, day] - units[k]
            if flow.stock - flow.backlog != net:
                problems.append(f"{family} on {day}: stock - backlog = {flow.stock - flow.backlog}, balance says {net}")
            net = flow.stock - flow.backlog
            stock_per_day[day] += flow.stock
    problems += [
        f"{day}: {stock} units stored, capacity {site.storage_capacity}"
        for day, stock in sorted(stock_per_day.items())
        if stock > site.storage_capacity
    ]
    return problems


def plan_violations(site: Site, demand: Demand, plan: Plan) -> list[str]:
    """Every hard rule the plan breaks, plus any mismatch between its reported and recomputed cost."""
    problems = (
        _shift_rules(site, plan)
        + _maintenance_rules(site, plan)
        + _labour_rules(site, plan)
        + _budget_rules(site, plan)
    )
    problems += _balance_rules(site, demand, plan)
    if not problems:
        cost = plan_cost(site, plan.shifts, plan.families).total
        if plan.replan is not None:
            cost += plan.replan.change_penalty
        # Both are rounded to cents; anything more is a modelling error.
        if plan.solver.objective is not None and abs(cost - plan.solver.objective) > 0.02:
            problems.append(f"reported objective {plan.solver.objective} differs from recomputed cost {cost}")
    return problems
