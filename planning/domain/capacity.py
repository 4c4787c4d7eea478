"""Site arithmetic: what one line-shift makes, needs and costs, and where maintenance may start.

Lines, shifts and speed levels are addressed by their index in the site
(``line_index``, ``shift_index``, ``level_index``). Every figure here follows
from the site alone; the solver, the constructive plan and the checks all
read them from here.
"""

from __future__ import annotations

from planning.domain.site import Site

__all__ = ["crew_hours", "maintenance_starts", "shift_capacity", "shift_cost", "unit_cost"]


def shift_capacity(site: Site, line_index: int, shift_index: int, level_index: int) -> int:
    """Units a line makes in one shift at one speed level."""
    line, shift = site.lines[line_index], site.shifts[shift_index]
    return line.speed_levels[level_index].units_per_hour * shift.hours


def crew_hours(site: Site, line_index: int, shift_index: int, level_index: int) -> int:
    """Person-hours a line-shift takes at one speed level (its crew times the shift's hours)."""
    return site.lines[line_index].crew_at(level_index) * site.shifts[shift_index].hours


def shift_cost(site: Site, line_index: int, shift_index: int, level_index: int) -> float:
    """Labour at the shift's normal rate plus energy of one line-shift at one speed level
    (without overtime premium or changeovers, which depend on the rest of the day)."""
    shift = site.shifts[shift_index]
    labour = crew_hours(site, line_index, shift_index, level_index) * site.costs.labour_per_crew_hour
    energy = site.lines[line_index].speed_levels[level_index].energy_cost_per_hour * shift.hours
    return labour * shift.labour_cost_multiplier + energy


def unit_cost(site: Site, line_index: int, shift_index: int, level_index: int) -> float:
    """``shift_cost`` per unit the line-shift makes at full output."""
    return shift_cost(site, line_index, shift_index, level_index) / shift_capacity(
        site, line_index, shift_index, level_index
    )


def maintenance_starts(site: Site, line_index: int, n_days: int) -> list[int]:
    """Slots (day * shifts per day + shift) where the line's maintenance may start so that it
    ends inside ``n_days``; empty when the line needs none in the horizon."""
    rule = site.lines[line_index].maintenance
    n_shifts = len(site.shifts)
    if rule is None or rule.earliest_day >= n_days:
        return []
    last_slot = n_days * n_shifts - rule.duration_shifts
    first = rule.earliest_day * n_shifts
    last = min((rule.latest_day + 1) * n_shifts - 1, last_slot)
    return list(range(first, last + 1))
