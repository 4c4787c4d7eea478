"""The training job: backtest, fit on all data, log to MLflow, register, crown the first champion."""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import ColSpec, Schema

import features
import models
from models.base import Forecaster
from models.baselines import weekly_seasonal_naive
from models.lgbm import LightGBMForecaster
from training.backtest import holdout_backtest
from training.tracking import TrackingConfig, connect

__all__ = ["TrainConfig", "TrainResult", "candidates", "train"]
_PYFUNC_FILE = Path(__file__).with_name("pyfunc_model.py")
# What a model version needs at load time; pinned to what trained it.
_RUNTIME_PACKAGES = (
    "mlflow",
    "lightgbm",
    "mlforecast",
    "coreforecast",
    "utilsforecast",
    "pandas",
    "numpy",
    "scikit-learn",
    "statsforecast",
)


@dataclass(frozen=True)
class TrainConfig:
    """What the training job sets on the production model (``models.lgbm.LightGBMForecaster``).

    Each field is the forecaster parameter of the same name; None (the default)
    keeps the forecaster's own default, so the defaults live in one place.
    ``horizon`` and ``levels`` also set the holdout backtest's horizon and bands.
    """

    horizon: int | None = None
    n_estimators: int | None = None
    learning_rate: float | None = None
    num_leaves: int | None = None
    objective: str | None = None
    levels: tuple[int, ...] | None = None
    calibration_windows: int | None = None
    seed: int | None = None
    num_threads: int | None = None  # LightGBM threads; 0 = all cores

    def forecaster(self) -> LightGBMForecaster:
        """A new, unfitted production forecaster: its defaults, overridden by the fields that are set."""
        overrides = {field.name: getattr(self, field.name) for field in fields(self)}
        return LightGBMForecaster(**{name: value for name, value in overrides.items() if value is not None})


@dataclass(frozen=True)
class TrainResult:
    """What a training job produced; ``seconds`` holds wall time per stage
    (``backtest``, ``fit``, ``log_and_register``)."""

    run_id: str
    model_name: str
    version: str
    is_champion: bool
    metrics: dict[str, float]
    seconds: dict[str, float]


def candidates(panel: pd.DataFrame, config: TrainConfig) -> dict[str, Callable[[], Forecaster]]:
    """What the training job and ``capcast backtest`` compare: the production forecaster
    (``lgbm``) and the baseline it must beat (``seasonal_naive``: the last week, with the same bands)."""
    levels = config.forecaster().levels
    return {"lgbm": config.forecaster, "seasonal_naive": lambda: weekly_seasonal_naive(panel, levels)}


