"""The forecaster contract and the forecast frame.

Forecast frame: one row per series per future period with columns
``unique_id, ds, mean`` and one ``q<p>`` column per quantile, ``p`` in
percent (``q10, q50, q90`` for an 80% band). Values are units per period,
non-negative, and quantiles never cross.
"""

from __future__ import annotations

import pickle
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import pandas as pd

from features.pipeline import infer_frequency
from features.validation import AVAILABILITY_COLUMN

__all__ = [
    "Forecaster",
    "FutureValuesError",
    "NotFittedError",
    "forecast_frame",
    "interval_quantiles",
    "quantile_columns",
    "to_forecast_frame",
]

_KEYS = ["unique_id", "ds"]


class NotFittedError(RuntimeError):
    """``predict`` was called before ``fit``."""


class FutureValuesError(ValueError):
    """The known-future values given to ``predict`` do not fit the model or the horizon.

    ``column`` names the offending column when there is one.
    """

    def __init__(self, message: str, column: str | None = None):
        super().__init__(message)
        self.column = column


def interval_quantiles(levels: Sequence[float]) -> tuple[float, ...]:
    """The quantiles (in percent) bounding each central interval, with the median, ascending."""
    quantiles = {50.0}
    for level in levels:
        if not 0.0 < level < 100.0:
            raise ValueError(f"interval level must be between 0 and 100 percent, got {level}")
        quantiles |= {50.0 - level / 2.0, 50.0 + level / 2.0}
    return tuple(sorted(quantiles))


def _name(quantile: float) -> str:
    return f"q{quantile:g}"


def quantile_columns(levels: Sequence[float]) -> list[str]:
    """Forecast-frame quantile column names for the given interval levels, ascending."""
    return [_name(q) for q in interval_quantiles(levels)]


def forecast_frame(keys: pd.DataFrame, mean: np.ndarray, quantiles: dict[float, np.ndarray]) -> pd.DataFrame:
    """The forecast frame from ``unique_id, ds`` keys, point forecasts and quantiles by level
    (percent): clipped at zero, quantiles sorted per row so they never cross."""
    frame = keys[["unique_id", "ds"]].copy()
    frame["ds"] = pd.to_datetime(frame["ds"])
    frame["unique_id"] = frame["unique_id"].astype(str)
    frame["mean"] = np.asarray(mean, dtype=float).clip(min=0.0)
    ordered = sorted(quantiles)
    values = np.sort(np.column_stack([quantiles[q] for q in ordered]).astype(float).clip(min=0.0), axis=1)
    for position, quantile in enumerate(ordered):
        frame[_name(quantile)] = values[:, position]
    return frame.reset_index(drop=True)


def to_forecast_frame(raw: pd.DataFrame, model: str, levels: Sequence[float]) -> pd.DataFrame:
    """Turn Nixtla-style output (``<model>``, ``<model>-lo-<level>``, ``<model>-hi-<level>``)
    into the forecast frame. The point forecast is the median: the bands of these
    models are symmetric around it."""
    mean = raw[model].to_numpy(dtype=float)
    quantiles: dict[float, np.ndarray] = {50.0: mean}
    for level in levels:
        quantiles[50.0 - level / 2.0] = raw[f"{model}-lo-{level:g}"].to_numpy(dtype=float)
        quantiles[50.0 + level / 2.0] = raw[f"{model}-hi-{level:g}"].to_numpy(dtype=float)
    return forecast_frame(raw, mean, quantiles)


