"""Turn per-series quantile forecasts into the demand a plan must cover at a service level.

The planner covers *cumulative* demand: by the end of day d, production must
reach the service-level quantile of the family's demand over days 0..d, not
the sum of per-day quantiles (which over-covers the horizon) nor the mean
(which covers it about half the time).

Each series-day is summarised as a normal distribution: mean from ``mean``,
standard deviation from the widest central band the forecast carries
(``q_lo``, ``q_hi``). Series and days are treated as independent, so
variances add, except for one shared part: ``level_error``, the relative
error of the family's level that all its series and days share (a
department-wide lift the forecast missed). Through day d the family's
cumulative demand has variance ``sum of variances + (level_error * cumulative
mean)^2``. The forecaster measures ``level_error`` on its backtest windows
(``models.calibration.shared_level_error``); 0 is pure independence, which
under-covers families whose series move together. A family forecast as a
series of its own (a hierarchy's ``family`` level: ``planning.recommendation.plan_rows``)
is one row per day whose band was calibrated on the family's own errors, so it
already holds that shared part: it is planned with ``level_error`` 0.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist

from planning.domain.demand import Demand, as_date

__all__ = ["FamilyMoments", "band_columns", "family_bands", "family_moments", "service_level_demand"]

_QUANTILE = re.compile(r"q(\d+(?:\.\d+)?)$")


def band_columns(columns: Iterable[str]) -> tuple[str, str, float]:
    """The widest symmetric quantile pair in ``columns`` and the z-width between them."""
    quantiles = {float(m.group(1)): c for c in columns if (m := _QUANTILE.fullmatch(c))}
    pairs = [(lo, 100.0 - lo) for lo in quantiles if lo < 50.0 and (100.0 - lo) in quantiles]
    if not pairs:
        raise ValueError("the forecast has no symmetric quantile pair (e.g. q10 and q90) to measure its spread")
    lo, hi = min(pairs)
    z_width = NormalDist().inv_cdf(hi / 100.0) - NormalDist().inv_cdf(lo / 100.0)
    return quantiles[lo], quantiles[hi], z_width


@dataclass(frozen=True)
class FamilyMoments:
    """Per family and day, the mean and variance of demand (series summed as independent normals)."""

    days: tuple[date, ...]
    mean: dict[str, dict[date, float]]
    variance: dict[str, dict[date, float]]


def family_moments(rows: Iterable[Mapping], family_key: str = "family") -> FamilyMoments:
    """Each series-day as a normal distribution (mean from ``mean``, standard deviation from the
    widest central band), summed per family and day.

    Raises:
        ValueError: on no rows, a negative or non-finite value, or no quantile pair.
    """
    rows = list(rows)
    if not rows:
        raise ValueError("forecast has no rows")
    lo, hi, z_width = band_columns(rows[0].keys())
    mean: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    variance: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    days: set[date] = set()
    for row in rows:
        day, family = as_date(row["ds"]), str(row.get(family_key) or row["unique_id"])
        values = [float(row[c]) for c in ("mean", lo, hi)]
        if not all(math.isfinite(v) and v >= 0 for v in values):
            raise ValueError(f"forecast for {row['unique_id']} on {day} has a negative or non-finite value")
        sigma = max(0.0, values[2] - values[1]) / z_width
        mean[family][day] += values[0]
        variance[family][day] += sigma * sigma
        days.add(day)
    return FamilyMoments(tuple(sorted(days)), mean, variance)


def family_bands(
    moments: FamilyMoments, levels: Iterable[int] = (80, 95), level_error: float = 0.0
) -> list[tuple[str, date, float, dict[str, tuple[float, float]]]]:
    """Per family and day: the mean and each central band (percent level -> (low, high)) of the
    day's demand, with the family's shared level error, as the planner reads the forecast."""
    result = []
    for family in sorted(moments.mean):
        for day in moments.days:
            mean = moments.mean[family].get(day, 0.0)
            spread = math.sqrt(moments.variance[family].get(day, 0.0) + (level_error * mean) ** 2)
            bands = {}
            for level in levels:
                z = NormalDist().inv_cdf(0.5 + level / 200.0)
                bands[str(level)] = (max(0.0, mean - z * spread), mean + z * spread)
            result.append((family, day, mean, bands))
    return result


def service_level_demand(
    rows: Iterable[Mapping], service_level: float, family_key: str = "family", level_error: float = 0.0
) -> Demand:
    """Daily units whose running total is the ``service_level`` quantile of cumulative family demand.

    Args:
        rows: forecast rows with ``unique_id``, ``ds``, ``mean`` and a quantile pair such as
            ``q10``/``q90``; ``family`` when present (else each series is its own product).
        service_level: probability in (0, 1) that cumulative demand up to any day is covered.
        level_error: relative error of a family's level shared by its series and days, >= 0.

    Returns:
        Whole units per family and day; their cumulative sums are the rounded quantiles.
    """
    if not 0.0 < service_level < 1.0:
        raise ValueError(f"service level must be between 0 and 1, got {service_level}")
    if not (math.isfinite(level_error) and level_error >= 0):
        raise ValueError(f"level error must be a non-negative number, got {level_error}")
    moments = family_moments(rows, family_key)
    z = NormalDist().inv_cdf(service_level)
    units = {}
    for family, by_day in moments.mean.items():
        cumulative_mean = cumulative_variance = 0.0
        covered, daily = 0, []
        for day in moments.days:
            cumulative_mean += by_day.get(day, 0.0)
            cumulative_variance += moments.variance[family].get(day, 0.0)
            spread = math.sqrt(cumulative_variance + (level_error * cumulative_mean) ** 2)
            target = max(covered, round(cumulative_mean + z * spread))
            daily.append(target - covered)
            covered = target
        units[family] = tuple(daily)
    return Demand(moments.days, units)
