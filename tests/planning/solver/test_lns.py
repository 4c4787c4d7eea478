"""Neighbourhood search: day windows cover the horizon; the search never worsens a plan and keeps every rule."""

import itertools
import random
import time

import pytest
from ortools.sat.python import cp_model

from planning.review.verify import plan_violations
from planning.solver.constructive import greedy_plan
from planning.solver.hint import apply_hint
from planning.solver.lns import _neighbourhoods, _windows, fix_decisions, improve
from planning.solver.model import build_model
from planning.solver.solve import SolverSettings, solve
from tests.planning.conftest import make_demand


@pytest.mark.parametrize("days, width", [(7, 7), (14, 7), (28, 7), (30, 7), (5, 7)])
def test_windows_cover_every_day_and_overlap(days, width):
    windows = _windows(days, width)
    assert set().union(*map(set, windows)) == set(range(days))
    assert all(len(w) == min(width, days) for w in windows)


def test_line_groups_share_a_family_and_take_turns_with_day_windows(site):
    m = build_model(site, _two_weeks())
    drawn = list(itertools.islice(_neighbourhoods(m, 7, 3, random.Random(0)), 8))
    lines = {line.id: set(line.families) for line in site.lines}
    for free_lines, free_days in drawn[0::2]:  # line groups: every day, lines with a family in common
        assert free_days == set(m.days) and set.intersection(*(lines[line_id] for line_id in free_lines))
    for free_lines, free_days in drawn[1::2]:  # day windows: every line
        assert free_lines == set(lines) and len(free_days) == 7
    assert set().union(*(days for _, days in drawn[1::2])) == set(m.days)


def _two_weeks():
    return make_demand({"A": [60, 80, 100, 90, 70, 120, 110] * 2, "B": [90, 100, 95, 120, 80, 60, 100] * 2})


def test_search_starts_from_the_greedy_plan_and_never_worsens_it(site):
    m = build_model(site, _two_weeks())
    apply_hint(m, greedy_plan(m.site, m.demand))
    solver = cp_model.CpSolver()
    solver.parameters.fix_variables_to_their_hinted_value = True  # the greedy plan itself
    solver.parameters.num_workers = 1
    assert solver.solve(m.model) == cp_model.OPTIMAL
    greedy = solver.objective_value
    solution, objective, report = improve(
        m, list(solver.response_proto.solution), greedy, time.monotonic() + 4, 1, 0, window_days=4, window_seconds=0.5
    )
    assert objective <= greedy and report.start_objective == greedy and report.neighbourhoods >= 1
    final = cp_model.CpSolver()
    assert final.solve(fix_decisions(m, solution)) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    assert final.objective_value == pytest.approx(objective)


def test_plans_with_the_neighbourhood_search_keep_every_hard_rule_and_the_time_limit(site):
    demand = _two_weeks()
    plan = solve(site, demand, SolverSettings(time_limit_s=3, workers=2, seed=0, lns_share=0.6))
    assert plan_violations(site, demand, plan) == []
    assert plan.solver.wall_time_s <= 3 + 1.5
    assert plan.kpis.cost.total == pytest.approx(plan.solver.objective, abs=0.02)
    assert plan.solver.best_bound <= plan.solver.objective + 1e-6


def test_a_first_phase_too_short_to_find_a_plan_leaves_the_rest_to_the_whole_model(site, week_demand):
    plan = solve(site, week_demand, SolverSettings(time_limit_s=1.5, workers=1, seed=0, lns_share=0.9999))
    assert plan.solver.status in ("OPTIMAL", "FEASIBLE") and plan_violations(site, week_demand, plan) == []
