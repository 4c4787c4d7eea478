"""Large-neighbourhood search around an incumbent plan: re-solve a few lines, or a few days, at a time.

CP-SAT's own LNS workers pick generic neighbourhoods, and with two workers few
of them run. A capacity plan couples days through stock, backlog and
maintenance, and lines through the labour pool and the families they share,
so two kinds of neighbourhood take turns: the lines that can make one family
(up to ``lines_per_neighbourhood`` of them, drawn at random) over the whole
horizon, where campaigns and changeovers are rearranged; and a window of
consecutive days on every line, where output moves between days and lines.
The shift decisions (staffed, family, speed, maintenance start) outside the
neighbourhood are fixed to the incumbent's, everything inside is
re-optimised from the incumbent as a hint, and the result is kept when it is
cheaper. Flows (production, stock, backlog, overtime, changeovers) are never
fixed: they follow the decisions.

Every sub-problem is the full model with some variables' domains narrowed to
one value, so every plan it returns obeys every hard rule.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from planning.solver.model import CapacityModel

__all__ = ["LnsReport", "fix_decisions", "improve"]


@dataclass(frozen=True)
class LnsReport:
    """What the search did: neighbourhoods solved, those that improved the plan, and its cost before and after."""

    neighbourhoods: int
    improvements: int
    start_objective: float
    objective: float


def _decision_indices(m: CapacityModel) -> dict[tuple[str, int], list[int]]:
    """Proto indices of the shift decisions of each (line, day)."""
    by_line_day: dict[tuple[str, int], list[int]] = defaultdict(list)
    for variables in (m.run, m.staffed, m.speed):
        for key, var in variables.items():
            by_line_day[key[0], key[1]].append(var.index)
    n_shifts = len(m.site.shifts)
    for (line_id, slot), var in m.maintenance_start.items():
        by_line_day[line_id, slot // n_shifts].append(var.index)
    return by_line_day


def _neighbourhoods(m: CapacityModel, window_days: int, lines_per_neighbourhood: int, rng: random.Random):
    """Endless (lines, days) pairs to free, line groups and day windows taking turns."""
    all_lines, all_days = {line.id for line in m.site.lines}, set(m.days)
    families = sorted({f for line in m.site.lines for f in line.families})
    windows = _windows(len(m.days), window_days)
    turn = 0
    while True:
        family = rng.choice(families)
        makers = [line.id for line in m.site.lines if family in line.families]
        yield set(rng.sample(makers, min(lines_per_neighbourhood, len(makers)))), all_days
        yield all_lines, set(windows[turn % len(windows)])
        turn += 1


def _windows(n_days: int, width: int) -> list[range]:
    step = max(1, width // 2)
    starts = list(range(0, max(n_days - width, 0) + 1, step))
    if starts[-1] + width < n_days:
        starts.append(n_days - width)
    return [range(start, min(start + width, n_days)) for start in starts]


def _sub_problem(m: CapacityModel, solution: list[int], fixed: list[int]) -> cp_model.CpModel:
    sub = m.model.clone()
    for index in fixed:
        domain, value = sub.proto.variables[index].domain, solution[index]
        if len(domain) == 2:  # every decision is a Boolean: narrow [0, 1] in place
            domain[0], domain[1] = value, value
        else:
            sub.add(sub.get_int_var_from_proto_index(index) == value)
    sub.clear_hints()
    hint = sub.proto.solution_hint
    hint.vars.extend(range(len(solution)))
    hint.values.extend(solution)
    return sub


def improve(
    m: CapacityModel,
    solution: list[int],
    objective: float,
    deadline: float,
    workers: int,
    seed: int,
    window_days: int = 7,
    window_seconds: float = 1.0,
    lines_per_neighbourhood: int = 3,
    on_improvement: Callable[[float], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> tuple[list[int], float, LnsReport]:
    """Improve ``solution`` (values of every model variable, by proto index; ``objective`` its
    objective value) by LNS until ``time.monotonic()`` reaches ``deadline`` or ``stop()`` says so.
    Each neighbourhood gets at most ``window_seconds``; the seed fixes the neighbourhoods drawn;
    ``on_improvement`` hears each cheaper objective value.

    Returns:
        The best solution found, its objective value and a report.
    """
    decisions = _decision_indices(m)
    start_objective, solved, improvements = objective, 0, 0
    for free_lines, free_days in _neighbourhoods(m, window_days, lines_per_neighbourhood, random.Random(seed)):
        remaining = deadline - time.monotonic()
        if remaining < 0.2 or (stop is not None and stop()):
            break
        fixed = [
            i
            for (line_id, day), indices in decisions.items()
            if line_id not in free_lines or day not in free_days
            for i in indices
        ]
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = min(window_seconds, remaining)
        solver.parameters.num_workers = workers
        solver.parameters.random_seed = seed
        status = solver.solve(_sub_problem(m, solution, fixed))
        solved += 1
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and solver.objective_value < objective - 0.5:
            solution, objective = list(solver.response_proto.solution), solver.objective_value
            improvements += 1
            if on_improvement is not None:
                on_improvement(objective)
    return solution, objective, LnsReport(solved, improvements, start_objective, objective)


def fix_decisions(m: CapacityModel, solution: list[int]) -> cp_model.CpModel:
    """The model with every shift decision fixed to ``solution``: solving it reads the plan out."""
    return _sub_problem(m, solution, [i for indices in _decision_indices(m).values() for i in indices])
