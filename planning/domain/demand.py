"""Demand the planner must cover: units per product family per day."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

__all__ = ["Demand", "as_date", "demand_from_forecast"]


@dataclass(frozen=True)
class Demand:
    """Whole units per family per day over consecutive ``days``.

    ``units[family][d]`` is the demand of day ``days[d]``.
    """

    days: tuple[date, ...]
    units: Mapping[str, tuple[int, ...]]

    def __post_init__(self) -> None:
        for family, values in self.units.items():
            if len(values) != len(self.days):
                raise ValueError(f"demand of {family} has {len(values)} days, expected {len(self.days)}")
            if any(v < 0 for v in values):
                raise ValueError(f"demand of {family} is negative")
        if any(b - a != timedelta(days=1) for a, b in zip(self.days, self.days[1:])):
            raise ValueError("demand days must be consecutive")

    @property
    def families(self) -> list[str]:
        return sorted(self.units)


def as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def demand_from_forecast(rows: Iterable[Mapping], column: str = "mean", family_key: str = "family") -> Demand:
    """Sum forecast rows (``ds``, ``family`` or ``unique_id``, ``column``) into family demand.

    Rows without a family count as their own product (``unique_id``). Daily
    sums are rounded to whole units.
    """
    totals: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    days: set[date] = set()
    for row in rows:
        day = as_date(row["ds"])
        value = float(row[column])
        if not math.isfinite(value) or value < 0:
            where = f"{column}={row[column]!r} for {row.get('unique_id')} on {day}"
            raise ValueError(f"forecast value {where} is not a non-negative number")
        family = row.get(family_key) or row["unique_id"]
        totals[str(family)][day] += value
        days.add(day)
    ordered = tuple(sorted(days))
    if not ordered:
        raise ValueError("forecast has no rows")
    return Demand(
        ordered, {family: tuple(round(by_day.get(d, 0.0)) for d in ordered) for family, by_day in totals.items()}
    )
