"""Forecasts that start after actuals newer than the training data (``predict(history=...)``),
without refitting: the same numbers as mlforecast's own ``update`` of the fitted state, the fitted
state left as it was, and every way the actuals can fail to continue the data refused by row."""

import copy

import numpy as np
import pandas as pd
import pytest

from features.pipeline import future_frame
from models.base import HistoryError
from models.lgbm import LightGBMForecaster
from training.backtest import split_holdout

HORIZON = 14
NEW_DAYS = 5


@pytest.fixture(scope="module", params=["recursive", "direct"])
def fitted(request, sample_panel):
    train, test = split_holdout(sample_panel, HORIZON + NEW_DAYS)
    model = LightGBMForecaster(horizon=HORIZON, n_estimators=40, num_threads=1, strategy=request.param).fit(train)
    return model, test


def _actuals(test: pd.DataFrame, ids, days: int = NEW_DAYS) -> pd.DataFrame:
    rows = test[test["unique_id"].isin(ids) & (test["ds"] < test["ds"].min() + pd.Timedelta(days=days))]
    return rows[["unique_id", "ds", "y"]].reset_index(drop=True)


def _updated_copy_forecast(model: LightGBMForecaster, actuals: pd.DataFrame, ids) -> pd.DataFrame:
    """mlforecast's own answer: ``update`` a copy of the fitted state with the actuals, then predict."""
    mlf = copy.deepcopy(model.mlf_)
    exogenous = future_frame(model.baseline_future(HORIZON, ids), model.features_, model.price_references_)
    columns = [c for c in exogenous.columns if c not in ("unique_id", "ds")]
    new = actuals.join(mlf.ts.static_features_.set_index("unique_id"), on="unique_id").assign(
        **dict.fromkeys(columns, np.nan)
    )
    mlf.update(new)
    shifted = model.baseline_future(HORIZON + NEW_DAYS, ids)
    shifted = shifted[shifted["ds"] > actuals["ds"].max()]
    raw = mlf.predict(HORIZON, ids=list(ids), X_df=future_frame(shifted, model.features_, model.price_references_))
    return raw.sort_values(["unique_id", "ds"], ignore_index=True)


def test_the_forecast_after_new_actuals_is_mlforecasts_own_update(fitted):
    model, test = fitted
    ids = model.series_ids_[:3]
    actuals = _actuals(test, ids)
    forecast = model.predict(HORIZON, ids=ids, history=actuals)
    expected = _updated_copy_forecast(model, actuals, ids)
    assert forecast["ds"].min() == model.last_ds_ + pd.Timedelta(days=NEW_DAYS + 1)
    assert (forecast.groupby("unique_id").size() == HORIZON).all()
    np.testing.assert_allclose(forecast["mean"].to_numpy(), expected["lgbm"].to_numpy(), rtol=1e-9)
    assert not np.allclose(
        forecast["mean"], model.predict(HORIZON, ids=ids, future=model.baseline_future(HORIZON, ids))["mean"]
    )


def test_no_new_actuals_gives_the_fitted_forecast_and_the_fitted_state_is_left_alone(fitted):
    model, test = fitted
    ids = model.series_ids_
    before = model.predict(HORIZON, future=model.baseline_future(HORIZON))
    empty = pd.DataFrame({"unique_id": [], "ds": pd.to_datetime([]), "y": []})
    pd.testing.assert_frame_equal(model.predict(HORIZON, ids=ids, history=empty), before)
    model.predict(HORIZON, ids=ids[:1], history=_actuals(test, ids[:1]))
    pd.testing.assert_frame_equal(model.predict(HORIZON, future=model.baseline_future(HORIZON)), before)


def test_a_row_for_a_known_period_replaces_the_models_own_figure(fitted):
    model, _ = fitted
    uid = model.series_ids_[0]
    corrected = pd.DataFrame({"unique_id": [uid], "ds": [model.last_ds_], "y": [500.0]})
    forecast = model.predict(HORIZON, ids=[uid], history=corrected)
    plain = model.predict(HORIZON, ids=[uid], future=model.baseline_future(HORIZON, [uid]))
    assert forecast["ds"].tolist() == plain["ds"].tolist()
    assert forecast["mean"].iloc[0] > plain["mean"].iloc[0]


def test_each_series_starts_after_its_own_last_actual_and_future_rows_follow_it(fitted):
    model, test = fitted
    moved, still = model.series_ids_[:2]
    actuals = _actuals(test, [moved], days=2)
    forecast = model.predict(HORIZON, ids=[moved, still], history=actuals)
    starts = forecast.groupby("unique_id")["ds"].min()
    assert starts[moved] == model.last_ds_ + pd.Timedelta(days=3)
    assert starts[still] == model.last_ds_ + pd.Timedelta(days=1)
    unshifted = model.baseline_future(HORIZON, [moved, still])
    with pytest.raises(ValueError, match="forecast periods have no values"):
        model.predict(HORIZON, ids=[moved, still], future=unshifted, history=actuals)


def test_a_new_series_is_forecast_by_the_cold_start_method_from_its_own_actuals(fitted):
    model, _ = fitted
    days = pd.date_range(model.last_ds_ - pd.Timedelta(days=3), periods=4)
    actuals = pd.DataFrame({"unique_id": "NEW", "ds": days, "y": [2.0, 4.0, 6.0, 8.0]})
    forecast = model.predict(HORIZON, ids=["NEW", model.series_ids_[0]], history=actuals)
    new = forecast[forecast["unique_id"] == "NEW"]
    assert len(new) == HORIZON and np.allclose(new["mean"], 5.0)
    with pytest.raises(HistoryError, match="at least 2 actuals"):
        model.predict(HORIZON, ids=["NEW"], history=actuals.head(1))
    with pytest.raises(HistoryError, match="unknown to the model and has no actuals"):
        model.predict(HORIZON, ids=["OTHER"], history=actuals.head(0))


@pytest.mark.parametrize(
    "change, column, row, message",
    [
        (lambda a: a.drop(index=1), "ds", 1, "has no actual on"),
        (lambda a: pd.concat([a, a.tail(1)], ignore_index=True), "ds", 4, "a second row"),
        (lambda a: a.assign(y=[1.0, -2.0, 1.0, 1.0]), "y", 1, "cannot be negative"),
        (lambda a: a.assign(y=[1.0, 1.0, np.inf, 1.0]), "y", 2, "finite number"),
        (lambda a: a.assign(unique_id=[*a["unique_id"][:3], "stray"]), "unique_id", 3, "not among the requested"),
        (lambda a: a.assign(ds=a["ds"] + pd.Timedelta(hours=3)), "ds", 0, "not the start of a day"),
    ],
    ids=["gap", "twice", "negative", "infinite", "stray", "off-grid"],
)
def test_actuals_that_cannot_continue_the_data_are_refused_by_row_and_column(fitted, change, column, row, message):
    model, test = fitted
    uid = model.series_ids_[0]
    actuals = change(_actuals(test, [uid], days=4))
    with pytest.raises(HistoryError, match=message) as refused:
        model.predict(HORIZON, ids=[uid], history=actuals)
    assert (refused.value.column, refused.value.row) == (column, row)
