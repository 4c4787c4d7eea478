"""Weekly and monthly panels: recognised, validated, forecast and written in their own periods."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from capcast.cli import app
from features.calendar import HolidayFlag
from features.frequency import frequency
from features.generate import SampleConfig, write_sample
from features.io import load_panel
from features.pipeline import FeatureSpec, infer_frequency
from features.validation import validate_panel
from models.baselines import seasonal_naive_for
from models.lgbm import LightGBMForecaster


def _weekly(daily: pd.DataFrame, rule: str = "W-SAT") -> pd.DataFrame:
    """Weekly sums of a daily panel, complete weeks only, labelled by their last day."""
    statics = daily.groupby("unique_id")[["item_id", "store_id", "family"]].first()
    sums = daily.set_index("ds").groupby("unique_id").resample(rule).agg({"y": "sum", "price": "mean"}).reset_index()
    sums = sums[(sums["ds"] >= daily["ds"].min() + pd.Timedelta(days=6)) & (sums["ds"] <= daily["ds"].max())]
    return sums.join(statics, on="unique_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def three_years(tmp_path_factory):
    """Three years of days: long enough for the weekly model's year-ago lag and its calibration."""
    out = tmp_path_factory.mktemp("three-years")
    write_sample(out, seed=11, config=SampleConfig(products=3, locations=2, days=3 * 365))
    return out


@pytest.fixture(scope="module")
def daily(three_years):
    return load_panel(three_years)


@pytest.fixture(scope="module")
def weekly_site(three_years):
    return three_years / "site.yaml"


@pytest.fixture(scope="module")
def weekly(daily):
    return _weekly(daily)


def _as_text(panel: pd.DataFrame) -> pd.DataFrame:
    return panel.assign(ds=panel["ds"].dt.strftime("%Y-%m-%d")).astype(str)


def test_weeks_on_any_day_and_months_on_either_end_are_recognised(daily, weekly):
    assert infer_frequency(weekly) == "W-SAT"
    assert infer_frequency(_weekly(daily, "W-WED")) == "W-WED"
    months = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2023-01-01", periods=20, freq="MS"), "y": 1.0})
    assert infer_frequency(months) == "MS"
    assert infer_frequency(months.assign(ds=pd.date_range("2023-01-31", periods=20, freq="ME"))) == "ME"
    assert validate_panel(_as_text(weekly)) == [] and validate_panel(_as_text(months)) == []


def test_a_skipped_month_or_an_unsupported_step_is_refused_at_validation():
    # A skipped month is a gap (features.gaps): refused unless a policy says what it is.
    months = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2023-01-01", periods=8, freq="MS"), "y": 1.0})
    skipped = [str(p) for p in validate_panel(_as_text(months.drop(index=4).reset_index(drop=True)))]
    assert skipped == [
        "<panel>, row 6, column ds: 1 month missing in series 'a' before this row: add them, or say what they "
        "are with --gaps zero|missing|drop-before (or 'gaps:' in dataset.yaml)"
    ]
    fortnights = months.assign(ds=pd.date_range("2023-01-01", periods=8, freq="14D"))
    assert [str(p) for p in validate_panel(_as_text(fortnights))] == [
        "<panel>, column ds: unsupported frequency: one step is 14 days; capcast reads hourly, daily, "
        "weekly or monthly data"
    ]


def test_the_frequency_sets_season_features_and_holiday_counts(weekly):
    assert seasonal_naive_for(weekly, (80,)).season_length == 52
    assert FeatureSpec.for_frequency("MS").lags == (1, 2, 3, 12)
    # The week ending Saturday 2024-12-28 holds Christmas; the one ending 2024-07-06 holds the 4th of July.
    weeks = pd.DatetimeIndex(["2024-12-28", "2024-07-06", "2024-08-10"])
    assert list(HolidayFlag("US", period="W-SAT")(weeks)) == [1, 1, 0]
    assert list(HolidayFlag("US", period="MS")(pd.DatetimeIndex(["2024-11-01", "2024-12-01"]))) == [2, 1]
    assert frequency("W-SAT").grid == "a Saturday, the day each week ends on"


def test_a_weekly_model_forecasts_weeks(weekly):
    model = LightGBMForecaster(horizon=4, n_estimators=30, num_threads=1, calibration_windows=2).fit(weekly)
    forecast = model.predict(4, future=model.baseline_future(4))
    assert model.freq_ == "W-SAT" and "holidays_in_period" in model.mlf_.ts.features_order_
    expected = pd.date_range(weekly["ds"].max(), periods=5, freq="W-SAT")[1:]
    assert (forecast.groupby("unique_id")["ds"].apply(list).map(lambda d: list(d) == list(expected))).all()
    # Newer actuals (a week the model has not seen) move the forecast on by weeks too.
    newer = pd.DataFrame({"unique_id": model.series_ids_[:1], "ds": [expected[0]], "y": [50.0]})
    after = model.predict(4, ids=model.series_ids_[:1], history=newer)
    assert list(after["ds"]) == list(pd.date_range(expected[0], periods=5, freq="W-SAT")[1:])


def test_the_command_line_trains_forecasts_and_plans_weeks(weekly, weekly_site, tmp_path, monkeypatch):
    monkeypatch.setenv("CAPCAST_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CAPCAST_MLFLOW_TRACKING_URI", raising=False)
    data = tmp_path / "weekly"
    data.mkdir()
    _as_text(weekly).to_csv(data / "sales.csv", index=False)
    runner = CliRunner()
    trained = runner.invoke(
        app,
        ["train", "--data", str(data), "--horizon", "4", "--n-estimators", "30", "--threads", "1", "--origins", "2"],
    )
    assert trained.exit_code == 0, trained.output + trained.stderr
    written = runner.invoke(app, ["forecast", "--out", str(tmp_path / "forecast.csv")])
    assert written.exit_code == 0 and " x 4 weeks from model version 1" in written.stdout
    assert pd.read_csv(tmp_path / "forecast.csv")["ds"].nunique() == 4
    # The plan covers the four weeks day by day, from the day after the data's last week.
    site, plan = weekly_site, tmp_path / "plan.json"
    planned = runner.invoke(
        app,
        [
            "plan",
            "--forecast",
            str(tmp_path / "forecast.csv"),
            "--site",
            str(site),
            "--out",
            str(plan),
            "--time-limit",
            "5",
        ],
    )
    assert planned.exit_code == 0, planned.output + planned.stderr
    first_day = (weekly["ds"].max() + pd.Timedelta(days=1)).date()
    assert f"plan {first_day} +28 days" in planned.stdout
