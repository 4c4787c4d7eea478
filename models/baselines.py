"""Baseline forecasters that every learned model must beat."""

from __future__ import annotations

import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import SeasonalNaive as _StatsSeasonalNaive

from features.pipeline import infer_frequency
from models.base import Forecaster, to_forecast_frame

__all__ = ["SeasonalNaive"]


class SeasonalNaive(Forecaster):
    """Repeat the last season (statsforecast's SeasonalNaive), with its normal-theory bands.

    Args:
        season_length: periods per season (7 for daily data with a weekly cycle).
        levels: central interval levels in percent.
    """

    def __init__(self, season_length: int = 7, levels: tuple[int, ...] = (80,)):
        self.season_length = season_length
        self.levels = levels

    def _fit(self, panel: pd.DataFrame) -> None:
        self.sf_ = StatsForecast(
            models=[_StatsSeasonalNaive(season_length=self.season_length)], freq=infer_frequency(panel), n_jobs=1
        )
        self.sf_.fit(panel[["unique_id", "ds", "y"]])

    def _predict(self, horizon: int, ids: list[str] | None) -> pd.DataFrame:
        raw = self.sf_.predict(h=horizon, level=list(self.levels))
        if ids is not None:
            raw = raw[raw["unique_id"].isin(ids)]
        return to_forecast_frame(raw, "SeasonalNaive", self.levels)
