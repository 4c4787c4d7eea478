"""Where a plan came from: enough to answer "why does this plan look as it does?" months later.

Stored beside every plan (``planning.store``): the model version and the data it was trained on,
the forecast scenario, the site as it was, what the plan covers, the solver's settings and seed,
the planner's locks and the plan it replaced.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from planning.domain.locks import Lock
from planning.domain.site import Site

__all__ = ["Lineage", "ModelRef", "digest", "rows_digest", "site_digest"]


class ModelRef(BaseModel):
    """The registered model version whose forecast the plan covers."""

    name: str
    version: str
    run_id: str
    data_fingerprint: str | None = None


class Lineage(BaseModel):
    """Everything that produced a plan.

    Attributes:
        model: the forecasting model version; None when the forecast came from elsewhere (a file).
        forecast: the forecast scenario: ``"baseline"`` (each series' usual known-future values),
            ``"request sha256:<digest>"`` (values a caller sent) or ``"file <name> sha256:<digest>"``.
        site_sha256: digest of the site as planned (``site_digest``).
        service_level, level_error, demand_column: what the plan covers (``planning.DemandBasis``).
        horizon: days planned.
        solver: the solver's settings, seed included (``planning.SolverSettings``).
        locks: the planner's locks.
        opening_stock: ``"site"`` (the site file's initial inventory) or ``"ledger as of <time>"``
            (the stock ledger's units at the production node when the plan starts), with the units.
        replaces: the stored plan this one re-plans, if any, with its frozen days and change penalty.
        made_by: what made the plan (``"capcast service"``, ``"capcast plan"``).
    """

    model_config = ConfigDict(extra="forbid")

    model: ModelRef | None = None
    forecast: str
    site: str
    site_sha256: str
    service_level: float
    level_error: float
    demand_column: str | None = None
    horizon: int
    solver: dict[str, float | int | bool]
    locks: list[Lock] = []
    opening_stock: str = "site"
    initial_inventory: dict[str, int] = {}
    replaces: str | None = None
    frozen_days: int = 0
    change_penalty_per_shift: float = 0.0
    made_by: str


def digest(payload: object) -> str:
    """SHA-256 of ``payload`` written as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def site_digest(site: Site) -> str:
    """SHA-256 of the site's rules, independent of how its file was written."""
    return digest(site.model_dump(mode="json"))


def rows_digest(rows: Sequence[Mapping]) -> str:
    """SHA-256 of forecast scenario rows, independent of their order."""
    return digest(sorted(json.dumps(dict(row), sort_keys=True, default=str) for row in rows))
