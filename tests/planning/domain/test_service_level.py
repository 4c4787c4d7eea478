from datetime import date, timedelta
from statistics import NormalDist

import numpy as np
import pytest

from planning.domain.demand import demand_from_forecast
from planning.domain.service_level import service_level_demand


def _rows(days=28, series=5, mean=10.0, sigma=3.0):
    z90 = NormalDist().inv_cdf(0.9)
    start = date(2026, 1, 5)
    return [
        {
            "unique_id": f"s{i}",
            "family": "F",
            "ds": start + timedelta(days=d),
            "mean": mean,
            "q10": mean - z90 * sigma,
            "q50": mean,
            "q90": mean + z90 * sigma,
        }
        for i in range(series)
        for d in range(days)
    ]


def test_cumulative_target_is_the_normal_quantile_of_the_running_total():
    demand = service_level_demand(_rows(), 0.95)
    cumulative = np.cumsum(demand.units["F"])
    z = NormalDist().inv_cdf(0.95)
    for d in (0, 6, 27):
        n = 5 * (d + 1)
        assert cumulative[d] == round(10.0 * n + z * 3.0 * np.sqrt(n))


def test_covers_less_than_summed_daily_quantiles_and_more_than_the_mean():
    rows = _rows()
    by_service_level = sum(service_level_demand(rows, 0.9).units["F"])
    by_daily_q90 = sum(demand_from_forecast(rows, "q90").units["F"])
    by_mean = sum(demand_from_forecast(rows, "mean").units["F"])
    assert by_mean < by_service_level < by_daily_q90


def test_coverage_holds_on_simulated_demand():
    """Simulated independent normal demand meets the cumulative target at about the service level."""
    rows = _rows(days=14, series=3, mean=20.0, sigma=5.0)
    target = np.cumsum(service_level_demand(rows, 0.9).units["F"])
    rng = np.random.default_rng(0)
    totals = rng.normal(20.0, 5.0, size=(20_000, 14, 3)).sum(axis=2).cumsum(axis=1)
    covered = (totals <= target).mean(axis=0)
    assert np.all(np.abs(covered - 0.9) < 0.03)


def test_daily_units_are_never_negative_even_when_the_band_narrows():
    rows = _rows(days=3, series=1)
    rows[1]["q10"], rows[1]["q90"] = 10.0, 10.0  # a certain day after an uncertain one
    assert all(u >= 0 for u in service_level_demand(rows, 0.99).units["F"])


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5])
def test_service_level_must_be_a_probability(level):
    with pytest.raises(ValueError, match="between 0 and 1"):
        service_level_demand(_rows(days=2, series=1), level)


def test_needs_a_quantile_pair():
    rows = [{k: v for k, v in r.items() if k not in ("q10", "q90")} for r in _rows(days=2, series=1)]
    with pytest.raises(ValueError, match="symmetric quantile pair"):
        service_level_demand(rows, 0.9)


def test_level_error_covers_a_shared_shock_that_independence_misses():
    """Demand = family-wide multiplier x independent noise: only the level error term covers it."""
    rows = _rows(days=14, series=10, mean=20.0, sigma=4.0)
    rng = np.random.default_rng(1)
    shock = rng.normal(1.0, 0.1, size=(20_000, 1, 1))
    totals = (shock * rng.normal(20.0, 4.0, size=(20_000, 14, 10))).sum(axis=2).cumsum(axis=1)
    independent = np.cumsum(service_level_demand(rows, 0.95).units["F"])
    shared = np.cumsum(service_level_demand(rows, 0.95, level_error=0.1).units["F"])
    assert (totals[:, -1] <= independent[-1]).mean() < 0.7
    assert np.all(np.abs((totals <= shared).mean(axis=0) - 0.95) < 0.02)


@pytest.mark.parametrize("level_error", [-0.1, float("nan")])
def test_level_error_must_be_non_negative(level_error):
    with pytest.raises(ValueError, match="level error"):
        service_level_demand(_rows(days=2, series=1), 0.9, level_error=level_error)
