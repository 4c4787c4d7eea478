"""Metrics against values worked out by hand on two tiny series.

Series A: history 0, 0, 2, 4, 2 at price 1.0 (on sale from day 3); series B:
history 1, 3, 1, 3 at price 2.0. Two forecast days.
"""

import numpy as np
import pandas as pd
import pytest

from models import metrics

DAYS = pd.date_range("2024-01-01", periods=5, freq="D")
FUTURE = pd.date_range("2024-01-06", periods=2, freq="D")


@pytest.fixture
def train():
    return pd.DataFrame(
        {
            "unique_id": ["A"] * 5 + ["B"] * 4,
            "ds": [*DAYS, *DAYS[1:]],
            "y": [0.0, 0.0, 2.0, 4.0, 2.0, 1.0, 3.0, 1.0, 3.0],
            "sell_price": [np.nan, np.nan, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0],
        }
    )


@pytest.fixture
def actual():
    return pd.DataFrame({"unique_id": ["A", "A", "B", "B"], "ds": [*FUTURE, *FUTURE], "y": [3.0, 1.0, 2.0, 2.0]})


@pytest.fixture
def forecast():
    return pd.DataFrame(
        {
            "unique_id": ["A", "A", "B", "B"],
            "ds": [*FUTURE, *FUTURE],
            "mean": [2.0, 2.0, 4.0, 0.0],
            "q10": [1.0, 1.0, 3.0, 0.0],
            "q50": [2.0, 2.0, 4.0, 0.0],
            "q90": [4.0, 2.0, 5.0, 2.0],
        }
    )


def test_rmsse_scales_by_naive_error_from_the_first_sale(actual, forecast, train):
    # A: naive diffs after the leading zeros are 2, -2 -> scale 4; window MSE (1 + 1) / 2 = 1 -> sqrt(1/4).
    # B: naive diffs 2, -2, 2 -> scale 4; window MSE (4 + 4) / 2 = 4 -> 1.
    scores = metrics.rmsse_by_series(actual, forecast, train)
    assert scores.to_dict() == pytest.approx({"A": 0.5, "B": 1.0})
    assert metrics.mean_rmsse(actual, forecast, train) == pytest.approx(0.75)


def test_dollar_sales_weights_use_only_the_last_days(train):
    # Last 2 days: A sells 4 + 2 units at 1.0 = 6; B sells 1 + 3 units at 2.0 = 8.
    weights = metrics.dollar_sales_weights(train, days=2)
    assert weights.to_dict() == pytest.approx({"A": 6 / 14, "B": 8 / 14})


def test_wrmsse_weighs_series_by_dollar_sales(actual, forecast, train):
    weights = metrics.dollar_sales_weights(train, days=2)
    assert metrics.wrmsse(actual, forecast, train, weights) == pytest.approx((6 * 0.5 + 8 * 1.0) / 14)


def test_wrmsse_by_group_renormalises_weights_within_each_group(actual, forecast, train):
    weights = metrics.dollar_sales_weights(train, days=2)
    by_group = metrics.wrmsse_by_group(actual, forecast, train, weights, {"A": "FOODS", "B": "HOBBIES"})
    assert by_group == pytest.approx({"FOODS": 0.5, "HOBBIES": 1.0})
    together = metrics.wrmsse_by_group(actual, forecast, train, weights, {"A": "ALL", "B": "ALL"})
    assert together["ALL"] == pytest.approx(metrics.wrmsse(actual, forecast, train, weights))


def test_wrmsse_refuses_a_weighted_series_without_a_scale(actual, forecast, train):
    flat = train.assign(y=np.where(train["unique_id"] == "B", 2.0, train["y"]))
    with pytest.raises(ValueError, match="RMSSE undefined for weighted series \\['B'\\]"):
        metrics.wrmsse(actual, forecast, flat, metrics.dollar_sales_weights(flat, days=2))


def test_wape_and_bias(actual, forecast):
    # |errors| 1 + 1 + 2 + 2 = 6 over 8 units; forecast total 8 = actual total 8.
    assert metrics.wape(actual, forecast) == pytest.approx(6 / 8)
    assert metrics.bias(actual, forecast) == pytest.approx(0.0)
    over = forecast.assign(mean=forecast["mean"] + 1.0)
    assert metrics.bias(actual, over) == pytest.approx(4 / 8)


def test_pinball_loss_per_quantile(actual, forecast):
    # q10: errors y - f = 2, 0, -1, 2 -> 0.2, 0, 0.9, 0.2 -> mean 1.3 / 4.
    # q50: errors 1, -1, -2, 2 -> half of |e| -> mean 3 / 4.
    # q90: errors -1, -1, -3, 0 -> 0.1, 0.1, 0.3, 0 -> mean 0.5 / 4.
    losses = metrics.pinball_loss(actual, forecast, [0.1, 0.5, 0.9])
    assert losses == pytest.approx({0.1: 1.3 / 4, 0.5: 3 / 4, 0.9: 0.5 / 4})


def test_interval_coverage_and_relative_width(actual, forecast):
    # [q10, q90]: 3 in [1, 4] yes; 1 in [1, 2] yes; 2 in [3, 5] no; 2 in [0, 2] yes.
    assert metrics.interval_coverage(actual, forecast, 80) == pytest.approx(3 / 4)
    # widths 3, 1, 2, 2 -> mean 2; mean demand 2.
    assert metrics.relative_interval_width(actual, forecast, 80) == pytest.approx(1.0)


def test_an_actual_without_forecast_is_an_error_not_a_drop(actual, forecast):
    with pytest.raises(ValueError, match="1 actual rows have no forecast"):
        metrics.wape(actual, forecast.iloc[:3])
