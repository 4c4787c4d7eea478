"""The CP-SAT capacity model, built one constraint family at a time.

Decision variables, per line ``l``, day ``d``, shift ``s``:
``run[l, d, s, f]`` the line makes family ``f``; ``speed[l, d, s, k]`` it runs
at speed level ``k`` (which fixes its crew); ``down[l, d, s]`` it is in
maintenance; ``make[l, d, s, f]`` units made. Per family and day:
``stock[f, d]`` units on hand and ``backlog[f, d]`` units owed, at the end of
the day. Per day: ``overtime[d]`` crew hours beyond the regular allowance.

Links are linear (capacity = sum of level capacities times level choice)
rather than ``only_enforce_if``, which keeps the LP relaxation, and so the
proven bound, useful. Money is scaled to integers (``MONEY_SCALE``) so that
every coefficient is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from planning.domain.capacity import crew_hours, maintenance_starts, shift_capacity, unit_cost
from planning.domain.demand import Demand
from planning.domain.labour import crew_groups
from planning.domain.locks import Lock, LockError, locate_lock
from planning.domain.plan import ShiftDecision
from planning.domain.site import Site

__all__ = ["MONEY_SCALE", "CapacityModel", "build_model", "cost_floor"]

# Money enters the model as integers of 1/10,000 of the site's currency: exact for rates
# given to four decimals, and far from int64 limits at any realistic plan size.
MONEY_SCALE = 10_000

Slot = tuple[str, int, int]  # (line id, day, shift index)


@dataclass
class CapacityModel:
    """A built CP-SAT model and the variables the plan is read from."""

    model: cp_model.CpModel
    site: Site
    demand: Demand
    run: dict[tuple[str, int, int, str], cp_model.IntVar] = field(default_factory=dict)
    staffed: dict[Slot, cp_model.IntVar] = field(default_factory=dict)
    speed: dict[tuple[str, int, int, int], cp_model.IntVar] = field(default_factory=dict)
    make: dict[tuple[str, int, int, str], cp_model.IntVar] = field(default_factory=dict)
    down: dict[Slot, cp_model.LinearExprT] = field(default_factory=dict)  # only slots that can be down
    maintenance_start: dict[tuple[str, int], cp_model.IntVar] = field(default_factory=dict)
    changeover: dict[Slot, cp_model.IntVar] = field(default_factory=dict)
    stock: dict[tuple[str, int], cp_model.IntVar] = field(default_factory=dict)
    backlog: dict[tuple[str, int], cp_model.IntVar] = field(default_factory=dict)
    short: dict[tuple[str, int], cp_model.IntVar] = field(default_factory=dict)
    overtime_hours: dict[int, cp_model.IntVar] = field(default_factory=dict)
    changed: dict[Slot, cp_model.IntVar] = field(default_factory=dict)
    cost_terms: dict[str, cp_model.LinearExprT] = field(default_factory=dict)
    # Diagnosis mode: each hard rule is switched on by its own literal, named in planner language.
    rules: dict[str, cp_model.IntVar] | None = None

    @property
    def days(self) -> range:
        return range(len(self.demand.days))

    @property
    def shift_range(self) -> range:
        return range(len(self.site.shifts))

    def slots(self):
        for line in self.site.lines:
            for d in self.days:
                for s in self.shift_range:
                    yield line, d, s

    def scaled(self, money: float) -> int:
        return round(money * MONEY_SCALE)

    def rule(self, description: str) -> list[cp_model.IntVar]:
        """Enforcement literals for one hard rule: none normally, one named literal when diagnosing."""
        if self.rules is None:
            return []
        if description not in self.rules:
            self.rules[description] = self.model.new_bool_var(description)
        return [self.rules[description]]


def add_line_assignment(m: CapacityModel) -> None:
    """A staffed line-shift makes exactly one eligible family; a speed level is chosen iff staffed."""
    for line, d, s in m.slots():
        runs = []
        for family in line.families:
            var = m.model.new_bool_var(f"run(line={line.id}, day={d}, shift={s}, family={family})")
            m.run[line.id, d, s, family] = var
            runs.append(var)
        staffed = m.model.new_bool_var(f"staffed(line={line.id}, day={d}, shift={s})")
        m.model.add(sum(runs) == staffed)
        m.staffed[line.id, d, s] = staffed
        levels = []
        for k, level in enumerate(line.speed_levels):
            var = m.model.new_bool_var(f"speed(line={line.id}, day={d}, shift={s}, level={level.name})")
            m.speed[line.id, d, s, k] = var
            levels.append(var)
        m.model.add(sum(levels) == staffed)


def add_production_capacity(m: CapacityModel) -> None:
    """Output of a line-shift is bounded by its chosen speed level and goes to the family it runs."""
    for li, line in enumerate(m.site.lines):
        for d in m.days:
            for s in m.shift_range:
                top = max(shift_capacity(m.site, li, s, k) for k in range(len(line.speed_levels)))
                made = []
                for family in line.families:
                    var = m.model.new_int_var(0, top, f"make(line={line.id}, day={d}, shift={s}, family={family})")
                    m.model.add(var <= top * m.run[line.id, d, s, family])
                    m.make[line.id, d, s, family] = var
                    made.append(var)
                capacity = sum(
                    shift_capacity(m.site, li, s, k) * m.speed[line.id, d, s, k] for k in range(len(line.speed_levels))
                )
                m.model.add(sum(made) <= capacity)


def add_maintenance_windows(m: CapacityModel) -> None:
    """Each line due for maintenance stops for one block of consecutive shifts inside its window;
    a line in maintenance is not staffed; at most K lines are down at once."""
    n_shifts = len(m.site.shifts)
    for li, line in enumerate(m.site.lines):
        starts = maintenance_starts(m.site, li, len(m.days))
        if line.maintenance is not None and line.maintenance.earliest_day < len(m.days) and not starts:
            raise ValueError(f"maintenance of line {line.id} does not fit inside the planning horizon")
        for slot in starts:
            m.maintenance_start[line.id, slot] = m.model.new_bool_var(
                f"maintenance_start(line={line.id}, day={slot // n_shifts}, shift={slot % n_shifts})"
            )
        if starts:
            rule = line.maintenance
            m.model.add(sum(m.maintenance_start[line.id, slot] for slot in starts) == 1).only_enforce_if(
                m.rule(
                    f"maintenance of line {line.id} takes {rule.duration_shifts} consecutive shifts "
                    f"starting on days {rule.earliest_day}-{min(rule.latest_day, len(m.days) - 1)}"
                )
            )
        duration = line.maintenance.duration_shifts if line.maintenance else 0
        for d in m.days:
            for s in m.shift_range:
                slot = d * n_shifts + s
                covering = [m.maintenance_start[line.id, t] for t in starts if t <= slot < t + duration]
                if covering:
                    m.down[line.id, d, s] = sum(covering)
                    m.model.add(m.staffed[line.id, d, s] + m.down[line.id, d, s] <= 1)
    for d in m.days:
        for s in m.shift_range:
            down = [m.down[line.id, d, s] for line in m.site.lines if (line.id, d, s) in m.down]
            if len(down) > m.site.max_lines_in_maintenance:
                m.model.add(sum(down) <= m.site.max_lines_in_maintenance).only_enforce_if(
                    m.rule(f"at most {m.site.max_lines_in_maintenance} line(s) in maintenance at once")
                )


def crew_on(m: CapacityModel, slots: Sequence[tuple[int, int]], weight_by_hours: bool = False) -> cp_model.LinearExprT:
    """People (or crew hours) staffed over all lines in the (day, shift) ``slots``, from the speed levels chosen."""
    return sum(
        (crew_hours(m.site, li, s, k) if weight_by_hours else line.crew_at(k)) * m.speed[line.id, d, s, k]
        for li, line in enumerate(m.site.lines)
        for d, s in slots
        for k in range(len(line.speed_levels))
    )


def add_labour_pool(m: CapacityModel) -> None:
    """Line-shifts that need distinct people (one shift a day per person, minimum rest
    between shifts: ``planning.domain.labour``) never together need more than the labour pool."""
    for group in crew_groups(m.site, m.demand.days):
        m.model.add(crew_on(m, group.slots) <= m.site.labour_pool_per_day).only_enforce_if(m.rule(group.description))


def add_shift_limits(m: CapacityModel) -> None:
    """A line runs at most ``max_shifts_per_day`` shifts a day."""
    for line in m.site.lines:
        if line.max_shifts_per_day is not None and line.max_shifts_per_day < len(m.site.shifts):
            for d in m.days:
                m.model.add(
                    sum(m.staffed[line.id, d, s] for s in m.shift_range) <= line.max_shifts_per_day
                ).only_enforce_if(m.rule(f"line {line.id} runs at most {line.max_shifts_per_day} shift(s) a day"))


def add_overtime(m: CapacityModel) -> None:
    """Crew hours beyond the regular daily allowance are overtime (paid at a premium in ``add_costs``)."""
    regular = m.site.regular_crew_hours_per_day
    if regular is None:
        return
    top = sum(
        max(crew_hours(m.site, li, s, k) for k in range(len(line.speed_levels)))
        for li, line in enumerate(m.site.lines)
        for s in m.shift_range
    )
    for d in m.days:
        overtime = m.model.new_int_var(0, max(0, top - regular), f"overtime_hours(day={d})")
        # Exactly the hours above the allowance, so the reported cost is the plan's cost at any solution.
        m.model.add_max_equality(
            overtime, [crew_on(m, [(d, s) for s in m.shift_range], weight_by_hours=True) - regular, 0]
        )
        m.overtime_hours[d] = overtime


def add_changeovers(m: CapacityModel) -> None:
    """A line running consecutive shifts on different families pays its changeover cost."""
    n_shifts = len(m.site.shifts)
    for line in m.site.lines:
        if line.changeover_cost <= 0 or len(line.families) < 2:
            continue
        for slot in range(1, len(m.days) * n_shifts):
            (d, s), (pd, ps) = divmod(slot, n_shifts), divmod(slot - 1, n_shifts)
            change = m.model.new_bool_var(f"changeover(line={line.id}, day={d}, shift={s})")
            for family in line.families:
                others = [m.run[line.id, pd, ps, g] for g in line.families if g != family]
                m.model.add(change >= m.run[line.id, d, s, family] + sum(others) - 1)
                # ...and no changeover when both shifts run the same family: the flag is exact.
                m.model.add(change <= 2 - m.run[line.id, d, s, family] - m.run[line.id, pd, ps, family])
            m.model.add(change <= m.staffed[line.id, d, s])
            m.model.add(change <= m.staffed[line.id, pd, ps])
            m.changeover[line.id, d, s] = change


def _unit_bound(m: CapacityModel) -> int:
    """An upper bound on any stock or backlog: everything on hand, owed or makeable in the horizon."""
    top_speed = sum(
        shift_capacity(m.site, li, s, len(line.speed_levels) - 1)
        for li, line in enumerate(m.site.lines)
        for s in m.shift_range
    )
    owed = sum(sum(units) for units in m.demand.units.values())
    return sum(m.site.initial_inventory.values()) + owed + top_speed * len(m.days)


def add_inventory_balance(m: CapacityModel) -> None:
    """Per family and day: stock - backlog carries over plus production minus demand; storage is capped."""
    bound = _unit_bound(m)
    for family in m.demand.families:
        units = m.demand.units[family]
        net_before: cp_model.LinearExprT = m.site.initial_inventory.get(family, 0)
        for d in m.days:
            stock = m.model.new_int_var(0, bound, f"stock(family={family}, day={d})")
            backlog = m.model.new_int_var(0, bound, f"backlog(family={family}, day={d})")
            # Never both: a family is either ahead (stock) or behind (backlog) at the end of a day.
            short = m.model.new_bool_var(f"short(family={family}, day={d})")
            m.model.add(backlog <= bound * short)
            m.model.add(stock <= bound * (1 - short))
            made = sum(
                m.make[line.id, d, s, family] for line in m.site.lines if family in line.families for s in m.shift_range
            )
            m.model.add(stock - backlog == net_before + made - units[d])
            m.stock[family, d], m.backlog[family, d], m.short[family, d] = stock, backlog, short
            net_before = stock - backlog
    for d in m.days:
        m.model.add(sum(m.stock[f, d] for f in m.demand.families) <= m.site.storage_capacity)


def _operating_cost_by_day(m: CapacityModel) -> dict[str, dict[int, cp_model.LinearExprT]]:
    """Scaled labour, overtime premium, energy and changeover cost of each day."""
    site, costs = m.site, m.site.costs
    labour, energy, changeover, overtime = {}, {}, {}, {}
    for d in m.days:
        labour_terms, energy_terms = [], []
        for li, line in enumerate(site.lines):
            for s, shift in enumerate(site.shifts):
                for k, level in enumerate(line.speed_levels):
                    rate = costs.labour_per_crew_hour * shift.labour_cost_multiplier
                    labour_terms.append(m.scaled(crew_hours(site, li, s, k) * rate) * m.speed[line.id, d, s, k])
                    energy_terms.append(m.scaled(level.energy_cost_per_hour * shift.hours) * m.speed[line.id, d, s, k])
        labour[d], energy[d] = sum(labour_terms), sum(energy_terms)
        changeover[d] = sum(
            m.scaled(line.changeover_cost) * m.changeover[line.id, d, s]
            for line in site.lines
            for s in m.shift_range
            if (line.id, d, s) in m.changeover
        )
        premium = costs.labour_per_crew_hour * (costs.overtime_multiplier - 1.0)
        overtime[d] = m.scaled(premium) * m.overtime_hours[d] if d in m.overtime_hours else 0
    return {"labour": labour, "overtime": overtime, "energy": energy, "changeover": changeover}


def add_weekly_budget(m: CapacityModel, operating: dict[str, dict[int, cp_model.LinearExprT]]) -> None:
    """Operating cost of each 7-day block from day 0 stays within the weekly budget."""
    if m.site.weekly_budget is None:
        return
    for start in range(0, len(m.days), 7):
        week = range(start, min(start + 7, len(m.days)))
        m.model.add(
            sum(by_day[d] for by_day in operating.values() for d in week) <= m.scaled(m.site.weekly_budget)
        ).only_enforce_if(m.rule(f"weekly budget of {m.site.weekly_budget:,.2f} in week {start // 7 + 1}"))


def add_costs(m: CapacityModel, operating: dict[str, dict[int, cp_model.LinearExprT]]) -> None:
    """The objective: operating cost plus holding, backlog and lost-sale cost, each kept as a named term."""
    costs, last, families = m.site.costs, len(m.days) - 1, m.demand.families
    m.cost_terms = {name: sum(by_day.values()) for name, by_day in operating.items()}
    m.cost_terms["holding"] = m.scaled(costs.holding_per_unit_day) * sum(
        m.stock[f, d] for f in families for d in m.days
    )
    m.cost_terms["backlog"] = m.scaled(costs.backlog_per_unit_day) * sum(
        m.backlog[f, d] for f in families for d in m.days
    )
    m.cost_terms["lost_sales"] = m.scaled(costs.lost_sale_per_unit) * sum(m.backlog[f, last] for f in families)
    m.model.minimize(sum(m.cost_terms.values()))


def add_locks(m: CapacityModel, locks: Sequence[Lock]) -> None:
    """Decisions the planner fixed by hand hold in the plan."""
    for lock in locks:
        line_index, d, s = locate_lock(m.site, m.demand.days, lock)
        line = m.site.lines[line_index]
        key = (line.id, d, s)
        enforce = m.rule(f"lock: {lock.describe()}")
        if lock.staffed is not None:
            m.model.add(m.staffed[key] == int(lock.staffed)).only_enforce_if(enforce)
        if lock.family is not None:
            m.model.add(m.run[(*key, lock.family)] == 1).only_enforce_if(enforce)
        if lock.speed_level is not None:
            k = line.level_index(lock.speed_level)
            m.model.add(m.speed[(*key, k)] == 1).only_enforce_if(enforce)
        if lock.maintenance is not None and key in m.down:
            m.model.add(m.down[key] == int(lock.maintenance)).only_enforce_if(enforce)
        elif lock.maintenance:
            raise LockError(f"lock {lock.describe()}: line {line.id}'s maintenance cannot fall on that shift")


def add_change_penalty(m: CapacityModel, previous: Sequence[ShiftDecision], frozen_days: int, penalty: float) -> None:
    """In the first ``frozen_days``, each line-shift whose staffing or family differs from the
    previous plan costs ``penalty``: re-plans move only what is worth moving."""
    day_index = {day: d for d, day in enumerate(m.demand.days)}
    shift_index = {shift.name: s for s, shift in enumerate(m.site.shifts)}
    changes = []
    for decision in previous:
        d, s = day_index.get(decision.day), shift_index.get(decision.shift)
        if d is None or s is None or d >= frozen_days or (decision.line, d, s) not in m.staffed:
            continue
        changed = m.model.new_bool_var(f"changed(line={decision.line}, day={d}, shift={s})")
        if decision.staffed and (decision.line, d, s, decision.family) in m.run:
            m.model.add(changed >= 1 - m.run[decision.line, d, s, decision.family])
        else:
            m.model.add(changed >= m.staffed[decision.line, d, s])
        m.changed[decision.line, d, s] = changed
        changes.append(changed)
    m.cost_terms["plan_changes"] = m.scaled(penalty) * sum(changes)
    m.model.minimize(sum(m.cost_terms.values()))


def cost_floor(m: CapacityModel) -> int:
    """A valid lower bound on the plan's cost (scaled), from the horizon's net demand alone.

    Every unit a family still needs (demand less initial stock) is either made,
    at no less than the cheapest cost per unit of any line-shift-speed that can
    make it (shifts are paid in full, so a unit never costs less), or still owed
    at the end, paying at least one day of backlog plus the lost sale.
    """
    costs = m.site.costs
    floor = 0.0
    for family in m.demand.families:
        needed = sum(m.demand.units[family]) - m.site.initial_inventory.get(family, 0)
        if needed <= 0:
            continue
        per_unit = [
            unit_cost(m.site, li, s, k)
            for li, line in enumerate(m.site.lines)
            if family in line.families
            for s in range(len(m.site.shifts))
            for k in range(len(line.speed_levels))
        ]
        unmet = costs.lost_sale_per_unit + costs.backlog_per_unit_day
        floor += needed * min(min(per_unit, default=unmet), unmet)
    return int(floor * MONEY_SCALE)  # rounded down: stays a valid bound


def build_model(site: Site, demand: Demand, locks: Sequence[Lock] = (), diagnose: bool = False) -> CapacityModel:
    """The full capacity model for ``site`` over the days of ``demand``.

    Args:
        locks: decisions fixed by the planner.
        diagnose: switch every hard rule by its own literal (``CapacityModel.rules``)
            so that an infeasible model can name the rules in conflict.

    Raises:
        ValueError: when demand names a family no line can make, a lock names
            something the site does not have, or a maintenance requirement
            cannot fit in the horizon.
    """
    unmade = sorted(set(demand.families) - set(site.families))
    if unmade:
        raise ValueError(f"no line can make families: {', '.join(unmade)}")
    # Families with no forecast still balance (zero demand) so nothing is made off the books.
    zeros = tuple(0 for _ in demand.days)
    demand = Demand(demand.days, {f: demand.units.get(f, zeros) for f in site.families})
    m = CapacityModel(cp_model.CpModel(), site, demand, rules={} if diagnose else None)
    add_line_assignment(m)
    add_production_capacity(m)
    add_maintenance_windows(m)
    add_labour_pool(m)
    add_shift_limits(m)
    add_overtime(m)
    add_changeovers(m)
    add_inventory_balance(m)
    add_locks(m, locks)
    operating = _operating_cost_by_day(m)
    add_weekly_budget(m, operating)
    add_costs(m, operating)
    # Redundant, but it gives the search a proven bound at once on models whose root LP is slow.
    m.model.add(sum(m.cost_terms.values()) >= cost_floor(m))
    return m
