"""The LP bound: never above any plan's cost, above the cost floor, reported by solve()."""

import pytest
from ortools.sat.python import cp_model

from planning.domain.locks import Lock, LockError
from planning.review.verify import plan_violations
from planning.solver.bound import lp_bound
from planning.solver.model import MONEY_SCALE, build_model, cost_floor
from planning.solver.solve import SolverSettings, solve
from tests.planning.conftest import brute_force_cost, tiny_instance


def test_bound_never_exceeds_the_brute_force_optimum():
    site, demand = tiny_instance()
    bound = lp_bound(build_model(site, demand).model, 10) / MONEY_SCALE
    assert 0 < bound <= brute_force_cost(site, demand) + 1e-9


@pytest.mark.parametrize("diagnose", [False, True], ids=["model", "diagnosis model"])
def test_bound_lies_between_the_cost_floor_and_the_plan(site, week_demand, diagnose):
    m = build_model(site, week_demand, diagnose=diagnose)
    bound = lp_bound(m.model, 10)
    plan = solve(site, week_demand, SolverSettings(time_limit_s=3, lp_bound=False))
    assert cost_floor(m) < bound <= plan.solver.objective * MONEY_SCALE


def test_solve_reports_the_lp_bound_when_it_is_stronger(site, week_demand):
    with_lp = solve(site, week_demand, SolverSettings(time_limit_s=3))
    assert plan_violations(site, week_demand, with_lp) == []
    lp = lp_bound(build_model(site, week_demand).model, 10) / MONEY_SCALE
    assert with_lp.solver.best_bound >= round(lp, 2) - 0.01 or with_lp.solver.status == "OPTIMAL"
    assert with_lp.solver.best_bound <= with_lp.solver.objective


def test_constraints_without_a_linear_form_are_left_out():
    model = cp_model.CpModel()
    x, y, z = (model.new_int_var(0, 5, name) for name in "xyz")
    model.add_multiplication_equality(z, [x, y])
    model.add(x >= 2)
    model.add(y >= 3)
    model.minimize(z)
    assert lp_bound(model, 1) <= 6  # z = x * y >= 6; without the product the LP says z >= 0


def test_a_maintenance_lock_on_a_shift_that_can_never_be_down(site, week_demand):
    day = week_demand.days[5]  # L1's maintenance window ends on day 3
    free = build_model(site, week_demand, [Lock(line="L1", day=day, shift="day", maintenance=False)])
    assert lp_bound(free.model, 10) == lp_bound(build_model(site, week_demand).model, 10)
    with pytest.raises(LockError, match="cannot fall on that shift"):
        build_model(site, week_demand, [Lock(line="L1", day=day, shift="day", maintenance=True)])