def panel_fingerprint(panel: pd.DataFrame) -> str:
    """SHA-256 of the panel's content, independent of row order."""
    ordered = panel.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    hashed = pd.util.hash_pandas_object(ordered, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def _flatten(scores: dict[str, dict[str, float]]) -> dict[str, float]:
    return {f"holdout_{metric}_{name}": value for name, row in scores.items() for metric, value in row.items()}


def _run_params(forecaster: LightGBMForecaster) -> dict[str, str]:
    """Every hyper-parameter of the fitted forecaster (``get_params``) and of its resolved feature
    spec (``feature_<name>``) as MLflow params, written as text (``features`` and ``min_history``
    may be None or a ``FeatureSpec``)."""
    params = forecaster.get_params(deep=False) | {
        f"feature_{name}": value for name, value in asdict(forecaster.features_).items()
    }
    return {name: str(value) for name, value in params.items()}


def _request_example(forecaster: LightGBMForecaster) -> pd.DataFrame:
    ids = forecaster.series_ids_[:2]
    return pd.DataFrame({"unique_id": ids, "horizon": [min(7, forecaster.horizon)] * len(ids)}).astype(
        {"horizon": "int64"}
    )


def _signature(forecaster: LightGBMForecaster) -> ModelSignature:
    """Request columns: ``unique_id, horizon``, plus optional ``ds``, known-future columns and ``y``
    (the actuals of rows that carry newer history)."""
    inputs = [ColSpec("string", "unique_id"), ColSpec("long", "horizon"), ColSpec("datetime", "ds", required=False)]
    inputs += [ColSpec("double", column, required=False) for column in forecaster.exogenous_]
    inputs += [ColSpec("double", "y", required=False)]
    example = forecaster.predict(1, ids=forecaster.series_ids_[:1], future=_baseline(forecaster, 1))
    return ModelSignature(inputs=Schema(inputs), outputs=infer_signature(example).inputs)


def _baseline(forecaster: LightGBMForecaster, horizon: int) -> pd.DataFrame | None:
    return forecaster.baseline_future(horizon, forecaster.series_ids_[:1]) if forecaster.exogenous_ else None


def _log_model(forecaster: LightGBMForecaster, workdir: Path) -> mlflow.models.model.ModelInfo:
    artifact = workdir / "forecaster.pkl"
    artifact.write_bytes(forecaster.to_bytes())
    package_dirs = [str(Path(pkg.__file__).parent) for pkg in (features, models)]
    with warnings.catch_warnings():
        # The request example's integer horizon is intended; MLflow warns about any int column.
        warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(_PYFUNC_FILE),
            artifacts={"forecaster": str(artifact)},
            code_paths=package_dirs,
            pip_requirements=[f"{pkg}=={version(pkg)}" for pkg in _RUNTIME_PACKAGES],
            input_example=_request_example(forecaster),
            signature=_signature(forecaster),
        )


def _has_alias(client, name: str, alias: str) -> bool:
    try:
        client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return False
    return True


def train(
    panel: pd.DataFrame, tracking: TrackingConfig, config: TrainConfig = TrainConfig(), source: str = ""
) -> TrainResult:
    """Backtest, fit on the whole panel, log and register a model version.

    The first version of a model gets the champion alias (``@champion`` by
    default); later versions are registered as challengers and promoted explicitly.
    """
    client, experiment_id = connect(tracking)
    started = time.perf_counter()
    forecaster = config.forecaster()
    scores = holdout_backtest(panel, forecaster.horizon, candidates(panel, config))
    backtested = time.perf_counter()
    forecaster.fit(panel)
    fitted = time.perf_counter()
    metrics = {**_flatten(scores), "family_level_error": forecaster.family_level_error_}
    with mlflow.start_run(experiment_id=experiment_id) as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.log_params(_run_params(forecaster))
        mlflow.log_metrics(metrics)
        mlflow.set_tags(
            {
                "data_fingerprint": panel_fingerprint(panel),
                "data_source": source,
                "data_series": str(panel["unique_id"].nunique()),
                "data_rows": str(len(panel)),
                "data_start": str(panel["ds"].min().date()),
                "data_end": str(panel["ds"].max().date()),
            }
        )
        mlflow.log_dict({"features": forecaster.mlf_.ts.features_order_}, "features.json")
        info = _log_model(forecaster, Path(tmp))
        # Smoke check before registering: the logged model must load and answer.
        mlflow.pyfunc.load_model(info.model_uri).predict(_request_example(forecaster))
        registered = mlflow.register_model(info.model_uri, tracking.model_name, tags={"run_id": run.info.run_id})
        client.set_model_version_tag(tracking.model_name, registered.version, "metrics", json.dumps(metrics))
        crowned = not _has_alias(client, tracking.model_name, tracking.champion_alias)
        if crowned:
            client.set_registered_model_alias(tracking.model_name, tracking.champion_alias, registered.version)
        seconds = {
            "backtest": backtested - started,
            "fit": fitted - backtested,
            "log_and_register": time.perf_counter() - fitted,
        }
        mlflow.log_metrics({f"seconds_{stage}": value for stage, value in seconds.items()})
    return TrainResult(run.info.run_id, tracking.model_name, str(registered.version), crowned, metrics, seconds)
