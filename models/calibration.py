"""Calibrated quantiles from out-of-sample errors: scaled split conformal prediction.

A point forecaster's errors on backtest windows, each divided by a scale, are
pooled across series and horizon steps; the empirical quantiles of these
scores, multiplied back by the scale of a new forecast, give its quantiles.
Pooling many windows and series is what makes the coverage hold: mlforecast's
per-series conformal intervals, built from two windows, covered 56-58% at 80%
on the M5 subset (docs/BENCHMARKS.md).

The scale has two parts:

- ``sqrt(forecast + floor)``: demand counts spread roughly like Poisson counts,
  whose standard deviation grows with the square root of the level; ``floor``
  (in demand units) keeps it positive where the forecast is zero.
- each series' own *dispersion*: how far its demand moves from one season to
  the next (the root mean square of its seasonal differences over the last
  year) relative to that Poisson spread, as a multiple of the panel's median
  series. A total moves in proportion to its level, not its square root; a
  store's total moves less than its items' counts suggest. How far a panel's
  errors follow it is learned on the calibration windows (``dispersion_power``;
  not at all on fewer than ``MIN_BUCKET_SERIES`` series). Without this, a
  panel mixing a total with its parts had one pooled scale: 80% bands covered
  51-57% of days at the top levels and 86-99% for the smallest series
  (``benchmarks.calibration_choice --levels``).

The scores are then pooled per *volume bucket*: series are ranked by their
mean demand over the last year and cut into up to ten buckets of at least
``MIN_BUCKET_SERIES`` series each, and each bucket gets its own offsets, so the
bands hold in every decile of series size, not just on average. A series the
calibration never saw is placed in a bucket by its forecast.

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

from features.frequency import frequency

__all__ = ["MIN_BUCKET_SERIES", "ScaledConformal", "calibration_profiles", "series_profile", "shared_level_error"]

# A bucket's offsets come from at least this many series, so that one series' bad month cannot set them.
MIN_BUCKET_SERIES = 20
MAX_BUCKETS = 10
# A series' dispersion is at least this share of the panel's median: an idle series has no seasonal
# differences to measure. No upper bound: a total's really is tens of times its items'.
_MIN_DISPERSION = 0.1


def series_profile(history: pd.DataFrame, season: int, year: int, floor: float = 1.0) -> pd.DataFrame:
    """Each series' volume and dispersion from its last ``year`` periods of ``unique_id, ds, y`` (sorted
    or not): ``volume`` is its mean demand per period, ``dispersion`` the root mean square of its
    differences over ``season`` periods divided by the Poisson spread ``sqrt(2 * (volume + floor))``,
    as a multiple of the median series' (at least ``_MIN_DISPERSION``). Indexed by ``unique_id``."""
    ordered = history[["unique_id", "ds", "y"]].sort_values(["unique_id", "ds"])
    ordered = ordered[ordered.groupby("unique_id", observed=True).cumcount(ascending=False) < year + season]
    ids = ordered["unique_id"].astype(str).to_numpy()
    last_year = ordered.groupby(ids).cumcount(ascending=False).to_numpy() < year
    y = ordered["y"].to_numpy(dtype=float)
    change = ordered.groupby(ids)["y"].diff(season).to_numpy()
    facts = pd.DataFrame({"unique_id": ids, "y": np.where(last_year, y, np.nan), "change2": change**2})
    facts = facts[last_year].groupby("unique_id").mean()
    volume = facts["y"].fillna(0.0)
    raw = np.sqrt(facts["change2"]) / np.sqrt(2.0 * (volume.clip(lower=0.0) + floor))
    median = float(raw.median()) if raw.notna().any() and raw.median() > 0 else 1.0
    dispersion = (raw / median).fillna(1.0).clip(lower=_MIN_DISPERSION)
    return pd.DataFrame({"volume": volume, "dispersion": dispersion})


