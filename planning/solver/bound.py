"""A proven lower bound on the plan's cost: the LP relaxation of the capacity model, solved by GLOP.

With two workers, CP-SAT reaches the root LP of a large site late or never
(30 lines x 56 days: not within 5 minutes), and its bound then stays at the
cost floor. GLOP's dual simplex solves the same relaxation directly (0.5 s
at 10 x 28, 8 s at 30 x 56 on these machines, plus 1-4 s to build it). The
relaxation reads the built CP-SAT model itself, so it is the model's own LP,
not a second formulation to keep in step: every constraint is linear except
the overtime maximum, relaxed to "at least each term"; constraints switched
by literals (diagnosis mode only) and any other kind are left out. Both keep
it a relaxation, so its optimum bounds every plan.
"""

from __future__ import annotations

import math

from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

__all__ = ["lp_bound"]

_INT64_EDGE = 2**62  # CP-SAT writes "no limit" as the int64 extremes
# GLOP's optimum is exact up to its tolerances; shaving a little more keeps the bound safe.
_RELATIVE_SAFETY = 1e-6
# provide_strong_optimal_guarantee: OPTIMAL then holds for the problem as given, not the perturbed costs.
_GLOP_PARAMETERS = "use_dual_simplex: true perturb_costs_in_dual_simplex: true provide_strong_optimal_guarantee: true"


def _finite(value: int, infinity: float) -> float:
    return -infinity if value <= -_INT64_EDGE else infinity if value >= _INT64_EDGE else float(value)


def _relaxation(model: cp_model.CpModel) -> tuple[pywraplp.Solver, pywraplp.Objective]:
    proto = model.proto
    lp = pywraplp.Solver.CreateSolver("GLOP")
    inf = lp.infinity()
    xs = []
    for variable in proto.variables:
        domain = list(variable.domain)
        xs.append(lp.NumVar(_finite(domain[0], inf), _finite(domain[-1], inf), ""))
    for constraint in proto.constraints:
        if list(constraint.enforcement_literal):
            continue
        if constraint.has_linear():
            domain = list(constraint.linear.domain)
            row = lp.Constraint(_finite(domain[0], inf), _finite(domain[-1], inf))
            for index, coefficient in zip(constraint.linear.vars, constraint.linear.coeffs):
                row.SetCoefficient(xs[index], coefficient)
        elif constraint.has_lin_max():
            target = constraint.lin_max.target
            for term in constraint.lin_max.exprs:  # target >= term
                row = lp.Constraint(term.offset - target.offset, inf)
                for index, coefficient in zip(target.vars, target.coeffs):
                    row.SetCoefficient(xs[index], coefficient)
                for index, coefficient in zip(term.vars, term.coeffs):
                    row.SetCoefficient(xs[index], row.GetCoefficient(xs[index]) - coefficient)
        # Any other kind is left out: dropping a constraint keeps the LP a relaxation.
    objective = lp.Objective()
    for index, coefficient in zip(proto.objective.vars, proto.objective.coeffs):
        objective.SetCoefficient(xs[index], coefficient)
    objective.SetOffset(proto.objective.offset)
    objective.SetMinimization()
    return lp, objective


def lp_bound(model: cp_model.CpModel, time_limit_s: float) -> int | None:
    """A lower bound on ``model``'s objective (in its own integer units), or None when GLOP
    does not prove the LP optimum within ``time_limit_s`` seconds."""
    lp, objective = _relaxation(model)
    lp.SetTimeLimit(max(1, int(time_limit_s * 1000)))
    # Dual simplex on perturbed costs: 8 s instead of 30 s at 30 lines x 56 days, same optimum.
    lp.SetSolverSpecificParametersAsString(_GLOP_PARAMETERS)
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    value = objective.Value()
    scaling = model.proto.objective.scaling_factor or 1.0
    return math.floor(value * scaling - abs(value * scaling) * _RELATIVE_SAFETY)
