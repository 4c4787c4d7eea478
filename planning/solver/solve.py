"""Solve the capacity model with CP-SAT and read the plan out of it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from planning.domain.demand import Demand
from planning.domain.locks import Lock
from planning.domain.plan import FamilyDay, Plan, ReplanReport, ShiftDecision, SolverReport
from planning.domain.site import Site
from planning.review.explain import explain
from planning.review.kpis import plan_kpis
from planning.solver.bound import lp_bound
from planning.solver.constructive import greedy_plan
from planning.solver.control import SolveCancelled, SolveControl
from planning.solver.diagnose import Diagnosis, diagnose
from planning.solver.hint import apply_hint, warm_start
from planning.solver.lns import fix_decisions, improve
from planning.solver.model import MONEY_SCALE, CapacityModel, add_change_penalty, build_model

__all__ = ["PlanningError", "Replan", "SolverSettings", "solve"]

_log = logging.getLogger(__name__)
# The least time a diagnosis gets when the solve used all of its own: finding the conflict takes milliseconds.
_LEAST_DIAGNOSIS_S = 0.2


class PlanningError(RuntimeError):
    """No plan could be produced (infeasible rules or no solution within the time limit).

    ``diagnosis`` names the conflicting rules when the rules admit no plan.
    """

    def __init__(self, message: str, diagnosis: Diagnosis | None = None):
        super().__init__(message)
        self.diagnosis = diagnosis


@dataclass(frozen=True)
class SolverSettings:
    """CP-SAT settings. A time limit is always set; a fixed seed and worker count make plans reproducible.

    Args:
        time_limit_s: wall-clock limit of the search, seconds.
        workers: parallel search workers (results differ between worker counts).
        seed: random seed of the search.
        greedy_hint: start the search from the constructive plan of ``planning.solver.constructive``.
        greedy_only: return the constructive plan itself (CP-SAT only checks it and
            reads it out); a baseline for benchmarks and a check of the heuristic.
        deterministic: stop on CP-SAT's deterministic time (``time_limit_s``
            work units, roughly seconds) and interleave parallel workers, so the
            same input, seed and worker count give the same plan on any
            machine load. A wall-clock guard of 10x ``time_limit_s`` + 30 s stays
            set (generous, so that a loaded machine does not cut the search short
            and break the determinism).
            Deterministic solves skip the neighbourhood search (it runs on wall time).
        lns_share: share of ``time_limit_s`` given, after CP-SAT's solve of the
            whole model, to the neighbourhood search of ``planning.solver.lns`` (line
            groups and day windows) around its plan; 0 (the default) turns it
            off. The whole model's solve keeps the rest. Measured in
            docs/BENCHMARKS.md (planning, "capcast + LNS").
        lp_bound: while CP-SAT searches, solve the model's LP relaxation with
            GLOP in a second thread (``planning.solver.bound``) and report the better
            of its optimum and CP-SAT's bound; it never changes the plan.
    """

    time_limit_s: float = 10.0
    workers: int = 2
    seed: int = 0
    greedy_hint: bool = True
    greedy_only: bool = False
    deterministic: bool = False
    lns_share: float = 0.0
    lp_bound: bool = True

    @property
    def neighbourhood_search(self) -> bool:
        return self.lns_share > 0 and not self.deterministic and not self.greedy_only

    def apply(self, solver: cp_model.CpSolver) -> None:
        if not self.time_limit_s > 0:
            raise ValueError("time_limit_s must be positive")
        solver.parameters.num_workers = int(self.workers)
        solver.parameters.fix_variables_to_their_hinted_value = self.greedy_only
        solver.parameters.random_seed = int(self.seed)
        if self.deterministic:
            solver.parameters.max_deterministic_time = float(self.time_limit_s)
            solver.parameters.max_time_in_seconds = 10.0 * float(self.time_limit_s) + 30.0
            solver.parameters.interleave_search = self.workers > 1
        else:
            share = 1.0 - self.lns_share if self.neighbourhood_search else 1.0
            solver.parameters.max_time_in_seconds = float(self.time_limit_s) * share


def _decisions(m: CapacityModel, solver: cp_model.CpSolver) -> list[ShiftDecision]:
    decisions = []
    for line, d, s in m.slots():
        staffed = bool(solver.value(m.staffed[line.id, d, s]))
        family = next((f for f in line.families if solver.value(m.run[line.id, d, s, f])), None)
        level = next(
            (lv.name for k, lv in enumerate(line.speed_levels) if solver.value(m.speed[line.id, d, s, k])), None
        )
        down = (line.id, d, s) in m.down and bool(solver.value(m.down[line.id, d, s]))
        decisions.append(
            ShiftDecision(
                line=line.id,
                day=m.demand.days[d],
                shift=m.site.shifts[s].name,
                staffed=staffed,
                maintenance=down,
                family=family,
                speed_level=level,
                production=sum(solver.value(m.make[line.id, d, s, f]) for f in line.families),
            )
        )
    return decisions


def _flows(m: CapacityModel, solver: cp_model.CpSolver) -> list[FamilyDay]:
    flows = []
    for family in m.demand.families:
        for d in m.days:
            made = sum(
                solver.value(m.make[line.id, d, s, family])
                for line in m.site.lines
                if family in line.families
                for s in m.shift_range
            )
            flows.append(
                FamilyDay(
                    family=family,
                    day=m.demand.days[d],
                    demand=m.demand.units[family][d],
                    production=made,
                    stock=solver.value(m.stock[family, d]),
                    backlog=solver.value(m.backlog[family, d]),
                )
            )
    return flows


class _LpBound:
    """``planning.solver.bound.lp_bound`` in a daemon thread, so that it runs while CP-SAT searches;
    the bound goes to ``control`` as soon as it is known."""

    def __init__(self, m: CapacityModel, time_limit_s: float, control: SolveControl):
        self._value: int | None = None
        self._control = control
        self._thread = threading.Thread(target=self._run, args=(m.model, time_limit_s), daemon=True)
        self._thread.start()

    def _run(self, model: cp_model.CpModel, time_limit_s: float) -> None:
        try:
            self._value = lp_bound(model, time_limit_s)
        except Exception:  # the bound is an extra: CP-SAT's own stands, and the plan is unaffected
            _log.exception("LP bound failed; reporting CP-SAT's bound")
            return
        if self._value is not None:
            self._control.bounded(self._value / MONEY_SCALE)

    def result(self, deadline: float) -> int | None:
        """The bound, waiting for it no later than ``deadline`` (``time.monotonic()``)."""
        self._thread.join(max(0.0, deadline - time.monotonic()))
        return self._value


@dataclass(frozen=True)
class Replan:
    """Re-planning against a previous plan: warm-start from it, and charge
    ``change_penalty_per_shift`` for each line-shift changed in the first ``frozen_days``."""

    previous: Plan
    frozen_days: int = 0
    change_penalty_per_shift: float = 100.0


def _neighbourhood_search(
    m: CapacityModel, solver: cp_model.CpSolver, settings: SolverSettings, deadline: float, control: SolveControl
) -> cp_model.CpSolver:
    """Improve CP-SAT's plan by ``planning.solver.lns`` until ``deadline``; returns a solver holding
    the final plan (every decision fixed, flows re-derived), never a worse one than ``solver``'s."""
    solution, objective, _ = improve(
        m,
        list(solver.response_proto.solution),
        solver.objective_value,
        deadline,
        settings.workers,
        settings.seed,
        on_improvement=lambda value: control.found(value / MONEY_SCALE),
        stop=lambda: control.cancelled,
    )
    final = cp_model.CpSolver()
    final.parameters.num_workers = settings.workers
    final.parameters.max_time_in_seconds = 10.0
    status = final.solve(fix_decisions(m, solution))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE) or final.objective_value > objective + 0.5:
        return solver
    return final


