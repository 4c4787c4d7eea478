"""Known-future exogenous values: used at every horizon step, checked, never leaked."""

import numpy as np
import pandas as pd
import pytest

from models.base import FutureValuesError
from models.lgbm import LightGBMForecaster
from training.backtest import rolling_origin_backtest, split_holdout

HORIZON = 14


@pytest.fixture(scope="module")
def split(sample_panel):
    return split_holdout(sample_panel, HORIZON)


@pytest.fixture(scope="module")
def model(split):
    return LightGBMForecaster(horizon=HORIZON, n_estimators=60, num_threads=1).fit(split[0])


def _future(test):
    return test[["unique_id", "ds", "price", "promo", "in_stock"]].reset_index(drop=True)


def test_exogenous_columns_and_relative_price_are_features(model):
    assert model.exogenous_ == ("price", "promo", "in_stock")
    assert {"price", "promo", "price_relative"} <= set(model.mlf_.ts.features_order_)


def test_a_promotion_in_the_future_lifts_the_forecast_on_that_day_only(model, split):
    """Generated promotions cut the price and lift demand: the model must read both columns
    at the period they describe, at every step of the horizon."""
    future = _future(split[1])
    regular = model.baseline_future(HORIZON)
    promoted = regular.copy()
    day = model.forecast_periods(HORIZON)[9]
    on_day = promoted["ds"] == day
    promoted.loc[on_day, "promo"] = 1.0
    promoted.loc[on_day, "price"] = promoted.loc[on_day, "price"] * 0.7
    base, lifted = model.predict(HORIZON, future=regular), model.predict(HORIZON, future=promoted)
    assert lifted.loc[lifted["ds"] == day, "mean"].sum() > 1.1 * base.loc[base["ds"] == day, "mean"].sum()
    before = base["ds"] < day
    np.testing.assert_allclose(lifted.loc[before, "mean"], base.loc[before, "mean"])
    assert len(model.predict(HORIZON, future=future)) == len(future)


class _LeakyKnownFuture(LightGBMForecaster):
    """The backtests' old fault: the realised stockouts of the test periods given as known in advance."""

    def known_future(self, rows):
        return rows[["unique_id", "ds", *self.exogenous_]]


class _LeakyCalibration(LightGBMForecaster):
    """Calibration windows that see their realised stockouts."""

    def _calibration_frame(self, frame, windows):
        return frame


@pytest.fixture(scope="module")
def stockout_panel(sample_panel):
    """The sample with a stockout (no sales) on one day in ten, often enough for the model to learn it."""
    out = np.random.default_rng(1).random(len(sample_panel)) < 0.1
    return sample_panel.assign(
        in_stock=np.where(out, 0.0, sample_panel["in_stock"]), y=np.where(out, 0.0, sample_panel["y"])
    )


def _after_cutoff_perturbed(panel, cutoff, demand=True):
    """Stockouts (and demand) changed after ``cutoff`` only; price and promotion are known in advance and stay."""
    later = panel["ds"] > cutoff
    perturbed = panel.copy()
    if demand:
        perturbed.loc[later, "y"] = perturbed.loc[later, "y"] * 5 + 50
    flip = later & (np.random.default_rng(0).random(len(panel)) < 0.3)
    perturbed.loc[flip, "in_stock"] = 1.0 - perturbed.loc[flip, "in_stock"]
    return perturbed


def _backtest_forecasts(panel, model_class):
    make = lambda: model_class(horizon=HORIZON, n_estimators=40, num_threads=1)  # noqa: E731
    report = rolling_origin_backtest(panel, make, HORIZON, origins=1)
    return report.forecasts.drop(columns=["y", "stockout"]), report.forecasts["cutoff"].iloc[0]


@pytest.mark.parametrize("model_class, leaks", [(LightGBMForecaster, False), (_LeakyKnownFuture, True)])
def test_a_backtest_forecast_reads_nothing_after_its_cutoff(stockout_panel, model_class, leaks):
    """The backtest gets the whole panel and cuts it itself: changing only what happened after the
    cut-off (demand, stockouts) must leave every forecast as it was. The leaky variant shows the
    check fails when the realised stockouts reach the forecast."""
    forecasts, cutoff = _backtest_forecasts(stockout_panel, model_class)
    perturbed, _ = _backtest_forecasts(_after_cutoff_perturbed(stockout_panel, cutoff), model_class)
    changed = not forecasts.equals(perturbed)
    assert changed == leaks


