"""Shared fixtures: small seeded data and one trained model store per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from features.generate import SampleConfig, write_sample
from features.io import load_panel
from training.tracking import TrackingConfig
from training.train import TrainConfig, train

# The database fixtures (SQLite and a throwaway PostgreSQL) for every test that needs one.
pytest_plugins = ["tests.databases"]

SMALL = SampleConfig(products=6, locations=2, days=240)
TEST_HORIZON = 14


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """Small generated history (12 series x 240 days) and its site."""
    out = tmp_path_factory.mktemp("sample")
    write_sample(out, seed=7, config=SMALL)
    return out


@pytest.fixture(scope="session")
def sample_panel(sample_dir):
    return load_panel(sample_dir)


@pytest.fixture(scope="session")
def fast_train_config() -> TrainConfig:
    # One LightGBM thread: OpenMP threads that spin while another process holds the
    # cores slow training by orders of magnitude on a shared 2-core machine.
    return TrainConfig(horizon=TEST_HORIZON, n_estimators=60, num_threads=1)


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory, sample_dir, sample_panel, fast_train_config) -> Path:
    """A CAPCAST_HOME whose embedded MLflow store holds model ``demand`` version 1 as @champion,
    with the sample site at ``<home>/sample/site.yaml`` where the service looks for it."""
    home = tmp_path_factory.mktemp("home")
    train(sample_panel, TrackingConfig.embedded(home), fast_train_config, source=str(sample_dir), origins=2)
    (home / "sample").mkdir()
    (home / "sample" / "site.yaml").write_bytes((sample_dir / "site.yaml").read_bytes())
    return home


@pytest.fixture(scope="session")
def hierarchy_home(tmp_path_factory, sample_dir, sample_panel) -> Path:
    """A CAPCAST_HOME whose store holds a model of the sample's hierarchy (``hierarchy: [[family]]`` in
    its dataset.yaml: items, families and the total, bottom-up) as version 1 @champion, trained as
    ``capcast train`` would with small LightGBM settings; the sample site beside it."""
    from features.schema import load_schema

    home = tmp_path_factory.mktemp("hierarchy-home")
    schema = load_schema(sample_dir)
    config = TrainConfig(
        horizon=TEST_HORIZON,
        n_estimators=30,
        calibration_windows=2,
        num_threads=1,
        features=schema.feature_spec(sample_panel),
        hierarchy=schema.hierarchy,
        reconcile=str(schema.reconcile),
    )
    train(sample_panel, TrackingConfig.embedded(home), config, source=str(sample_dir), origins=2)
    (home / "sample").mkdir()
    (home / "sample" / "site.yaml").write_bytes((sample_dir / "site.yaml").read_bytes())
    return home


@pytest.fixture
def capcast_env(monkeypatch, trained_home):
    """Point settings at the trained store for one test."""
    monkeypatch.setenv("CAPCAST_HOME", str(trained_home))
    monkeypatch.delenv("CAPCAST_MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("CAPCAST_SITE", raising=False)
    return trained_home


def pytest_configure(config):
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
