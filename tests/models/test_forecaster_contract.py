"""One contract for every forecaster: shapes, quantile order, determinism, save/load, guards,
and scikit-learn's estimator conventions (get_params/set_params/clone, no checks in __init__,
a refit starts from scratch)."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import models.base
from models.base import NotFittedError, quantile_columns
from models.baselines import LOCAL_METHODS, LocalForecaster, SeasonalNaive
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


FORECASTER_IDS = ["seasonal_naive", "lightgbm", "auto_ets", "imapa", "moving_average", "lightgbm_direct"]


def _learned(model) -> list[str]:
    """Names of the learned attributes (scikit-learn's convention: they end in ``_``)."""
    return sorted(name for name in vars(model) if name.endswith("_") and not name.startswith("__"))


@pytest.mark.parametrize("make, max_wape", FORECASTERS, ids=FORECASTER_IDS)
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

    def test_init_only_stores_its_parameters(self, make, max_wape):
        model = make()
        assert vars(model) == model.get_params(deep=False)
        assert model.get_params()["levels"] is LEVELS

    def test_clone_is_an_unfitted_copy_with_equal_params(self, make, max_wape, holdout):
        fitted = make().fit(holdout[0])
        copy = clone(fitted)
        assert type(copy) is type(fitted) and copy is not fitted
        assert copy.get_params() == fitted.get_params()
        assert getattr(copy, "method", None) == getattr(fitted, "method", None)
        assert _learned(fitted) and not _learned(copy)
        with pytest.raises(NotFittedError):
            copy.predict(3)

    def test_set_params_changes_a_parameter(self, make, max_wape, holdout):
        model = make()
        assert model.set_params(levels=(90,)) is model
        assert model.get_params()["levels"] == (90,)
        forecast = _forecast(model.fit(holdout[0]), holdout[1])
        assert list(forecast.columns) == ["unique_id", "ds", "mean", "q5", "q50", "q95"]
        with pytest.raises(ValueError, match="Invalid parameter 'no_such_parameter'"):
            model.set_params(no_such_parameter=1)

    def test_refit_on_other_data_forgets_the_first_fit(self, make, max_wape, holdout):
        """A second ``fit`` gives the model a fresh fit on the second panel gives: nothing of the
        first (its series, its cold-start fallback) survives."""
        train, test = holdout
        ids = sorted(train["unique_id"].unique())
        first_ids, second_ids = ids[: len(ids) // 2], ids[len(ids) // 2 :]
        first = train[train["unique_id"].isin(first_ids)]
        newcomer = first[first["unique_id"] == first_ids[-1]].tail(4).assign(unique_id="NEW-S1", item_id="NEW")
        second = train[train["unique_id"].isin(second_ids)]
        second_test = test[test["unique_id"].isin(second_ids)]

        model = make().fit(pd.concat([first, newcomer]))
        assert "NEW-S1" in model.cold_start_ids_ and hasattr(model, "cold_start_")
        model.fit(second)
        fresh = clone(model).fit(second)
        assert model.series_ids_ == second_ids and model.cold_start_ids_ == fresh.cold_start_ids_ == []
        assert not hasattr(model, "cold_start_") and _learned(model) == _learned(fresh)
        pd.testing.assert_frame_equal(_forecast(model, second_test), _forecast(fresh, second_test))


def test_lightgbm_refuses_horizon_beyond_calibration(holdout):
    model = LightGBMForecaster(horizon=7, n_estimators=20, num_threads=1).fit(holdout[0])
    with pytest.raises(ValueError, match="longer than the maximum 7"):
        model.predict(8)


def test_lightgbm_beats_seasonal_naive(holdout):
    train, test = holdout
    lgbm = wape(test, _forecast(LightGBMForecaster(horizon=HORIZON, n_estimators=60, num_threads=1).fit(train), test))
    naive = wape(test, SeasonalNaive().fit(train).predict(HORIZON))
    assert lgbm < naive


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: LocalForecaster("prophet"),
            f"unknown local method 'prophet'; choose from {sorted(LOCAL_METHODS)}",
        ),
        (
            lambda: LocalForecaster().set_params(method="prophet"),
            f"unknown local method 'prophet'; choose from {sorted(LOCAL_METHODS)}",
        ),
        (
            lambda: LightGBMForecaster(strategy="both", n_estimators=20, num_threads=1),
            "strategy must be 'recursive' or 'direct', got 'both'",
        ),
        (
            lambda: LightGBMForecaster(n_estimators=20, num_threads=1).set_params(strategy="both"),
            "strategy must be 'recursive' or 'direct', got 'both'",
        ),
    ],
    ids=["local_method", "local_method_set_params", "lightgbm_strategy", "lightgbm_strategy_set_params"],
)
def test_invalid_parameters_are_accepted_by_init_and_refused_by_fit(make, message, holdout):
    model = make()  # scikit-learn's convention: __init__ and set_params store, fit checks
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        model.fit(holdout[0])
    assert not _learned(model)


