"""Capacity planning on CP-SAT: which shifts to staff, how fast each line runs, when maintenance happens.

Takes demand as plain numbers per product family per day (from any forecast
source) and imports no ML code. Three parts, each a sub-package:

- ``planning.domain``: the site, demand, service level, locks, labour rules and
  the plan itself, with the site's arithmetic (capacity, crew, cost per unit);
- ``planning.solver``: the CP-SAT model, its LP bound, the constructive plan,
  the neighbourhood search, ``solve`` and the diagnosis of infeasible requests;
- ``planning.review``: reading a plan: KPIs, the explanation, the independent
  checker and the simulation against realised demand.

``planning.recommendation`` turns a forecast into a plan. Other packages import
from here; the sub-packages are the planner's own business.
"""

from planning.domain.demand import Demand, demand_from_forecast
from planning.domain.lineage import Lineage, ModelRef, rows_digest, site_digest
from planning.domain.locks import Lock, LockError, Unavailability, unavailability_locks
from planning.domain.plan import Plan
from planning.domain.service_level import service_level_demand
from planning.domain.site import Site, load_site
from planning.recommendation import (
    DemandBasis,
    UnknownDemandColumn,
    demand_columns,
    demand_for_forecast,
    plan_rows,
    recommend,
)
from planning.review.diff import PlanDiff, plan_diff
from planning.review.export import SHIFT_COLUMNS, shift_csv
from planning.review.simulate import Outcome, simulate
from planning.review.verify import plan_violations
from planning.solver.control import SolveCancelled, SolveControl, SolveProgress
from planning.solver.solve import PlanningError, Replan, SolverSettings, solve

__all__ = [
    "SHIFT_COLUMNS",
    "Demand",
    "DemandBasis",
    "Lineage",
    "Lock",
    "LockError",
    "ModelRef",
    "Outcome",
    "Plan",
    "PlanDiff",
    "PlanningError",
    "Replan",
    "Site",
    "SolveCancelled",
    "SolveControl",
    "SolveProgress",
    "SolverSettings",
    "Unavailability",
    "UnknownDemandColumn",
    "demand_columns",
    "demand_for_forecast",
    "demand_from_forecast",
    "load_site",
    "plan_diff",
    "plan_rows",
    "plan_violations",
    "recommend",
    "rows_digest",
    "service_level_demand",
    "shift_csv",
    "simulate",
    "site_digest",
    "solve",
    "unavailability_locks",
]

# Marks this package as capcast's own: capcast checks it at start (capcast/packages.py).
__distribution__ = "capcast"
