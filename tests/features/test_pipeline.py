"""The feature pipeline looks only backwards and is the same at any cut-off."""

import pandas as pd
from mlforecast import MLForecast

from features.pipeline import FeatureSpec, infer_frequency, static_columns, training_frame


def _features(panel: pd.DataFrame) -> pd.DataFrame:
    mlf = MLForecast(models=[], freq=infer_frequency(panel), **FeatureSpec().mlforecast_kwargs())
    frame = training_frame(panel)
    return mlf.preprocess(frame, static_features=static_columns(panel), dropna=False)


def test_features_up_to_a_cutoff_ignore_everything_after_it(sample_panel):
    cutoff = sample_panel["ds"].max() - pd.Timedelta(days=30)
    perturbed = sample_panel.copy()
    after = perturbed["ds"] > cutoff
    perturbed.loc[after, "y"] = perturbed.loc[after, "y"] * 10 + 100

    seen_at_cutoff = _features(sample_panel[sample_panel["ds"] <= cutoff]).reset_index(drop=True)
    with_future = _features(perturbed)
    with_future = with_future[with_future["ds"] <= cutoff].reset_index(drop=True)
    pd.testing.assert_frame_equal(seen_at_cutoff, with_future, check_categorical=False)


def test_features_include_lags_rolling_means_calendar_and_holidays(sample_panel):
    columns = set(_features(sample_panel).columns)
    assert {
        "lag1",
        "lag7",
        "lag28",
        "rolling_mean_lag7_window_size28",
        "dayofweek",
        "is_holiday",
        "is_pre_holiday",
    } <= columns
    assert {"item_id", "store_id", "family"} <= columns


def test_hourly_panels_get_hour_of_day_and_daily_weekly_lags():
    import numpy as np

    from models.lgbm import LightGBMForecaster

    hours = pd.date_range("2024-01-01", periods=24 * 7 * 6, freq="h")
    y = 10 + 5 * np.sin(2 * np.pi * hours.hour / 24) + np.random.default_rng(0).poisson(2, len(hours))
    panel = pd.DataFrame({"unique_id": "site", "ds": hours, "y": y.astype(float)})
    model = LightGBMForecaster(horizon=24, n_estimators=20, num_threads=1).fit(panel)
    assert model.freq_ == "h" and {"hour", "lag24", "lag168"} <= set(model.mlf_.ts.features_order_)
    forecast = model.predict(24)
    assert len(forecast) == 24 and forecast["ds"].iloc[0] == hours[-1] + pd.Timedelta(hours=1)


def test_price_change_is_the_same_at_train_and_serve_time_across_the_cutoff():
    """The change on the first forecast day compares with the last training price, as the
    training frame compares each day with the day before."""
    from features.pipeline import future_frame, price_references

    days = pd.date_range("2024-01-01", periods=6, freq="D")
    panel = pd.DataFrame({"unique_id": "a", "ds": days, "y": 1.0, "price": [4.0, 4.0, 2.0, 2.0, 4.0, 3.0]})
    spec = FeatureSpec(price_changes=True).resolved(panel)
    cutoff = 3
    train, future = panel.iloc[:cutoff], panel.iloc[cutoff:][["unique_id", "ds", "price"]]
    whole = training_frame(panel, spec, price_references(train, spec))
    served = future_frame(future, spec, price_references(train, spec))
    assert served["price_change"].tolist() == whole["price_change"].iloc[cutoff:].tolist() == [0.0, 1.0, -0.25]
    assert served["price_relative"].tolist() == whole["price_relative"].iloc[cutoff:].tolist()