def solve(
    site: Site,
    demand: Demand,
    settings: SolverSettings = SolverSettings(),
    locks: Sequence[Lock] = (),
    replan: Replan | None = None,
    control: SolveControl | None = None,
) -> Plan:
    """Build and solve the capacity model, keeping the planner's ``locks``.

    Args:
        control: progress out of the search and a way to cancel it (``planning.solver.control``).

    Raises:
        PlanningError: when the rules admit no plan or none was found in time.
        SolveCancelled: when ``control`` was cancelled before the plan was read out.
        ValueError: when site and demand do not fit together.
    """
    control = control or SolveControl()
    m = build_model(site, demand, locks)
    if settings.greedy_only and (locks or replan):
        raise ValueError("the greedy plan does not take locks or a previous plan; solve with CP-SAT")
    if replan is not None:
        add_change_penalty(m, replan.previous.shifts, replan.frozen_days, replan.change_penalty_per_shift)
    # The greedy plan ignores locks; CP-SAT repairs the parts of the hint that break them.
    if replan is not None:
        apply_hint(m, warm_start(m, replan.previous.shifts, greedy_plan(m.site, m.demand)))
    elif settings.greedy_hint or settings.greedy_only:
        apply_hint(m, greedy_plan(m.site, m.demand))
    if control.cancelled:
        raise SolveCancelled("the solve was cancelled before it started")
    started = time.monotonic()
    control.started()
    lp_wanted = settings.lp_bound and not settings.greedy_only
    relaxation = _LpBound(m, settings.time_limit_s, control) if lp_wanted else None
    solver = cp_model.CpSolver()
    settings.apply(solver)
    with control.watching(solver, MONEY_SCALE) as solutions:
        status = solver.solve(m.model, solutions)
        if settings.neighbourhood_search and status == cp_model.UNKNOWN and not control.cancelled:
            # No plan yet to search around: give the whole model the rest of the time.
            solver.parameters.max_time_in_seconds = max(0.1, started + settings.time_limit_s - time.monotonic())
            status = solver.solve(m.model, solutions)
    if control.cancelled:
        raise SolveCancelled("the solve was cancelled")
    name = solver.status_name(status)
    if status == cp_model.INFEASIBLE:
        # Within the solve's own deadline (a little time at least, to name the conflict).
        left = max(_LEAST_DIAGNOSIS_S, started + settings.time_limit_s - time.monotonic())
        diagnosis = diagnose(site, demand, locks, left, settings.workers, settings.seed)
        raise PlanningError(f"{diagnosis.explain()} (solver status {name})", diagnosis)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        reason = {
            cp_model.INFEASIBLE: "the site's rules admit no plan",
            cp_model.MODEL_INVALID: f"the site's numbers are out of range for the solver ({m.model.validate()})",
        }.get(status, "no plan found within the time limit")
        raise PlanningError(f"{reason} (solver status {name})")
    bound = solver.best_objective_bound / MONEY_SCALE
    if settings.neighbourhood_search and status == cp_model.FEASIBLE:
        solver = _neighbourhood_search(m, solver, settings, started + settings.time_limit_s, control)
        if control.cancelled:
            raise SolveCancelled("the solve was cancelled")
    if relaxation is not None and status != cp_model.OPTIMAL:
        lp = relaxation.result(started + settings.time_limit_s)
        bound = max(bound, lp / MONEY_SCALE) if lp is not None else bound
    wall_time = time.monotonic() - started
    objective = solver.objective_value / MONEY_SCALE
    gap = 0.0 if objective == 0 else max(0.0, (objective - bound) / abs(objective))
    shifts, flows = _decisions(m, solver), _flows(m, solver)
    plan = Plan(
        site=site.name,
        start=demand.days[0],
        days=len(demand.days),
        shifts=shifts,
        families=flows,
        kpis=plan_kpis(site, shifts, flows),
        solver=SolverReport(
            status=name,
            objective=round(objective, 2),
            best_bound=round(bound, 2),
            gap=round(gap, 6),
            wall_time_s=round(wall_time, 3),
            time_limit_s=settings.time_limit_s,
            seed=settings.seed,
            workers=settings.workers,
        ),
    )
    update = {"explanation": explain(site, m.demand, plan)}
    if replan is not None:
        changed = sum(solver.value(var) for var in m.changed.values())
        update["replan"] = ReplanReport(
            previous_start=replan.previous.start,
            frozen_days=replan.frozen_days,
            change_penalty_per_shift=replan.change_penalty_per_shift,
            changed_shifts=changed,
            change_penalty=round(changed * replan.change_penalty_per_shift, 2),
        )
    return plan.model_copy(update=update)
