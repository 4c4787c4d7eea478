"""Backtests: a single holdout (the training job's check) and rolling origins (``capcast backtest``).

Rolling origins: the forecaster is refit at each origin on the history up to
it and forecasts the next ``horizon`` periods with the known-future values of
those periods; scores are reported per origin and per horizon step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.base import Forecaster
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

__all__ = ["BacktestReport", "holdout_backtest", "pooled_per_cycle", "rolling_origin_backtest", "split_holdout"]

LEVELS = (80, 95)


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
        # Known-future columns are known by definition: the holdout's own values are what a caller sends.
        forecast = model.predict(horizon, future=model.known_future(test))
        scores[name] = {
            "wape": wape(test, forecast),
            "rmsse": mean_rmsse(test, forecast, train),
            **_band_scores(test, forecast, widths=False),
        }
    return scores


@dataclass(frozen=True)
class BacktestReport:
    """Rolling-origin scores of one forecaster.

    Attributes:
        by_origin: one row per origin: cutoff (its date, and hour for hourly data), wape,
            rmsse, wrmsse (dollar or unit weights), bias, coverage and relative width of each band.
        by_step: one row per horizon step pooled over origins: wape, bias,
            pinball loss of each quantile, coverage of each band.
        forecasts: every forecast row with ``cutoff``, ``step`` and actual ``y``.
    """

    by_origin: pd.DataFrame
    by_step: pd.DataFrame
    forecasts: pd.DataFrame

    def scores(self) -> dict[str, list[dict]]:
        """The scores as plain records (``by_origin``, ``by_step``), e.g. to write as JSON."""
        return {"by_origin": self.by_origin.to_dict("records"), "by_step": self.by_step.to_dict("records")}


def pooled_per_cycle(by_step: pd.DataFrame, horizon: int, freq: str) -> tuple[pd.DataFrame, str]:
    """Per-step scores (``BacktestReport.by_step``) averaged over each cycle of the data's steps: a
    day of hourly data, a week of daily data; the index names the steps. Returns (scores, cycle)."""
    size, cycle = (24, "day") if freq == "h" else (7, "week")
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
    price = next((c for c in ("sell_price", "price") if c in train.columns), None)
    if price is not None:
        return dollar_sales_weights(train, price_column=price, days=28)
    return dollar_sales_weights(train.assign(unit_price=1.0), price_column="unit_price", days=28)


def rolling_origin_backtest(
    panel: pd.DataFrame, make: Callable[[], Forecaster], horizon: int, origins: int = 3, step: int | None = None
) -> BacktestReport:
    """Refit ``make()`` at ``origins`` cut-offs ``step`` periods apart (default ``horizon``), the
    last one ``horizon`` periods before the end, and score each forecast."""
    step = step or horizon
    rows, scored = [], []
    for cutoff in _origins(panel, horizon, origins, step):
        train = panel[panel["ds"] <= cutoff]
        test = panel[panel["ds"] > cutoff].groupby("unique_id", sort=False).head(horizon)
        test = test[test["unique_id"].isin(train["unique_id"].unique())]
        model = make().fit(train)
        forecast = model.predict(horizon, future=model.known_future(test))
        rows.append(
            {
                # Written like `capcast forecast` writes ds: hourly origins keep their hour.
                "cutoff": cutoff.strftime("%Y-%m-%d %H:%M" if model.freq_ == "h" else "%Y-%m-%d"),
                "wape": wape(test, forecast),
                "rmsse": mean_rmsse(test, forecast, train),
                "wrmsse": wrmsse(test, forecast, train, _weights(train)),
                "bias": bias(test, forecast),
                **_band_scores(test, forecast),
            }
        )
        joined = forecast.merge(test[["unique_id", "ds", "y"]], on=["unique_id", "ds"])
        joined["step"] = joined.groupby("unique_id").cumcount() + 1
        scored.append(joined.assign(cutoff=cutoff))
    forecasts = pd.concat(scored, ignore_index=True)
    return BacktestReport(pd.DataFrame(rows), _by_step(forecasts), forecasts)


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
