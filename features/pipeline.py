"""The one feature pipeline that training and serving share.

Features are computed by mlforecast/coreforecast from the panel itself: lags,
rolling means of lagged demand, calendar features and the holiday calendar.
Because every feature is a function of past demand or of the date, the same
definition yields the same features at any cut-off, in a batch job or in the
API, with nothing to look up about the future.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from mlforecast.lag_transforms import RollingMean

from features.calendar import is_holiday, is_pre_holiday

__all__ = ["FeatureSpec", "STATIC_COLUMNS", "infer_frequency", "static_columns", "training_frame"]

# Columns describing a series, not a period; used as categorical features when present.
STATIC_COLUMNS = ("item_id", "store_id", "family")

_FREQUENCIES = {pd.Timedelta(days=1): "D", pd.Timedelta(hours=1): "h"}


@dataclass(frozen=True)
class FeatureSpec:
    """Which lag features and date features a model sees.

    Args:
        lags: lags of the target, in periods.
        rolling_windows: window sizes of rolling means, each taken at every
            lag in ``rolling_lags``.
        rolling_lags: lags at which the rolling means start.
        date_features: pandas date attributes used as features.
    """

    lags: tuple[int, ...] = (1, 7, 14, 28)
    rolling_windows: tuple[int, ...] = (7, 28)
    rolling_lags: tuple[int, ...] = (1, 7)
    date_features: tuple[str, ...] = ("dayofweek", "month", "dayofyear")
    holiday_features: bool = True

    @classmethod
    def for_frequency(cls, freq: str) -> "FeatureSpec":
        """Standard features for a frequency: daily data cycles weekly; hourly data cycles
        daily and weekly, so its lags, windows and calendar are counted in hours."""
        if freq == "h":
            return cls(
                lags=(1, 2, 24, 48, 168),
                rolling_windows=(24, 168),
                rolling_lags=(1, 24),
                date_features=("hour", "dayofweek", "month"),
            )
        return cls()

    def mlforecast_kwargs(self) -> dict:
        """Keyword arguments for ``mlforecast.MLForecast`` implementing this spec."""
        lag_transforms = {lag: [RollingMean(window_size=w) for w in self.rolling_windows] for lag in self.rolling_lags}
        date_features: list = list(self.date_features)
        if self.holiday_features:
            date_features += [is_holiday, is_pre_holiday]
        return {"lags": list(self.lags), "lag_transforms": lag_transforms, "date_features": date_features}


def infer_frequency(panel: pd.DataFrame) -> str:
    """The pandas frequency alias of a validated panel ("D" daily, "h" hourly)."""
    step = panel.groupby("unique_id", sort=False)["ds"].diff().mode()
    if step.empty:
        raise ValueError("cannot infer the frequency: every series has a single row")
    try:
        return _FREQUENCIES[step.iloc[0]]
    except KeyError:
        raise ValueError(f"unsupported frequency: one step is {step.iloc[0]}") from None


def static_columns(panel: pd.DataFrame) -> list[str]:
    return [c for c in STATIC_COLUMNS if c in panel.columns]


def training_frame(panel: pd.DataFrame) -> pd.DataFrame:
    """The columns the models learn from, statics as categoricals, sorted by series and time."""
    columns = ["unique_id", "ds", "y", *static_columns(panel)]
    frame = panel[columns].copy()
    for column in static_columns(panel):
        frame[column] = frame[column].astype("category")
    return frame.sort_values(["unique_id", "ds"], ignore_index=True)
