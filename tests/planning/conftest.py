import itertools
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


def tiny_instance() -> tuple[Site, Demand]:
    """One line, one 2 h shift, one speed level, one family over 5 days: small enough to enumerate."""
    site = make_site(
        shifts=[{"name": "day", "hours": 2}],
        lines=[
            {
                "id": "L1",
                "crew_per_shift": 1,
                "families": ["A"],
                "speed_levels": [{"name": "only", "units_per_hour": 10, "energy_cost_per_hour": 3}],
            }
        ],
        labour_pool_per_day=1,
        storage_capacity=25,
        initial_inventory={"A": 5},
        costs={
            "labour_per_crew_hour": 20,
            "holding_per_unit_day": 0.5,
            "backlog_per_unit_day": 4,
            "lost_sale_per_unit": 30,
        },
    )
    return site, make_demand({"A": [10, 5, 15, 0, 20]})


def brute_force_cost(site: Site, demand: Demand) -> float:
    """Cheapest plan of a one-line, one-shift, one-level, one-family site by enumerating who works when."""
    line, shift, level = site.lines[0], site.shifts[0], site.lines[0].speed_levels[0]
    capacity = level.units_per_hour * shift.hours
    costs = site.costs
    shift_cost = (
        line.crew_per_shift * shift.hours * costs.labour_per_crew_hour + level.energy_cost_per_hour * shift.hours
    )
    best = float("inf")
    days = len(demand.days)
    for pattern in itertools.product([0, 1], repeat=days):
        # With a shift staffed, making more than needed only adds holding cost unless storage for later pays:
        # enumerate production amounts in steps to stay exact on this tiny instance.
        for amounts in itertools.product(*[range(0, capacity + 1, 5) if on else [0] for on in pattern]):
            net, cost = site.initial_inventory.get("A", 0), 0.0
            for k, made in enumerate(amounts):
                net += made - demand.units["A"][k]
                if max(net, 0) > site.storage_capacity:
                    cost = float("inf")
                    break
                cost += costs.holding_per_unit_day * max(net, 0) + costs.backlog_per_unit_day * max(-net, 0)
            cost += costs.lost_sale_per_unit * max(-net, 0) + shift_cost * sum(pattern)
            best = min(best, cost)
    return best


@pytest.fixture
def site() -> Site:
    return make_site()


@pytest.fixture
def week_demand() -> Demand:
    return make_demand({"A": [60, 80, 100, 90, 70, 120, 110], "B": [90, 100, 95, 120, 80, 60, 100]})
