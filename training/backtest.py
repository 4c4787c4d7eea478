"""Backtests: a single holdout (the training job's check) and rolling origins (``capcast backtest``).

Rolling origins: the forecaster is refit at each origin on the history up to
it and forecasts the next ``horizon`` periods with the known-future values of
those periods as they were known at the origin (``Forecaster.known_future``:
observed-only columns such as ``in_stock`` at the value a forecast assumes);
scores are reported per origin and per horizon step.

Censored demand: periods with a recorded stockout (``in_stock`` = 0) sold
what was on hand, not what was wanted, so they are left out of every score and
reported apart (``stockout_rows``, ``stockout_mae``: how far the forecast of
demand sits from the censored sales).

A forecaster of a hierarchy (``models.hierarchy``) is scored on the bottom series like any other, so
its scores compare with a model of the series alone; each origin adds the WAPE of each aggregate
level (``wape_level_<level>``, e.g. ``wape_level_family``) against the sums of the bottom actuals. A
stockout's sales count in those sums as recorded (M5's convention): leaving out every period in which
one of many children is out of stock would leave a large aggregate nothing to be scored on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.frequency import frequency
from features.validation import AVAILABILITY_COLUMN
from models.base import Forecaster
from models.hierarchy import BOTTOM, HierarchicalForecaster
from models.metrics import (
    bias,
    dollar_sales_weights,
    interval_coverage,
    mean_rmsse,
    pinball_loss,
    relative_interval_width,
    wape,
    wrmsse,
)

__all__ = [
    "BacktestReport",
    "Folds",
    "cutoff_text",
    "holdout_backtest",
    "level_score_name",
    "pooled_per_cycle",
    "rolling_origin_backtest",
    "split_holdout",
    "split_stockouts",
]

LEVELS = (80, 95)
# The columns that give dollar-sales (M5) weights, in order of preference.
PRICE_COLUMNS = ("sell_price", "price")


def split_holdout(panel: pd.DataFrame, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training part and the last ``horizon`` periods of every series (one common cut-off).
    A series launched after the cut-off has nothing to forecast from: it is not in the holdout."""
    periods = panel["ds"].drop_duplicates().sort_values()
    if len(periods) <= 2 * horizon:
        raise ValueError(f"history of {len(periods)} periods is too short for a {horizon}-period holdout")
    cutoff = periods.iloc[-horizon - 1]
    train, test = panel[panel["ds"] <= cutoff], panel[panel["ds"] > cutoff]
    return train, test[test["unique_id"].isin(train["unique_id"].unique())]


def holdout_backtest(
    panel: pd.DataFrame, horizon: int, candidates: Mapping[str, Callable[[], Forecaster]]
) -> dict[str, dict[str, float]]:
    """Score each candidate on one holdout window.

    Returns:
        ``{candidate: {"wape", "rmsse", "coverage_<level>" for each 80/95% band it carries}}``.
    """
    train, test = split_holdout(panel, horizon)
    scores = {}
    for name, make in candidates.items():
        model = make().fit(train)
        forecast = model.predict(horizon, future=model.known_future(test))
        scored, stockouts = split_stockouts(test)
        scores[name] = {
            "wape": wape(scored, forecast),
            "rmsse": mean_rmsse(scored, forecast, _observed(train)),
            **_band_scores(scored, forecast, widths=False),
            **_stockout_scores(stockouts, forecast),
        }
    return scores


