"""A constructive plan used as CP-SAT's starting point (solution hint).

Day by day, it staffs the cheapest free line-shifts for the families with
the largest unmet need (today's demand plus backlog, less stock), at the
slowest speed level that covers the need, within the labour pool. Each
line's maintenance goes where its window has the least total demand, at
most K lines down at once. It is fast (milliseconds) and always respects the
hard rules, so the solver starts from a feasible plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from planning.model import CapacityModel, maintenance_starts, shift_capacity

__all__ = ["GreedyPlan", "greedy_plan", "apply_hint"]


@dataclass
class GreedyPlan:
    runs: dict[tuple[str, int, int], tuple[str, int, int]] = field(default_factory=dict)  # slot -> (family, level, units)
    maintenance_start: dict[str, int] = field(default_factory=dict)  # line -> slot index

    def made(self, family: str, day: int) -> int:
        return sum(units for (_, d, _), (f, _, units) in self.runs.items() if d == day and f == family)


def _place_maintenance(m: CapacityModel) -> dict[str, int]:
    n_shifts = len(m.site.shifts)
    daily = [sum(m.demand.units[f][d] for f in m.demand.families) for d in m.days]
    down_count: dict[int, int] = {}
    placed = {}
    for li, line in enumerate(m.site.lines):
        starts = maintenance_starts(m.site, li, len(m.days))
        if not starts:
            continue
        duration = line.maintenance.duration_shifts

        def load(start: int) -> tuple[int, int]:
            return (sum(daily[t // n_shifts] for t in range(start, start + duration)), start)

        for start in sorted(starts, key=load):
            if all(down_count.get(t, 0) < m.site.max_lines_in_maintenance for t in range(start, start + duration)):
                placed[line.id] = start
                for t in range(start, start + duration):
                    down_count[t] = down_count.get(t, 0) + 1
                break
    return placed


def greedy_plan(m: CapacityModel, lookahead_days: int = 3) -> GreedyPlan:
    """Staff a line-shift only when a family's demand due today is not covered, then run it at the
    level with the lowest cost per unit and fill it with demand of the next ``lookahead_days`` days,
    as far as storage allows: labour is paid per shift, so full shifts are cheaper per unit."""
    site = m.site
    n_shifts = len(site.shifts)
    plan = GreedyPlan(maintenance_start=_place_maintenance(m))
    down = {
        (line.id, t)
        for line in site.lines
        if line.id in plan.maintenance_start
        for t in range(plan.maintenance_start[line.id], plan.maintenance_start[line.id] + line.maintenance.duration_shifts)
    }
    families = m.demand.families
    net = {f: site.initial_inventory.get(f, 0) for f in families}  # stock - backlog
    shift_order = sorted(m.shift_range, key=lambda s: (site.shifts[s].labour_cost_multiplier, s))
    for d in m.days:
        due = {f: m.demand.units[f][d] - net[f] for f in families}
        ahead = {f: due[f] + sum(m.demand.units[f][d + 1 : d + 1 + lookahead_days]) for f in families}
        crews_left = site.labour_pool_per_day
        room = site.storage_capacity - sum(max(0, v) for v in net.values())
        for s in shift_order:
            for li, line in enumerate(site.lines):
                if (line.id, d * n_shifts + s) in down or crews_left < line.crew_per_shift:
                    continue
                family = max(line.families, key=lambda f: due.get(f, 0))
                if due.get(family, 0) <= 0:
                    continue
                level = min(
                    range(len(line.speed_levels)),
                    key=lambda k: _unit_cost(m, li, s, k),
                )
                ships_today = due[family]
                units = min(shift_capacity(site, li, s, level), ahead[family], ships_today + max(0, room))
                plan.runs[line.id, d, s] = (family, level, units)
                due[family] -= units
                ahead[family] -= units
                room -= max(0, units - ships_today)
                crews_left -= line.crew_per_shift
        for f in families:
            net[f] += plan.made(f, d) - m.demand.units[f][d]
    return plan


def _unit_cost(m: CapacityModel, line_index: int, shift_index: int, level_index: int) -> float:
    line, shift = m.site.lines[line_index], m.site.shifts[shift_index]
    costs = m.site.costs
    labour = line.crew_per_shift * shift.hours * costs.labour_per_crew_hour * shift.labour_cost_multiplier
    energy = line.speed_levels[level_index].energy_cost_per_hour * shift.hours
    return (labour + energy) / shift_capacity(m.site, line_index, shift_index, level_index)


def apply_hint(m: CapacityModel, plan: GreedyPlan) -> None:
    """Give CP-SAT the greedy plan as a complete hint of every decision and flow variable."""
    for (line_id, d, s, family), var in m.run.items():
        chosen = plan.runs.get((line_id, d, s))
        m.model.add_hint(var, chosen is not None and chosen[0] == family)
        m.model.add_hint(m.make[line_id, d, s, family], chosen[2] if chosen and chosen[0] == family else 0)
    for (line_id, d, s), var in m.staffed.items():
        m.model.add_hint(var, (line_id, d, s) in plan.runs)
    for (line_id, d, s, k), var in m.speed.items():
        chosen = plan.runs.get((line_id, d, s))
        m.model.add_hint(var, chosen is not None and chosen[1] == k)
    for (line_id, slot), var in m.maintenance_start.items():
        m.model.add_hint(var, plan.maintenance_start.get(line_id) == slot)
    for family in m.demand.families:
        net = m.site.initial_inventory.get(family, 0)
        for d in m.days:
            net += plan.made(family, d) - m.demand.units[family][d]
            m.model.add_hint(m.stock[family, d], max(net, 0))
            m.model.add_hint(m.backlog[family, d], max(-net, 0))
