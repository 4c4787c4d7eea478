"""Global LightGBM forecaster on mlforecast features, with conformal intervals."""

from __future__ import annotations

import lightgbm as lgb
import pandas as pd
from mlforecast import MLForecast
from mlforecast.utils import PredictionIntervals

from features.pipeline import FeatureSpec, infer_frequency, static_columns, training_frame
from models.base import Forecaster, to_forecast_frame

__all__ = ["LightGBMForecaster"]

_MODEL = "lgbm"


class LightGBMForecaster(Forecaster):
    """One LightGBM model across all series, forecasting recursively.

    Args:
        horizon: the longest horizon the conformal intervals are calibrated
            for; ``predict`` refuses longer ones.
        features: lag, rolling and date features (``features.pipeline``); None
            takes the standard set for the panel's frequency.
        objective: LightGBM objective; tweedie suits non-negative, zero-heavy counts.
        n_estimators, learning_rate, num_leaves, min_child_samples: LightGBM
            hyper-parameters.
        levels: central interval levels in percent.
        conformal_windows: backtest windows used to calibrate the intervals.
        seed: LightGBM random seed.
        num_threads: LightGBM threads (0 = all cores).
    """

    def __init__(
        self,
        horizon: int = 28,
        features: FeatureSpec | None = None,
        objective: str = "tweedie",
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 63,
        min_child_samples: int = 20,
        levels: tuple[int, ...] = (80,),
        conformal_windows: int = 2,
        seed: int = 0,
        num_threads: int = 0,
    ):
        self.horizon = horizon
        self.features = features
        self.objective = objective
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.levels = levels
        self.conformal_windows = conformal_windows
        self.seed = seed
        self.num_threads = num_threads

    def _create_model(self) -> lgb.LGBMRegressor:
        return lgb.LGBMRegressor(
            objective=self.objective,
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            random_state=self.seed,
            n_jobs=self.num_threads,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )

    def _fit(self, panel: pd.DataFrame) -> None:
        frame = training_frame(panel)
        self.freq_ = infer_frequency(panel)
        self.features_ = self.features or FeatureSpec.for_frequency(self.freq_)
        self.mlf_ = MLForecast(
            models={_MODEL: self._create_model()}, freq=self.freq_, **self.features_.mlforecast_kwargs()
        )
        self.mlf_.fit(
            frame,
            static_features=static_columns(panel),
            prediction_intervals=PredictionIntervals(n_windows=self.conformal_windows, h=self.horizon),
            cache_train_df=False,
        )
        self.series_attributes_ = frame.drop(columns=["ds", "y"]).drop_duplicates("unique_id").astype(str)

    @property
    def max_horizon(self) -> int:
        return self.horizon

    def _predict(self, horizon: int, ids: list[str] | None) -> pd.DataFrame:
        raw = self.mlf_.predict(horizon, level=list(self.levels), ids=ids)
        return to_forecast_frame(raw, _MODEL, self.levels)
