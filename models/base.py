"""The forecaster contract and the forecast frame.

Forecast frame: one row per series per future period with columns
``unique_id, ds, mean`` and one ``q<p>`` column per quantile, ``p`` in
percent (``q10, q50, q90`` for an 80% band). Values are units per period,
non-negative, and quantiles never cross.
"""

from __future__ import annotations

import pickle
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset
from sklearn.base import BaseEstimator

from features.blanks import Blank, BlankFill
from features.frequency import frequency
from features.pipeline import infer_frequency
from models.future import (
    FutureValuesError,
    as_forecast_time,
    baseline_future,
    check_future,
    check_future_at,
    usual_values,
)
from models.history import HistoryError, extend_history, forecast_index

__all__ = [
    "Forecaster",
    "FutureValuesError",
    "HistoryError",
    "NotFittedError",
    "forecast_frame",
    "interval_quantiles",
    "quantile_columns",
    "recent_history",
    "to_forecast_frame",
]


def recent_history(panel: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Actual demand of the panel's last periods (``features.frequency``: eight weeks of days, two of
    hours, half a year of weeks, two years of months): ``unique_id, ds, y``, sorted."""
    first = panel["ds"].max() - to_offset(freq) * (frequency(freq).recent - 1)
    recent = panel.loc[panel["ds"] >= first, ["unique_id", "ds", "y"]]
    return recent.astype({"unique_id": str}).sort_values(["unique_id", "ds"], ignore_index=True)


class NotFittedError(RuntimeError):
    """``predict`` was called before ``fit``."""


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


class Forecaster(BaseEstimator, ABC):
    """Base class in scikit-learn's shape: configuration in ``__init__``, learning in ``fit``,
    no I/O in either.

    ``__init__`` only stores its keyword arguments, unchecked and unchanged, so that
    ``get_params``, ``set_params`` and ``sklearn.base.clone`` work; ``fit`` checks them
    (``_check_params``), forgets any earlier fit and learns. Learned state ends in ``_``.
    """

    #: Central interval levels (percent) the forecaster reports; every concrete class
    #: takes ``levels`` as a parameter, so ``get_params`` reads the instance's own.
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

    @property
    def observed_only_(self) -> dict[str, float]:
        """Those of ``exogenous_`` known only after their period, with the value a forecast assumes."""
        return {}

    @property
    def blank_fills_(self) -> dict[str, BlankFill]:
        """What an empty value of each of ``exogenous_`` means (``features.blanks``), the rule its training
        followed: ``predict`` refuses one where it is ``refuse``, and the model fills the others as it did in
        training. A forecaster reading them through a ``FeatureSpec`` (``features_``) takes its policies;
        without one, every blank is refused."""
        features = getattr(self, "features_", None)
        if features is not None:
            return features.blank_fills
        return dict.fromkeys(self.exogenous_, Blank.REFUSE)

    def forecast_periods(self, horizon: int) -> pd.DatetimeIndex:
        """The ``horizon`` periods after the end of the training panel."""
        return pd.date_range(self.last_ds_, periods=horizon + 1, freq=self.freq_)[1:]

    def known_future(self, rows: pd.DataFrame) -> pd.DataFrame | None:
        """From rows that carry the known-future columns (e.g. a backtest's test periods), the
        ``future`` argument of ``predict`` as it could have been written before those periods:
        ``unique_id, ds`` and ``exogenous_``, observed-only columns (a stockout) at the value a
        forecast assumes (``models.future.as_forecast_time``); None when it reads none."""
        if not self.exogenous_:
            return None
        return as_forecast_time(rows[["unique_id", "ds", *self.exogenous_]], self.observed_only_)

    def baseline_future(self, horizon: int, ids: list[str] | None = None) -> pd.DataFrame:
        """A scenario for the known-future columns when the caller has none: each series'
        most frequent value over its last periods (regular price, no promotion),
        kept at fit in ``usual_exogenous_`` (index ``unique_id``, one column per exogenous column)."""
        if not self.exogenous_:
            raise ValueError("this model uses no known-future values")
        return baseline_future(
            self.series_ids_ if ids is None else list(ids), self.forecast_periods(horizon), self.usual_exogenous_
        )

    def _min_history(self) -> int:
        """Fewest periods a series needs for this forecaster; shorter ones go to the cold-start fallback."""
        return 1

    @abstractmethod
    def _cold_start_forecaster(self) -> Forecaster:
        """A new, unfitted forecaster for the series shorter than ``_min_history()``."""

    def _check_params(self) -> None:
        """Refuse invalid parameters with a ValueError; called first thing in ``fit``."""

    def _forget_fit(self) -> None:
        """Drop the learned state (attributes ending in ``_``) of an earlier ``fit``."""
        for name in [name for name in vars(self) if name.endswith("_") and not name.startswith("__")]:
            delattr(self, name)

    def fit(
        self,
        panel: pd.DataFrame,
        freq: str | None = None,
        engine: Callable[[Forecaster, pd.DataFrame], None] | None = None,
    ) -> Forecaster:
        """Learn from a validated panel (``unique_id, ds, y`` + static and exogenous columns),
        starting from scratch: nothing learned by an earlier ``fit`` survives.

        Series shorter than the forecaster's minimum history (new items) are
        forecast by a cold-start fallback fit on them alone, the forecaster the
        concrete class names in ``_cold_start_forecaster``; ``freq`` is the panel's frequency
        when the caller knows it (the fallback's panel may not show it). ``cold_start_ids_``
        lists them; ``cold_start_`` is the fitted fallback when there are any.

        ``engine`` does the ``_fit`` step in its place (``models.distributed``: on a Dask cluster);
        it is not a hyper-parameter and is not kept, so a fitted forecaster holds no cluster.
        """
        self._check_params()
        missing = {"unique_id", "ds", "y"} - set(panel.columns)
        if missing:
            raise ValueError(f"panel is missing columns: {sorted(missing)}")
        self._forget_fit()
        # A fallback fit on new items alone may hold only single-row series, which show no frequency.
        self.freq_ = freq or infer_frequency(panel)
        lengths = panel.groupby("unique_id").size()
        self.cold_start_ids_ = sorted(str(i) for i in lengths.index[lengths < self._min_history()])
        if len(self.cold_start_ids_) == len(lengths):
            raise ValueError(
                f"every series is shorter than the {self._min_history()} periods {type(self).__name__} needs"
            )
        cold = panel["unique_id"].astype(str).isin(self.cold_start_ids_)
        if cold.any():
            self.cold_start_ = self._cold_start_forecaster().fit(panel[cold], freq=self.freq_)
        (engine or type(self)._fit)(self, panel[~cold])
        self.usual_exogenous_ = usual_values(panel, self.exogenous_, assumed=self.observed_only_)
        self.series_ids_ = sorted(panel["unique_id"].astype(str).unique())
        self.last_ds_ = pd.Timestamp(panel["ds"].max())
        self.recent_history_ = recent_history(panel, self.freq_)
        return self

    def predict(
        self,
        horizon: int,
        ids: Sequence[str] | None = None,
        future: pd.DataFrame | None = None,
        history: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Forecast ``horizon`` periods after the end of the training panel, or after each series'
        latest actual in ``history``.

        Args:
            horizon: number of future periods, >= 1.
            ids: series to forecast; all series when None.
            future: known-future values, ``unique_id, ds`` and each column of
                ``exogenous_``, one row per forecast series and period; needed
                exactly when ``exogenous_`` is not empty, except with ``history``,
                where None means the baseline scenario (``usual_exogenous_``). An
                empty value is read as in training (``blank_fills_``): refused, or
                filled the same way.
            history: actuals newer than the training panel (``unique_id, ds, y``)
                of series in ``ids``: the forecast starts after them, without
                refitting (``_predict_from``). A series the model does not know
                may come with its actuals alone: the cold-start method forecasts it.

        Raises:
            FutureValuesError: when ``future`` is missing, incomplete, has other columns or an empty
                value where the column's blank policy refuses it.
            HistoryError: when ``history`` cannot continue the model's data.

        Returns:
            The forecast frame, sorted by ``unique_id, ds``.
        """
        self._check_predictable(horizon)
        wanted = self.series_ids_ if ids is None else list(dict.fromkeys(str(i) for i in ids))
        if history is not None:
            return self._predict_after(horizon, wanted, future, history)
        checked = check_future(future, self.exogenous_, wanted, self.forecast_periods(horizon), self.blank_fills_)
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

    def _check_predictable(self, horizon: int) -> None:
        """Refuse a forecast before ``fit`` or of a horizon the forecaster cannot make."""
        if not hasattr(self, "series_ids_"):
            raise NotFittedError(f"{type(self).__name__} must be fit before predict")
        if horizon < 1:
            raise ValueError("horizon must be at least 1")
        if self.max_horizon is not None and horizon > self.max_horizon:
            raise ValueError(f"horizon {horizon} is longer than the maximum {self.max_horizon}")

    def _predict_after(
        self, horizon: int, ids: list[str], future: pd.DataFrame | None, history: pd.DataFrame
    ) -> pd.DataFrame:
        extended = extend_history(self.recent_history_, history, ids, self.freq_)
        lengths = extended.groupby("unique_id").size()
        if missing := [i for i in ids if i not in lengths.index]:
            raise HistoryError(f"series {missing[0]!r} is unknown to the model and has no actuals", "unique_id")
        expected = forecast_index(extended, horizon, self.freq_)
        # The baseline is the model's own: empty only for series it does not know, whose cold-start
        # forecast reads no exogenous values; a caller's blanks are refused where the policy says.
        blanks = self.blank_fills_
        if future is None and self.exogenous_:
            future, blanks = baseline_future(ids, expected, self.usual_exogenous_), None
        checked = check_future_at(future, self.exogenous_, expected, self.freq_, blanks)
        warm_ids = set(self.series_ids_) - set(self.cold_start_ids_)
        warm = extended["unique_id"].isin(warm_ids)
        frames = []
        if warm.any():
            warm_future = None if checked is None else checked[checked["unique_id"].isin(warm_ids)]
            frames.append(self._predict_from(extended[warm], horizon, warm_future))
        if not warm.all():
            cold = extended[~warm]
            if (short := lengths.reindex(cold["unique_id"].unique()) < 2).any():
                raise HistoryError(
                    f"series {short.idxmax()!r} is new to the model: its cold-start method needs at least 2 actuals",
                    "unique_id",
                )
            frames.append(self._cold_start_forecaster().fit(cold, freq=self.freq_).predict(horizon))
        return pd.concat(frames, ignore_index=True).sort_values(["unique_id", "ds"], ignore_index=True)

    def _predict_from(self, history: pd.DataFrame, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
        """Forecast ``horizon`` periods after each series' last row of ``history`` (``unique_id, ds, y``,
        every series known to the model and long enough for it), without refitting."""
        raise HistoryError(f"{type(self).__name__} cannot start a forecast from newer actuals")

    def use_threads(self, threads: int) -> None:
        """Predict with ``threads`` threads (0: all cores) from now on, without refitting; a service
        running several workers gives each one thread so that they do not fight over the cores.
        Forecasters that predict on one thread ignore it."""

    def to_bytes(self) -> bytes:
        """The fitted forecaster serialised (pickle); the caller decides where it is stored."""
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def from_bytes(data: bytes) -> Forecaster:
        forecaster = pickle.loads(data)
        if not isinstance(forecaster, Forecaster):
            raise TypeError("the data does not hold a Forecaster")
        return forecaster
