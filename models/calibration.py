"""Calibrated quantiles from out-of-sample errors: scaled split conformal prediction.

A point forecaster's errors on backtest windows, each divided by a scale that
grows with the forecast level, are pooled across series and horizon steps;
the empirical quantiles of these scores, multiplied back by the scale of a
new forecast, give its quantiles. Pooling many windows and series is what
makes the coverage hold: mlforecast's per-series conformal intervals, built
from two windows, covered 56-58% at 80% on the M5 subset (docs/BENCHMARKS.md).

The scale is ``sqrt(forecast + floor)``: demand counts spread roughly like
Poisson counts, whose standard deviation grows with the square root of the
level; ``floor`` (in demand units) keeps the scale positive where the
forecast is zero.

Per-series quantiles say nothing about how errors add up. A plan covers a
product family's *cumulative* demand, and the series of one family tend to
miss together (a department-wide lift, a level shift): on the M5 subset a
department's 28-day total was off by up to 62% while independent per-series
errors promise a few percent. ``shared_level_error`` measures that shared
part on the same backtest windows, as a relative error of the family level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

__all__ = ["ScaledConformal", "shared_level_error"]


def _scale(forecast: np.ndarray, floor: float) -> np.ndarray:
    return np.sqrt(np.clip(forecast, 0.0, None) + floor)


@dataclass(frozen=True)
class ScaledConformal:
    """Score quantiles learned from backtest errors; apply to new point forecasts.

    Attributes:
        quantiles: quantile levels in percent, ascending.
        offsets: the score quantile for each level, ascending with it.
        floor: demand units added to the forecast before taking the square root.
        n_scores: how many errors the offsets were learned from.
    """

    quantiles: tuple[float, ...]
    offsets: tuple[float, ...]
    floor: float
    n_scores: int

    @classmethod
    def fit(
        cls, actual: np.ndarray, forecast: np.ndarray, quantiles: Sequence[float], floor: float = 1.0
    ) -> ScaledConformal:
        """Learn the offsets from paired actuals and out-of-sample point forecasts."""
        actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
        if actual.shape != forecast.shape or actual.ndim != 1:
            raise ValueError("actual and forecast must be 1-d arrays of the same length")
        usable = np.isfinite(actual) & np.isfinite(forecast)
        if not usable.any():
            raise ValueError("no finite backtest errors to calibrate on")
        if floor <= 0:
            raise ValueError("floor must be positive")
        scores = (actual[usable] - forecast[usable]) / _scale(forecast[usable], floor)
        levels = sorted(float(q) for q in quantiles)
        # Rounding each quantile away from the median is the finite-sample
        # correction of split conformal: bands err on the wide side.
        offsets = [float(np.quantile(scores, q / 100.0, method="higher" if q >= 50.0 else "lower")) for q in levels]
        return cls(tuple(levels), tuple(np.maximum.accumulate(offsets)), float(floor), int(usable.sum()))

    def apply(self, forecast: np.ndarray) -> dict[float, np.ndarray]:
        """Quantiles of each point forecast, by level: non-negative and never crossing."""
        forecast = np.asarray(forecast, dtype=float)
        scale = _scale(forecast, self.floor)
        return {
            quantile: np.clip(forecast + offset * scale, 0.0, None)
            for quantile, offset in zip(self.quantiles, self.offsets)
        }


def shared_level_error(errors: pd.DataFrame, calibration: ScaledConformal, coverage: float = 0.95) -> float:
    """The relative error of a group's level, shared by its series and days, that the
    cumulative quantile needs to reach ``coverage`` on backtest windows.

    The planner (``planning.service_level``) summarises each series-day as a normal
    distribution whose spread comes from the widest band; through day d it covers
    ``mean + z * sqrt(sum of variances + (k * mean)^2)`` of the group's cumulative
    demand. This returns the smallest ``k`` for which that holds on ``coverage`` of
    the (group, window, day) points of the backtest.

    Args:
        errors: backtest rows ``group, window, ds, y, forecast`` (one per series and day).
        calibration: the calibration whose bands the planner will see.
        coverage: the share of points to cover.
    """
    if errors.empty:
        return 0.0
    forecast = errors["forecast"].to_numpy(dtype=float)
    bands = calibration.apply(forecast)
    lo, hi = calibration.quantiles[0], calibration.quantiles[-1]
    z_width = NormalDist().inv_cdf(hi / 100.0) - NormalDist().inv_cdf(lo / 100.0)
    daily = (
        errors.assign(
            error=errors["y"].to_numpy(dtype=float) - np.clip(forecast, 0.0, None),
            variance=((bands[hi] - bands[lo]) / z_width) ** 2,
            mean=np.clip(forecast, 0.0, None),
        )
        .groupby(["group", "window", "ds"], observed=True)[["error", "variance", "mean"]]
        .sum()
        .groupby(level=["group", "window"], observed=True)
        .cumsum()
    )
    z = NormalDist().inv_cdf(coverage)
    shortfall = (np.clip(daily["error"], 0.0, None) / z) ** 2 - daily["variance"]
    needed = np.where(daily["mean"] > 0, np.clip(shortfall, 0.0, None) / np.maximum(daily["mean"], 1e-12) ** 2, 0.0)
    return float(np.sqrt(np.quantile(needed, coverage, method="higher")))
