"""Scaled conformal quantiles: coverage on data with known noise, order, guards, and the LightGBM wiring."""

import numpy as np
import pandas as pd
import pytest

from models.base import interval_quantiles
from models.calibration import ScaledConformal, shared_level_error
from models.lgbm import LightGBMForecaster
from models.metrics import interval_coverage


def _poisson_pairs(rng, n):
    level = rng.gamma(shape=1.5, scale=6.0, size=n)
    return rng.poisson(level).astype(float), level


def test_coverage_matches_nominal_on_poisson_demand():
    rng = np.random.default_rng(3)
    actual, level = _poisson_pairs(rng, 20_000)
    calibration = ScaledConformal.fit(actual, level, interval_quantiles((80, 95)))
    new_actual, new_level = _poisson_pairs(rng, 20_000)
    bands = calibration.apply(new_level)
    for level_pct, lo, hi in ((80, 10.0, 90.0), (95, 2.5, 97.5)):
        inside = (new_actual >= bands[lo]) & (new_actual <= bands[hi])
        assert abs(inside.mean() - level_pct / 100) < 0.03


def test_quantiles_are_ordered_and_non_negative():
    rng = np.random.default_rng(0)
    actual, level = _poisson_pairs(rng, 500)
    calibration = ScaledConformal.fit(actual, level, (5.0, 50.0, 95.0))
    bands = calibration.apply(np.array([0.0, 0.2, 3.0, 400.0]))
    stacked = np.vstack([bands[q] for q in (5.0, 50.0, 95.0)])
    assert (stacked >= 0).all() and (np.diff(stacked, axis=0) >= 0).all()
    assert list(calibration.offsets) == sorted(calibration.offsets)


def test_scale_grows_with_the_forecast():
    rng = np.random.default_rng(1)
    actual, level = _poisson_pairs(rng, 5_000)
    bands = ScaledConformal.fit(actual, level, (10.0, 90.0)).apply(np.array([4.0, 100.0]))
    widths = bands[90.0] - bands[10.0]
    assert widths[1] == pytest.approx(widths[0] * np.sqrt(101 / 5), rel=1e-9)


@pytest.mark.parametrize(
    "actual, forecast, message",
    [
        (np.array([np.nan]), np.array([1.0]), "no finite"),
        (np.array([1.0, 2.0]), np.array([1.0]), "same length"),
    ],
)
def test_unusable_errors_are_refused(actual, forecast, message):
    with pytest.raises(ValueError, match=message):
        ScaledConformal.fit(actual, forecast, (10.0, 90.0))


def test_interval_levels_are_checked():
    assert interval_quantiles((80,)) == (10.0, 50.0, 90.0)
    with pytest.raises(ValueError, match="between 0 and 100"):
        interval_quantiles((100,))


def test_lightgbm_bands_cover_a_series_with_known_noise():
    """Weekly pattern + Poisson noise: the calibrated 80% band covers about 80% of the next weeks."""
    rng = np.random.default_rng(11)
    days = pd.date_range("2024-01-01", periods=420, freq="D")
    weekly = np.array([1.0, 0.9, 0.9, 1.0, 1.3, 1.8, 1.5])
    frames = []
    for series in range(12):
        mean = (5 + 3 * series) * weekly[days.dayofweek]
        frames.append(pd.DataFrame({"unique_id": f"s{series}", "ds": days, "y": rng.poisson(mean).astype(float)}))
    panel = pd.concat(frames, ignore_index=True)
    cutoff = days[-29]
    train, test = panel[panel["ds"] <= cutoff], panel[panel["ds"] > cutoff]
    model = LightGBMForecaster(horizon=28, n_estimators=60, num_threads=1).fit(train)
    assert model.calibration_.n_scores == 12 * 28 * 4
    coverage = interval_coverage(test, model.predict(28), 80)
    assert 0.72 <= coverage <= 0.88


def test_lightgbm_needs_room_for_one_calibration_window():
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    panel = pd.DataFrame({"unique_id": "a", "ds": days, "y": np.arange(60, dtype=float) % 7})
    with pytest.raises(ValueError, match="needs at least 84 days"):
        LightGBMForecaster(horizon=28, n_estimators=10, num_threads=1).fit(panel)


def _shared_shock_backtest(rng, shock_sd, windows=40, series=20, days=14):
    """Backtest rows of one family whose series share a multiplicative shock per window."""
    rows = []
    for window in range(windows):
        shock = rng.normal(1.0, shock_sd)
        for s in range(series):
            level = 5.0 + s
            for d in range(days):
                rows.append((window, s, d, rng.poisson(level * shock), level))
    frame = pd.DataFrame(rows, columns=["window", "series", "ds", "y", "forecast"]).assign(group="F")
    return frame


def test_shared_level_error_is_near_zero_for_independent_errors_and_grows_with_a_shared_shock():
    rng = np.random.default_rng(5)
    independent = _shared_shock_backtest(rng, 0.0)
    calibration = ScaledConformal.fit(independent["y"], independent["forecast"], interval_quantiles((95,)))
    assert shared_level_error(independent, calibration) < 0.03
    shocked = _shared_shock_backtest(rng, 0.15)
    # A normal shock of 15% needs about 15% at the 95% point (z cancels): allow the sampling error of 40 windows.
    assert 0.08 < shared_level_error(shocked, calibration) < 0.25
