"""Local statistical forecasters (statsforecast), one model per series: the baselines every
learned model must beat, and the methods for intermittent series.

Intervals come from the model's own theory where it has one (seasonal naive,
ETS) and from statsforecast's conformal intervals otherwise (the
Croston family), so every forecaster here returns the full forecast frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from statsforecast import StatsForecast
from statsforecast import models as sf
from statsforecast.utils import ConformalIntervals

from features.frequency import frequency
from features.gaps import OBSERVED_WEIGHT, fill_unobserved
from features.pipeline import infer_frequency
from models.base import Forecaster, to_forecast_frame

__all__ = [
    "LOCAL_METHODS",
    "LocalForecaster",
    "SeasonalNaive",
    "cold_start_fallback",
    "seasonal_naive_for",
]

# name -> (statsforecast model from (season_length, conformal intervals or None), has its own intervals)
LOCAL_METHODS: dict[str, tuple[Callable[[int, ConformalIntervals | None], object], bool]] = {
    "seasonal_naive": (lambda season, _: sf.SeasonalNaive(season_length=season), True),
    "auto_ets": (lambda season, _: sf.AutoETS(season_length=season), True),
    "croston_optimized": (lambda _, conformal: sf.CrostonOptimized(prediction_intervals=conformal), False),
    "adida": (lambda _, conformal: sf.ADIDA(prediction_intervals=conformal), False),
    "imapa": (lambda _, conformal: sf.IMAPA(prediction_intervals=conformal), False),
    "historic_average": (lambda _, __: sf.HistoricAverage(), True),
    # Moving average of the last four seasons (28 days of daily data).
    "moving_average": (
        lambda season, conformal: sf.WindowAverage(window_size=4 * season, prediction_intervals=conformal),
        False,
    ),
}


# A dataclass writes the scikit-learn __init__ (store each parameter, nothing else) from the fields.
@dataclass(eq=False, repr=False)
class LocalForecaster(Forecaster):
    """One statsforecast method fit to each series on its own.

    Args:
        method: a key of ``LOCAL_METHODS``.
        season_length: periods per season (7 for daily data with a weekly cycle).
        levels: central interval levels in percent.
        horizon: longest horizon; sets the conformal windows of methods without
            their own intervals (ignored by the others).
        conformal_windows: backtest windows of ``horizon`` periods for those intervals.
    """

    method: str = "seasonal_naive"
    season_length: int = 7
    levels: tuple[int, ...] = (80,)
    horizon: int = 28
    conformal_windows: int = 4

    def _check_params(self) -> None:
        if self.method not in LOCAL_METHODS:
            raise ValueError(f"unknown local method {self.method!r}; choose from {sorted(LOCAL_METHODS)}")

    def _cold_start_forecaster(self) -> Forecaster:
        return cold_start_fallback(self.levels)

    @property
    def max_horizon(self) -> int | None:
        return None if LOCAL_METHODS[self.method][1] else self.horizon

    def _fit(self, panel: pd.DataFrame) -> None:
        make, own_intervals = LOCAL_METHODS[self.method]
        conformal = None if own_intervals else ConformalIntervals(h=self.horizon, n_windows=self._windows(panel))
        model = make(self.season_length, conformal)
        self.alias_ = model.alias
        self.sf_ = StatsForecast(models=[model], freq=self.freq_, n_jobs=1)
        # statsforecast takes no empty targets: an unobserved period (a ``missing`` gap) repeats the last one.
        self.sf_.fit(fill_unobserved(panel[["unique_id", "ds", "y"]]).drop(columns=OBSERVED_WEIGHT, errors="ignore"))

    def _min_history(self) -> int:
        # statsforecast's conformal intervals need two windows; seasonal methods one season and a period.
        if not LOCAL_METHODS[self.method][1]:
            return 2 * self.horizon + 1
        if self.method == "historic_average":
            return 1  # an item launched yesterday: its one sale is its average (with a band of zero width)
        return self.season_length + 1 if self.method in ("seasonal_naive", "auto_ets") else 2

    def _windows(self, panel: pd.DataFrame) -> int:
        """Conformal windows the shortest series leaves room for (statsforecast needs h * n + 1 periods)."""
        shortest = int(panel.groupby("unique_id").size().min())
        return max(2, min(self.conformal_windows, (shortest - 1) // self.horizon))

    def _predict(self, horizon: int, ids: list[str] | None, future: pd.DataFrame | None) -> pd.DataFrame:
        # Conformal scores are per horizon step: statsforecast predicts them for the whole horizon only.
        full = horizon if self.max_horizon is None else self.max_horizon
        raw = self.sf_.predict(h=full, level=list(self.levels))
        raw = raw.groupby("unique_id", sort=False).head(horizon)
        if ids is not None:
            raw = raw[raw["unique_id"].isin(ids)]
        return to_forecast_frame(raw, self.alias_, self.levels)


class SeasonalNaive(LocalForecaster):
    """Repeat the last season (statsforecast's SeasonalNaive), with its normal-theory bands.

    The method is what this class is, not a parameter: ``method`` is a class
    attribute, and ``get_params`` gives ``season_length`` and ``levels`` only.
    (``horizon`` and ``conformal_windows`` of ``LocalForecaster`` serve methods
    without their own intervals; this one has them.)
    """

    method = "seasonal_naive"

    def __init__(self, season_length: int = 7, levels: tuple[int, ...] = (80,)):
        self.season_length = season_length
        self.levels = levels


def cold_start_fallback(levels: tuple[int, ...]) -> LocalForecaster:
    """The forecaster of series too short for their model: statsforecast's historic average,
    with its normal bands at ``levels``."""
    return LocalForecaster("historic_average", levels=levels)


def seasonal_naive_for(panel: pd.DataFrame, levels: tuple[int, ...]) -> SeasonalNaive:
    """Seasonal naive repeating the panel's main cycle (``features.frequency``): the last week of
    daily or hourly data, the last year of weekly or monthly data."""
    return SeasonalNaive(season_length=frequency(infer_frequency(panel)).season, levels=levels)
