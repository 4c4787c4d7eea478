"""Where runs and registered models live: the embedded MLflow store or a configured server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

__all__ = ["TrackingConfig", "connect"]


@dataclass(frozen=True)
class TrackingConfig:
    """An MLflow store and the names capcast uses in it.

    Args:
        tracking_uri: MLflow tracking (and registry) URI.
        artifact_location: where the experiment keeps artifacts; None lets a
            tracking server decide.
        experiment: experiment holding training runs.
        model_name: registered model that serving resolves.
        champion_alias: alias serving resolves; the first version gets it.
    """

    tracking_uri: str
    artifact_location: str | None = None
    experiment: str = "capcast"
    model_name: str = "demand"
    champion_alias: str = "champion"

    @classmethod
    def embedded(cls, home: Path, **names: str) -> TrackingConfig:
        """The default store: SQLite database and artifact folder under ``home``."""
        home = home.resolve()
        return cls(
            tracking_uri=f"sqlite:///{home / 'mlflow.db'}", artifact_location=(home / "mlartifacts").as_uri(), **names
        )


def connect(config: TrackingConfig) -> tuple[MlflowClient, str]:
    """Point MLflow at the store; returns a client and the experiment id (created on first use)."""
    if config.tracking_uri.startswith("sqlite:///"):
        Path(config.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(config.tracking_uri)
    mlflow.set_registry_uri(config.tracking_uri)
    client = MlflowClient(tracking_uri=config.tracking_uri, registry_uri=config.tracking_uri)
    experiment = client.get_experiment_by_name(config.experiment)
    if experiment is not None:
        return client, experiment.experiment_id
    return client, client.create_experiment(config.experiment, artifact_location=config.artifact_location)
