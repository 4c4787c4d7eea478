"""Accuracy metrics on forecast frames, computed with utilsforecast.

WAPE = sum |y - mean| / sum y over all series and periods; RMSSE is per series
(scaled by the in-sample one-step naive error), averaged over series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from utilsforecast.losses import rmsse

__all__ = ["wape", "mean_rmsse", "coverage"]


def wape(actual: pd.DataFrame, forecast: pd.DataFrame) -> float:
    """Weighted absolute percentage error of the ``mean`` column over the whole panel."""
    joined = actual[["unique_id", "ds", "y"]].merge(forecast, on=["unique_id", "ds"], how="inner")
    total = joined["y"].abs().sum()
    return float((joined["y"] - joined["mean"]).abs().sum() / total) if total > 0 else float("nan")


def mean_rmsse(actual: pd.DataFrame, forecast: pd.DataFrame, train: pd.DataFrame) -> float:
    """Root mean squared scaled error of ``mean``, averaged over series with a non-flat history."""
    joined = actual[["unique_id", "ds", "y"]].merge(forecast[["unique_id", "ds", "mean"]], on=["unique_id", "ds"])
    scores = rmsse(joined, models=["mean"], seasonality=1, train_df=train[["unique_id", "ds", "y"]])
    values = scores["mean"].replace([np.inf, -np.inf], np.nan).dropna()
    return float(values.mean())


def coverage(actual: pd.DataFrame, forecast: pd.DataFrame, lower: str, upper: str) -> float:
    """Share of actuals inside ``[lower, upper]``."""
    joined = actual[["unique_id", "ds", "y"]].merge(forecast, on=["unique_id", "ds"])
    inside = (joined["y"] >= joined[lower]) & (joined["y"] <= joined[upper])
    return float(inside.mean())
