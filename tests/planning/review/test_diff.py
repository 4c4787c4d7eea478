"""A re-plan against the plan it replaces: what changed, and what it costs."""

from planning import Lock, plan_diff
from planning.solver.solve import Replan, SolverSettings, solve

FAST = SolverSettings(time_limit_s=2)


def test_a_plan_against_itself_changes_nothing(site, week_demand):
    plan = solve(site, week_demand, FAST)
    diff = plan_diff(plan, plan, "a", "a")
    assert diff.changed == [] and diff.days_only_before == diff.days_only_after == []
    assert set(diff.cost.values()) == {0.0} and diff.expected_fill_rate == 0 and diff.changeovers == 0


def test_a_lock_shows_as_a_changed_shift_with_its_cost(site, week_demand):
    first = solve(site, week_demand, FAST)
    idle = next(d for d in first.shifts if not d.staffed and not d.maintenance and d.line == "L2")
    lock = Lock(line=idle.line, day=idle.day, shift=idle.shift, staffed=True)
    second = solve(site, week_demand, FAST, locks=[lock], replan=Replan(first))
    diff = plan_diff(first, second, "first", "second")
    change = next(c for c in diff.changed if (c.line, c.day, c.shift) == (idle.line, idle.day, idle.shift))
    assert not change.before.staffed and change.after.staffed and change.after.family == "B"
    assert diff.cost["total"] == round(second.kpis.cost.total - first.kpis.cost.total, 2)
    assert [(c.day, c.line) for c in diff.changed] == sorted((c.day, c.line) for c in diff.changed)


def test_days_one_plan_covers_and_the_other_does_not_are_listed(site, week_demand):
    from dataclasses import replace

    plan = solve(site, week_demand, FAST)
    later = solve(site, replace(week_demand, days=tuple(d.replace(day=d.day + 1) for d in week_demand.days)), FAST)
    diff = plan_diff(plan, later)
    assert diff.days_only_before == [week_demand.days[0]]
    assert len(diff.days_only_after) == 1
