"""The constructive plan, step by step, and as a whole: it keeps every hard rule, and on the
benchmark sites it makes the plans it made when it was one function."""

import hashlib
import json

import pytest

from benchmarks.planning_instances import make_instance
from planning.review.verify import plan_violations
from planning.solver.constructive import (
    Candidate,
    Continuation,
    DayNeed,
    GreedyPlan,
    PeopleAndBudget,
    build_ahead,
    choose_speed_level,
    greedy_plan,
    next_family,
    place_maintenance,
    price_shifts,
    staff_shift,
)
from planning.solver.model import build_model
from planning.solver.solve import SolverSettings, solve
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


def _one_shift_site(lines, **overrides):
    return make_site(shifts=[{"name": "day", "hours": 8}], lines=lines, initial_inventory={}, **overrides)


def _line(line_id, families=("A",), energy=1.0, maintenance=None):
    line = {
        "id": line_id,
        "crew_per_shift": 1,
        "families": list(families),
        "speed_levels": [{"name": "only", "units_per_hour": 10, "energy_cost_per_hour": energy}],
    }
    return line | ({"maintenance": maintenance} if maintenance else {})


def test_maintenance_goes_to_the_quietest_day_of_its_window():
    site = _one_shift_site([_line("L1", maintenance={"duration_shifts": 1, "earliest_day": 0, "latest_day": 2})])
    assert place_maintenance(site, make_demand({"A": [100, 10, 50]})) == {"L1": 1}


def test_maintenance_of_the_narrowest_window_is_placed_first_when_lines_would_collide():
    site = _one_shift_site(
        [
            _line("L1", maintenance={"duration_shifts": 1, "earliest_day": 0, "latest_day": 2}),
            _line("L2", maintenance={"duration_shifts": 1, "earliest_day": 1, "latest_day": 1}),
        ]
    )
    # In site order L1 would take day 1, the only day L2 may stop, with one line down at a time.
    assert place_maintenance(site, make_demand({"A": [100, 10, 50]})) == {"L2": 1, "L1": 2}


def test_a_peak_beyond_the_regular_hours_is_built_on_the_days_before():
    # One line, 80 units a shift; 8 regular crew hours a day make 80 units before overtime.
    site = _one_shift_site([_line("L1")], regular_crew_hours_per_day=8, storage_capacity=300)
    assert build_ahead(site, make_demand({"A": [0, 0, 200]})) == {"A": [40, 120, 0]}


def test_building_ahead_stops_at_the_storage_cap():
    site = _one_shift_site([_line("L1")], regular_crew_hours_per_day=8, storage_capacity=50)
    assert build_ahead(site, make_demand({"A": [0, 0, 200]})) == {"A": [0, 50, 0]}


def test_nothing_is_built_ahead_when_every_day_fits():
    site = _one_shift_site([_line("L1")], regular_crew_hours_per_day=8, storage_capacity=300)
    assert build_ahead(site, make_demand({"A": [80, 30, 80]})) == {"A": [0, 0, 0]}


@pytest.mark.parametrize(
    "previous, usual, due, expected",
    [
        (("A", 0, 80), None, {"A": 10, "B": 50}, (Continuation.GOES_ON, "A")),
        (("A", 0, 80), None, {"A": 0, "B": 50}, (Continuation.CHANGES_OVER, "B")),
        (None, "A", {"A": 10, "B": 50}, (Continuation.AFTER_IDLE, "A")),
        (None, "A", {"A": 0, "B": 50}, (Continuation.AFTER_IDLE, "B")),
    ],
)
def test_a_line_keeps_its_family_while_it_is_needed(previous, usual, due, expected):
    assert next_family(["A", "B"], previous, usual, due) == expected


def _two_speed_site():
    """Slow costs 4.5 a unit (2 people, 80 units), fast 4.8 (3 people, 120 units): 5.4 per extra unit."""
    levels = [
        {"name": "slow", "units_per_hour": 10, "energy_cost_per_hour": 5, "crew": 2},
        {"name": "fast", "units_per_hour": 15, "energy_cost_per_hour": 12, "crew": 3},
    ]
    line = {"id": "L1", "crew_per_shift": 2, "families": ["A"], "speed_levels": levels}
    return _one_shift_site([line])


def _need(due: int) -> DayNeed:
    return DayNeed(day=0, due={"A": due}, ahead={"A": due}, ships={"A": due}, room=300, shifts_run={"L1": 0})


@pytest.mark.parametrize(
    "due, free_capacity, later_unit_cost, level",
    [
        (60, 0, 10.0, 0),  # the slow level covers the need: cheapest per unit
        (200, 0, 10.0, 1),  # need spills over and a later shift costs 10 a unit: the 5.4 extra units pay
        (200, 0, 5.0, 0),  # ...but not when the later shift makes them for 5
        (200, 120, 10.0, 0),  # the shift's other free lines take the rest
        (200, 0, None, 0),  # no later shift can make the family
    ],
)
def test_a_faster_level_only_when_the_need_would_spill_into_a_dearer_shift(due, free_capacity, later_unit_cost, level):
    site = _two_speed_site()
    candidate = Candidate(line_index=0, shift=0, family="A", previous=None, following=None)
    chosen = choose_speed_level(site, _need(due), candidate, [0, 1], free_capacity, later_unit_cost)
    assert chosen == level


def test_a_line_going_on_with_its_family_is_staffed_before_a_cheaper_idle_one():
    site = _one_shift_site([_line("L1", ("A", "B"), energy=1), _line("L2", ("A", "B"), energy=2)])
    demand = make_demand({"A": [80, 50], "B": [0, 0]})
    plan = GreedyPlan(runs={("L2", 0, 0): ("A", 0, 80)})
    need = DayNeed(day=1, due={"A": 50, "B": 0}, ahead={"A": 50, "B": 0}, ships={"A": 50, "B": 0}, room=300)
    need.shifts_run = {"L1": 0, "L2": 0}
    staff_shift(site, price_shifts(site, demand.families), plan, set(), need, PeopleAndBudget.empty(site, demand), 0)
    assert plan.runs[("L2", 1, 0)] == ("A", 0, 50)
    assert ("L1", 1, 0) not in plan.runs
    assert need.due == {"A": 0, "B": 0}


# Digests of the greedy plans (every run and maintenance start) of the benchmark sites, seed 0,
# and the small and medium plans' costs, when greedy_plan was one 130-line function.
@pytest.mark.parametrize(
    "size, digest, cost",
    [
        ("small", "501fc73ad218dfdd", 69327.63),
        ("medium", "081b7ce90c1764dc", 563104.2),
        ("large", "05f9fe833806ce0f", None),
    ],
)
def test_greedy_plans_of_the_benchmark_sites_are_unchanged(size, digest, cost):
    instance = make_instance(size, seed=0)
    m = build_model(instance.site, instance.demand)
    plan = greedy_plan(m.site, m.demand)
    runs = json.dumps([sorted(plan.runs.items()), sorted(plan.maintenance_start.items())])
    assert hashlib.sha256(runs.encode()).hexdigest()[:16] == digest
    if cost is not None:
        solved = solve(instance.site, instance.demand, SolverSettings(time_limit_s=30, greedy_only=True))
        assert solved.solver.objective == cost
        assert plan_violations(instance.site, instance.demand, solved) == []
