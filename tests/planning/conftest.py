from datetime import date, timedelta

import pytest

from planning.domain.demand import Demand
from planning.domain.site import Site


def make_site(**overrides) -> Site:
    """Two lines, two 8h shifts, two families: small enough to reason about by hand."""
    site = {
        "name": "test-site",
        "shifts": [{"name": "day", "hours": 8}, {"name": "night", "hours": 8, "labour_cost_multiplier": 1.5}],
        "lines": [
            {
                "id": "L1",
                "crew_per_shift": 3,
                "families": ["A", "B"],
                "speed_levels": [
                    {"name": "slow", "units_per_hour": 10, "energy_cost_per_hour": 5},
                    {"name": "fast", "units_per_hour": 15, "energy_cost_per_hour": 12},
                ],
                "maintenance": {"duration_shifts": 2, "earliest_day": 1, "latest_day": 3},
            },
            {
                "id": "L2",
                "crew_per_shift": 2,
                "families": ["B"],
                "speed_levels": [{"name": "normal", "units_per_hour": 12, "energy_cost_per_hour": 6}],
                "maintenance": {"duration_shifts": 1, "earliest_day": 0, "latest_day": 6},
            },
        ],
        "labour_pool_per_day": 8,
        "max_lines_in_maintenance": 1,
        "storage_capacity": 300,
        "costs": {
            "labour_per_crew_hour": 20,
            "holding_per_unit_day": 0.1,
            "backlog_per_unit_day": 5,
            "lost_sale_per_unit": 40,
        },
        "initial_inventory": {"A": 20},
    }
    site.update(overrides)
    return Site.model_validate(site)


def make_demand(units: dict[str, list[int]], start: date = date(2026, 1, 5)) -> Demand:
    days = len(next(iter(units.values())))
    return Demand(tuple(start + timedelta(days=k) for k in range(days)), {f: tuple(v) for f, v in units.items()})


@pytest.fixture
def site() -> Site:
    return make_site()


@pytest.fixture
def week_demand() -> Demand:
    return make_demand({"A": [60, 80, 100, 90, 70, 120, 110], "B": [90, 100, 95, 120, 80, 60, 100]})