def split_stockouts(actual: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows to score and the stockout rows (``in_stock`` = 0: censored demand), in that order;
    unobserved periods (no ``y``: a ``missing`` gap) are in neither."""
    actual = actual[actual["y"].notna()]
    if AVAILABILITY_COLUMN not in actual.columns:
        return actual, actual.iloc[:0]
    stockout = actual[AVAILABILITY_COLUMN].eq(0)
    return actual[~stockout], actual[stockout]


def _observed(train: pd.DataFrame) -> pd.DataFrame:
    """The history's observed periods: the scale of a scaled error skips unobserved ones."""
    return train[train["y"].notna()]


def _stockout_scores(stockouts: pd.DataFrame, forecast: pd.DataFrame) -> dict[str, float]:
    if stockouts.empty:
        return {"stockout_rows": 0}
    joined = stockouts[["unique_id", "ds", "y"]].merge(forecast[["unique_id", "ds", "mean"]], on=["unique_id", "ds"])
    return {"stockout_rows": len(stockouts), "stockout_mae": float((joined["y"] - joined["mean"]).abs().mean())}


def cutoff_text(cutoff: pd.Timestamp, freq: str) -> str:
    """A cut-off as ``capcast forecast`` writes ``ds``: hourly ones keep their hour."""
    return frequency(freq).text(cutoff)


@dataclass(frozen=True)
class Folds:
    """Rolling-origin folds: ``origins`` cut-offs ``step`` periods apart (default: ``horizon``), the
    last one ``horizon`` periods before the end of the panel. The same folds of the same panel give
    the same cut-offs, which is what lets two model versions be compared fold by fold."""

    horizon: int
    origins: int = 3
    step: int | None = None

    def cutoffs(self, panel: pd.DataFrame) -> list[pd.Timestamp]:
        """The cut-offs on ``panel``, oldest first; ValueError when its history is too short for them."""
        return _origins(panel, self.horizon, self.origins, self.step or self.horizon)


@dataclass(frozen=True)
class BacktestReport:
    """Rolling-origin scores of one forecaster.

    Attributes:
        by_origin: one row per origin: cutoff (its date, and hour for hourly data), wape,
            rmsse, wrmsse (dollar or unit weights), bias, coverage and relative width of each band,
            and the stockout periods apart: ``stockout_rows``, ``stockout_mae``.
        by_step: one row per horizon step pooled over origins: wape, bias,
            pinball loss of each quantile, coverage of each band.
        forecasts: every forecast row with ``cutoff``, ``step``, actual ``y`` and ``stockout``
            (a censored period: left out of the scores).
    """

    by_origin: pd.DataFrame
    by_step: pd.DataFrame
    forecasts: pd.DataFrame

    def scores(self) -> dict[str, list[dict]]:
        """The scores as plain records (``by_origin``, ``by_step``), e.g. to write as JSON."""
        return {"by_origin": self.by_origin.to_dict("records"), "by_step": self.by_step.to_dict("records")}


def pooled_per_cycle(by_step: pd.DataFrame, horizon: int, freq: str) -> tuple[pd.DataFrame, str]:
    """Per-step scores (``BacktestReport.by_step``) averaged over each cycle of the data's steps: a
    day of hourly data, a week of daily data, four weeks, a quarter of months; the index names the
    steps. Returns (scores, cycle)."""
    size, cycle = frequency(freq).cycle
    pooled = by_step.groupby((by_step["step"] - 1) // size).mean().drop(columns="step")
    pooled.index = [f"{cycle} {g + 1} (steps {size * g + 1}-{min(size * g + size, horizon)})" for g in pooled.index]
    return pooled, cycle


def _origins(panel: pd.DataFrame, horizon: int, origins: int, step: int) -> list[pd.Timestamp]:
    periods = panel["ds"].drop_duplicates().sort_values().reset_index(drop=True)
    last = len(periods) - horizon - 1
    cutoffs = [last - k * step for k in range(origins)]
    if cutoffs[-1] < horizon:
        raise ValueError(
            f"{len(periods)} periods are too few for {origins} origins {step} apart with a {horizon}-period horizon"
        )
    return [periods[i] for i in reversed(cutoffs)]


def _band_scores(actual: pd.DataFrame, forecast: pd.DataFrame, widths: bool = True) -> dict[str, float]:
    """Coverage (and relative width) of each ``LEVELS`` band the forecast carries."""
    scores = {}
    for level in LEVELS:
        if f"q{50 + level / 2:g}" in forecast.columns:
            scores[f"coverage_{level}"] = interval_coverage(actual, forecast, level)
            if widths:
                scores[f"width_{level}"] = relative_interval_width(actual, forecast, level)
    return scores


def _weights(train: pd.DataFrame) -> pd.Series:
    """M5 weights (dollar sales of the last 28 periods) when prices are known, unit sales otherwise."""
    price = next((c for c in PRICE_COLUMNS if c in train.columns), None)
    if price is not None:
        return dollar_sales_weights(train, price_column=price, days=28)
    return dollar_sales_weights(train.assign(unit_price=1.0), price_column="unit_price", days=28)


def rolling_origin_backtest(
    panel: pd.DataFrame,
    make: Callable[[], Forecaster],
    horizon: int,
    origins: int = 3,
    step: int | None = None,
    fit: Callable[[Forecaster, pd.DataFrame], Forecaster] | None = None,
) -> BacktestReport:
    """Refit ``make()`` at the cut-offs of ``Folds(horizon, origins, step)`` and score each forecast
    on its in-stock periods (the stockout periods apart). ``fit(model, train)`` fits each fold's model
    (default: ``model.fit(train)``; e.g. on a Dask cluster)."""
    rows, scored = [], []
    for cutoff in Folds(horizon, origins, step).cutoffs(panel):
        train = panel[panel["ds"] <= cutoff]
        test = panel[panel["ds"] > cutoff].groupby("unique_id", sort=False).head(horizon)
        test = test[test["unique_id"].isin(train["unique_id"].unique())]
        model = make().fit(train) if fit is None else fit(make(), train)
        forecast = model.predict(horizon, future=model.known_future(test))
        in_stock, stockouts = split_stockouts(test)
        rows.append(
            {
                "cutoff": cutoff_text(cutoff, model.freq_),
                "wape": wape(in_stock, forecast),
                "rmsse": mean_rmsse(in_stock, forecast, _observed(train)),
                "wrmsse": wrmsse(in_stock, forecast, _observed(train), _weights(_observed(train))),
                "bias": bias(in_stock, forecast),
                **_band_scores(in_stock, forecast),
                **_stockout_scores(stockouts, forecast),
                **_level_scores(model, test, forecast),
            }
        )
        joined = forecast.merge(test[["unique_id", "ds", "y"]], on=["unique_id", "ds"])
        joined["step"] = joined.groupby("unique_id").cumcount() + 1
        keys = ["unique_id", "ds"]
        joined["stockout"] = pd.MultiIndex.from_frame(joined[keys]).isin(pd.MultiIndex.from_frame(stockouts[keys]))
        scored.append(joined.assign(cutoff=cutoff))
    forecasts = pd.concat(scored, ignore_index=True)
    scored = forecasts[~forecasts["stockout"] & forecasts["y"].notna()]
    return BacktestReport(pd.DataFrame(rows), _by_step(scored), forecasts)


def level_score_name(level: str) -> str:
    """A hierarchy level's WAPE as a score name: ``wape_level_family``, ``wape_level_state_id_store_id``."""
    return f"wape_level_{level.replace('/', '_')}"


def _level_scores(model: Forecaster, test: pd.DataFrame, forecast: pd.DataFrame) -> dict[str, float]:
    """WAPE of each aggregate level of a hierarchy's forecast against the sums of the bottom actuals (a
    stockout's sales as recorded); a period where a child's demand is unobserved is left out of its parents'."""
    if not isinstance(model, HierarchicalForecaster):
        return {}
    levels = model.level_actuals(test[["unique_id", "ds", "y"]])
    scored = levels[(levels["level"] != BOTTOM) & levels["y"].notna()]
    return {level_score_name(level): wape(rows, forecast) for level, rows in scored.groupby("level")}


def _by_step(forecasts: pd.DataFrame) -> pd.DataFrame:
    quantiles = sorted(
        float(c[1:]) / 100 for c in forecasts.columns if c.startswith("q") and c[1:].replace(".", "").isdigit()
    )
    rows = []
    for step, group in forecasts.groupby("step"):
        actual = group[["unique_id", "ds", "y"]].assign(
            unique_id=group["unique_id"] + "@" + group["cutoff"].astype(str)
        )
        forecast = group.drop(columns="y").assign(unique_id=actual["unique_id"])
        row = {
            "step": int(step),
            "wape": wape(actual, forecast),
            "bias": bias(actual, forecast),
            **_band_scores(actual, forecast),
        }
        row |= {f"pinball_q{100 * q:g}": loss for q, loss in pinball_loss(actual, forecast, quantiles).items()}
        rows.append(row)
    return pd.DataFrame(rows).replace([np.inf, -np.inf], np.nan)
