"""Where a run came from: the code's commit, the package versions and the data's fingerprint.

What ``capcast train --reproduce`` compares before it re-runs a recorded run.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

__all__ = [
    "RUNTIME_PACKAGES",
    "code_version",
    "model_code_fingerprint",
    "package_versions",
    "panel_fingerprint",
    "recorded_panel",
]

# What a model version needs at load time, pinned to what trained it, and what decides its numbers.
RUNTIME_PACKAGES = (
    "mlflow",
    "lightgbm",
    "mlforecast",
    "coreforecast",
    "utilsforecast",
    "pandas",
    "numpy",
    "scikit-learn",
    "statsforecast",
    "holidays",
    "hierarchicalforecast",
)
_CHECKOUT = Path(__file__).resolve().parent.parent


def panel_fingerprint(panel: pd.DataFrame) -> str:
    """SHA-256 of the panel's content, independent of row and column order."""
    ordered = panel.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    ordered = ordered[sorted(ordered.columns)]
    hashed = pd.util.hash_pandas_object(ordered, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def model_code_fingerprint() -> str:
    """SHA-256 of the source a model version carries (the ``features`` and ``models`` packages, MLflow
    ``code_paths``): equal fingerprints and parameters make the same recipe, from a checkout or a wheel."""
    import features
    import models

    digest = hashlib.sha256()
    for package in (features, models):
        root = Path(package.__file__).parent
        for source in sorted(root.rglob("*.py")):
            digest.update(f"{package.__name__}/{source.relative_to(root).as_posix()}\0".encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()


def package_versions(names: tuple[str, ...] = (*RUNTIME_PACKAGES, "capcast")) -> dict[str, str]:
    """Installed version of each package; ``"missing"`` for one that is not installed."""
    versions = {}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "missing"
    return versions


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(_CHECKOUT), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def code_version() -> dict[str, str]:
    """``git_commit`` of the checkout the code runs from and ``git_dirty`` ("true" when tracked files
    differ from it); both ``"unknown"`` outside a git checkout (an installed wheel)."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    changes = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": "unknown" if changes is None else str(bool(changes)).lower()}


def recorded_panel(tags: Mapping[str, str]) -> pd.DataFrame | None:
    """The panel a training run read, read again from its ``data_source`` with its gap policy
    (``data_gaps``); None when no path was recorded or nothing is there any more. The caller
    compares its fingerprint with the run's ``data_fingerprint``."""
    from features.io import load_panel

    source = tags.get("data_source")
    if not source or not Path(source).exists():
        return None
    return load_panel(Path(source), gaps=tags.get("data_gaps"))
