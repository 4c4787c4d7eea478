"""Resolve the served model version in MLflow once, load it, and answer forecasts with it.

Nothing here imports ``models`` or ``features``: the model version brings its
own copy of that code (MLflow ``code_paths``), and it must be the first copy
imported in the process, or the version would run whatever code happens to
be installed.
"""

from __future__ import annotations

import threading

import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from serving.errors import ApiError
from serving.schemas import ForecastPoint, ModelInfo, SeriesForecast

__all__ = [
    "ModelNotFound",
    "ServedModel",
    "champion_level_error",
    "first_missing_value",
    "future_frame",
    "future_source",
    "periods_are_days",
    "to_series_forecasts",
]

DEFAULT_HORIZON = 28
# Columns of the pyfunc's request besides the known-future ones; the service checks them before predicting.
_REQUEST_COLUMNS = ("unique_id", "horizon")


class ModelNotFound(RuntimeError):
    """No model version answers to the configured name and alias."""


class ServedModel:
    """One resolved registry version and its identity. Every forecast goes through the version's
    pyfunc (its own code: ``training/pyfunc_model.py`` as logged), and every refusal of it is
    mapped to an ``ApiError`` in one place, ``_refused_future``."""

    def __init__(self, info: ModelInfo, pyfunc: mlflow.pyfunc.PyFuncModel):
        self.info = info
        self.pyfunc = pyfunc
        # What the version knows about its data, read once; predicting goes through the pyfunc only.
        forecaster = pyfunc.unwrap_python_model().forecaster
        self.series_ids = sorted(str(i) for i in forecaster.series_ids_)
        self.cold_start_ids = frozenset(getattr(forecaster, "cold_start_ids_", ()))
        self.series_attributes: pd.DataFrame = forecaster.series_attributes_
        self.periods_are_hours = forecaster.freq_ == "h"
        self._known = set(self.series_ids)
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
            raise ModelNotFound(
                f"no version of model {name!r} has alias @{alias} in {tracking_uri}; run `capcast train` first"
            ) from error

    @classmethod
    def resolve(cls, tracking_uri: str, name: str, alias: str) -> ServedModel:
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
            last_period=forecaster.last_ds_.to_pydatetime(),
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
            raise ApiError(
                422,
                "horizon_too_long",
                f"horizon must be at most {limit} for model version {self.info.version}",
                "horizon",
            )
        return requested

    def forecast_frame(self, unique_ids: list[str], horizon: int, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """The forecast frame of known series; 4xx ``ApiError`` on unknown series or known-future
        values that do not fit."""
        unknown = [i for i in unique_ids if i not in self._known]
        if unknown:
            shown = ", ".join(repr(i) for i in unknown[:5])
            index = unique_ids.index(unknown[0])
            raise ApiError(404, "unknown_series", f"{len(unknown)} unknown series: {shown}", f"unique_ids.{index}")
        return self._predict(list(dict.fromkeys(unique_ids)), horizon, future)

    def all_series_forecast(self, horizon: int, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecast of every series with its static attributes (``family`` etc.); the baseline
        scenario for known-future values unless ``future`` gives them for every series."""
        frame = self._predict(self.series_ids, horizon, future)
        return frame.merge(self.series_attributes, on="unique_id", how="left")

    def _predict(self, ids: list[str], horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
        if future is None:
            request = pd.DataFrame({"unique_id": ids, "horizon": horizon})
        else:
            request = self._checked_future(ids, future).assign(horizon=horizon)
        with self._predict_lock:
            try:
                return self.pyfunc.predict(request.astype({"horizon": "int64"}))
            except MlflowException as error:
                if future is None or (refused := self._refused_future(error)) is None:
                    raise  # not the caller's doing: the service logs it and answers 500
                raise refused from None

    def _refused_future(self, error: MlflowException) -> ApiError | None:
        """The 422 for an MLflow error that the request's known-future values caused; None for any other.

        The version's own check (its pyfunc, from a FutureValuesError) says "<column>: <reason>";
        versions logged before the pyfunc set its error code report it as INTERNAL_ERROR, so the
        column decides. Other bad input (MLflow's schema enforcement) is INVALID_PARAMETER_VALUE,
        with its reason after the last "Error: ". The pyfunc refusing unique_id or horizon means the
        service's own checks of them disagree with the model's: a fault here, not the caller's.
        """
        column, _, reason = error.message.partition(": ")
        if column in ("ds", *self.info.exogenous):
            # Some FutureValuesError messages name the column again: "price: price: values must be numbers".
            return ApiError(422, "invalid_future", reason.removeprefix(f"{column}: "), f"future.{column}")
        if error.error_code != "INVALID_PARAMETER_VALUE" or column in _REQUEST_COLUMNS:
            return None
        reason = error.message.rpartition("Error: ")[2].strip().split("\n")[0]
        return ApiError(
            422, "invalid_future", reason or "the known-future values do not fit the model's input", "future"
        )

    def _checked_future(self, ids: list[str], future: pd.DataFrame) -> pd.DataFrame:
        """``future`` with ``ds`` as timestamps and the values as numbers, refused (4xx ``ApiError``)
        for what MLflow's schema enforcement would drop silently (other series, other columns) or
        the model would forecast through (an empty value), and for series it lacks."""
        if not self.info.exogenous:
            raise ApiError(
                422, "invalid_future", f"model version {self.info.version} uses no known-future values", "future"
            )
        if other := sorted(set(future["unique_id"].astype(str)) - set(ids)):
            raise ApiError(422, "invalid_future", f"values for series not requested: {', '.join(other[:5])}", "future")
        if unknown_columns := [c for c in future.columns if c not in ("unique_id", "ds", *self.info.exogenous)]:
            column = unknown_columns[0]
            message = f"unknown exogenous column {column!r}; this model uses {', '.join(self.info.exogenous)}"
            raise ApiError(422, "invalid_future", message, f"future.{column}")
        if (missing := first_missing_value(future, self.info.exogenous)) is not None:
            row, column = missing
            raise ApiError(422, "invalid_future", "missing value", f"future.{row}.{column}")
        typed = future.assign(unique_id=future["unique_id"].astype(str))
        for column in ("ds", *(c for c in self.info.exogenous if c in future.columns)):
            parse = _as_timestamps if column == "ds" else _as_numbers
            typed[column], bad = parse(future[column])
            if bad is not None:
                kind = "a date (or hour), local time" if column == "ds" else "a number"
                raise ApiError(
                    422, "invalid_future", f"not {kind}: {future[column].iloc[bad]!r}", f"future.{bad}.{column}"
                )
        if lacking := [i for i in ids if i not in set(typed["unique_id"])]:
            raise ApiError(422, "invalid_future", f"no values for series: {', '.join(lacking[:5])}", "future")
        return typed


def _as_timestamps(values: pd.Series) -> tuple[pd.Series, int | None]:
    """Values as timestamps, and the position of the first that is not one (None when all are)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values, None
    parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    bad = parsed.isna() & values.notna()
    return parsed, (int(bad.to_numpy().nonzero()[0][0]) if bad.any() else None)


def _as_numbers(values: pd.Series) -> tuple[pd.Series, int | None]:
    """Values as floats, and the position of the first that is not a number (None when all are)."""
    parsed = pd.to_numeric(values, errors="coerce")
    bad = parsed.isna() & values.notna()
    return parsed.astype(float), (int(bad.to_numpy().nonzero()[0][0]) if bad.any() else None)


def champion_level_error(tracking_uri: str, name: str, alias: str) -> tuple[float, str]:
    """The family level error the ``name@alias`` version measured in training (from its MLflow
    run, without loading the model), and where the figure comes from; 0 without a model."""
    try:
        version = ServedModel.lookup(tracking_uri, name, alias)
        metrics = MlflowClient(tracking_uri).get_run(version.run_id).data.metrics
    except (ModelNotFound, MlflowException):
        return 0.0, "no trained model found: series treated as independent"
    if "family_level_error" not in metrics:
        return 0.0, f"model version {version.version} did not measure it"
    return float(metrics["family_level_error"]), f"measured by model version {version.version}"


def future_frame(rows) -> pd.DataFrame | None:
    """A request's known-future rows (``FutureValues``) as a frame; None when the request sent none."""
    if rows is None:
        return None
    return pd.DataFrame([{"unique_id": r.unique_id, "ds": pd.Timestamp(r.ds), **(r.model_extra or {})} for r in rows])


def future_source(info: ModelInfo, rows) -> str:
    """Where the known-future values of a response came from."""
    if not info.exogenous:
        return "none"
    return "baseline" if rows is None else "request"


def first_missing_value(future: pd.DataFrame, columns: list[str]) -> tuple[int, str] | None:
    """Position (0-based, in row order) and column of the first empty value of ``columns`` in
    ``future``; None when there is none. A column no row has is the model's to name."""
    present = [c for c in columns if c in future.columns]
    empty = future[present].isna().to_numpy()
    if not empty.any():
        return None
    rows, cols = empty.nonzero()  # row-major: the first row with a gap, then its first empty column
    return int(rows[0]), present[cols[0]]


GLOBAL_METHOD, COLD_START_METHOD = "global model", "cold start: historic average"


def periods_are_days(ds: pd.Series) -> bool:
    """Whether forecast periods are days (written as dates) rather than hours: every ``ds`` at midnight.
    The API and the CLI both decide with this, so a forecast reads the same in either."""
    return bool((ds == ds.dt.normalize()).all())


def to_series_forecasts(frame: pd.DataFrame, cold_start_ids: frozenset[str] = frozenset()) -> list[SeriesForecast]:
    """The forecast frame as response objects, one per series in frame order."""
    quantiles = [c for c in frame.columns if c.startswith("q") and c[1:].replace(".", "").isdigit()]
    periods = frame["ds"].dt.date if periods_are_days(frame["ds"]) else frame["ds"].dt.to_pydatetime()
    rounded = frame.assign(ds=periods).round({"mean": 4, **dict.fromkeys(quantiles, 4)})
    by_series: dict[str, list[ForecastPoint]] = {}
    for row in rounded[["unique_id", "ds", "mean", *quantiles]].itertuples(index=False, name=None):
        unique_id, ds, mean, *values = row
        by_series.setdefault(str(unique_id), []).append(
            ForecastPoint(ds=ds, mean=mean, quantiles=dict(zip(quantiles, values)))
        )
    return [
        SeriesForecast(
            unique_id=uid, method=COLD_START_METHOD if uid in cold_start_ids else GLOBAL_METHOD, points=points
        )
        for uid, points in by_series.items()
    ]
