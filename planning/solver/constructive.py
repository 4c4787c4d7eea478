"""A constructive plan: CP-SAT's starting point (solution hint) and a baseline of its own.

Four steps, each a function of its own:

1. ``place_maintenance``: each line's stop goes where its window has the least
   total demand, at most K lines down at once.
2. ``build_ahead``: demand that would push a day past the regular crew hours
   (or the labour pool) is moved to the days before, as far as storage allows.
3. ``staff_shift``: for each shift of each day, the cheapest free lines are
   staffed for the families whose need is not yet covered, keeping lines on
   the family they run (``next_family``).
4. ``choose_speed_level``: each staffed line-shift runs at the level with the
   lowest cost per unit made, or faster when the family's need would spill
   into a dearer shift.

``greedy_plan`` runs them in that order. It is fast (well under a second at
30 lines x 56 days) and keeps every hard rule, so the solver starts from a
feasible plan (docs/BENCHMARKS.md, planning, for what each rule bought).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from planning.domain.capacity import crew_hours, maintenance_starts, shift_capacity, shift_cost, unit_cost
from planning.domain.demand import Demand
from planning.domain.labour import crew_groups
from planning.domain.site import Site

__all__ = [
    "Continuation",
    "GreedyPlan",
    "ShiftPrices",
    "build_ahead",
    "choose_speed_level",
    "greedy_plan",
    "next_family",
    "place_maintenance",
    "price_shifts",
]

Run = tuple[str, int, int]  # (family, speed level index, units made)


@dataclass
class GreedyPlan:
    """A plan as the constructive steps write it.

    Attributes:
        runs: staffed line-shifts, ``(line id, day, shift index) -> (family, level index, units)``.
        maintenance_start: per line, the slot (day * shifts per day + shift) its stop starts in.
    """

    runs: dict[tuple[str, int, int], Run] = field(default_factory=dict)
    maintenance_start: dict[str, int] = field(default_factory=dict)

    def made(self, family: str, day: int) -> int:
        return sum(units for (_, d, _), (f, _, units) in self.runs.items() if d == day and f == family)


# ---- Step 1: maintenance ------------------------------------------------------------------


def place_maintenance(site: Site, demand: Demand) -> dict[str, int]:
    """Each line's maintenance at the quietest start of its window with room under the at-most-K
    rule, lines in site order; when that leaves a line out, again with the narrowest windows first."""
    n_days = len(demand.days)
    due = [li for li in range(len(site.lines)) if maintenance_starts(site, li, n_days)]
    placed = _place_in_order(site, demand, due)
    if len(placed) < len(due):
        narrowest_first = sorted(due, key=lambda li: (len(maintenance_starts(site, li, n_days)), li))
        placed = max(placed, _place_in_order(site, demand, narrowest_first), key=len)
    return placed


def _place_in_order(site: Site, demand: Demand, line_indices: list[int]) -> dict[str, int]:
    n_shifts = len(site.shifts)
    daily = [sum(demand.units[f][d] for f in demand.families) for d in range(len(demand.days))]
    down_count: dict[int, int] = {}
    placed = {}
    for li in line_indices:
        line = site.lines[li]
        duration = line.maintenance.duration_shifts

        def load(start: int, duration: int = duration) -> tuple[int, int]:
            return (sum(daily[t // n_shifts] for t in range(start, start + duration)), start)

        for start in sorted(maintenance_starts(site, li, len(demand.days)), key=load):
            if all(down_count.get(t, 0) < site.max_lines_in_maintenance for t in range(start, start + duration)):
                placed[line.id] = start
                for t in range(start, start + duration):
                    down_count[t] = down_count.get(t, 0) + 1
                break
    return placed


def _down_slots(site: Site, maintenance_start: Mapping[str, int]) -> set[tuple[str, int]]:
    """``(line id, slot)`` of every shift a line spends in maintenance."""
    return {
        (line.id, t)
        for line in site.lines
        if line.id in maintenance_start
        for t in range(maintenance_start[line.id], maintenance_start[line.id] + line.maintenance.duration_shifts)
    }


# ---- Step 2: build ahead ------------------------------------------------------------------


def build_ahead(site: Site, demand: Demand) -> dict[str, list[int]]:
    """Per family and day, units of later days' demand to make that day so that no day needs
    more than the regular crew hours (or the labour pool) can make: overtime and backlog on
    peak days cost more than a few days of holding. Levelled backwards per family, each family
    given the share of the daily capacity its demand takes; storage caps what is built ahead."""
    rates = [_leanest_rate(site, li, s) for li in range(len(site.lines)) for s in range(len(site.shifts))]
    hours_per_unit = sum(h for h, _ in rates) / len(rates)
    people_per_unit = sum(p for _, p in rates) / len(rates)
    limits = [site.labour_pool_per_day / people_per_unit]
    if site.regular_crew_hours_per_day is not None:
        limits.append(site.regular_crew_hours_per_day / hours_per_unit)
    daily_capacity = min(limits)
    totals = {f: sum(demand.units[f]) for f in demand.families}
    grand = sum(totals.values()) or 1
    built_ahead = {}
    for f in demand.families:
        capacity = daily_capacity * totals[f] / grand
        storage_share = site.storage_capacity * totals[f] / grand
        carry, built = 0.0, [0] * len(demand.days)
        for d in reversed(range(len(demand.days))):
            built[d] = int(min(carry, storage_share))  # made on day d for later days
            carry = max(0.0, demand.units[f][d] + built[d] - capacity)
        built_ahead[f] = built
    return built_ahead


def _leanest_rate(site: Site, line_index: int, shift_index: int) -> tuple[float, float]:
    """Crew hours and people per unit made at the line-shift's level using fewest crew hours per unit."""

    def per_unit(k: int) -> tuple[float, float]:
        made = shift_capacity(site, line_index, shift_index, k)
        return crew_hours(site, line_index, shift_index, k) / made, site.lines[line_index].crew_at(k) / made

    return min((per_unit(k) for k in range(len(site.lines[line_index].speed_levels))), key=lambda rate: rate[0])


