"""Re-run a recorded training run: the same forecaster parameters on the same data with the same
packages must give the same predictions, or the answer says what differs."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from sklearn.base import clone

from models.base import Forecaster
from training.provenance import code_version, package_versions, panel_fingerprint, recorded_panel
from training.registry import RegistryError, load_forecaster
from training.tracking import TrackingConfig, connect

__all__ = ["Reproduction", "ReproductionError", "reproduce"]


class ReproductionError(ValueError):
    """The run cannot be re-run as recorded: its data or a package version differs (the message says which)."""


@dataclass(frozen=True)
class Reproduction:
    """What re-running a run gave.

    Attributes:
        run_id, version: the recorded run and the model version it registered.
        rows: forecast rows compared (every series, the model's horizon, the baseline scenario).
        identical: every number equal.
        max_abs_difference: the largest difference between the recorded and the new forecasts.
        code_note: how the code differs from the run's (commit, uncommitted changes); empty when not.
    """

    run_id: str
    version: str
    rows: int
    identical: bool
    max_abs_difference: float
    code_note: str


def _baseline_forecast(forecaster: Forecaster) -> pd.DataFrame:
    horizon = forecaster.max_horizon or 28
    future = forecaster.baseline_future(horizon) if forecaster.exogenous_ else None
    return forecaster.predict(horizon, future=future)


def _package_differences(recorded: dict[str, str]) -> list[str]:
    here = package_versions(tuple(recorded))
    return [f"{name} {was} (run) vs {here[name]} (here)" for name, was in recorded.items() if here[name] != was]


def _code_note(tags: dict[str, str]) -> str:
    here, then = code_version(), (tags.get("git_commit", "unknown"), tags.get("git_dirty", "unknown"))
    notes = []
    if here["git_commit"] != then[0]:
        notes.append(f"code at commit {here['git_commit'][:12]}, the run's at {then[0][:12]}")
    if "true" in (here["git_dirty"], then[1]):
        notes.append("uncommitted changes " + ("here" if here["git_dirty"] == "true" else "in the run's checkout"))
    return "; ".join(notes)


def reproduce(tracking: TrackingConfig, run_id: str, data: pd.DataFrame | None = None) -> Reproduction:
    """Refit the run's forecaster recipe on its data and compare the forecasts with the recorded model's.

    Args:
        tracking: the MLflow store holding the run.
        run_id: a run of ``capcast train`` that registered a version.
        data: the panel; None re-reads the run's ``data_source``. Either way its fingerprint must match.

    Raises:
        ReproductionError: the data's fingerprint or a package version differs from the run's.
        training.registry.RegistryError: no such run, or it registered no version.
    """
    client, _ = connect(tracking)
    try:
        run = client.get_run(run_id)
        versions = client.search_model_versions(f"run_id = '{run_id}'")
    except MlflowException:
        raise RegistryError(f"no run {run_id!r} in {tracking.tracking_uri}") from None
    if not versions:
        raise RegistryError(f"run {run_id} registered no model version (did it fail?): nothing to reproduce")
    tags = run.data.tags
    if (engine := tags.get("engine", "local")) != "local":
        raise ReproductionError(
            f"the run was fitted on {engine}: distributed LightGBM is not reproduced bit for bit by a local refit"
        )
    if differences := _package_differences(json.loads(tags.get("packages", "{}"))):
        raise ReproductionError("package versions differ from the run's: " + ", ".join(differences))
    if data is None and (data := recorded_panel(tags)) is None:
        source = tags.get("data_source") or "not recorded"
        raise ReproductionError(f"the run's data ({source}) is gone: pass --data")
    recorded_fingerprint = tags.get("data_fingerprint", "")
    if (fingerprint := panel_fingerprint(data)) != recorded_fingerprint:
        raise ReproductionError(
            f"the data differs from the run's: fingerprint {fingerprint[:12]}, the run's {recorded_fingerprint[:12]}"
        )
    version = str(max(int(v.version) for v in versions))
    recorded = load_forecaster(tracking, version)
    refit = clone(recorded).fit(data)
    before, after = _baseline_forecast(recorded), _baseline_forecast(refit)
    numbers = [c for c in before.columns if c not in ("unique_id", "ds")]
    same_keys = before[["unique_id", "ds"]].equals(after[["unique_id", "ds"]])
    difference = (
        float(np.max(np.abs(before[numbers].to_numpy() - after[numbers].to_numpy()))) if same_keys else float("inf")
    )
    return Reproduction(run_id, version, len(before), same_keys and difference == 0.0, difference, _code_note(tags))
