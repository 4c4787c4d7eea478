"""Training on Dask (``models.distributed``): the forecaster it returns is a local fit's twin.

One Dask ``LocalCluster`` (2 single-threaded workers) fits a small generated panel once for the
module; a single-process fit of the same forecaster is the reference.
"""

from __future__ import annotations

import pickle
import sys
import time

import numpy as np
import pandas as pd
import pytest

from features.generate import SampleConfig, generate_panel
from models.base import Forecaster, quantile_columns
from models.distributed import dask_client, fit_on_dask
from models.lgbm import LightGBMForecaster

HORIZON = 14
# 60 series x 400 days with promotions, stockouts (an observed-only column) and late launches.
PANEL = SampleConfig(products=15, locations=4, days=400)


def _forecaster() -> LightGBMForecaster:
    return LightGBMForecaster(horizon=HORIZON, n_estimators=60, num_threads=1)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    """The generated panel and an item launched three days before its end (cold start)."""
    panel = generate_panel(PANEL, seed=3)
    launched = panel[panel["unique_id"] == panel["unique_id"].iloc[0]].tail(3)
    launched = launched.assign(unique_id="P999-S1", item_id="P999")
    return pd.concat([panel, launched], ignore_index=True)


@pytest.fixture(scope="module")
def fits(panel) -> tuple[LightGBMForecaster, LightGBMForecaster]:
    """(single-process fit, Dask fit) of the same forecaster on the same panel."""
    local = _forecaster().fit(panel)
    with dask_client("local") as client:
        distributed = fit_on_dask(_forecaster(), panel, client)
    return local, distributed


def test_dask_forecasts_match_single_process_within_tolerance(fits):
    """Tolerance: per forecast, a mean absolute difference of at most 10% of the mean forecast;
    in total, 2%. The two fits cannot be equal: LightGBM's Dask learner is data-parallel (each
    worker bins the features from its own rows and bags its own rows), so it grows other trees
    from the same data and seed. Measured here: 0.16 on a mean of 4.6 (3.6%), total -0.3%, about
    what a local fit with another seed differs by (0.14); PITFALLS saw 0.04 on 5.6 for 280 M5
    series."""
    local, distributed = fits
    future = local.baseline_future(HORIZON)
    expected, actual = local.predict(HORIZON, future=future), distributed.predict(HORIZON, future=future)
    pd.testing.assert_frame_equal(expected[["unique_id", "ds"]], actual[["unique_id", "ds"]])
    assert actual.dtypes.equals(expected.dtypes)
    difference = (expected["mean"] - actual["mean"]).abs().mean()
    assert difference <= 0.10 * expected["mean"].mean()
    assert actual["mean"].sum() == pytest.approx(expected["mean"].sum(), rel=0.02)


def test_the_bands_exist_are_ordered_and_calibrated_like_a_local_fit(fits):
    local, distributed = fits
    forecast = distributed.predict(HORIZON, future=distributed.baseline_future(HORIZON))
    columns = quantile_columns(distributed.levels)
    assert columns == ["q2.5", "q10", "q50", "q90", "q97.5"]
    values = forecast[columns].to_numpy()
    assert (np.diff(values, axis=1) >= 0).all() and (values >= 0).all()
    assert (forecast["q97.5"] > forecast["q2.5"]).mean() > 0.9
    # Same windows, same number of scores; the offsets differ only as much as the models do.
    assert distributed.calibration_.n_scores == local.calibration_.n_scores
    assert np.ravel(distributed.calibration_.offsets) == pytest.approx(np.ravel(local.calibration_.offsets), abs=0.25)
    assert distributed.family_level_error_ == pytest.approx(local.family_level_error_, abs=0.1)


def test_the_learned_state_is_a_local_fits(fits):
    local, distributed = fits
    assert sorted(vars(distributed)) == sorted(vars(local))
    assert distributed.get_params() == local.get_params()
    for name in ("series_ids_", "cold_start_ids_", "last_ds_", "freq_", "features_"):
        assert getattr(distributed, name) == getattr(local, name), name
    assert distributed.cold_start_ids_, "the panel should hold new items for the fallback"
    for name in ("usual_exogenous_", "recent_history_", "price_references_", "series_attributes_"):
        pd.testing.assert_frame_equal(getattr(distributed, name), getattr(local, name))
    # The mlforecast state is a plain local MLForecast, with the same series, dates and statics.
    ts, reference = distributed.mlf_.ts, local.mlf_.ts
    assert type(distributed.mlf_) is type(local.mlf_)
    pd.testing.assert_index_equal(ts.uids, reference.uids)
    pd.testing.assert_index_equal(ts.last_dates, reference.last_dates, check_names=False)
    pd.testing.assert_frame_equal(ts.static_features_, reference.static_features_)
    assert ts.features_order_ == reference.features_order_
    # The statics stay categorical features of the model, as in a local fit.
    booster = distributed.mlf_.models_["lgbm"].booster_
    assert booster.pandas_categorical == local.mlf_.models_["lgbm"].booster_.pandas_categorical
    infos = booster.dump_model()["feature_infos"]
    assert all(infos[column]["values"] for column in ("item_id", "store_id", "family"))
    assert not infos["lag1"].get("values")


def test_the_dask_fit_pickles_without_a_client_and_predicts_from_newer_actuals(fits, panel):
    _, distributed = fits
    data = distributed.to_bytes()
    assert b"distributed" not in data and b"dask" not in data
    restored = Forecaster.from_bytes(data)
    warm = [i for i in restored.series_ids_ if i not in restored.cold_start_ids_][:3]
    latest = restored.recent_history_[restored.recent_history_["unique_id"].isin(warm)]
    newer = latest.groupby("unique_id").tail(2).assign(ds=lambda f: f["ds"] + pd.Timedelta(days=2))
    forecast = restored.predict(7, ids=warm, history=newer)
    assert list(forecast["unique_id"].unique()) == warm
    assert forecast.groupby("unique_id")["ds"].min().eq(newer["ds"].max() + pd.Timedelta(days=1)).all()
    assert pickle.loads(pickle.dumps(restored)).predict(7, ids=warm, history=newer).equals(forecast)


def test_the_direct_strategy_is_refused_before_any_work(panel):
    with pytest.raises(ValueError, match="recursive strategy only"):
        fit_on_dask(LightGBMForecaster(strategy="direct"), panel, client=None)


def test_an_unreachable_scheduler_fails_fast_in_one_line():
    started = time.perf_counter()
    with pytest.raises(ValueError) as raised, dask_client("tcp://127.0.0.1:9"):
        pass
    message = str(raised.value)
    assert message.startswith("cannot reach the Dask scheduler at tcp://127.0.0.1:9: ")
    assert "\n" not in message
    assert time.perf_counter() - started < 15


def test_without_the_dask_extra_the_message_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # an import of it now fails
    with pytest.raises(ValueError, match=r"pip install 'capcast\[dask\]'"), dask_client("local"):
        pass
