"""A constructive plan used as CP-SAT's starting point (solution hint).

Day by day, it staffs the cheapest free line-shifts for the families with
unmet need, keeping lines on the family they run, at the speed level with
the lowest cost per unit made, within every hard rule; demand that would
push a day into overtime is made on the days before. Each line's
maintenance goes where its window has the least total demand, at most K
lines down at once. It is fast (well under a second at 30 lines x 56 days)
and always respects the hard rules, so the solver starts from a feasible plan
(docs/BENCHMARKS.md, planning, for what each rule bought).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from planning.labour import crew_groups
from planning.model import CapacityModel, crew_hours, maintenance_starts, shift_capacity
from planning.plan import ShiftDecision

__all__ = ["GreedyPlan", "apply_hint", "greedy_plan", "warm_start"]


@dataclass
class GreedyPlan:
    runs: dict[tuple[str, int, int], tuple[str, int, int]] = field(
        default_factory=dict
    )  # slot -> (family, level, units)
    maintenance_start: dict[str, int] = field(default_factory=dict)  # line -> slot index

    def made(self, family: str, day: int) -> int:
        return sum(units for (_, d, _), (f, _, units) in self.runs.items() if d == day and f == family)


def _place_maintenance(m: CapacityModel) -> dict[str, int]:
    """Each line's maintenance at the quietest start of its window with room under the at-most-K
    rule, lines in site order; when that leaves a line out, again with the narrowest windows first."""
    due = [li for li in range(len(m.site.lines)) if maintenance_starts(m.site, li, len(m.days))]
    placed = _place_in_order(m, due)
    if len(placed) < len(due):
        narrowest_first = sorted(due, key=lambda li: (len(maintenance_starts(m.site, li, len(m.days))), li))
        placed = max(placed, _place_in_order(m, narrowest_first), key=len)
    return placed


def _place_in_order(m: CapacityModel, line_indices: list[int]) -> dict[str, int]:
    n_shifts = len(m.site.shifts)
    daily = [sum(m.demand.units[f][d] for f in m.demand.families) for d in m.days]
    down_count: dict[int, int] = {}
    placed = {}
    for li in line_indices:
        line = m.site.lines[li]
        duration = line.maintenance.duration_shifts

        def load(start: int, duration: int = duration) -> tuple[int, int]:
            return (sum(daily[t // n_shifts] for t in range(start, start + duration)), start)

        for start in sorted(maintenance_starts(m.site, li, len(m.days)), key=load):
            if all(down_count.get(t, 0) < m.site.max_lines_in_maintenance for t in range(start, start + duration)):
                placed[line.id] = start
                for t in range(start, start + duration):
                    down_count[t] = down_count.get(t, 0) + 1
                break
    return placed


# Per shift, lines are visited in this order: a line can go on with the family it runs, then
# lines that were idle (changing family after an idle shift is free), then lines that must change over.
_GOES_ON, _AFTER_IDLE, _CHANGES_OVER = range(3)


def greedy_plan(m: CapacityModel, lookahead_days: int = 3) -> GreedyPlan:
    """Staff a line-shift only when a family's need today is not covered, then fill it with demand
    of the next ``lookahead_days`` days as far as storage allows (labour is paid per shift, so full
    shifts are cheaper per unit).

    - Need today is demand plus backlog less stock, plus what ``_prebuild`` moves to today from
      later days that would otherwise need overtime or more people than the pool has.
    - Lines are tried cheapest per unit first, those that can keep their family before those
      that were idle before those that must change over, so changeovers stay rare.
    - Each shift runs at the speed level with the lowest cost per unit it makes, counting the
      overtime premium it adds, or faster when the family's need would otherwise spill into a
      dearer shift and the extra units cost less than there.

    Every hard rule holds: labour pool and minimum rest, shifts per line and day, maintenance,
    storage and the weekly budget (a shift that would break the budget is not staffed).
    """
    site = m.site
    n_shifts = len(site.shifts)
    plan = GreedyPlan(maintenance_start=_place_maintenance(m))
    down = {
        (line.id, t)
        for line in site.lines
        if line.id in plan.maintenance_start
        for t in range(
            plan.maintenance_start[line.id], plan.maintenance_start[line.id] + line.maintenance.duration_shifts
        )
    }
    families = m.demand.families
    net = {f: site.initial_inventory.get(f, 0) for f in families}  # stock - backlog
    shift_order = sorted(m.shift_range, key=lambda s: (site.shifts[s].labour_cost_multiplier, s))
    cheapest_level = {
        (li, s): min(range(len(line.speed_levels)), key=lambda k: _unit_cost(m, li, s, k))
        for li, line in enumerate(site.lines)
        for s in m.shift_range
    }
    line_order = {
        s: sorted(range(len(site.lines)), key=lambda li: _unit_cost(m, li, s, cheapest_level[li, s]))
        for s in m.shift_range
    }
    # Cheapest cost per unit of a family in any shift visited after s: what a faster level competes with.
    later_unit_cost = {
        (s, f): min(
            (
                _unit_cost(m, li, later, cheapest_level[li, later])
                for later in shift_order[position + 1 :]
                for li, line in enumerate(site.lines)
                if f in line.families
            ),
            default=None,
        )
        for position, s in enumerate(shift_order)
        for f in families
    }
    week_spend: dict[int, float] = {}
    groups = crew_groups(site, m.demand.days)
    groups_of: dict[tuple[int, int], list[int]] = {}
    for g, group in enumerate(groups):
        for slot in group.slots:
            groups_of.setdefault(slot, []).append(g)
    people_used = [0] * len(groups)
    last_family: dict[str, str] = {}
    prebuild = _prebuild(m)
    for d in m.days:
        due = {f: m.demand.units[f][d] + prebuild[f][d] - net[f] for f in families}
        ahead = {f: due[f] + sum(m.demand.units[f][d + 1 : d + 1 + lookahead_days]) for f in families}
        crew_hours_today = 0
        room = site.storage_capacity - sum(max(0, v) for v in net.values())
        # Units that leave today (demand plus backlog, less stock); anything made beyond them is stored.
        ships = {f: m.demand.units[f][d] - net[f] for f in families}
        shifts_run = {line.id: 0 for line in site.lines}
        for s in shift_order:

            def is_open(lj: int) -> bool:
                """Not in maintenance and not yet staffed."""
                line_id = site.lines[lj].id
                return (line_id, d * n_shifts + s) not in down and (line_id, d, s) not in plan.runs

            for wanted, li in [(kind, li) for kind in (_GOES_ON, _AFTER_IDLE, _CHANGES_OVER) for li in line_order[s]]:
                line = site.lines[li]
                if not is_open(li):
                    continue
                if line.max_shifts_per_day is not None and shifts_run[line.id] >= line.max_shifts_per_day:
                    continue
                previous = plan.runs.get((line.id, *divmod(d * n_shifts + s - 1, n_shifts)))
                kind, family = _next_family(line.families, previous, last_family.get(line.id), due)
                if kind != wanted or due.get(family, 0) <= 0:
                    continue
                people_left = min(site.labour_pool_per_day - people_used[g] for g in groups_of[d, s])
                affordable = [k for k in range(len(line.speed_levels)) if line.crew_at(k) <= people_left]
                if not affordable:
                    continue
                following = plan.runs.get((line.id, *divmod(d * n_shifts + s + 1, n_shifts)))

                def units_at(k: int) -> int:
                    return min(shift_capacity(site, li, s, k), ahead[family], max(0, ships[family]) + max(0, room))

                def cost_at(k: int) -> float:
                    return _shift_cost(m, li, s, k, crew_hours_today, previous, family, following)

                level = min(affordable, key=lambda k: cost_at(k) / max(1, units_at(k)))
                # A faster level pays when the family's need today is more than this shift's free
                # lines make at their usual level, and its extra units cost less than a later shift's.
                spill = (
                    due[family]
                    - units_at(level)
                    - sum(
                        shift_capacity(site, lj, s, cheapest_level[lj, s])
                        for lj in line_order[s]
                        if lj != li and family in site.lines[lj].families and is_open(lj)
                    )
                )
                if spill > 0 and later_unit_cost[s, family] is not None:
                    extra = {
                        k: (cost_at(k) - cost_at(level)) / (units_at(k) - units_at(level))
                        for k in affordable
                        if units_at(k) > units_at(level)
                    }
                    if extra and min(extra.values()) < later_unit_cost[s, family]:
                        level = min(extra, key=extra.get)
                cost = cost_at(level)
                if site.weekly_budget is not None and week_spend.get(d // 7, 0.0) + cost > site.weekly_budget:
                    continue
                units = units_at(level)
                plan.runs[line.id, d, s] = (family, level, units)
                last_family[line.id] = family
                due[family] -= units
                ahead[family] -= units
                room -= max(0, units - max(0, ships[family]))
                ships[family] -= units
                for g in groups_of[d, s]:
                    people_used[g] += line.crew_at(level)
                crew_hours_today += crew_hours(site, li, s, level)
                shifts_run[line.id] += 1
                week_spend[d // 7] = week_spend.get(d // 7, 0.0) + cost
        for f in families:
            net[f] += plan.made(f, d) - m.demand.units[f][d]
    return plan


def _next_family(eligible: list[str], previous, usual: str | None, due: dict[str, int]) -> tuple[int, str]:
    """The family a line-shift would make and how (go on, after an idle shift, change over):
    the previous shift's family while it is still needed; after an idle shift the family the
    line made last if needed, else the most needed one; otherwise the most needed one."""
    most_needed = max(eligible, key=lambda f: due.get(f, 0))
    if previous is None:
        return _AFTER_IDLE, usual if due.get(usual, 0) > 0 else most_needed
    if due.get(previous[0], 0) > 0:
        return _GOES_ON, previous[0]
    return _CHANGES_OVER, most_needed


def _prebuild(m: CapacityModel) -> dict[str, list[int]]:
    """Units of later days' demand to make on each day so that no day needs more than the
    regular crew hours (or the labour pool) can make: overtime and backlog on peak days cost
    more than a few days of holding. Levelled backwards per family, each family given the
    share of the daily capacity its demand takes; storage caps what is built ahead."""
    site, families = m.site, m.demand.families

    def per_unit(li: int, s: int, k: int) -> tuple[float, float]:
        """Crew hours and people per unit made by line ``li`` in shift ``s`` at level ``k``."""
        made = shift_capacity(site, li, s, k)
        return crew_hours(site, li, s, k) / made, site.lines[li].crew_at(k) / made

    # Per line and shift, the level using fewest crew hours per unit.
    rates = [
        min((per_unit(li, s, k) for k in range(len(line.speed_levels))), key=lambda rate: rate[0])
        for li, line in enumerate(site.lines)
        for s in m.shift_range
    ]
    hours_per_unit = sum(h for h, _ in rates) / len(rates)
    people_per_unit = sum(p for _, p in rates) / len(rates)
    limits = [site.labour_pool_per_day / people_per_unit]
    if site.regular_crew_hours_per_day is not None:
        limits.append(site.regular_crew_hours_per_day / hours_per_unit)
    daily_capacity = min(limits)
    totals = {f: sum(m.demand.units[f]) for f in families}
    grand = sum(totals.values()) or 1
    storage_share = {f: site.storage_capacity * totals[f] / grand for f in families}
    prebuild = {}
    for f in families:
        capacity = daily_capacity * totals[f] / grand
        carry, built = 0.0, [0] * len(m.days)
        for d in reversed(m.days):
            built[d] = int(min(carry, storage_share[f]))  # made on day d for later days
            carry = max(0.0, m.demand.units[f][d] + built[d] - capacity)
        prebuild[f] = built
    return prebuild


def warm_start(m: CapacityModel, previous: list[ShiftDecision], fallback: GreedyPlan) -> GreedyPlan:
    """The previous plan's decisions where it covers the horizon, the greedy plan elsewhere."""
    n_shifts = len(m.site.shifts)
    day_index = {day: d for d, day in enumerate(m.demand.days)}
    shift_index = {shift.name: s for s, shift in enumerate(m.site.shifts)}
    lines = {line.id: line for line in m.site.lines}
    covered = {day_index[d.day] for d in previous if d.day in day_index}
    previous_starts: dict[str, int] = {}
    plan = GreedyPlan(
        runs={key: run for key, run in fallback.runs.items() if key[1] not in covered},
        maintenance_start=dict(fallback.maintenance_start),
    )
    for d in previous:
        if d.day not in day_index or d.line not in lines or d.shift not in shift_index:
            continue
        slot = (d.line, day_index[d.day], shift_index[d.shift])
        levels = [l.name for l in lines[d.line].speed_levels]
        if d.staffed and d.family in lines[d.line].families and d.speed_level in levels:
            plan.runs[slot] = (d.family, levels.index(d.speed_level), d.production)
        if d.maintenance:
            flat = slot[1] * n_shifts + slot[2]
            if d.line not in previous_starts or flat < previous_starts[d.line]:
                previous_starts[d.line] = flat
    plan.maintenance_start.update(previous_starts)
    return plan


