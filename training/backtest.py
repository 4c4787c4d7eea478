"""Holdout backtest: fit on all but the last ``horizon`` periods, score on them."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from models.base import Forecaster
from models.metrics import interval_coverage, mean_rmsse, wape

__all__ = ["split_holdout", "holdout_backtest"]


def split_holdout(panel: pd.DataFrame, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training part and the last ``horizon`` periods of every series (one common cut-off)."""
    periods = panel["ds"].drop_duplicates().sort_values()
    if len(periods) <= 2 * horizon:
        raise ValueError(f"history of {len(periods)} periods is too short for a {horizon}-period holdout")
    cutoff = periods.iloc[-horizon - 1]
    return panel[panel["ds"] <= cutoff], panel[panel["ds"] > cutoff]


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
        future = test[["unique_id", "ds", *model.exogenous_]] if model.exogenous_ else None
        forecast = model.predict(horizon, future=future)
        scores[name] = {
            "wape": wape(test, forecast),
            "rmsse": mean_rmsse(test, forecast, train),
            **{
                f"coverage_{level}": interval_coverage(test, forecast, level)
                for level in (80, 95)
                if f"q{50 + level / 2:g}" in forecast.columns
            },
        }
    return scores
