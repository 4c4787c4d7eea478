"""Holiday calendar shared by the sample-data generator and the feature pipeline.

Holidays are a pure function of the date, so they are known for every future
day and the same at training and serving time. Functions here take a
``pandas.DatetimeIndex`` and return one value per date, the shape mlforecast
expects of a callable date feature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["holiday_dates", "is_holiday", "is_pre_holiday"]

# (month, day) of fixed-date holidays on which demand collapses.
_FIXED_HOLIDAYS = ((1, 1), (7, 4), (12, 25))


def _thanksgiving(year: int) -> pd.Timestamp:
    november_first = pd.Timestamp(year=year, month=11, day=1)
    first_thursday = november_first + pd.Timedelta(days=(3 - november_first.weekday()) % 7)
    return first_thursday + pd.Timedelta(weeks=3)


def holiday_dates(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """All holidays between ``start`` and ``end`` inclusive, sorted."""
    days = []
    for year in range(start.year, end.year + 1):
        days += [pd.Timestamp(year=year, month=m, day=d) for m, d in _FIXED_HOLIDAYS]
        days.append(_thanksgiving(year))
    index = pd.DatetimeIndex(sorted(days))
    return index[(index >= start.normalize()) & (index <= end)]


def _flag(dates: pd.DatetimeIndex, shift_days: int) -> np.ndarray:
    dates = pd.DatetimeIndex(dates).normalize()
    if len(dates) == 0:
        return np.zeros(0, dtype=np.int8)
    shifted = dates + pd.Timedelta(days=shift_days)
    holidays = holiday_dates(shifted.min(), shifted.max())
    return np.asarray(shifted.isin(holidays), dtype=np.int8)


def is_holiday(dates: pd.DatetimeIndex) -> np.ndarray:
    """1 on a holiday, else 0."""
    return _flag(dates, 0)


def is_pre_holiday(dates: pd.DatetimeIndex) -> np.ndarray:
    """1 on the day before a holiday (stock-up day), else 0."""
    return _flag(dates, 1)
