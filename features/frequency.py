"""The frequencies capcast reads (hourly, daily, weekly on any day, monthly) and what each implies:
the unit messages speak in, the season a naive forecast repeats, the periods a model shows before
its forecast, how per-step scores are pooled, and the lags and calendar features it learns from.

A weekly ``ds`` is the last day of its week, as pandas' ``W-<day>`` says (``W-SAT``: weeks
ending on Saturday); a monthly one the first day of its month (``MS``) or the last (``ME``).
The holiday feature of a week or a month counts the public holidays inside it
(``features.calendar``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from pandas.tseries.frequencies import to_offset

__all__ = ["Frequency", "UnsupportedFrequency", "describe_step", "frequency", "frequency_of_dates", "on_grid"]

_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class UnsupportedFrequency(ValueError):
    """The dates do not step by an hour, a day, a week or a calendar month."""


@dataclass(frozen=True)
class Frequency:
    """What a pandas frequency alias means to capcast.

    Attributes:
        alias: the pandas alias (``h``, ``D``, ``W-FRI``, ``MS``, ``ME``).
        unit: one period in words (``hour``, ``day``, ``week``, ``month``).
        season: periods in the cycle seasonal naive repeats (a week of hours or days, a year of weeks or months).
        recent: periods of actual demand a fitted model keeps to show before its forecast.
        cycle: periods pooled per row of the per-step scores, and what they make (``week``).
        min_history: fewest periods a series needs for the global model.
    """

    alias: str
    unit: str
    season: int
    recent: int
    cycle: tuple[int, str]
    min_history: int

    @property
    def year(self) -> int:
        """Periods in about a year: whole weeks of hours or days, 52 weeks, 12 months."""
        return {"hour": 364 * 24, "day": 364, "week": 52, "month": 12}[self.unit]

    @property
    def spans_days(self) -> bool:
        """Whether one period covers several days (a week, a month)."""
        return self.unit in ("week", "month")

    @property
    def grid(self) -> str:
        """The dates that name periods, in words (for messages about a date off them)."""
        if self.unit in ("hour", "day"):
            return f"the start of {'an' if self.unit == 'hour' else 'a'} {self.unit}"
        if self.unit == "week":
            return f"a {_DAY_NAMES[_WEEKDAYS.index(self.alias[2:])]}, the day each week ends on"
        return "the first of a month" if self.alias == "MS" else "the last day of a month"

    @property
    def has_time(self) -> bool:
        """Whether a period is written with its time of day (hourly data)."""
        return self.alias == "h"

    def units(self, count: int) -> str:
        return f"{count} {self.unit}" + ("" if count == 1 else "s")

    def text(self, ds: pd.Timestamp) -> str:
        """``ds`` as messages name it."""
        return f"{ds:%Y-%m-%d %H:%M}" if self.has_time else f"{ds.date()}"


def frequency(alias: str) -> Frequency:
    """The ``Frequency`` of a pandas alias capcast supports."""
    if alias == "h":
        return Frequency("h", "hour", season=168, recent=14 * 24, cycle=(24, "day"), min_history=24)
    if alias == "D":
        return Frequency("D", "day", season=7, recent=56, cycle=(7, "week"), min_history=7)
    if alias.startswith("W-") and alias[2:] in _WEEKDAYS:
        return Frequency(alias, "week", season=52, recent=26, cycle=(4, "4 weeks"), min_history=8)
    if alias in ("MS", "ME"):
        return Frequency(alias, "month", season=12, recent=24, cycle=(3, "quarter"), min_history=6)
    raise UnsupportedFrequency(f"unsupported frequency {alias!r}: capcast reads hourly, daily, weekly or monthly data")


def describe_step(step: pd.Timedelta) -> str:
    """A step between two dates in words: ``1 day``, ``14 days``, ``36 hours``."""
    hours = step / pd.Timedelta(hours=1)
    if hours % 24 == 0:
        days = int(hours // 24)
        return "1 day" if days == 1 else f"{days} days"
    return f"{hours:g} hours"


def frequency_of_dates(ds: pd.Series, step: pd.Timedelta) -> Frequency:
    """The frequency of dates whose most common step between a series' rows is ``step``.

    Raises:
        UnsupportedFrequency: naming the step, or the dates that break a weekly or monthly calendar.
    """
    if step == pd.Timedelta(hours=1):
        return frequency("h")
    if step == pd.Timedelta(days=1):
        return frequency("D")
    if step == pd.Timedelta(days=7):
        return frequency(f"W-{_WEEKDAYS[ds.iloc[0].weekday()]}")
    if pd.Timedelta(days=28) <= step <= pd.Timedelta(days=31):
        if (ds.dt.day == 1).all():
            return frequency("MS")
        if ds.dt.is_month_end.all():
            return frequency("ME")
        raise UnsupportedFrequency("monthly dates must all be the first, or all the last, day of their month")
    raise UnsupportedFrequency(
        f"unsupported frequency: one step is {describe_step(step)}; capcast reads hourly, daily, weekly or monthly data"
    )


def on_grid(ds: pd.Series, alias: str) -> pd.Series:
    """Whether each date is one the frequency names periods by: a whole hour, a midnight, the week's
    day (``W-SAT``: a Saturday), the first or last of a month."""
    if alias == "h":
        return ds == ds.dt.floor("h")
    midnight = ds == ds.dt.normalize()
    if alias == "D":
        return midnight
    offset = to_offset(alias)
    return midnight & ds.map(offset.is_on_offset).astype(bool)