# ---- Prices the site fixes ------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftPrices:
    """The order in which line-shifts are tried, from the site's costs alone.

    Attributes:
        shift_order: shift indices, cheapest labour first (nights before days when nights are cheaper).
        cheapest_level: per (line index, shift index), the level with the lowest cost per unit.
        line_order: per shift index, line indices by that lowest cost per unit.
        later_unit_cost: per (shift index, family), the lowest cost per unit of the family in any
            shift tried after this one (None when there is none): what a faster level competes with.
    """

    shift_order: list[int]
    cheapest_level: dict[tuple[int, int], int]
    line_order: dict[int, list[int]]
    later_unit_cost: dict[tuple[int, str], float | None]


def price_shifts(site: Site, families: Sequence[str]) -> ShiftPrices:
    shifts = range(len(site.shifts))
    shift_order = sorted(shifts, key=lambda s: (site.shifts[s].labour_cost_multiplier, s))
    cheapest_level = {
        (li, s): min(range(len(line.speed_levels)), key=lambda k: unit_cost(site, li, s, k))
        for li, line in enumerate(site.lines)
        for s in shifts
    }
    line_order = {
        s: sorted(range(len(site.lines)), key=lambda li: unit_cost(site, li, s, cheapest_level[li, s])) for s in shifts
    }
    later_unit_cost = {
        (s, f): min(
            (
                unit_cost(site, li, later, cheapest_level[li, later])
                for later in shift_order[position + 1 :]
                for li, line in enumerate(site.lines)
                if f in line.families
            ),
            default=None,
        )
        for position, s in enumerate(shift_order)
        for f in families
    }
    return ShiftPrices(shift_order, cheapest_level, line_order, later_unit_cost)


# ---- Step 3: staff lines on their family ------------------------------------------------------


class Continuation(IntEnum):
    """How a line-shift starts, in the order lines are tried: going on with the family the line
    ran the shift before, after an idle shift (changing family then is free), or changing over."""

    GOES_ON = 0
    AFTER_IDLE = 1
    CHANGES_OVER = 2


def next_family(
    eligible: Sequence[str], previous: Run | None, usual: str | None, due: Mapping[str, int]
) -> tuple[Continuation, str]:
    """The family a line-shift would make and how it starts: the previous shift's family while it
    is still needed; after an idle shift the family the line made last if needed, else the most
    needed one; otherwise the most needed one."""
    most_needed = max(eligible, key=lambda f: due.get(f, 0))
    if previous is None:
        return Continuation.AFTER_IDLE, usual if due.get(usual, 0) > 0 else most_needed
    if due.get(previous[0], 0) > 0:
        return Continuation.GOES_ON, previous[0]
    return Continuation.CHANGES_OVER, most_needed


