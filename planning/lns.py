"""Large-neighbourhood search around an incumbent plan: re-solve a window of days at a time.

CP-SAT's own LNS workers pick generic neighbourhoods, and with two workers few
of them run. A capacity plan couples days through stock, backlog and
maintenance, and lines through the labour pool, so the neighbourhood here is a
window of consecutive days on every line: the shift decisions (staffed,
family, speed, maintenance start) outside the window are fixed to the
incumbent's, everything inside is re-optimised from the incumbent as a hint,
and the result is kept when it is cheaper. Windows roll over the horizon,
half-overlapping, until the time runs out. Flows (production, stock,
backlog, overtime, changeovers) are never fixed: they follow the decisions.

Every sub-problem is the full model with some variables' domains narrowed to
one value, so every plan it returns obeys every hard rule.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from ortools.sat.python import cp_model

from planning.model import CapacityModel

__all__ = ["LnsReport", "fix_decisions", "improve"]


@dataclass(frozen=True)
class LnsReport:
    """What the search did: windows solved, windows that improved the plan, and its cost before and after."""

    windows: int
    improvements: int
    start_objective: float
    objective: float


def _decision_indices_by_day(m: CapacityModel) -> dict[int, list[int]]:
    by_day: dict[int, list[int]] = defaultdict(list)
    for variables in (m.run, m.staffed, m.speed):
        for key, var in variables.items():
            by_day[key[1]].append(var.index)
    n_shifts = len(m.site.shifts)
    for (_, slot), var in m.maintenance_start.items():
        by_day[slot // n_shifts].append(var.index)
    return by_day


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
    window_seconds: float = 2.0,
) -> tuple[list[int], float, LnsReport]:
    """Improve ``solution`` (values of every model variable, by proto index; ``objective`` its
    objective value) by rolling-window LNS until ``time.monotonic()`` reaches ``deadline``.

    Returns:
        The best solution found, its objective value and a report.
    """
    by_day = _decision_indices_by_day(m)
    windows = _windows(len(m.days), window_days)
    start_objective, solved, improvements = objective, 0, 0
    improved_in_sweep = True
    while improved_in_sweep:
        improved_in_sweep = False
        for window in windows:
            remaining = deadline - time.monotonic()
            if remaining < 0.2:
                return solution, objective, LnsReport(solved, improvements, start_objective, objective)
            fixed = [index for day, indices in by_day.items() if day not in window for index in indices]
            solver = cp_model.CpSolver()
            solver.parameters.max_time_in_seconds = min(window_seconds, remaining)
            solver.parameters.num_workers = workers
            solver.parameters.random_seed = seed
            status = solver.solve(_sub_problem(m, solution, fixed))
            solved += 1
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and solver.objective_value < objective - 0.5:
                solution, objective = list(solver.response_proto.solution), solver.objective_value
                improvements += 1
                improved_in_sweep = True
        # A sweep without improvement means every window is locally optimal within its time: stop.
    return solution, objective, LnsReport(solved, improvements, start_objective, objective)


def fix_decisions(m: CapacityModel, solution: list[int]) -> cp_model.CpModel:
    """The model with every shift decision fixed to ``solution``: solving it reads the plan out."""
    return _sub_problem(m, solution, [i for indices in _decision_indices_by_day(m).values() for i in indices])