class Forecaster(ABC):
    """Base class: configuration in ``__init__``, learning in ``fit``, no I/O in either."""

    #: Central interval levels (percent) the forecaster reports.
    levels: tuple[int, ...] = (80,)

    @property
    def max_horizon(self) -> int | None:
        """The longest horizon ``predict`` accepts; None when unbounded."""
        return None

    @abstractmethod
    def _fit(self, panel: pd.DataFrame) -> None: ...

    @abstractmethod
    def _predict(self, horizon: int, ids: list[str] | None, future: pd.DataFrame | None) -> pd.DataFrame: ...

    @property
    def exogenous_(self) -> tuple[str, ...]:
        """Known-future columns ``predict`` needs values of; none unless a subclass uses them."""
        return ()

    def forecast_periods(self, horizon: int) -> pd.DatetimeIndex:
        """The ``horizon`` periods after the end of the training panel."""
        return pd.date_range(self.last_ds_, periods=horizon + 1, freq=self.freq_)[1:]

    def baseline_future(self, horizon: int, ids: list[str] | None = None) -> pd.DataFrame:
        """A scenario for the known-future columns when the caller has none: each series'
        most frequent value over its last periods (regular price, no promotion),
        kept at fit in ``usual_exogenous_`` (index ``unique_id``, one column per exogenous column)."""
        if not self.exogenous_:
            raise ValueError("this model uses no known-future values")
        ids = self.series_ids_ if ids is None else list(ids)
        periods = self.forecast_periods(horizon)
        keys = pd.MultiIndex.from_product([ids, periods], names=["unique_id", "ds"]).to_frame(index=False)
        return keys.join(self.usual_exogenous_, on="unique_id")

    def _checked_future(self, future: pd.DataFrame | None, horizon: int, ids: list[str]) -> pd.DataFrame | None:
        needed = list(self.exogenous_)
        if not needed:
            if future is not None and (extra := [c for c in future.columns if c not in _KEYS]):
                raise FutureValuesError(f"unknown exogenous column {extra[0]!r}: this model uses none", extra[0])
            return None
        if future is None:
            raise FutureValuesError(f"this model needs the future values of {', '.join(needed)} for every forecast period")
        for column in [*_KEYS, *needed]:
            if column not in future.columns:
                raise FutureValuesError(f"missing column {column!r}", column)
        for column in future.columns:
            if column not in _KEYS and column not in needed:
                raise FutureValuesError(f"unknown exogenous column {column!r}; this model uses {', '.join(needed)}", column)
        given = future[[*_KEYS, *needed]].copy()
        given["unique_id"] = given["unique_id"].astype(str)
        given["ds"] = pd.to_datetime(given["ds"], errors="coerce")
        if given["ds"].isna().any():
            raise FutureValuesError("ds: not a date", "ds")
        for column in needed:
            values = pd.to_numeric(given[column], errors="coerce")
            if (values.isna() & given[column].notna()).any() or np.isinf(values).any():
                raise FutureValuesError(f"{column}: values must be numbers", column)
            given[column] = values.astype(float)
        expected = pd.MultiIndex.from_product([ids, self.forecast_periods(horizon)], names=_KEYS)
        index = pd.MultiIndex.from_frame(given[_KEYS])
        if index.has_duplicates:
            uid, ds = index[index.duplicated()][0]
            raise FutureValuesError(f"two rows for series {uid!r} on {ds.date()}", "ds")
        if len(missing := expected.difference(index)):
            uid, ds = missing[0]
            raise FutureValuesError(f"{len(missing)} forecast periods have no values, first: series {uid!r} on {ds.date()}", "ds")
        if len(extra := index.difference(expected)):
            uid, ds = extra[0]
            raise FutureValuesError(f"{len(extra)} rows are outside the forecast, first: series {uid!r} on {ds.date()}", "ds")
        return given.sort_values(_KEYS, ignore_index=True)

    def _min_history(self) -> int:
        """Fewest periods a series needs for this forecaster; shorter ones go to the cold-start fallback."""
        return 1

    def fit(self, panel: pd.DataFrame) -> "Forecaster":
        """Learn from a validated panel (``unique_id, ds, y`` + static and exogenous columns).

        Series shorter than the forecaster's minimum history (new items) are
        forecast by a cold-start fallback fit on them alone: statsforecast's
        historic average with its normal bands. ``cold_start_ids_`` lists them.
        """
        missing = {"unique_id", "ds", "y"} - set(panel.columns)
        if missing:
            raise ValueError(f"panel is missing columns: {sorted(missing)}")
        self.freq_ = infer_frequency(panel)
        lengths = panel.groupby("unique_id").size()
        self.cold_start_ids_ = sorted(str(i) for i in lengths.index[lengths < self._min_history()])
        if len(self.cold_start_ids_) == len(lengths):
            raise ValueError(f"every series is shorter than the {self._min_history()} periods {type(self).__name__} needs")
        cold = panel["unique_id"].astype(str).isin(self.cold_start_ids_)
        if cold.any():
            from models.baselines import LocalForecaster

            self.cold_start_ = LocalForecaster("historic_average", levels=self.levels).fit(panel[cold])
        self._fit(panel[~cold])
        self.usual_exogenous_ = _usual_values(panel, self.exogenous_)
        self.series_ids_ = sorted(panel["unique_id"].astype(str).unique())
        self.last_ds_ = pd.Timestamp(panel["ds"].max())
        return self

    def predict(
        self, horizon: int, ids: Sequence[str] | None = None, future: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Forecast ``horizon`` periods after the end of the training panel.

        Args:
            horizon: number of future periods, >= 1.
            ids: series to forecast; all series when None.
            future: known-future values, ``unique_id, ds`` and each column of
                ``exogenous_``, one row per forecast series and period; needed
                exactly when ``exogenous_`` is not empty.

        Raises:
            FutureValuesError: when ``future`` is missing, incomplete or has other columns.

        Returns:
            The forecast frame, sorted by ``unique_id, ds``.
        """
        if not hasattr(self, "series_ids_"):
            raise NotFittedError(f"{type(self).__name__} must be fit before predict")
        if horizon < 1:
            raise ValueError("horizon must be at least 1")
        if self.max_horizon is not None and horizon > self.max_horizon:
            raise ValueError(f"horizon {horizon} is longer than the maximum {self.max_horizon}")
        wanted = self.series_ids_ if ids is None else list(dict.fromkeys(str(i) for i in ids))
        checked = self._checked_future(future, horizon, wanted)
        cold_ids = set(self.cold_start_ids_)
        cold = [i for i in wanted if i in cold_ids]
        warm = [i for i in wanted if i not in cold_ids]
        frames = []
        if warm:
            warm_future = None if checked is None else checked[checked["unique_id"].isin(warm)]
            frames.append(self._predict(horizon, None if ids is None and not cold else warm, warm_future))
        if cold:
            frames.append(self.cold_start_.predict(horizon, ids=cold))
        return pd.concat(frames, ignore_index=True).sort_values(["unique_id", "ds"], ignore_index=True)

    def to_bytes(self) -> bytes:
        """The fitted forecaster serialised (pickle); the caller decides where it is stored."""
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def from_bytes(data: bytes) -> "Forecaster":
        forecaster = pickle.loads(data)
        if not isinstance(forecaster, Forecaster):
            raise TypeError("the data does not hold a Forecaster")
        return forecaster


# Known-future values of a series are usually what they were lately; availability is the exception.
_ALWAYS_IN_STOCK = 1.0


def _usual_values(panel: pd.DataFrame, columns: tuple[str, ...], periods: int = 28) -> pd.DataFrame:
    """Per series, each column's most frequent value over its last ``periods`` rows (smallest
    on ties); items are assumed in stock."""
    ids = pd.Index(sorted(panel["unique_id"].astype(str).unique()), name="unique_id")
    if not columns:
        return pd.DataFrame(index=ids)
    recent = panel.sort_values("ds").groupby("unique_id", sort=True).tail(periods)
    usual = recent.groupby(recent["unique_id"].astype(str))[list(columns)].agg(
        lambda values: values.mode().min() if values.notna().any() else float("nan")
    )
    if AVAILABILITY_COLUMN in usual.columns:
        usual[AVAILABILITY_COLUMN] = _ALWAYS_IN_STOCK
    return usual.rename_axis("unique_id")
