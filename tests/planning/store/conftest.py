"""The plan store's tests take ``engine`` (``tests/databases.py``): each runs on SQLite and on a
throwaway PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from planning import Plan, SolverSettings, solve
from tests.planning.conftest import make_demand, make_site

PLAN_START = date(2026, 1, 5)


@pytest.fixture(scope="session")
def week_plan() -> Plan:
    """A real plan of the two-line test site over a week, solved once."""
    demand = make_demand({"A": [60, 80, 100, 90, 70, 120, 110], "B": [90, 100, 95, 120, 80, 60, 100]}, PLAN_START)
    return solve(make_site(), demand, SolverSettings(time_limit_s=1, workers=1))
