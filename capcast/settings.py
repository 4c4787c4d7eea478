"""Runtime settings, read from ``CAPCAST_*`` environment variables (and nothing else).

A leaf module: the CLI and the service process both build ``Settings()`` at
their edge and pass what they need inward.
"""

from __future__ import annotations

import os
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
        workers: service worker processes (``CAPCAST_WORKERS``); the machine's cores when unset.
        model_threads: LightGBM threads each worker predicts with (``CAPCAST_MODEL_THREADS``): one,
            so that workers do not fight over the cores.
        max_series_per_request, max_future_rows, max_history_rows, max_body_bytes: what one
            request may send or ask for; more is refused (422, or 413 for the body) with the limit
            in the message.
        max_plan_line_shifts: the largest plan a request may ask for, in line-shifts (lines x
            shifts x days) of the site it plans.
        max_recommend_time_limit_s: the longest solve ``/recommend`` runs while the caller waits;
            longer solves are plan jobs (``POST /plans``).
        max_concurrency: requests one worker serves at once; more get 503 with ``Retry-After``.
        model_poll_s: how often the service looks for a new version behind the alias (0: never;
            ``POST /admin/reload`` looks at once).
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
    workers: int | None = Field(None, ge=1, le=64)
    model_threads: int = Field(1, ge=0, le=64)
    max_series_per_request: int = Field(5000, ge=1)
    max_future_rows: int = Field(500_000, ge=1)
    max_history_rows: int = Field(500_000, ge=1)
    max_body_bytes: int = Field(64 * 2**20, ge=1024)
    max_plan_line_shifts: int = Field(20_000, ge=1)
    max_recommend_time_limit_s: float = Field(60.0, gt=0)
    max_concurrency: int = Field(64, ge=1)
    model_poll_s: float = Field(60.0, ge=0)

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1

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
