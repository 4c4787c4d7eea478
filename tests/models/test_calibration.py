"""Scaled conformal quantiles: coverage on data with known noise, per series size, order, guards, and the LightGBM
wiring."""

import numpy as np
import pandas as pd
import pytest

from models.base import interval_quantiles
from models.calibration import MIN_BUCKET_SERIES, ScaledConformal, series_profile, shared_level_error
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
    assert len(calibration.offsets) == 1 and list(calibration.offsets[0]) == sorted(calibration.offsets[0])


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


def _mixed_scale_history(rng, days=420):
    """Small Poisson series beside large ones that move in proportion to their level (10% a day), like a
    total beside its parts: ``unique_id, ds, y`` and each series' true mean."""
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    frames, means = [], {}
    for series in range(60):
        large = series < 20
        mean = 2_000.0 * (1 + series) if large else 0.5 + series / 10
        y = rng.normal(mean, 0.1 * mean, days).clip(0) if large else rng.poisson(mean, days).astype(float)
        frames.append(pd.DataFrame({"unique_id": f"s{series:02d}", "ds": dates, "y": y}))
        means[f"s{series:02d}"] = mean
    return pd.concat(frames, ignore_index=True), pd.Series(means)


def _draws(rng, means, per_series=200):
    """Actuals and forecasts of ``per_series`` periods of each series of ``_mixed_scale_history``."""
    forecast = means.reindex(means.index.repeat(per_series)).to_numpy()
    large = forecast >= 2_000
    return np.where(large, rng.normal(forecast, 0.1 * forecast), rng.poisson(np.where(large, 0, forecast))), forecast


def _coverage_by_size(calibration, history, means, per_series):
    """80% coverage of new draws for the large and the small series."""
    rng = np.random.default_rng(99)
    ids = means.index.repeat(400)
    forecast = means.reindex(ids).to_numpy()
    large = forecast >= 2_000
    actual = np.where(large, rng.normal(forecast, 0.1 * forecast), rng.poisson(np.where(large, 0, forecast)))
    bands = calibration.apply(forecast, ids.to_numpy() if per_series else None)
    inside = (actual >= bands[10.0]) & (actual <= bands[90.0])
    return inside[large].mean(), inside[~large].mean()


def test_dispersion_tells_proportional_movers_from_counts():
    history, _ = _mixed_scale_history(np.random.default_rng(2))
    profile = series_profile(history, season=7, year=364)
    assert profile.loc["s30", "volume"] == pytest.approx(3.5, rel=0.1)
    small, large = profile["dispersion"].iloc[20:], profile["dispersion"].iloc[:20]
    assert small.between(0.5, 2.0).all()
    # 10% of the level against its square root: a twenty times larger series is sqrt(20) times as dispersed.
    assert (large > 3).all() and large.iloc[-1] / large.iloc[0] == pytest.approx(np.sqrt(20), rel=0.2)


def test_bands_hold_for_large_and_small_series_of_one_panel():
    """Pooled on the Poisson scale alone, the large series' 80% bands are far too narrow and the small ones'
    too wide; with each series' dispersion and volume bucket, both hold."""
    rng = np.random.default_rng(4)
    history, means = _mixed_scale_history(rng)
    ids = means.index.repeat(200)
    actual, forecast = _draws(rng, means)
    pooled = ScaledConformal.fit(actual, forecast, (10.0, 50.0, 90.0))
    large_cover, small_cover = _coverage_by_size(pooled, history, means, per_series=False)
    assert large_cover < 0.6 and small_cover > 0.9
    profile = series_profile(history, season=7, year=364)
    per_series = ScaledConformal.fit(actual, forecast, (10.0, 50.0, 90.0), ids=ids.to_numpy(), profile=profile)
    assert len(per_series.offsets) == len(means) // MIN_BUCKET_SERIES
    for coverage in _coverage_by_size(per_series, history, means, per_series=True):
        assert 0.75 <= coverage <= 0.85


def test_a_dispersion_the_errors_do_not_follow_is_left_out():
    """History says some series move three times as much as others (what a model explains: promotions),
    but their errors are alike: the scale leaves the dispersion out and the bands are the pooled ones."""
    rng = np.random.default_rng(8)
    ids = np.repeat([f"s{i:02d}" for i in range(40)], 200)
    forecast = np.full(len(ids), 10.0)
    actual = rng.poisson(forecast).astype(float)
    profile = pd.DataFrame({"volume": 10.0, "dispersion": np.tile([1.0, 3.0], 20)}, index=np.unique(ids))
    per_series = ScaledConformal.fit(actual, forecast, (10.0, 90.0), ids=ids, profile=profile)
    assert per_series.dispersion_power < 0.1
    history, means = _mixed_scale_history(rng)
    proportional = ScaledConformal.fit(
        *_draws(rng, means),
        (10.0, 90.0),
        ids=means.index.repeat(200).to_numpy(),
        profile=series_profile(history, season=7, year=364),
    )
    assert proportional.dispersion_power > 0.8


def test_each_volume_bucket_gets_its_own_offsets():
    """Equal dispersion, but the smaller series miss twice as wide: their bucket's offsets say so."""
    rng = np.random.default_rng(6)
    ids = np.repeat([f"s{i:02d}" for i in range(40)], 300)
    volume = np.repeat(np.arange(40, dtype=float) + 1, 300)
    spread = np.where(volume <= 20, 2.0, 1.0)
    forecast = volume
    actual = forecast + rng.normal(0, 1, len(ids)) * spread * np.sqrt(forecast + 1)
    profile = pd.DataFrame({"volume": np.arange(40, dtype=float) + 1, "dispersion": 1.0}, index=np.unique(ids))
    calibration = ScaledConformal.fit(actual, forecast, (10.0, 90.0), ids=ids, profile=profile)
    (small_lo, small_hi), (large_lo, large_hi) = calibration.offsets
    assert small_hi - small_lo == pytest.approx(2 * (large_hi - large_lo), rel=0.15)
    # A series the calibration never saw takes the bucket of its forecast's size.
    unseen = calibration.apply(np.array([10.0, 30.0]), np.array(["new", "new"]))
    widths = (unseen[90.0] - unseen[10.0]) / np.sqrt(np.array([11.0, 31.0]))
    assert widths[0] == pytest.approx(2 * widths[1], rel=0.15)


def test_series_of_equal_volume_share_a_bucket():
    """Sixty idle series and forty busy ones: the idle share one bucket, none is left empty by the ties."""
    ids = np.repeat([f"s{i:03d}" for i in range(100)], 10)
    volume = np.r_[np.zeros(60), np.arange(40.0) + 1]
    profile = pd.DataFrame({"volume": volume, "dispersion": 1.0}, index=np.unique(ids))
    forecast = np.repeat(volume, 10)
    calibration = ScaledConformal.fit(forecast + 1.0, forecast, (10.0, 90.0), ids=ids, profile=profile)
    assert calibration.volume_edges == (1.0, 21.0)
    assert len(calibration.offsets) == 3


def test_per_series_calibration_needs_ids_and_profile_together():
    with pytest.raises(ValueError, match="both"):
        ScaledConformal.fit(np.ones(3), np.ones(3), (10.0, 90.0), ids=np.array(["a", "a", "a"]))


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
