"""The training run's figures: real PNGs of a bounded size, the intended panels, titles and legends,
and a figure (not an exception) for empty or unusable input."""

import struct

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from features.generate import SampleConfig, generate_hourly_panel, generate_panel
from models.baselines import SeasonalNaive, seasonal_naive_for
from training.backtest import rolling_origin_backtest
from training.plots import coverage_by_step, error_by_step, feature_importance, forecast_bands

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return generate_panel(SampleConfig(products=5, locations=2, days=100), seed=3)


@pytest.fixture(scope="module")
def reports(panel):
    """Two candidates' rolling-origin backtests: bands 80 and 95%, and a 95% band only."""
    return {
        "naive_80_95": rolling_origin_backtest(panel, lambda: seasonal_naive_for(panel, (80, 95)), 7, origins=2),
        "naive_95": rolling_origin_backtest(panel, lambda: seasonal_naive_for(panel, (95,)), 7, origins=2),
    }


def saved(fig: Figure, path) -> tuple[int, int]:
    """Save as PNG and return its (width, height) in pixels, checking it is a real, bounded PNG."""
    assert isinstance(fig, Figure)
    fig.savefig(path)
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert 300 <= width <= 1600 and 200 <= height <= 1000, (width, height)
    assert len(data) > 5_000  # something was drawn
    return width, height


def visible_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.axison]


def legend_labels(fig: Figure) -> list[str]:
    return [
        t.get_text() for legend in [*fig.legends, *(ax.get_legend() for ax in fig.axes)] if legend for t in legend.texts
    ]


def figure_text(fig: Figure) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


def test_forecast_bands_sample_series_across_volume_with_each_folds_bands(reports, panel, tmp_path):
    forecasts = reports["naive_80_95"].forecasts
    fig = forecast_bands(forecasts, history=panel, series=4)
    saved(fig, tmp_path / "bands.png")
    axes = visible_axes(fig)
    assert len(axes) == 4
    volume = forecasts.groupby("unique_id")["y"].sum().sort_values(ascending=False)
    volume = volume[volume > 0]
    titles = [ax.get_title() for ax in axes]
    assert titles[0].startswith(f"{volume.index[0]}:") and "(largest)" in titles[0]
    assert titles[-1].startswith(f"{volume.index[-1]}:") and "(smallest)" in titles[-1]
    assert len({t.split(":")[0] for t in titles}) == 4
    # Deterministic for a seed.
    assert [ax.get_title() for ax in visible_axes(forecast_bands(forecasts, series=4))] == titles

    cutoffs = sorted(forecasts["cutoff"].unique())
    labels = legend_labels(fig)
    assert labels == [
        "actual",
        *(f"forecast mean, cutoff {pd.Timestamp(c):%Y-%m-%d}" for c in cutoffs),
        "95% band (q2.5-q97.5)",
        "80% band (q10-q90)",
    ]
    # Two shaded bands per fold; the history reaches back before the first cutoff (two horizons).
    first = axes[0]
    assert len(first.collections) == 2 * len(cutoffs)
    [actual] = [line for line in first.lines if line.get_color() == "black"]
    assert pd.Timestamp(min(actual.get_xdata())) == pd.Timestamp(cutoffs[0]) - pd.Timedelta(days=13)


def test_forecast_bands_without_history_bands_or_enough_series(reports, tmp_path):
    forecasts = reports["naive_80_95"].forecasts
    points = forecasts[["unique_id", "ds", "mean", "y", "step", "cutoff"]]
    one = points[points["unique_id"] == points["unique_id"].iloc[0]]
    fig = forecast_bands(one, series=6)
    saved(fig, tmp_path / "one.png")
    assert len(visible_axes(fig)) == 1
    assert not any("band" in label for label in legend_labels(fig))


def test_forecast_bands_of_hourly_data_name_the_cutoffs_hour(tmp_path):
    panel = generate_hourly_panel(sites=2, days=16, seed=1)
    report = rolling_origin_backtest(panel, lambda: SeasonalNaive(season_length=168), horizon=24, origins=2, step=12)
    fig = forecast_bands(report.forecasts, history=panel)
    saved(fig, tmp_path / "hourly.png")
    assert "forecast mean, cutoff 2024-01-15 11:00" in legend_labels(fig)


