"""A starting plan handed to CP-SAT as a complete solution hint: the constructive plan, or a
previous plan where it covers the horizon."""

from __future__ import annotations

from collections.abc import Sequence

from planning.domain.capacity import crew_hours
from planning.domain.plan import ShiftDecision
from planning.solver.constructive import GreedyPlan
from planning.solver.model import CapacityModel

__all__ = ["apply_hint", "warm_start"]


def warm_start(m: CapacityModel, previous: Sequence[ShiftDecision], fallback: GreedyPlan) -> GreedyPlan:
    """The previous plan's decisions where it covers the horizon, ``fallback`` elsewhere."""
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
        levels = [level.name for level in lines[d.line].speed_levels]
        if d.staffed and d.family in lines[d.line].families and d.speed_level in levels:
            plan.runs[slot] = (d.family, levels.index(d.speed_level), d.production)
        if d.maintenance:
            flat = slot[1] * n_shifts + slot[2]
            if d.line not in previous_starts or flat < previous_starts[d.line]:
                previous_starts[d.line] = flat
    plan.maintenance_start.update(previous_starts)
    return plan


def apply_hint(m: CapacityModel, plan: GreedyPlan) -> None:
    """Give CP-SAT ``plan`` as a complete hint of every decision and flow variable."""
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
    line_index = {line.id: li for li, line in enumerate(m.site.lines)}
    for d, var in m.overtime_hours.items():
        hours = sum(
            crew_hours(m.site, line_index[line_id], s, k)
            for (line_id, day, s), (_, k, _) in plan.runs.items()
            if day == d
        )
        m.model.add_hint(var, max(0, hours - m.site.regular_crew_hours_per_day))
    for family in m.demand.families:
        net = m.site.initial_inventory.get(family, 0)
        for d in m.days:
            net += plan.made(family, d) - m.demand.units[family][d]
            m.model.add_hint(m.stock[family, d], max(net, 0))
            m.model.add_hint(m.backlog[family, d], max(-net, 0))
            m.model.add_hint(m.short[family, d], net < 0)