def _shift_cost(
    m: CapacityModel, li: int, s: int, k: int, crew_hours_before: int, previous, family: str, following=None
) -> float:
    """Operating cost a shift adds to its day: labour, overtime premium, energy, and the changeovers
    it causes from the shift before and, when that one is already staffed, to the shift after."""
    site, costs = m.site, m.site.costs
    line, shift = site.lines[li], site.shifts[s]
    hours = crew_hours(site, li, s, k)
    cost = hours * costs.labour_per_crew_hour * shift.labour_cost_multiplier
    cost += line.speed_levels[k].energy_cost_per_hour * shift.hours
    if site.regular_crew_hours_per_day is not None:
        over = max(0, crew_hours_before + hours - site.regular_crew_hours_per_day) - max(
            0, crew_hours_before - site.regular_crew_hours_per_day
        )
        cost += over * costs.labour_per_crew_hour * (costs.overtime_multiplier - 1.0)
    for neighbour in (previous, following):
        if neighbour is not None and neighbour[0] != family:
            cost += line.changeover_cost
    return cost


def _unit_cost(m: CapacityModel, line_index: int, shift_index: int, level_index: int) -> float:
    line, shift = m.site.lines[line_index], m.site.shifts[shift_index]
    costs = m.site.costs
    labour = (
        crew_hours(m.site, line_index, shift_index, level_index)
        * costs.labour_per_crew_hour
        * shift.labour_cost_multiplier
    )
    energy = line.speed_levels[level_index].energy_cost_per_hour * shift.hours
    return (labour + energy) / shift_capacity(m.site, line_index, shift_index, level_index)


def apply_hint(m: CapacityModel, plan: GreedyPlan) -> None:
    """Give CP-SAT the greedy plan as a complete hint of every decision and flow variable."""
    n_shifts = len(m.site.shifts)
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
    for (line_id, d, s), var in m.changeover.items():
        now, before = plan.runs.get((line_id, d, s)), plan.runs.get((line_id, *divmod(d * n_shifts + s - 1, n_shifts)))
        m.model.add_hint(var, now is not None and before is not None and now[0] != before[0])
    lines = {line.id: li for li, line in enumerate(m.site.lines)}
    for d, var in m.overtime_hours.items():
        hours = sum(crew_hours(m.site, lines[l], s, k) for (l, dd, s), (_, k, _) in plan.runs.items() if dd == d)
        m.model.add_hint(var, max(0, hours - m.site.regular_crew_hours_per_day))
    for family in m.demand.families:
        net = m.site.initial_inventory.get(family, 0)
        for d in m.days:
            net += plan.made(family, d) - m.demand.units[family][d]
            m.model.add_hint(m.stock[family, d], max(net, 0))
            m.model.add_hint(m.backlog[family, d], max(-net, 0))
            m.model.add_hint(m.short[family, d], net < 0)
