"""Weekly and monthly forecasts as the daily buckets a plan is made of.

A plan covers demand day by day, so a forecast of weeks or months is split
into its days first: each day gets an equal share of its period's mean, and
each quantile's distance from the mean shrinks by the square root of the
period's days. The planner adds up daily variances (``service_level``), so this
split keeps every period's mean and spread where the forecast put them: at the
end of each week or month, the cumulative demand it plans for is the
forecast's. A weekly ``ds`` is the last day of its week (pandas' ``W-<day>``);
a monthly one the first (``MS``) or the last day (``ME``) of its month.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from planning.domain.demand import as_date

__all__ = ["daily_rows"]

_QUANTILE = re.compile(r"q\d+(\.\d+)?")
_WEEK = timedelta(days=7)


def _month_days(day: date) -> list[date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return [first + timedelta(days=n) for n in range((following - first).days)]


def _period_days(dates: list[date]) -> dict[date, list[date]] | None:
    """Each forecast date's days, or None when the dates are days already (or there is one)."""
    steps = {b - a for a, b in itertools.pairwise(dates)}
    if not steps or steps == {timedelta(days=1)}:
        return None
    if steps == {_WEEK}:
        return {d: [d - timedelta(days=n) for n in range(6, -1, -1)] for d in dates}
    if all(28 <= s.days <= 31 for s in steps) and (
        all(d.day == 1 for d in dates) or all((d + timedelta(days=1)).day == 1 for d in dates)
    ):
        return {d: _month_days(d) for d in dates}
    gaps = ", ".join(sorted(f"{s.days} days" for s in steps))
    raise ValueError(f"forecast periods are {gaps} apart: plans are made from daily, weekly or monthly forecasts")


def daily_rows(rows: Sequence[Mapping], columns: Sequence[str] | None = None) -> list[Mapping]:
    """``rows`` (``ds`` and numeric columns) split into daily rows when their periods are weeks or
    months; unchanged when they are days. ``columns``: the values to split (default ``mean`` and the
    quantiles ``q<p>``; ``("y",)`` splits actuals evenly)."""
    rows = list(rows)
    dates = sorted({as_date(row["ds"]) for row in rows})
    periods = _period_days(dates)
    if periods is None:
        return rows
    daily = []
    for row in rows:
        days = periods[as_date(row["ds"])]
        names = columns if columns is not None else [c for c in row if c == "mean" or _QUANTILE.fullmatch(c)]
        mean = float(row["mean"]) if "mean" in names else None
        shares = {}
        for name in names:
            value = float(row[name])
            if name == "mean" or mean is None:
                shares[name] = value / len(days)
            else:  # a quantile: the period's mean share plus its distance from the mean, scaled by 1/sqrt(days)
                shares[name] = max(mean / len(days) + (value - mean) / math.sqrt(len(days)), 0.0)
        daily += [{**row, **shares, "ds": day} for day in days]
    return daily
