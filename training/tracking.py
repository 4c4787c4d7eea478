"""Where runs and registered models live: the embedded MLflow store or a configured server."""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import certifi
import httpx
import mlflow
from mlflow.environment_variables import (
    MLFLOW_TRACKING_CLIENT_CERT_PATH,
    MLFLOW_TRACKING_INSECURE_TLS,
    MLFLOW_TRACKING_SERVER_CERT_PATH,
)
from mlflow.tracking import MlflowClient

__all__ = ["TrackingConfig", "TrackingUnreachable", "check_reachable", "connect"]

# How long a tracking server may take to answer its health check before a job gives up on it.
# MLflow's own client retries a refused connection for minutes (7 retries with backoff).
REACHABLE_TIMEOUT_S = 5.0


class TrackingUnreachable(RuntimeError):
    """A tracking server did not answer its health check; the message is one line:
    ``MLflow tracking server <uri> is unreachable: <reason>``."""


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
    """Point MLflow at the store; returns a client and the experiment id (created on first use).

    A tracking server (``http(s)://``) is asked ``GET /health`` first, with a timeout of
    ``REACHABLE_TIMEOUT_S``: one that does not answer raises ``TrackingUnreachable`` in seconds,
    before any work, instead of MLflow's minutes of retries.
    """
    if config.tracking_uri.startswith(("http://", "https://")):
        check_reachable(config.tracking_uri)
    if config.tracking_uri.startswith("sqlite:///"):
        Path(config.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(config.tracking_uri)
    mlflow.set_registry_uri(config.tracking_uri)
    client = MlflowClient(tracking_uri=config.tracking_uri, registry_uri=config.tracking_uri)
    experiment = client.get_experiment_by_name(config.experiment)
    if experiment is not None:
        return client, experiment.experiment_id
    return client, client.create_experiment(config.experiment, artifact_location=config.artifact_location)


def check_reachable(uri: str, timeout_s: float = REACHABLE_TIMEOUT_S) -> None:
    """``TrackingUnreachable`` unless the tracking server at ``uri`` answers ``GET <uri>/health``
    within ``timeout_s``: with no connection, a timeout, a 5xx (a proxy whose server is down) or a
    4xx but 401 and 403 (something that is not an MLflow server: every MLflow server answers
    ``/health``, without authentication, under its static prefix if it has one). TLS
    follows MLflow's own settings (``MLFLOW_TRACKING_INSECURE_TLS``, ``..._SERVER_CERT_PATH``,
    ``..._CLIENT_CERT_PATH``)."""
    shown = _without_credentials(uri)
    try:
        answer = httpx.get(f"{uri.rstrip('/')}/health", timeout=timeout_s, verify=_tls(uri))
    except httpx.TimeoutException:
        reason = f"no answer within {timeout_s:g} s"
    except (httpx.HTTPError, OSError, ValueError) as error:  # ssl.SSLError is an OSError
        reason = _one_line(error) or type(error).__name__
    else:
        if answer.status_code < 400 or answer.status_code in (401, 403):
            return
        reason = f"GET /health answered {answer.status_code} {answer.reason_phrase}".rstrip()
        if answer.status_code < 500:
            reason += " (not an MLflow tracking server?)"
    raise TrackingUnreachable(f"MLflow tracking server {shown} is unreachable: {reason}")


def _tls(uri: str) -> ssl.SSLContext | bool:
    """How to check a server's certificate as MLflow's client would: not at all with
    ``MLFLOW_TRACKING_INSECURE_TLS``, against ``MLFLOW_TRACKING_SERVER_CERT_PATH`` when set (else
    certifi's bundle, as requests does), presenting ``MLFLOW_TRACKING_CLIENT_CERT_PATH`` when set."""
    if not uri.startswith("https://"):
        return True
    if MLFLOW_TRACKING_INSECURE_TLS.get():
        return False
    context = ssl.create_default_context(cafile=MLFLOW_TRACKING_SERVER_CERT_PATH.get() or certifi.where())
    if client_cert := MLFLOW_TRACKING_CLIENT_CERT_PATH.get():
        context.load_cert_chain(client_cert)
    return context


def _one_line(error: BaseException) -> str:
    """The operating system's reason (``Connection refused``) without its errno, on one line."""
    text = " ".join(str(error).split())
    found = re.search(r"\[Errno -?\d+\] ([^\]\"')]+)", text)
    return found.group(1).strip() if found else text[:200]


def _without_credentials(uri: str) -> str:
    """``uri`` without a user or password it may carry (``https://user:secret@host`` → ``https://host``)."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
