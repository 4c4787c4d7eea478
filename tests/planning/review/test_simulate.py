import pytest

from planning.review.simulate import simulate
from planning.solver.solve import SolverSettings, solve
from tests.planning.conftest import make_demand

SETTINGS = SolverSettings(time_limit_s=2)


def test_plan_meets_its_own_demand_exactly_as_planned(site, week_demand):
    plan = solve(site, week_demand, SETTINGS)
    outcome = simulate(site, plan, week_demand)
    assert outcome.fill_rate == pytest.approx(plan.kpis.expected_fill_rate, abs=1e-4)
    assert outcome.cost.total == pytest.approx(plan.kpis.cost.total, abs=0.01)


def test_demand_above_plan_creates_backlog_and_lost_sales(site, week_demand):
    plan = solve(site, week_demand, SETTINGS)
    surge = make_demand({f: [u * 2 for u in week_demand.units[f]] for f in week_demand.families})
    outcome = simulate(site, plan, surge)
    assert outcome.fill_rate < plan.kpis.expected_fill_rate
    assert outcome.late_units > 0 and outcome.lost_units > 0
    assert outcome.cost.lost_sales == pytest.approx(outcome.lost_units * site.costs.lost_sale_per_unit, abs=0.01)


def test_demand_below_plan_leaves_stock_and_can_overflow_storage(site, week_demand):
    plan = solve(site, week_demand, SETTINGS)
    lull = make_demand({f: [0] * len(week_demand.days) for f in week_demand.families})
    outcome = simulate(site, plan, lull)
    assert outcome.fill_rate == 1.0 and outcome.cost.holding > plan.kpis.cost.holding
    assert outcome.storage_overflow_units > 0


def test_days_must_match(site, week_demand):
    plan = solve(site, week_demand, SETTINGS)
    with pytest.raises(ValueError, match="different days"):
        simulate(site, plan, make_demand({"A": [1, 2], "B": [1, 2]}))
