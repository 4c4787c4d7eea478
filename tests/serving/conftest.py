import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

PLANNER_TOKEN = "planner-secret"
AS_PLANNER = {"Authorization": f"Bearer {PLANNER_TOKEN}"}
# Two stock sources, each writing only its own events; the plant receives the planned production.
SOURCE_TOKENS = {"store-1": "s1-secret", "plant": "plant-secret"}
PRODUCTION_NODE = "plant"


def run_async(coroutine):
    """Runs a coroutine to completion on its own thread: the browser tests' sync Playwright
    leaves an event loop running on the main thread, where ``asyncio.run`` refuses."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def as_source(name: str) -> dict:
    return {"Authorization": f"Bearer {SOURCE_TOKENS[name]}"}


@pytest.fixture(scope="session")
def service_client(trained_home):
    """The real BentoML service in-process, its ASGI app built once per test session
    (a second build registers duplicate Prometheus metrics). Plans take 2 s unless a request
    says otherwise; writes need ``AS_PLANNER``."""
    from starlette.testclient import TestClient

    mp = pytest.MonkeyPatch()
    mp.setenv("CAPCAST_HOME", str(trained_home))
    mp.setenv("CAPCAST_PLAN_TIME_LIMIT_S", "2")
    mp.setenv("CAPCAST_PLANNER_TOKEN", PLANNER_TOKEN)
    tokens = [{"name": name, "role": "source", "token": token} for name, token in SOURCE_TOKENS.items()]
    mp.setenv("CAPCAST_TOKENS", json.dumps(tokens))
    _write_inventory_config(trained_home)
    mp.delenv("CAPCAST_DATABASE_URL", raising=False)
    mp.delenv("CAPCAST_MLFLOW_TRACKING_URI", raising=False)
    mp.delenv("CAPCAST_SITE", raising=False)
    from serving.service import Capcast

    with TestClient(Capcast.to_asgi()) as client:
        yield client
    mp.undo()


@pytest.fixture(scope="session")
def hourly_model(tmp_path_factory):
    """A small hourly model (one site, 21 days, known-future ``holiday``) registered and loaded as
    the service loads its model; seconds to train."""
    from features.generate import write_hourly_sample
    from features.io import load_panel
    from serving.model_store import ServedModel
    from training.tracking import TrackingConfig
    from training.train import TrainConfig, train

    home = tmp_path_factory.mktemp("hourly-home")
    data = write_hourly_sample(home / "data", seed=1, sites=1, days=21)
    tracking = TrackingConfig.embedded(home)
    train(load_panel(data), tracking, TrainConfig(horizon=24, n_estimators=10, num_threads=1), source=str(data))
    return ServedModel.resolve(tracking.tracking_uri, tracking.model_name, tracking.champion_alias)


@pytest.fixture
def hourly_client(service_client, hourly_model, monkeypatch):
    """The in-process service answering with the hourly model for one test: the ASGI app is
    built once per session, so the model it serves is swapped rather than the service rebuilt."""
    import bentoml

    monkeypatch.setattr(bentoml.get_current_service().planner, "model", hourly_model)
    return service_client


def _write_inventory_config(home) -> None:
    """Each family of the sample site is one SKU (``<family>-sku``) received at the plant."""
    import yaml

    site = yaml.safe_load((home / "sample" / "site.yaml").read_text())
    families = sorted({family for line in site["lines"] for family in line["families"]})
    config = {"production_node": PRODUCTION_NODE, "family_split": {f: {f"{f}-sku": 1.0} for f in families}}
    (home / "inventory.yaml").write_text(yaml.safe_dump(config))