@pytest.mark.parametrize("model_class, leaks", [(LightGBMForecaster, False), (_LeakyCalibration, True)])
def test_calibration_errors_do_not_read_the_stockouts_of_their_windows(stockout_panel, model_class, leaks):
    """The calibration windows forecast as of their cut-offs, so their realised stockouts change no error."""
    model = model_class(horizon=HORIZON, n_estimators=40, num_threads=1, calibration_windows=2)
    model.freq_ = "D"
    frame, statics = model._prepare(stockout_panel)
    windows_start = frame["ds"].max() - pd.Timedelta(days=2 * HORIZON)
    errors = model._calibration_errors(frame, statics)
    # Each window forecasts from the actual demand before it, so only the stockouts change.
    perturbed = model._calibration_errors(_after_cutoff_perturbed(frame, windows_start, demand=False), statics)
    assert (not np.array_equal(errors["lgbm"], perturbed["lgbm"])) == leaks


def test_baseline_scenario_is_the_usual_recent_value(model, split):
    baseline = model.baseline_future(3, ids=model.series_ids_[:2])
    assert list(baseline.columns) == ["unique_id", "ds", "price", "promo", "in_stock"] and len(baseline) == 6
    assert set(baseline["promo"]) <= {0.0, 1.0} and (baseline["in_stock"] == 1.0).all()
    recent = split[0].sort_values("ds").groupby("unique_id").tail(HORIZON)
    usual_price = recent[recent["unique_id"] == model.series_ids_[0]]["price"].mode().min()
    assert baseline["price"].iloc[0] == usual_price


@pytest.mark.parametrize(
    "change, message, column",
    [
        (lambda f: None, "needs the future values of price, promo, in_stock", None),
        (lambda f: f.drop(columns="promo"), "missing column 'promo'", "promo"),
        (lambda f: f.assign(weather=1.0), "unknown exogenous column 'weather'", "weather"),
        (lambda f: f.iloc[1:], "1 forecast periods have no values", "ds"),
        (lambda f: pd.concat([f, f.iloc[:1]]), "two rows for series", "ds"),
        (
            lambda f: pd.concat([f, f.tail(1).assign(ds=f["ds"].max() + pd.Timedelta(days=1))]),
            "1 rows are outside the forecast",
            "ds",
        ),
        (lambda f: f.assign(price=f["price"].astype(object).where(f.index > 0, "cheap")), "must be numbers", "price"),
        # A daily forecast names a row by its day, or by its hour when it has one.
        (
            lambda f: pd.concat([f, f.tail(1).assign(ds=f["ds"].max() + pd.Timedelta(hours=10))]),
            r"1 rows are outside the forecast, first: series '\S+' at \d{4}-\d\d-\d\d 10:00",
            "ds",
        ),
        (lambda f: f.assign(ds=f["ds"].dt.tz_localize("UTC")), "local time without a UTC offset", "ds"),
    ],
)
def test_bad_future_values_are_refused_with_the_column(model, split, change, message, column):
    with pytest.raises(FutureValuesError, match=message) as error:
        model.predict(HORIZON, future=change(_future(split[1])))
    assert error.value.column == column


def test_an_empty_value_is_refused_where_training_had_none(model, split):
    """The sample has no blanks, so its training refused none to read: a forecast's blank is refused
    (``refuse``, what a spec written in code infers), naming the column, series and day."""
    assert model.blank_fills_ == dict.fromkeys(model.exogenous_, "refuse")
    future = _future(split[1])
    future.loc[3, "promo"] = np.nan
    uid, day = future.at[3, "unique_id"], future.at[3, "ds"].date()
    with pytest.raises(FutureValuesError, match=f"^missing value for series '{uid}' on {day}$") as error:
        model.predict(HORIZON, future=future)
    assert error.value.column == "promo"


def test_series_too_short_for_the_global_model_get_the_cold_start_fallback(split):
    """A new item with 4 days of history: forecast by its historic average, reported, full frame."""
    train, test = split
    source = train["unique_id"].iloc[0]
    newcomer = train[train["unique_id"] == source].tail(4).assign(unique_id="NEW-S1", item_id="NEW")
    model = LightGBMForecaster(horizon=HORIZON, n_estimators=40, num_threads=1).fit(pd.concat([train, newcomer]))
    assert model.cold_start_ids_ == ["NEW-S1"] and "NEW-S1" in model.series_ids_
    future = pd.concat([_future(test), _future(test[test["unique_id"] == source]).assign(unique_id="NEW-S1")])
    forecast = model.predict(HORIZON, future=future)
    new = forecast[forecast["unique_id"] == "NEW-S1"]
    assert len(new) == HORIZON and np.allclose(new["mean"], newcomer["y"].mean())
    assert (new["q97.5"] >= new["q90"]).all() and (new["q90"] > new["mean"]).all()
    only_new = model.predict(3, ids=["NEW-S1"], future=future[(future["unique_id"] == "NEW-S1")].head(3))
    pd.testing.assert_frame_equal(only_new, new.head(3).reset_index(drop=True))
