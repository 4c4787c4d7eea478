"""The greedy plan keeps every hard rule on sites where an earlier version broke one (found by review)."""

import pytest

from planning.solve import SolverSettings, solve
from planning.verify import plan_violations
from tests.planning.conftest import make_demand, make_site

ONE_LEVEL = [{"name": "only", "units_per_hour": 10, "energy_cost_per_hour": 1}]


def _cases():
    # Built-ahead units must fit in storage: demand [0, 100, 0] asks for more than one shift on day 1.
    storage = make_site(
        shifts=[{"name": "day", "hours": 8}],
        lines=[{"id": "L1", "crew_per_shift": 1, "families": ["A"], "speed_levels": ONE_LEVEL}],
        labour_pool_per_day=1,
        storage_capacity=10,
        initial_inventory={},
    )
    yield "storage", storage, make_demand({"A": [0, 100, 0]})
    # Nights are cheapest and decided first; a late shift on another family then causes a changeover
    # into the night already staffed, which the weekly budget must pay.
    budget = make_site(
        shifts=[
            {"name": "early", "hours": 8, "starts_at": 6},
            {"name": "late", "hours": 8},
            {"name": "night", "hours": 8, "labour_cost_multiplier": 0.5},
        ],
        lines=[
            {"id": "L1", "crew_per_shift": 1, "families": ["A", "B"], "changeover_cost": 300, "speed_levels": ONE_LEVEL}
        ],
        labour_pool_per_day=3,
        storage_capacity=0,
        initial_inventory={},
        weekly_budget=600,
    )
    yield "budget", budget, make_demand({"A": [0, 80], "B": [80, 80]})
    # L0 may stop on day 0 or 1, L1 only on day 0, one line down at once: L0 must leave day 0 to L1.
    maintenance = make_site(
        lines=[
            {
                "id": "L0",
                "crew_per_shift": 1,
                "families": ["A"],
                "speed_levels": ONE_LEVEL,
                "maintenance": {"duration_shifts": 2, "earliest_day": 0, "latest_day": 1},
            },
            {
                "id": "L1",
                "crew_per_shift": 1,
                "families": ["A"],
                "speed_levels": ONE_LEVEL,
                "maintenance": {"duration_shifts": 2, "earliest_day": 0, "latest_day": 0},
            },
        ],
        initial_inventory={},
    )
    yield "maintenance", maintenance, make_demand({"A": [0, 100, 100]})


@pytest.mark.parametrize("site, demand", [case[1:] for case in _cases()], ids=[case[0] for case in _cases()])
def test_greedy_plan_keeps_the_rule_an_earlier_version_broke(site, demand):
    plan = solve(site, demand, SolverSettings(time_limit_s=2, greedy_only=True))
    assert plan_violations(site, demand, plan) == []
