"""Rolling-origin backtest: origins, per-step scores, and the CLI around it."""

import json

import pytest
import typer
from typer.testing import CliRunner

from capcast.cli import app
from features.generate import generate_hourly_panel, write_hourly_sample
from models.baselines import SeasonalNaive
from training.backtest import rolling_origin_backtest


def test_origins_are_refit_and_scored_per_origin_and_step(sample_panel):
    report = rolling_origin_backtest(sample_panel, lambda: SeasonalNaive(levels=(80, 95)), horizon=7, origins=3, step=7)
    last = sample_panel["ds"].max()
    assert list(report.by_origin["cutoff"]) == [
        str((last - __import__("pandas").Timedelta(days=d)).date()) for d in (21, 14, 7)
    ]
    assert {"wape", "rmsse", "wrmsse", "bias", "coverage_80", "width_95"} <= set(report.by_origin.columns)
    assert list(report.by_step["step"]) == list(range(1, 8))
    assert {"pinball_q10", "pinball_q97.5", "coverage_95"} <= set(report.by_step.columns)
    assert len(report.forecasts) == 3 * 7 * sample_panel["unique_id"].nunique()


def test_hourly_origins_keep_their_hour():
    panel = generate_hourly_panel(sites=1, days=21, seed=1)  # ends 2024-01-21 23:00
    report = rolling_origin_backtest(panel, lambda: SeasonalNaive(season_length=168), horizon=24, origins=2, step=12)
    assert list(report.by_origin["cutoff"]) == ["2024-01-20 11:00", "2024-01-20 23:00"]


def test_too_many_origins_is_a_clear_error(sample_panel):
    with pytest.raises(ValueError, match="too few for 100 origins"):
        rolling_origin_backtest(sample_panel, SeasonalNaive, horizon=7, origins=100, step=7)


def test_backtest_command_prints_and_writes_scores(sample_dir, tmp_path):
    out = tmp_path / "backtest.json"
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--data",
            str(sample_dir),
            "--horizon",
            "7",
            "--origins",
            "2",
            "--n-estimators",
            "20",
            "--threads",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        "lgbm: by origin" in result.output
        and "seasonal_naive: by horizon step (mean per week of steps)" in result.output
    )
    assert "week 1 (steps 1-7)" in result.output
    document = json.loads(out.read_text())
    assert len(document["lgbm"]["by_origin"]) == 2 and len(document["lgbm"]["by_step"]) == 7


def test_backtest_command_rejects_a_bad_panel_in_one_line(tmp_path):
    bad = tmp_path / "sales.csv"
    bad.write_text("unique_id,ds,y\na,2024-01-01,-3\n")
    result = CliRunner().invoke(app, ["backtest", "--data", str(bad)])
    assert result.exit_code == 1 and "row 2, column y" in result.output


def test_backtest_takes_the_horizons_train_takes():
    commands = typer.main.get_command(app).commands
    horizon = {name: next(p for p in commands[name].params if p.name == "horizon") for name in ("train", "backtest")}
    assert horizon["backtest"].max == horizon["train"].max == 24 * 366
    assert all("periods of the data (days, hours, weeks or months)" in p.help for p in horizon.values())


def test_hourly_backtest_pools_steps_per_day(tmp_path):
    data = write_hourly_sample(tmp_path, seed=1, sites=1, days=21)
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--data",
            str(data),
            "--horizon",
            "48",
            "--origins",
            "1",
            "--n-estimators",
            "10",
            "--threads",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "lgbm: by horizon step (mean per day of steps)" in result.output
    assert "day 1 (steps 1-24)" in result.output and "day 2 (steps 25-48)" in result.output
    assert "2024-01-19 23:00" in result.output  # the origin with its hour, 48 hours before the data ends


def test_a_series_launched_inside_the_holdout_is_left_out_of_it(sample_panel):
    """It has no history before the cut-off to forecast from; the other series are scored as usual."""
    import pandas as pd

    from models.lgbm import LightGBMForecaster
    from training.backtest import holdout_backtest, split_holdout

    last_days = sample_panel[sample_panel["unique_id"] == sample_panel["unique_id"].iloc[0]].tail(3)
    launched = pd.concat([sample_panel, last_days.assign(unique_id="NEW-S1", item_id="NEW")], ignore_index=True)
    _, test = split_holdout(launched, 7)
    assert "NEW-S1" not in set(test["unique_id"]) and set(test["unique_id"]) == set(sample_panel["unique_id"])
    make = lambda: LightGBMForecaster(horizon=7, n_estimators=10, num_threads=1)  # noqa: E731
    scores = holdout_backtest(launched, 7, {"lgbm": make})
    assert 0 < scores["lgbm"]["wape"] < 1
