"""Global LightGBM forecaster on mlforecast features, with calibrated quantiles."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import lightgbm as lgb
import numpy as np
import pandas as pd
from mlforecast import MLForecast
from pandas.tseries.frequencies import to_offset

from features.frequency import frequency
from features.gaps import OBSERVED_WEIGHT, fill_unobserved
from features.pipeline import FeatureSpec, future_frame, price_references, static_columns, training_frame
from models.base import Forecaster, forecast_frame, interval_quantiles
from models.baselines import cold_start_fallback
from models.calibration import ScaledConformal, calibration_profiles, shared_level_error
from models.future import as_forecast_time

__all__ = ["LightGBMForecaster"]

_MODEL = "lgbm"


# A dataclass writes the scikit-learn __init__ (store each parameter, nothing else) from the fields.
@dataclass(eq=False, repr=False)
class LightGBMForecaster(Forecaster):
    """One LightGBM model across all series, forecasting recursively.

    The defaults below are the production model's settings, written only here: the
    training job (``training.train.TrainConfig``) overrides what it sets and the
    tuning benchmark (``benchmarks.tune``) starts from ``get_params()``.

    Args:
        horizon: the longest horizon the quantiles are calibrated for;
            ``predict`` refuses longer ones.
        features: lag, rolling and date features (``features.pipeline``); None
            takes the standard set for the panel's frequency.
        objective: LightGBM objective; tweedie suits non-negative, zero-heavy counts.
        n_estimators, learning_rate, num_leaves, min_child_samples, subsample,
            colsample_bytree, reg_lambda, tweedie_variance_power: LightGBM
            hyper-parameters (the last only for the tweedie objective).
        levels: central interval levels in percent; the forecast carries the
            quantiles bounding each, and the median.
        calibration_windows: back-to-back backtest windows of ``horizon``
            periods before the end of the panel whose errors calibrate the
            quantiles (``models.calibration``); fewer when history is short.
            The same windows measure ``family_level_error_``, the relative
            error of a product family's level that its series share, which
            the planner adds to the per-series spread.
        min_history: fewest periods a series needs for the global model;
            shorter series (new items) get the cold-start fallback
            (``models.baselines.cold_start_fallback``). None: one weekly cycle
            of daily data (7), one daily cycle of hourly data (24).
        strategy: "recursive" (one model, each step's forecast feeds the next
            step's lags) or "direct" (one model per horizon step, mlforecast's
            ``max_horizon``; ``horizon`` times the training cost).
        seed: LightGBM random seed.
        num_threads: LightGBM threads (0 = all cores).
    """

    horizon: int = 28
    features: FeatureSpec | None = None
    objective: str = "tweedie"
    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 63
    min_child_samples: int = 20
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 0.0
    tweedie_variance_power: float = 1.5
    levels: tuple[int, ...] = (80, 95)
    calibration_windows: int = 4
    min_history: int | None = None
    strategy: str = "recursive"
    seed: int = 0
    num_threads: int = 0

    def _check_params(self) -> None:
        if self.strategy not in ("recursive", "direct"):
            raise ValueError(f"strategy must be 'recursive' or 'direct', got {self.strategy!r}")

    def _cold_start_forecaster(self) -> Forecaster:
        return cold_start_fallback(self.levels)

    def _create_model(self) -> lgb.LGBMRegressor:
        return lgb.LGBMRegressor(
            objective=self.objective,
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            **({"tweedie_variance_power": self.tweedie_variance_power} if self.objective == "tweedie" else {}),
            random_state=self.seed,
            n_jobs=self.num_threads,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )

    def _mlforecast(self) -> MLForecast:
        kwargs = self.features_.mlforecast_kwargs(self.freq_)
        return MLForecast(models={_MODEL: self._create_model()}, freq=self.freq_, **kwargs)

    def _calibration_windows(self, frame: pd.DataFrame) -> int:
        """As many windows as the longest series leaves room for after the longest lag."""
        longest = int(frame.groupby("unique_id", observed=True).size().max())
        room = (longest - max(self.features_.lags) - self.horizon) // self.horizon
        if room < 1:
            period, needed = frequency(self.freq_), max(self.features_.lags) + 2 * self.horizon
            raise ValueError(
                f"the longest series has {period.units(longest)}; calibrating a horizon of "
                f"{period.units(self.horizon)} needs at least {period.units(needed)}"
            )
        return min(self.calibration_windows, room)

    def _min_history(self) -> int:
        if self.min_history is not None:
            return self.min_history
        return frequency(self.freq_).min_history

    @property
    def exogenous_(self) -> tuple[str, ...]:
        return self.features_.exogenous or ()

    @property
    def observed_only_(self) -> dict[str, float]:
        return self.features_.assumed_values

    def _calibration_errors(self, frame: pd.DataFrame, statics: list[str]) -> pd.DataFrame:
        # Out-of-sample errors of a model fit before the windows, each window
        # forecast from the true history before it, as at serving time.
        windows = self._calibration_windows(frame)
        errors = self._mlforecast().cross_validation(
            self._calibration_frame(frame, windows),
            n_windows=windows,
            h=self.horizon,
            refit=False,
            static_features=statics,
            max_horizon=self._max_horizon_models(),
            weight_col=_weight_column(frame),
        )
        if _weight_column(frame) is None:
            return errors
        # An unobserved period has no error: its "actual" is the filled value.
        observed = frame.loc[frame[OBSERVED_WEIGHT] > 0, ["unique_id", "ds"]]
        return errors.merge(observed.astype({"unique_id": errors["unique_id"].dtype}), on=["unique_id", "ds"])

    def _calibration_frame(self, frame: pd.DataFrame, windows: int) -> pd.DataFrame:
        """The training frame as the calibration windows must see it: observed-only columns (a
        stockout) at the value a forecast assumes from the first window on. The model is fit once,
        before the windows (``refit=False``), and exogenous values enter only at their own period,
        so the realised values reach neither that fit nor any window's forecast."""
        assumed = self.features_.assumed_values
        if not assumed:
            return frame
        later = frame["ds"] > frame["ds"].max() - to_offset(self.freq_) * (windows * self.horizon)
        calibration = frame.copy()
        calibration.loc[later, list(assumed)] = as_forecast_time(frame.loc[later, list(assumed)], assumed)
        return calibration

    def _max_horizon_models(self) -> int | None:
        return self.horizon if self.strategy == "direct" else None

    def _prepare(self, panel: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
        """Resolve the features on ``panel``; returns the training frame and its static columns."""
        self.features_ = (self.features or FeatureSpec.for_frequency(self.freq_)).resolved(panel)
        self.price_references_ = price_references(panel, self.features_)
        return training_frame(panel, self.features_, self.price_references_), static_columns(panel, self.features_)

    def _fit(self, panel: pd.DataFrame) -> None:
        frame, statics = self._prepare(panel)
        with _young_series_expected():
            errors = self._calibration_errors(frame, statics)
            self.mlf_ = self._mlforecast()
            self.mlf_.fit(
                frame,
                static_features=statics,
                cache_train_df=False,
                max_horizon=self._max_horizon_models(),
                weight_col=_weight_column(frame),
            )
        self._calibrate(errors, frame, statics)

    def _calibrate(self, errors: pd.DataFrame, frame: pd.DataFrame, statics: list[str]) -> None:
        """Bands and the family level error from the calibration windows' errors (``unique_id, ds,
        cutoff, y, lgbm``), whichever engine computed them."""
        before, now = calibration_profiles(frame, errors["cutoff"].min(), self.freq_)
        calibration = ScaledConformal.fit(
            errors["y"].to_numpy(),
            errors[_MODEL].to_numpy(),
            interval_quantiles(self.levels),
            ids=errors["unique_id"].to_numpy(),
            profile=before,
        )
        self.calibration_ = replace(calibration, profile=now)
        self.family_level_error_ = shared_level_error(self._family_errors(errors, frame), self.calibration_)
        self.series_attributes_ = frame[["unique_id", *statics]].drop_duplicates("unique_id").astype(str)

    @staticmethod
    def _family_errors(errors: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
        """Backtest errors keyed by product family (the planner's grouping); one group without one."""
        if "family" in frame.columns:
            family = frame.drop_duplicates("unique_id").set_index("unique_id")["family"].astype(str)
            group = errors["unique_id"].map(family)
        else:
            group = pd.Series("all", index=errors.index)
        return pd.DataFrame(
            {
                "group": group,
                "unique_id": errors["unique_id"].astype(str),
                "window": errors["cutoff"],
                "ds": errors["ds"],
                "y": errors["y"],
                "forecast": errors[_MODEL],
            }
        )

    @property
    def max_horizon(self) -> int:
        return self.horizon

    def use_threads(self, threads: int) -> None:
        # LightGBM reads n_jobs at each predict; Booster.reset_parameter could crash the process.
        self.num_threads = threads
        fitted = self.mlf_.models_[_MODEL]
        for model in fitted if isinstance(fitted, list) else [fitted]:
            model.set_params(n_jobs=threads)

    def _predict(self, horizon: int, ids: list[str] | None, future: pd.DataFrame | None) -> pd.DataFrame:
        exogenous = None if future is None else future_frame(future, self.features_, self.price_references_)
        with _young_series_expected():
            raw = self.mlf_.predict(horizon, ids=ids, X_df=exogenous)
        point = raw[_MODEL].to_numpy(dtype=float)
        return forecast_frame(raw, point, self.calibration_.apply(point, raw["unique_id"].to_numpy()))

    def _predict_from(self, history: pd.DataFrame, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
        # mlforecast rebuilds the lag and rolling state from ``new_df`` (the fitted state stays as it is),
        # so ``history`` must reach back as far as the longest lag window: ``recent_history_`` does.
        exogenous = None if future is None else future_frame(future, self.features_, self.price_references_)
        statics = self.mlf_.ts.static_features_.set_index("unique_id")
        frame = fill_unobserved(history.join(statics, on="unique_id")).drop(columns=OBSERVED_WEIGHT, errors="ignore")
        # The known-future columns of past periods are never read (each step takes its own from X_df),
        # but mlforecast builds the feature list from the frame's columns.
        for column in [] if exogenous is None else exogenous.columns.drop(["unique_id", "ds"]):
            frame[column] = np.nan
        # mlforecast keeps the state it built from ``new_df`` as the model's own: put the fitted one back.
        fitted = self.mlf_.ts
        try:
            with _young_series_expected():
                raw = self.mlf_.predict(horizon, new_df=frame, X_df=exogenous)
        finally:
            self.mlf_.ts = fitted
        point = raw[_MODEL].to_numpy(dtype=float)
        return forecast_frame(raw, point, self.calibration_.apply(point, raw["unique_id"].to_numpy()))


def _weight_column(frame: pd.DataFrame) -> str | None:
    """The training frame's row weights, when it has unobserved periods (``features.gaps``)."""
    return OBSERVED_WEIGHT if OBSERVED_WEIGHT in frame.columns else None


@contextmanager
def _young_series_expected() -> Iterator[None]:
    """Silence mlforecast's notes about young series: they have no long lags yet (LightGBM
    reads the gaps as missing values) and sit out backtest windows older than they are."""
    with warnings.catch_warnings():
        for message in ("Found null values", "The following series are too short", "The following series were dropped"):
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        yield