@dataclass
class DayNeed:
    """What one day still asks for, updated as its shifts are staffed.

    Attributes:
        day: day index.
        due: per family, units still needed today (demand plus backlog less stock, plus built-ahead units).
        ahead: per family, ``due`` plus the next days' demand a full shift may make early.
        ships: per family, units that leave today (demand plus backlog, less stock); more is stored.
        room: storage left at the end of the day.
        crew_hours: crew hours staffed so far today (overtime starts past the regular allowance).
        shifts_run: per line id, shifts staffed so far today.
    """

    day: int
    due: dict[str, int]
    ahead: dict[str, int]
    ships: dict[str, int]
    room: int
    crew_hours: int = 0
    shifts_run: dict[str, int] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        site: Site,
        demand: Demand,
        day: int,
        net: Mapping[str, int],
        built_ahead: Mapping[str, list[int]],
        lookahead_days: int,
    ) -> DayNeed:
        """The need of ``day`` given each family's stock less backlog (``net``) at its start."""
        units = demand.units
        due = {f: units[f][day] + built_ahead[f][day] - net[f] for f in demand.families}
        return cls(
            day=day,
            due=due,
            ahead={f: due[f] + sum(units[f][day + 1 : day + 1 + lookahead_days]) for f in demand.families},
            ships={f: units[f][day] - net[f] for f in demand.families},
            room=site.storage_capacity - sum(max(0, v) for v in net.values()),
            shifts_run={line.id: 0 for line in site.lines},
        )


@dataclass
class PeopleAndBudget:
    """People taken per crew group (one shift a day, minimum rest: ``planning.domain.labour``),
    money spent per week, and the family each line made last."""

    groups_of: dict[tuple[int, int], list[int]]
    people_used: list[int]
    week_spend: dict[int, float] = field(default_factory=dict)
    last_family: dict[str, str] = field(default_factory=dict)

    @classmethod
    def empty(cls, site: Site, demand: Demand) -> PeopleAndBudget:
        groups = crew_groups(site, demand.days)
        groups_of: dict[tuple[int, int], list[int]] = {}
        for g, group in enumerate(groups):
            for slot in group.slots:
                groups_of.setdefault(slot, []).append(g)
        return cls(groups_of, [0] * len(groups))

    def people_left(self, site: Site, day: int, shift: int) -> int:
        return min(site.labour_pool_per_day - self.people_used[g] for g in self.groups_of[day, shift])


@dataclass(frozen=True)
class Candidate:
    """One line-shift considered for one family, with the line's runs around it."""

    line_index: int
    shift: int
    family: str
    previous: Run | None
    following: Run | None


def _units_at(site: Site, need: DayNeed, candidate: Candidate, level: int) -> int:
    """Units the candidate makes at ``level``: what the shift can make, what is wanted soon, and
    what leaves today or fits in storage."""
    family = candidate.family
    capacity = shift_capacity(site, candidate.line_index, candidate.shift, level)
    return min(capacity, need.ahead[family], max(0, need.ships[family]) + max(0, need.room))


def _cost_at(site: Site, need: DayNeed, candidate: Candidate, level: int) -> float:
    """Operating cost the candidate adds to its day at ``level``: labour, energy, the overtime
    premium, and the changeovers it causes from the shift before and, when that one is already
    staffed, to the shift after."""
    li, s = candidate.line_index, candidate.shift
    costs = site.costs
    cost = shift_cost(site, li, s, level)
    if site.regular_crew_hours_per_day is not None:
        regular, before = site.regular_crew_hours_per_day, need.crew_hours
        over = max(0, before + crew_hours(site, li, s, level) - regular) - max(0, before - regular)
        cost += over * costs.labour_per_crew_hour * (costs.overtime_multiplier - 1.0)
    for neighbour in (candidate.previous, candidate.following):
        if neighbour is not None and neighbour[0] != candidate.family:
            cost += site.lines[li].changeover_cost
    return cost


# ---- Step 4: speed level ----------------------------------------------------------------------


def choose_speed_level(
    site: Site,
    need: DayNeed,
    candidate: Candidate,
    affordable: Sequence[int],
    free_capacity: int,
    later_unit_cost: float | None,
) -> int:
    """The level with the lowest cost per unit made, or a faster one when the family's need
    today is more than this line and the shift's other free lines (``free_capacity``, at their
    usual levels) make, and its extra units cost less than in a later shift (``later_unit_cost``).

    Args:
        affordable: level indices whose crew the labour pool can still find.
    """
    units = {k: _units_at(site, need, candidate, k) for k in affordable}
    cost = {k: _cost_at(site, need, candidate, k) for k in affordable}
    level = min(affordable, key=lambda k: cost[k] / max(1, units[k]))
    spill = need.due[candidate.family] - units[level] - free_capacity
    if spill > 0 and later_unit_cost is not None:
        extra = {k: (cost[k] - cost[level]) / (units[k] - units[level]) for k in affordable if units[k] > units[level]}
        if extra and min(extra.values()) < later_unit_cost:
            level = min(extra, key=extra.get)
    return level


