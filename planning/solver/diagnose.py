"""Why no plan exists: the hard rules in conflict, in planner language, and the cheapest way out.

The model is rebuilt with every hard rule switched on by its own literal and
solved under those literals as assumptions; CP-SAT then returns a set of
rules that cannot hold together (``sufficient_assumptions_for_infeasibility``).
Each rule of that set is then dropped in turn, and the relaxation whose plan
costs least is proposed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from planning.domain.demand import Demand
from planning.domain.locks import Lock
from planning.domain.site import Site
from planning.solver.model import MONEY_SCALE, build_model

__all__ = ["Diagnosis", "diagnose"]


@dataclass(frozen=True)
class Diagnosis:
    """Rules that cannot all hold; ``relaxation`` is the one whose removal gives the cheapest plan."""

    conflicting_rules: list[str]
    relaxation: str | None = None
    relaxed_cost: float | None = None

    def explain(self) -> str:
        if not self.conflicting_rules:
            return "no plan satisfies the site's rules"
        text = "no plan satisfies all of: " + "; ".join(self.conflicting_rules)
        if self.relaxation is not None:
            text += f'. Cheapest relaxation: drop "{self.relaxation}" (plan cost {self.relaxed_cost:,.2f})'
        return text


def _solver(time_limit_s: float, workers: int, seed: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    return solver


def diagnose(
    site: Site, demand: Demand, locks: Sequence[Lock] = (), time_limit_s: float = 10.0, workers: int = 2, seed: int = 0
) -> Diagnosis:
    """Name the conflicting hard rules of an infeasible planning problem, within ``time_limit_s`` in
    all: half to find the conflict, the rest to try the plan without each of its rules (those not
    tried for want of time are named, without a cost)."""
    deadline = time.monotonic() + time_limit_s
    m = build_model(site, demand, locks, diagnose=True)
    names = {literal.index: name for name, literal in m.rules.items()}
    m.model.clear_objective()
    m.model.add_assumptions(list(m.rules.values()))
    # Conflicts between hard rules show up in propagation; without the LP (and on one worker,
    # where the core is extracted) the proof takes milliseconds instead of seconds.
    solver = _solver(time_limit_s / 2, 1, seed)
    solver.parameters.linearization_level = 0
    if solver.solve(m.model) != cp_model.INFEASIBLE:
        return Diagnosis([])
    core = [names[i] for i in solver.sufficient_assumptions_for_infeasibility() if i in names]
    best: tuple[float, str] | None = None
    for dropped in core:
        left = deadline - time.monotonic()
        if left <= 0.01:
            break
        relaxed = build_model(site, demand, locks, diagnose=True)
        relaxed.model.add_assumptions([lit for name, lit in relaxed.rules.items() if name != dropped])
        trial = _solver(min(left, max(0.5, time_limit_s / 2 / len(core))), workers, seed)
        if trial.solve(relaxed.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            cost = trial.objective_value / MONEY_SCALE
            if best is None or cost < best[0]:
                best = (cost, dropped)
    if best is None:
        return Diagnosis(core)
    return Diagnosis(core, best[1], round(best[0], 2))
