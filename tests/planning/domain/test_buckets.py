"""Weekly and monthly forecasts split into the days a plan covers."""

import math
from datetime import date, timedelta

import pytest

from planning.domain.buckets import daily_rows


def _row(ds, mean=70.0, lo=35.0, hi=112.0, family="F1"):
    return {"unique_id": "a", "family": family, "ds": ds, "mean": mean, "q10": lo, "q90": hi}


def test_a_week_becomes_its_seven_days_ending_on_ds_keeping_mean_and_spread():
    weeks = [_row("2024-01-06"), _row("2024-01-13", mean=140.0, lo=100.0, hi=180.0)]
    days = daily_rows(weeks)
    assert [d["ds"] for d in days] == [date(2023, 12, 31) + timedelta(days=n) for n in range(14)]
    first = days[:7]
    assert sum(d["mean"] for d in first) == pytest.approx(70.0)
    # Distances from the mean shrink by sqrt(7): seven daily variances add up to the week's.
    assert first[0]["q90"] - first[0]["mean"] == pytest.approx((112.0 - 70.0) / math.sqrt(7))
    assert first[0]["q10"] == 0.0  # 10 - 35/sqrt(7) < 0: a quantile never goes below zero
    assert daily_rows([_row("2024-01-06", lo=50.0), _row("2024-01-13")])[0]["q10"] == pytest.approx(
        10.0 - 20.0 / math.sqrt(7)
    )
    assert days[7]["family"] == "F1" and days[7]["mean"] == pytest.approx(20.0)


@pytest.mark.parametrize(
    "dates, first_day, days",
    [
        (["2024-02-01", "2024-03-01"], date(2024, 2, 1), 29 + 31),
        (["2024-02-29", "2024-03-31"], date(2024, 2, 1), 29 + 31),
    ],
)
def test_a_month_becomes_its_days_whether_named_by_its_first_or_last(dates, first_day, days):
    split = daily_rows([_row(d, mean=290.0) for d in dates])
    assert len(split) == days and split[0]["ds"] == first_day and split[0]["mean"] == pytest.approx(10.0)


def test_days_stay_days_and_other_steps_are_refused():
    rows = [_row("2024-01-01"), _row("2024-01-02")]
    assert daily_rows(rows) == rows
    with pytest.raises(ValueError, match="forecast periods are 14 days apart: plans are made from daily, weekly"):
        daily_rows([_row("2024-01-01"), _row("2024-01-15")])
    actuals = daily_rows(
        [{"unique_id": "a", "ds": "2024-01-06", "y": 14.0}, {"unique_id": "a", "ds": "2024-01-13", "y": 7.0}], ("y",)
    )
    assert [a["y"] for a in actuals] == [2.0] * 7 + [1.0] * 7
