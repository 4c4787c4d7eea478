"""The registered model's versions as capcast reads and marks them: their forecasters, their
evaluations, the champion alias and its history."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from models.base import Forecaster
from training.evaluation import Evaluation
from training.tracking import TrackingConfig

__all__ = [
    "HISTORY_TAG",
    "RegistryError",
    "champion_history",
    "champion_version",
    "load_forecaster",
    "read_evaluation",
    "record_champion",
    "record_evaluation",
    "version_or_latest",
]

HISTORY_TAG = "champion_history"
_EVALUATION_TAG = "evaluation."
# Registered-model tag values are bounded; the history keeps its newest entries.
_HISTORY_ENTRIES = 25


class RegistryError(LookupError):
    """A model or version that is not in the registry, or a version without what capcast logs."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def version_or_latest(client: MlflowClient, name: str, version: str | None) -> str:
    """``version`` when the registry has it; the newest version when None."""
    try:
        if version is not None:
            return str(client.get_model_version(name, version).version)
        versions = client.search_model_versions(f"name = '{name}'")
    except MlflowException as error:
        raise RegistryError(f"model {name!r} has no version {version}" if version else str(error)) from None
    if not versions:
        raise RegistryError(f"model {name!r} has no versions: train one first")
    return str(max(int(v.version) for v in versions))


def champion_version(client: MlflowClient, tracking: TrackingConfig) -> str | None:
    try:
        return str(client.get_model_version_by_alias(tracking.model_name, tracking.champion_alias).version)
    except MlflowException:
        return None


def load_forecaster(tracking: TrackingConfig, version: str) -> Forecaster:
    """The fitted forecaster a version carries (its ``forecaster.pkl`` artifact)."""
    uri = f"models:/{tracking.model_name}/{version}/artifacts/forecaster.pkl"
    try:
        path = mlflow.artifacts.download_artifacts(artifact_uri=uri)
    except (MlflowException, OSError) as error:
        raise RegistryError(f"version {version} of {tracking.model_name!r} has no forecaster: {error}") from None
    return Forecaster.from_bytes(Path(path).read_bytes())


def read_evaluation(client: MlflowClient, name: str, version: str, key: str) -> Evaluation | None:
    tags = client.get_model_version(name, version).tags
    text = tags.get(_EVALUATION_TAG + key)
    return None if text is None else Evaluation.from_json(text)


def record_evaluation(client: MlflowClient, name: str, version: str, evaluation: Evaluation) -> None:
    client.set_model_version_tag(name, version, _EVALUATION_TAG + evaluation.key, evaluation.to_json())


def champion_history(client: MlflowClient, name: str) -> list[dict]:
    """Who was champion since when, oldest first (the newest ``_HISTORY_ENTRIES`` entries)."""
    text = client.get_registered_model(name).tags.get(HISTORY_TAG)
    return [] if text is None else json.loads(text)


def record_champion(client: MlflowClient, tracking: TrackingConfig, version: str, entry: dict) -> None:
    """Point the champion alias at ``version`` and append ``entry`` (with version and time) to the history."""
    client.set_registered_model_alias(tracking.model_name, tracking.champion_alias, version)
    history = [*champion_history(client, tracking.model_name), {"version": version, "at": now(), **entry}]
    client.set_registered_model_tag(tracking.model_name, HISTORY_TAG, json.dumps(history[-_HISTORY_ENTRIES:]))
