"""Resolve the served model version in MLflow once, load it, and answer forecasts with it.

Nothing here imports ``models`` or ``features``: the model version brings its
own copy of that code (MLflow ``code_paths``), and it must be the first copy
imported in the process, or the version would run whatever code happens to
be installed.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from serving.errors import ApiError
from serving.schemas import ForecastPoint, ModelInfo, SeriesForecast

__all__ = ["ModelNotFound", "ServedModel", "future_source", "periods_are_days", "to_series_forecasts"]

DEFAULT_HORIZON = 28

if TYPE_CHECKING:
    from models.base import Forecaster


class ModelNotFound(RuntimeError):
    """No model version answers to the configured name and alias."""


class ServedModel:
    """One resolved registry version: its pyfunc, its forecaster and its identity."""

    def __init__(self, info: ModelInfo, pyfunc: mlflow.pyfunc.PyFuncModel):
        self.info = info
        self.pyfunc = pyfunc
        self.forecaster: Forecaster = pyfunc.unwrap_python_model().forecaster
        self.series_ids = set(self.forecaster.series_ids_)
        self.cold_start_ids = frozenset(getattr(self.forecaster, "cold_start_ids_", ()))
        # mlforecast's predict swaps state on the fitted object while it runs: one call at a time.
        self._predict_lock = threading.Lock()

    @staticmethod
    def lookup(tracking_uri: str, name: str, alias: str) -> ModelVersion:
        """The registry version behind ``models:/name@alias``, without loading it."""
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        try:
            return client.get_model_version_by_alias(name, alias)
        except MlflowException as error:
            raise ModelNotFound(f"no version of model {name!r} has alias @{alias} in {tracking_uri}; run `capcast train` first") from error

    @classmethod
    def resolve(cls, tracking_uri: str, name: str, alias: str) -> "ServedModel":
        """Look up ``models:/name@alias`` once and load exactly that version."""
        version = cls.lookup(tracking_uri, name, alias)
        pyfunc = mlflow.pyfunc.load_model(f"models:/{name}/{version.version}")
        forecaster = pyfunc.unwrap_python_model().forecaster
        info = ModelInfo(
            name=name,
            version=str(version.version),
            alias=alias,
            run_id=version.run_id or "",
            max_horizon=forecaster.max_horizon,
            trained_until=forecaster.last_ds_.date(),
            # Versions trained before the measure existed plan as if families had no shared error.
            family_level_error=round(getattr(forecaster, "family_level_error_", 0.0), 4),
            exogenous=list(forecaster.exogenous_),
        )
        return cls(info, pyfunc)

    def horizon(self, requested: int | None) -> int:
        """The requested horizon, or the model's longest one; 4xx ``ApiError`` beyond it."""
        limit = self.info.max_horizon
        if requested is None:
            return limit or DEFAULT_HORIZON
        if limit is not None and requested > limit:
            raise ApiError(422, "horizon_too_long", f"horizon must be at most {limit} for model version {self.info.version}", "horizon")
        return requested

    def forecast_frame(self, unique_ids: list[str], horizon: int, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """The forecast frame for known series through the model's pyfunc; 4xx ``ApiError`` on
        unknown series or known-future values that do not fit."""
        unknown = [i for i in unique_ids if i not in self.series_ids]
        if unknown:
            shown = ", ".join(repr(i) for i in unknown[:5])
            index = unique_ids.index(unknown[0])
            raise ApiError(404, "unknown_series", f"{len(unknown)} unknown series: {shown}", f"unique_ids.{index}")
        if future is not None:
            self._check_future_rows(unique_ids, future)
            request = future.assign(horizon=horizon)
        else:
            request = pd.DataFrame({"unique_id": list(dict.fromkeys(unique_ids)), "horizon": horizon})
        with self._predict_lock:
            try:
                return self.pyfunc.predict(request.astype({"horizon": "int64"}))
            except MlflowException as error:
                # The pyfunc names the field first: "<field>: <reason>".
                field, _, reason = error.message.partition(": ")
                raise ApiError(422, "invalid_future", reason or error.message, f"future.{field}") from None

    def _no_future_columns(self) -> ApiError:
        return ApiError(422, "invalid_future", f"model version {self.info.version} uses no known-future values", "future")

    def _check_future_rows(self, unique_ids: list[str], future: pd.DataFrame) -> None:
        """What MLflow's schema enforcement would otherwise drop silently: other series, other columns."""
        if not self.info.exogenous:
            raise self._no_future_columns()
        if other := sorted(set(future["unique_id"]) - set(unique_ids)):
            raise ApiError(422, "invalid_future", f"values for series not requested: {', '.join(other[:5])}", "future")
        if unknown_columns := [c for c in future.columns if c not in ("unique_id", "ds", *self.info.exogenous)]:
            column = unknown_columns[0]
            message = f"unknown exogenous column {column!r}; this model uses {', '.join(self.info.exogenous)}"
            raise ApiError(422, "invalid_future", message, f"future.{column}")
        if lacking := [i for i in dict.fromkeys(unique_ids) if i not in set(future["unique_id"])]:
            raise ApiError(422, "invalid_future", f"no values for series: {', '.join(lacking[:5])}", "future")

    def all_series_forecast(self, horizon: int, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecast of every series with its static attributes (``family`` etc.); the baseline
        scenario for known-future values unless ``future`` gives them."""
        with self._predict_lock:
            if self.info.exogenous and future is None:
                future = self.forecaster.baseline_future(horizon)
            elif future is not None and not self.info.exogenous:
                raise self._no_future_columns()
            try:
                frame = self.forecaster.predict(horizon, future=future)
            except ValueError as error:  # the model's FutureValuesError, which serving does not import
                raise ApiError(422, "invalid_future", str(error), f"future.{getattr(error, 'column', None) or 'ds'}") from None
        return frame.merge(self.forecaster.series_attributes_, on="unique_id", how="left")

    def future_frame(self, rows) -> pd.DataFrame | None:
        """Request rows of known-future values as a frame (None when the request sent none)."""
        if rows is None:
            return None
        return pd.DataFrame([{"unique_id": r.unique_id, "ds": pd.Timestamp(r.ds), **(r.model_extra or {})} for r in rows])


def future_source(info: ModelInfo, rows) -> str:
    """Where the known-future values of a response came from."""
    if not info.exogenous:
        return "none"
    return "baseline" if rows is None else "request"


GLOBAL_METHOD, COLD_START_METHOD = "global model", "cold start: historic average"


def periods_are_days(ds: pd.Series) -> bool:
    """Whether forecast periods are days (written as dates) rather than hours: every ``ds`` at midnight.
    The API and the CLI both decide with this, so a forecast reads the same in either."""
    return bool((ds == ds.dt.normalize()).all())


def to_series_forecasts(frame: pd.DataFrame, cold_start_ids: frozenset[str] = frozenset()) -> list[SeriesForecast]:
    """The forecast frame as response objects, one per series in frame order."""
    quantiles = [c for c in frame.columns if c.startswith("q") and c[1:].replace(".", "").isdigit()]
    periods = frame["ds"].dt.date if periods_are_days(frame["ds"]) else frame["ds"].dt.to_pydatetime()
    rounded = frame.assign(ds=periods).round({"mean": 4, **{q: 4 for q in quantiles}})
    by_series: dict[str, list[ForecastPoint]] = {}
    for row in rounded[["unique_id", "ds", "mean", *quantiles]].itertuples(index=False, name=None):
        unique_id, ds, mean, *values = row
        by_series.setdefault(str(unique_id), []).append(
            ForecastPoint(ds=ds, mean=mean, quantiles=dict(zip(quantiles, values)))
        )
    return [
        SeriesForecast(unique_id=uid, method=COLD_START_METHOD if uid in cold_start_ids else GLOBAL_METHOD, points=points)
        for uid, points in by_series.items()
    ]