def test_seasonal_naive_params_are_its_own_and_its_method_is_fixed():
    model = SeasonalNaive(season_length=24, levels=(90,))
    assert model.get_params() == {"season_length": 24, "levels": (90,)}
    copy = clone(model)
    assert copy.get_params() == model.get_params() and copy.method == "seasonal_naive"
    with pytest.raises(ValueError, match="Invalid parameter 'method'"):
        model.set_params(method="auto_ets")


def test_cold_start_fallback_is_the_historic_average_for_every_forecaster(holdout):
    train = holdout[0]
    newcomer = train[train["unique_id"] == train["unique_id"].iloc[0]].tail(4).assign(unique_id="NEW-S1")
    panel = pd.concat([train, newcomer])
    expected = newcomer["y"].mean()
    for model in (SeasonalNaive(levels=LEVELS), LightGBMForecaster(horizon=HORIZON, n_estimators=20, num_threads=1)):
        model.fit(panel)
        assert model.cold_start_ids_ == ["NEW-S1"]
        assert model.cold_start_.get_params() == LocalForecaster("historic_average", levels=model.levels).get_params()
        forecast = model.cold_start_.predict(3)
        assert np.allclose(forecast["mean"], expected)


def test_the_base_class_imports_nothing_from_the_baselines():
    """models.base defines the contract; the concrete classes name their cold-start forecaster.
    No import of models.baselines in it, not even inside a function, nor through its imports."""
    source = Path(models.base.__file__)
    tree = ast.parse(source.read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not [name for name in imported if name and name.startswith("models.baselines")]
    code = "import sys, models.base; print('models.baselines' in sys.modules)"
    root = source.parents[1]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert result.stdout.strip() == "False"


def test_a_fitted_forecaster_keeps_eight_weeks_of_actuals_to_show_before_its_forecast(holdout):
    train, _ = holdout
    model = SeasonalNaive().fit(train)
    history = model.recent_history_
    assert list(history.columns) == ["unique_id", "ds", "y"]
    assert history["ds"].max() == train["ds"].max()
    assert history["ds"].nunique() == 56 and history.groupby("unique_id").size().max() == 56
    last = train[train["ds"] == train["ds"].max()].set_index("unique_id")["y"]
    assert history[history["ds"] == train["ds"].max()].set_index("unique_id")["y"].equals(last.sort_index())


def test_a_new_item_with_a_single_day_of_sales_is_forecast_by_the_fallback(holdout):
    """An item launched on the last day has one row: the fallback forecasts its one sale."""
    train, _ = holdout
    last = train["ds"].max()
    newcomer = train[train["ds"] == last].head(1).assign(unique_id="LAUNCHED-YESTERDAY", y=6.0)
    model = LightGBMForecaster(horizon=HORIZON, levels=LEVELS, n_estimators=20, num_threads=1)
    model.fit(pd.concat([train, newcomer], ignore_index=True))
    assert "LAUNCHED-YESTERDAY" in model.cold_start_ids_
    forecast = model.predict(
        HORIZON, ids=["LAUNCHED-YESTERDAY"], future=model.baseline_future(HORIZON, ["LAUNCHED-YESTERDAY"])
    )
    assert np.allclose(forecast["mean"], 6.0) and forecast["ds"].min() == last + pd.Timedelta(days=1)