def staff_shift(
    site: Site,
    prices: ShiftPrices,
    plan: GreedyPlan,
    down: set[tuple[str, int]],
    need: DayNeed,
    usage: PeopleAndBudget,
    shift: int,
) -> None:
    """Staff one shift of ``need.day`` into ``plan``: lines that go on with their family first,
    then lines that were idle, then lines that must change over, cheapest per unit first; a line
    only when its family is still due, its crew is free and the week's budget allows it."""
    d, n_shifts = need.day, len(site.shifts)

    def is_open(li: int) -> bool:
        """Not in maintenance and not yet staffed."""
        line_id = site.lines[li].id
        return (line_id, d * n_shifts + shift) not in down and (line_id, d, shift) not in plan.runs

    for wanted in Continuation:
        for li in prices.line_order[shift]:
            line = site.lines[li]
            if not is_open(li):
                continue
            if line.max_shifts_per_day is not None and need.shifts_run[line.id] >= line.max_shifts_per_day:
                continue
            previous = plan.runs.get((line.id, *divmod(d * n_shifts + shift - 1, n_shifts)))
            kind, family = next_family(line.families, previous, usage.last_family.get(line.id), need.due)
            if kind != wanted or need.due.get(family, 0) <= 0:
                continue
            people_left = usage.people_left(site, d, shift)
            affordable = [k for k in range(len(line.speed_levels)) if line.crew_at(k) <= people_left]
            if not affordable:
                continue
            following = plan.runs.get((line.id, *divmod(d * n_shifts + shift + 1, n_shifts)))
            candidate = Candidate(li, shift, family, previous, following)
            free_capacity = sum(
                shift_capacity(site, lj, shift, prices.cheapest_level[lj, shift])
                for lj in prices.line_order[shift]
                if lj != li and family in site.lines[lj].families and is_open(lj)
            )
            level = choose_speed_level(
                site, need, candidate, affordable, free_capacity, prices.later_unit_cost[shift, family]
            )
            cost = _cost_at(site, need, candidate, level)
            if site.weekly_budget is not None and usage.week_spend.get(d // 7, 0.0) + cost > site.weekly_budget:
                continue
            _book(site, plan, need, usage, candidate, level, cost)


def _book(
    site: Site, plan: GreedyPlan, need: DayNeed, usage: PeopleAndBudget, candidate: Candidate, level: int, cost: float
) -> None:
    """Record a staffed line-shift and take what it uses from the day, the pool and the budget."""
    li, s, family, d = candidate.line_index, candidate.shift, candidate.family, need.day
    line = site.lines[li]
    units = _units_at(site, need, candidate, level)
    plan.runs[line.id, d, s] = (family, level, units)
    usage.last_family[line.id] = family
    need.due[family] -= units
    need.ahead[family] -= units
    need.room -= max(0, units - max(0, need.ships[family]))
    need.ships[family] -= units
    for g in usage.groups_of[d, s]:
        usage.people_used[g] += line.crew_at(level)
    need.crew_hours += crew_hours(site, li, s, level)
    need.shifts_run[line.id] += 1
    usage.week_spend[d // 7] = usage.week_spend.get(d // 7, 0.0) + cost


def greedy_plan(site: Site, demand: Demand, lookahead_days: int = 3) -> GreedyPlan:
    """The constructive plan of ``site`` for ``demand`` (every family of the site in it).

    A line-shift is staffed only when a family's need today is not covered, then filled with
    demand of the next ``lookahead_days`` days as far as storage allows (labour is paid per
    shift, so full shifts are cheaper per unit). Every hard rule holds: labour pool and minimum
    rest, shifts per line and day, maintenance, storage and the weekly budget (a shift that would
    break the budget is not staffed).
    """
    plan = GreedyPlan(maintenance_start=place_maintenance(site, demand))
    down = _down_slots(site, plan.maintenance_start)
    prices = price_shifts(site, demand.families)
    built_ahead = build_ahead(site, demand)
    usage = PeopleAndBudget.empty(site, demand)
    net = {f: site.initial_inventory.get(f, 0) for f in demand.families}  # stock - backlog
    for d in range(len(demand.days)):
        need = DayNeed.open(site, demand, d, net, built_ahead, lookahead_days)
        for s in prices.shift_order:
            staff_shift(site, prices, plan, down, need, usage, s)
        for f in demand.families:
            net[f] += plan.made(f, d) - demand.units[f][d]
    return plan