def test_error_by_step_draws_each_candidate_on_the_same_axes(reports, tmp_path):
    fig = error_by_step({name: report.by_step for name, report in reports.items()})
    saved(fig, tmp_path / "error.png")
    wape_ax, bias_ax = visible_axes(fig)
    assert wape_ax.get_title().startswith("WAPE") and bias_ax.get_title().startswith("bias")
    assert legend_labels(fig) == list(reports)
    assert [len(line.get_xdata()) for line in wape_ax.lines] == [7, 7]
    # One backtest alone is a candidate too.
    saved(error_by_step(reports["naive_95"].by_step), tmp_path / "error_one.png")


def test_coverage_by_step_has_a_panel_per_band_with_its_nominal_level(reports, tmp_path):
    fig = coverage_by_step({name: report.by_step for name, report in reports.items()})
    saved(fig, tmp_path / "coverage.png")
    panel_80, panel_95 = visible_axes(fig)
    assert panel_80.get_title().startswith("80% band") and panel_95.get_title().startswith("95% band")
    nominal = {ax: [line for line in ax.lines if line.get_label().startswith("nominal")] for ax in (panel_80, panel_95)}
    assert [line.get_label() for line in nominal[panel_80]] == ["nominal 80%"]
    assert list(nominal[panel_80][0].get_ydata()) == [0.8, 0.8] and nominal[panel_80][0].get_linestyle() == "--"
    assert list(nominal[panel_95][0].get_ydata()) == [0.95, 0.95]
    # The candidate without an 80% band is only on the 95% panel.
    assert [line.get_label() for line in panel_80.lines] == ["naive_80_95", "nominal 80%"]
    assert [line.get_label() for line in panel_95.lines] == ["naive_80_95", "naive_95", "nominal 95%"]
    assert legend_labels(fig) == ["naive_80_95", "nominal 80%", "naive_95", "nominal 95%"]


def test_feature_importance_is_sorted_and_cut_to_the_top(tmp_path):
    names = [f"lag{i}" for i in range(1, 41)]
    gains = [float(i) for i in range(1, 41)]
    gains[0] = float("nan")
    fig = feature_importance(names, gains, top=10)
    saved(fig, tmp_path / "importance.png")
    [ax] = visible_axes(fig)
    ticks = sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])
    assert [t.get_text() for t in ticks] == [f"lag{i}" for i in range(40, 30, -1)]
    assert "top 10 of 40 features" in ax.get_title()
    shares = [bar.get_width() for bar in ax.patches]
    assert shares[0] == pytest.approx(40 / sum(range(2, 41)))
    with pytest.raises(ValueError, match="2 feature names but 1 gains"):
        feature_importance(["a", "b"], [1.0])


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("bands_empty", lambda: forecast_bands(pd.DataFrame()), "no forecast rows"),
        (
            "bands_no_columns",
            lambda: forecast_bands(pd.DataFrame({"unique_id": ["a"], "ds": ["2024-01-01"]})),
            "no forecast rows",
        ),
        ("error_empty", lambda: error_by_step({}), "no per-step WAPE"),
        (
            "error_nan",
            lambda: error_by_step(pd.DataFrame({"step": [1, 2], "wape": np.nan, "bias": np.nan})),
            "no per-step",
        ),
        ("coverage_empty", lambda: coverage_by_step(pd.DataFrame()), "no bands"),
        (
            "coverage_no_bands",
            lambda: coverage_by_step({"point": pd.DataFrame({"step": [1, 2], "wape": [0.3, 0.4]})}),
            "no bands",
        ),
        ("importance_empty", lambda: feature_importance([], []), "no feature has any gain"),
        ("importance_nan", lambda: feature_importance(["a", "b"], [np.nan, 0.0]), "no feature has any gain"),
    ],
)
def test_empty_or_unusable_input_gives_a_figure_that_says_so(name, make, message, tmp_path):
    fig = make()
    saved(fig, tmp_path / f"{name}.png")
    assert message in figure_text(fig)


def test_nan_scores_and_actuals_are_drawn_as_gaps(reports, tmp_path):
    forecasts = reports["naive_80_95"].forecasts.copy()
    forecasts.loc[forecasts.index[::3], ["y", "q10", "mean"]] = np.nan
    saved(forecast_bands(forecasts), tmp_path / "bands_nan.png")
    by_step = reports["naive_80_95"].by_step.copy()
    by_step.loc[0, ["wape", "coverage_80"]] = np.nan
    saved(error_by_step(by_step), tmp_path / "error_nan.png")
    saved(coverage_by_step(by_step), tmp_path / "coverage_nan.png")
