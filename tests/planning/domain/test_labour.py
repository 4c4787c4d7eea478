"""Minimum rest between shifts: the pool is one team, and a night crew cannot start again at dawn."""

import pytest
from pydantic import ValidationError

from planning.domain.labour import crew_groups
from planning.domain.locks import Lock
from planning.review.verify import plan_violations
from planning.solver.solve import PlanningError, SolverSettings, solve
from tests.planning.conftest import make_demand, make_site

THREE_SHIFTS = [
    {"name": "early", "hours": 8, "starts_at": 6},
    {"name": "late", "hours": 8},
    {"name": "night", "hours": 8, "labour_cost_multiplier": 0.5},
]
ONE_LINE = [
    {
        "id": "L1",
        "crew_per_shift": 1,
        "families": ["A"],
        "speed_levels": [{"name": "only", "units_per_hour": 10, "energy_cost_per_hour": 1}],
    }
]
FAST = SolverSettings(time_limit_s=5, workers=2, seed=0)


def rest_site(rest: int, **overrides):
    settings = {
        "shifts": THREE_SHIFTS,
        "lines": ONE_LINE,
        "labour_pool_per_day": 1,
        "min_rest_hours": rest,
        "initial_inventory": {},
    }
    return make_site(**(settings | overrides))


def _names(site, group):
    return {(d, site.shifts[s].name) for d, s in group.slots}


def test_groups_are_the_days_without_rest_and_span_midnight_with_it():
    days = make_demand({"A": [0, 0, 0]}).days
    no_rest = rest_site(0)
    assert [_names(no_rest, g) for g in crew_groups(no_rest, days)] == [
        {(d, "early"), (d, "late"), (d, "night")} for d in range(3)
    ]
    rested = rest_site(11)
    groups = [_names(rested, g) for g in crew_groups(rested, days)]
    # late ends 22:00, next early starts 06:00 (8 h); night ends 06:00, next late starts 14:00 (8 h).
    assert {(0, "late"), (0, "night"), (1, "early")} in groups
    assert {(0, "night"), (1, "early"), (1, "late")} in groups
    assert all(len({d for d, _ in g}) <= 2 for g in groups)
    assert {(1, "early"), (1, "late"), (1, "night")} in groups


def test_rest_moves_the_cheap_night_shift_away_from_a_locked_early_shift():
    demand = make_demand({"A": [80, 80, 80]})
    lock = [Lock(line="L1", day=demand.days[1], shift="early", staffed=True)]
    free = solve(rest_site(0, storage_capacity=0), demand, FAST, locks=lock)
    rested_site = rest_site(11, storage_capacity=0)
    rested = solve(rested_site, demand, FAST, locks=lock)
    staffed = {d.day: d.shift for d in rested.shifts if d.staffed}
    assert {d.day: d.shift for d in free.shifts if d.staffed}[demand.days[0]] == "night"  # cheapest without rest
    assert staffed[demand.days[0]] == "early"  # late and night on day 0 leave < 11 h before 06:00
    assert plan_violations(rested_site, demand, rested) == []
    # The checker's own roster finds the short rest in the plan made without the rule.
    assert any("11 h rest" in problem for problem in plan_violations(rested_site, demand, free))
    assert rested.solver.objective > free.solver.objective
    rest_days = {b.day for b in rested.explanation.binding if b.resource == "minimum rest"}
    assert demand.days[1] in rest_days  # day 1's early crew keeps day 0's late and night shifts idle


@pytest.mark.parametrize("greedy_only", [False, True], ids=["cp-sat", "greedy"])
def test_plans_of_a_rested_pool_pass_the_roster_check(week_demand, greedy_only):
    site = make_site(shifts=THREE_SHIFTS, labour_pool_per_day=7, min_rest_hours=11)
    plan = solve(site, week_demand, SolverSettings(time_limit_s=3, greedy_only=greedy_only))
    assert plan_violations(site, week_demand, plan) == []


def test_conflicting_locks_name_the_rest_rule():
    demand = make_demand({"A": [10, 10]})
    locks = [
        Lock(line="L1", day=demand.days[0], shift="night", staffed=True),
        Lock(line="L1", day=demand.days[1], shift="late", staffed=True),
    ]
    with pytest.raises(PlanningError) as error:
        solve(rest_site(11), demand, FAST, locks=locks)
    rules = error.value.diagnosis.conflicting_rules
    assert any(r.startswith("minimum rest of 11 h between shifts") and "night on" in r for r in rules)


@pytest.mark.parametrize(
    "shifts, message",
    [
        (
            [{"name": "a", "hours": 8, "starts_at": 6}, {"name": "b", "hours": 8, "starts_at": 10}],
            "before shift a ends",
        ),
        (
            [{"name": "a", "hours": 12, "starts_at": 6}, {"name": "b", "hours": 12, "starts_at": 20}],
            "next day's first shift",
        ),
    ],
)
def test_overlapping_shift_times_are_rejected(shifts, message):
    with pytest.raises(ValidationError, match=message):
        make_site(shifts=shifts)
