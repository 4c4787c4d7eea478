"""Runtime settings, read from ``CAPCAST_*`` environment variables (and nothing else).

A leaf module: the CLI and the service process both build ``Settings()`` at
their edge and pass what they need inward.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["NamedToken", "Settings"]


class NamedToken(BaseModel):
    """A bearer token the service accepts, with who holds it and what it may do."""

    name: str = Field(min_length=1)
    role: Literal["admin", "planner", "source"]
    token: SecretStr


class Settings(BaseSettings):
    """Where capcast keeps its state and how the service runs.

    Attributes:
        home: local state (MLflow SQLite store, artifacts, sample data); ``CAPCAST_HOME``.
        mlflow_tracking_uri: a real MLflow server instead of the embedded store.
        model_name: registered model serving resolves.
        model_alias: alias serving resolves (one version per process).
        site: default site file for ``/recommend``; ``<home>/sample/site.yaml`` when unset.
        host, port: where ``capcast serve`` listens.
        plan_time_limit_s: default CP-SAT time limit of ``/recommend``.
        database_url: the database of plans (and later the stock ledger), a SQLAlchemy URL such as
            ``postgresql+psycopg://user@host/capcast``; ``CAPCAST_DATABASE_URL``. Unset: SQLite at
            ``<home>/capcast.db`` (``database`` gives the URL in use either way).
        planner_token: the bearer token of the planner role: plan jobs and approvals
            (``CAPCAST_PLANNER_TOKEN``); unset, the service makes a random one at first start in
            ``planner_token_file``.
        inventory: the stock ledger's configuration (per-node rules, the family → SKU split of planned
            production, the node it arrives at), YAML; ``<home>/inventory.yaml`` when unset (and
            the defaults when that file does not exist either).
        tokens: further named tokens with their roles (``admin``, ``planner``, ``source``), as JSON
            in ``CAPCAST_TOKENS``: ``[{"name": "erp", "role": "planner", "token": "..."}]``.
    """

    model_config = SettingsConfigDict(env_prefix="CAPCAST_")

    home: Path = Path(".capcast")
    mlflow_tracking_uri: str | None = None
    model_name: str = "demand"
    model_alias: str = "champion"
    experiment: str = "capcast"
    site: Path | None = None
    host: str = "127.0.0.1"
    port: int = 3000
    plan_time_limit_s: float = 10.0
    database_url: str | None = None
    planner_token: SecretStr | None = None
    inventory: Path | None = None
    tokens: list[NamedToken] = []

    @property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.home.resolve() / 'mlflow.db'}"

    @property
    def artifact_location(self) -> str | None:
        return None if self.mlflow_tracking_uri else (self.home.resolve() / "mlartifacts").as_uri()

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.home.resolve() / 'capcast.db'}"

    @property
    def planner_token_file(self) -> Path:
        return self.home.resolve() / "planner-token"

    @property
    def inventory_path(self) -> Path:
        return self.inventory or self.home / "inventory.yaml"

    @property
    def site_path(self) -> Path:
        return self.site or self.home / "sample" / "site.yaml"