def calibration_profiles(
    history: pd.DataFrame, first_cutoff: pd.Timestamp, freq: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each series' profile (``series_profile``, over a year of ``freq``) as it stood at the first calibration
    window's cut-off, which the offsets are learned with, so that the windows' own errors do not set their
    scale; and as it stands at the end of ``history``, which forecasts read."""
    period = frequency(freq)
    before = series_profile(history[history["ds"] <= first_cutoff], period.season, period.year)
    return before, series_profile(history, period.season, period.year)


def _bucket_edges(volumes: np.ndarray) -> tuple[float, ...]:
    """Volume thresholds between buckets of about equal series counts, at least ``MIN_BUCKET_SERIES`` each;
    each threshold is the smallest volume of the bucket above it, so ties never leave a bucket empty."""
    buckets = int(np.clip(len(volumes) // MIN_BUCKET_SERIES, 1, MAX_BUCKETS))
    inner = np.quantile(volumes, np.arange(1, buckets) / buckets)
    bucket = np.searchsorted(inner, volumes, side="right")
    lowest = pd.Series(volumes).groupby(bucket).min()
    return tuple(float(edge) for edge in lowest.iloc[1:])


@dataclass(frozen=True, eq=False)
class ScaledConformal:
    """Score quantiles learned from backtest errors; apply to new point forecasts.

    Attributes:
        quantiles: quantile levels in percent, ascending.
        offsets: per volume bucket, the score quantile for each level, ascending with it.
        volume_edges: the volumes between buckets, ascending (one fewer than ``offsets``).
        profile: each calibrated series' ``volume`` and ``dispersion`` (``series_profile``); empty
            when the calibration pooled all series on the Poisson scale alone.
        dispersion_power: the power of the dispersion in the scale (``_dispersion_power``): 1 when the
            series' errors grow in proportion to their dispersion, 0 when they do not follow it at all.
        floor: demand units added to the forecast before taking the square root.
        n_scores: how many errors the offsets were learned from.
    """

    quantiles: tuple[float, ...]
    offsets: tuple[tuple[float, ...], ...]
    volume_edges: tuple[float, ...]
    profile: pd.DataFrame
    dispersion_power: float
    floor: float
    n_scores: int

    @classmethod
    def fit(
        cls,
        actual: np.ndarray,
        forecast: np.ndarray,
        quantiles: Sequence[float],
        floor: float = 1.0,
        ids: Sequence[str] | np.ndarray | None = None,
        profile: pd.DataFrame | None = None,
    ) -> ScaledConformal:
        """Learn the offsets from paired actuals and out-of-sample point forecasts.

        Args:
            ids: each error's series; with ``profile`` (``series_profile`` of the training data), scores are
                scaled by each series' dispersion and pooled per volume bucket. Without them, one pool.
        """
        actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
        if actual.shape != forecast.shape or actual.ndim != 1:
            raise ValueError("actual and forecast must be 1-d arrays of the same length")
        if floor <= 0:
            raise ValueError("floor must be positive")
        if (ids is None) != (profile is None):
            raise ValueError("per-series calibration needs both the errors' series ids and their profile")
        usable = np.isfinite(actual) & np.isfinite(forecast)
        if not usable.any():
            raise ValueError("no finite backtest errors to calibrate on")
        levels = tuple(sorted(float(q) for q in quantiles))
        if profile is None:
            profile = pd.DataFrame({"volume": [], "dispersion": []}, index=pd.Index([], name="unique_id"))
            ids = None
        else:
            ids = np.asarray(ids).astype(str)[usable]
            profile = profile.loc[profile.index.isin(np.unique(ids))]
        edges = _bucket_edges(profile["volume"].to_numpy()) if len(profile) else ()
        errors = actual[usable] - forecast[usable]
        power = _dispersion_power(errors / _scale(forecast[usable], floor, profile, None, 0.0), ids, profile)
        scores = errors / _scale(forecast[usable], floor, profile, ids, power)
        bucket = _buckets(forecast[usable], edges, profile, ids)
        offsets = tuple(_score_quantiles(scores[bucket == b], levels) for b in range(len(edges) + 1))
        return cls(levels, offsets, edges, profile, power, float(floor), int(usable.sum()))

    def apply(self, forecast: np.ndarray, ids: Sequence[str] | np.ndarray | None = None) -> dict[float, np.ndarray]:
        """Quantiles of each point forecast, by level: non-negative and never crossing.

        Args:
            ids: each forecast's series, for its dispersion and volume bucket; a series the calibration
                did not see (or no ids) gets the median dispersion and the bucket of its forecast's size.
        """
        forecast = np.asarray(forecast, dtype=float)
        ids = None if ids is None else np.asarray(ids).astype(str)
        scale = _scale(forecast, self.floor, self.profile, ids, self.dispersion_power)
        offsets = np.asarray(self.offsets)[_buckets(forecast, self.volume_edges, self.profile, ids)]
        return {
            quantile: np.clip(forecast + offsets[:, position] * scale, 0.0, None)
            for position, quantile in enumerate(self.quantiles)
        }


def _scale(
    forecast: np.ndarray, floor: float, profile: pd.DataFrame, ids: np.ndarray | None, power: float
) -> np.ndarray:
    """Each forecast's score scale: the Poisson spread of its level times its series' dispersion to ``power``."""
    scale = np.sqrt(np.clip(forecast, 0.0, None) + floor)
    if ids is None or profile.empty or power == 0.0:
        return scale
    return scale * profile["dispersion"].reindex(ids).fillna(1.0).to_numpy() ** power


def _dispersion_power(scores: np.ndarray, ids: np.ndarray | None, profile: pd.DataFrame) -> float:
    """How far the series' errors follow their dispersion: the slope of the log of each series' error
    spread (root mean square of its Poisson-scaled errors) on the log of its dispersion, within [0, 1].

    History's dispersion counts every move a series makes, also those the model explains (a promotion,
    a price cut), so it is a scale only as far as the errors follow it: a total beside its items misses
    in proportion to it (slope near 1), series whose moves the model foresees do not (near 0). One
    slope over all series learns little from the calibration windows they are then scored on."""
    if ids is None or profile.empty:
        return 0.0
    spread = np.sqrt(pd.Series(scores**2).groupby(ids).mean())
    dispersion = profile["dispersion"].reindex(spread.index)
    usable = (spread > 0) & (dispersion > 0)
    x, y = np.log(dispersion[usable].to_numpy()), np.log(spread[usable].to_numpy())
    # A slope from fewer series than a bucket holds is noise: on 12 series and two weeks of windows the
    # bands covered 69-92% of the following weeks against 76-86% pooled.
    if usable.sum() < MIN_BUCKET_SERIES or np.var(x) == 0.0:
        return 0.0
    return float(np.clip(np.cov(x, y, bias=True)[0, 1] / np.var(x), 0.0, 1.0))


def _buckets(
    forecast: np.ndarray, edges: tuple[float, ...], profile: pd.DataFrame, ids: np.ndarray | None
) -> np.ndarray:
    """Each forecast's volume bucket: its series' volume, or its own size for a series the profile lacks."""
    volume = np.clip(forecast, 0.0, None)
    if ids is not None and not profile.empty:
        known = profile["volume"].reindex(ids).to_numpy()
        volume = np.where(np.isnan(known), volume, known)
    return np.searchsorted(edges, volume, side="right")


def _score_quantiles(scores: np.ndarray, levels: Sequence[float]) -> tuple[float, ...]:
    # Rounding each quantile away from the median is the finite-sample
    # correction of split conformal: bands err on the wide side.
    offsets = [float(np.quantile(scores, q / 100.0, method="higher" if q >= 50.0 else "lower")) for q in levels]
    return tuple(float(o) for o in np.maximum.accumulate(offsets))


def shared_level_error(errors: pd.DataFrame, calibration: ScaledConformal, coverage: float = 0.95) -> float:
    """The relative error of a group's level, shared by its series and days, that the
    cumulative quantile needs to reach ``coverage`` on backtest windows.

    The planner (``planning.service_level``) summarises each series-day as a normal
    distribution whose spread comes from the widest band; through day d it covers
    ``mean + z * sqrt(sum of variances + (k * mean)^2)`` of the group's cumulative
    demand. This returns the smallest ``k`` for which that holds on ``coverage`` of
    the (group, window, day) points of the backtest.

    Args:
        errors: backtest rows ``group, window, ds, y, forecast`` (one per series and day), and
            ``unique_id`` for a per-series calibration.
        calibration: the calibration whose bands the planner will see.
        coverage: the share of points to cover.
    """
    if errors.empty:
        return 0.0
    forecast = errors["forecast"].to_numpy(dtype=float)
    bands = calibration.apply(forecast, errors["unique_id"].to_numpy() if "unique_id" in errors else None)
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
