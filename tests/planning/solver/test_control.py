"""Watching a solve (each better plan and bound) and stopping it from another thread."""

import threading
import time

import pytest

from benchmarks.planning_instances import make_instance
from planning.solver.control import SolveCancelled, SolveControl
from planning.solver.solve import SolverSettings, solve


def test_progress_reports_every_better_plan_and_bound(site, week_demand):
    seen = []
    plan = solve(site, week_demand, SolverSettings(time_limit_s=2), control=SolveControl(seen.append))
    assert seen, "no progress reported"
    objectives = [p.objective for p in seen if p.objective is not None]
    bounds = [p.best_bound for p in seen if p.best_bound is not None]
    assert objectives == sorted(objectives, reverse=True) and bounds == sorted(bounds)
    assert objectives[-1] == pytest.approx(plan.solver.objective, abs=0.01)
    assert bounds[-1] <= plan.solver.objective + 1e-6
    assert [p.solutions for p in seen if p.objective is not None][-1] >= 1
    assert all(0 <= p.elapsed_s <= 10 for p in seen)


def test_a_cancelled_solve_stops_at_once_and_returns_no_plan():
    instance = make_instance("medium", seed=0)
    first_plan = threading.Event()
    control = SolveControl(lambda progress: progress.objective is not None and first_plan.set())
    threading.Thread(target=lambda: first_plan.wait(60) and control.cancel(), daemon=True).start()
    started = time.monotonic()
    with pytest.raises(SolveCancelled):
        solve(instance.site, instance.demand, SolverSettings(time_limit_s=60), control=control)
    assert first_plan.is_set() and time.monotonic() - started < 30


def test_a_solve_cancelled_before_it_starts_does_not_run(site, week_demand):
    control = SolveControl()
    control.cancel()
    with pytest.raises(SolveCancelled):
        solve(site, week_demand, SolverSettings(time_limit_s=5), control=control)
    assert control.progress().solutions == 0
