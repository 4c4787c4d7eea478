"""One contract for every forecaster: shapes, quantile order, determinism, save/load, guards."""

import numpy as np
import pandas as pd
import pytest

from models.base import NotFittedError, quantile_columns
from models.baselines import LocalForecaster, SeasonalNaive
from models.lgbm import LightGBMForecaster
from models.metrics import wape
from training.backtest import split_holdout

HORIZON = 14
LEVELS = (80, 95)
QUANTILES = quantile_columns(LEVELS)

# (factory, worst acceptable holdout WAPE on the small sample)
FORECASTERS = [
    (lambda: SeasonalNaive(season_length=7, levels=LEVELS), 0.9),
    (lambda: LightGBMForecaster(horizon=HORIZON, levels=LEVELS, n_estimators=60, num_threads=1), 0.7),
    (lambda: LocalForecaster("auto_ets", levels=LEVELS), 0.9),
    (lambda: LocalForecaster("imapa", levels=LEVELS, horizon=HORIZON), 0.9),
    (lambda: LocalForecaster("moving_average", levels=LEVELS, horizon=HORIZON), 0.9),
    (
        lambda: LightGBMForecaster(horizon=HORIZON, levels=LEVELS, n_estimators=30, num_threads=1, strategy="direct"),
        0.7,
    ),
]


@pytest.fixture(scope="module")
def holdout(sample_panel):
    return split_holdout(sample_panel, HORIZON)


def _future(model, test, horizon=HORIZON, ids=None):
    """The holdout's known-future values that ``model`` uses, for ``horizon`` periods."""
    rows = test[test["ds"] <= test["ds"].min() + pd.Timedelta(days=horizon - 1)]
    if ids is not None:
        rows = rows[rows["unique_id"].isin(ids)]
    return model.known_future(rows)


def _forecast(model, test, horizon=HORIZON, ids=None):
    return model.predict(horizon, ids=ids, future=_future(model, test, horizon, ids))


@pytest.mark.parametrize(
    "make, max_wape",
    FORECASTERS,
    ids=["seasonal_naive", "lightgbm", "auto_ets", "imapa", "moving_average", "lightgbm_direct"],
)
class TestForecasterContract:
    def test_frame_shape_and_columns(self, make, max_wape, holdout):
        train, test = holdout
        forecast = _forecast(make().fit(train), test)
        assert QUANTILES == ["q2.5", "q10", "q50", "q90", "q97.5"]
        assert list(forecast.columns) == ["unique_id", "ds", "mean", *QUANTILES]
        assert len(forecast) == train["unique_id"].nunique() * HORIZON
        first = forecast["ds"].min()
        assert first == train["ds"].max() + pd.Timedelta(days=1)

    def test_quantiles_never_cross_and_are_non_negative(self, make, max_wape, holdout):
        forecast = _forecast(make().fit(holdout[0]), holdout[1])
        q = forecast[QUANTILES].to_numpy()
        assert (q >= 0).all() and (np.diff(q, axis=1) >= 0).all()

    def test_accuracy_on_holdout(self, make, max_wape, holdout):
        train, test = holdout
        assert wape(test, _forecast(make().fit(train), test)) < max_wape

    def test_refit_is_deterministic(self, make, max_wape, holdout):
        a = _forecast(make().fit(holdout[0]), holdout[1])
        b = _forecast(make().fit(holdout[0]), holdout[1])
        pd.testing.assert_frame_equal(a, b)

    def test_save_load_gives_identical_predictions(self, make, max_wape, holdout):
        model = make().fit(holdout[0])
        loaded = type(model).from_bytes(model.to_bytes())
        pd.testing.assert_frame_equal(_forecast(model, holdout[1]), _forecast(loaded, holdout[1]))

    def test_predict_subset_of_ids(self, make, max_wape, holdout):
        model = make().fit(holdout[0])
        ids = model.series_ids_[:2]
        forecast = _forecast(model, holdout[1], 3, ids)
        assert sorted(forecast["unique_id"].unique()) == ids
        full = _forecast(model, holdout[1], 3)
        pd.testing.assert_frame_equal(forecast, full[full.unique_id.isin(ids)].reset_index(drop=True))

    def test_predict_before_fit_is_refused(self, make, max_wape):
        with pytest.raises(NotFittedError):
            make().predict(3)


def test_lightgbm_refuses_horizon_beyond_calibration(holdout):
    model = LightGBMForecaster(horizon=7, n_estimators=20, num_threads=1).fit(holdout[0])
    with pytest.raises(ValueError, match="longer than the maximum 7"):
        model.predict(8)


def test_lightgbm_beats_seasonal_naive(holdout):
    train, test = holdout
    lgbm = wape(test, _forecast(LightGBMForecaster(horizon=HORIZON, n_estimators=60, num_threads=1).fit(train), test))
    naive = wape(test, SeasonalNaive().fit(train).predict(HORIZON))
    assert lgbm < naive


def test_unknown_local_method_is_refused():
    with pytest.raises(ValueError, match="unknown local method"):
        LocalForecaster("prophet")
