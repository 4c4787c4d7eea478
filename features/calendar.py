"""Holiday calendars: the country's (and region's) public holidays for the feature pipeline, from
the ``holidays`` package, and the four holidays the sample generator simulates.

Holidays are a pure function of the date, so they are known for every future
day and the same at training and serving time. The flags take a
``pandas.DatetimeIndex`` and return one value per date, the shape mlforecast
expects of a callable date feature; a flag is an object (``HolidayFlag``) that
carries its calendar, so a fitted model pickles with the calendar it learned on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

__all__ = ["HolidayFlag", "check_calendar", "holiday_dates", "is_holiday", "is_pre_holiday"]

# (month, day) of fixed-date holidays on which the sample's demand collapses.
_FIXED_HOLIDAYS = ((1, 1), (7, 4), (12, 25))


def check_calendar(country: str, subdivision: str | None = None) -> None:
    """Refuse a country or subdivision the ``holidays`` package does not know, naming what it knows."""
    import holidays

    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(f"unknown holiday country {country!r}: use an ISO 3166-1 alpha-2 code such as US, DE, FR")
    if subdivision is not None and subdivision not in supported[country]:
        known = ", ".join(supported[country][:12]) + (", ..." if len(supported[country]) > 12 else "")
        raise ValueError(f"unknown subdivision {subdivision!r} of {country}: one of {known}")


@lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset:
    import holidays

    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


@dataclass(frozen=True)
class HolidayFlag:
    """1 on a public holiday of ``country`` (and ``subdivision``) ``shift_days`` after the date, else 0:
    ``shift_days=1`` flags the day before a holiday (a stock-up day). With ``period`` a weekly or
    monthly pandas alias (``W-SAT``, ``MS``), the number of holidays in the period the date names
    (``features.frequency``). ``__name__`` names the feature."""

    country: str
    subdivision: str | None = None
    shift_days: int = 0
    period: str | None = None

    @property
    def __name__(self) -> str:  # mlforecast names a callable date feature by it
        if self.period is not None:
            return "holidays_in_period"
        return {0: "is_holiday", 1: "is_pre_holiday"}.get(self.shift_days, f"is_holiday_in_{self.shift_days}d")

    def _days(self, years) -> np.ndarray:
        days = set().union(*(_public_holidays(self.country, self.subdivision, int(y)) for y in years))
        return np.sort(pd.DatetimeIndex(sorted(days)).to_numpy())

    def __call__(self, dates: pd.DatetimeIndex) -> np.ndarray:
        dates = pd.DatetimeIndex(dates).normalize() + pd.Timedelta(days=self.shift_days)
        if len(dates) == 0:
            return np.zeros(0, dtype=np.int8)
        if self.period is None:
            return np.asarray(dates.isin(self._days(np.unique(dates.year))), dtype=np.int8)
        periods = dates.to_period("M" if self.period in ("MS", "ME") else self.period)
        first, last = periods.start_time, periods.end_time.normalize()
        holidays = self._days(range(first.year.min(), last.year.max() + 1))
        inside = np.searchsorted(holidays, last.to_numpy(), side="right") - np.searchsorted(holidays, first.to_numpy())
        return inside.astype(np.int8)


def _thanksgiving(year: int) -> pd.Timestamp:
    november_first = pd.Timestamp(year=year, month=11, day=1)
    first_thursday = november_first + pd.Timedelta(days=(3 - november_first.weekday()) % 7)
    return first_thursday + pd.Timedelta(weeks=3)


def holiday_dates(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """The sample's simulated holidays between ``start`` and ``end`` inclusive, sorted."""
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
    """1 on one of the sample's simulated holidays, else 0."""
    return _flag(dates, 0)


def is_pre_holiday(dates: pd.DatetimeIndex) -> np.ndarray:
    """1 on the day before one of the sample's simulated holidays (stock-up day), else 0."""
    return _flag(dates, 1)
