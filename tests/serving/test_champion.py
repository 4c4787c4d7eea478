"""Champion swaps: a newer version behind @champion is loaded beside the serving one, smoke-tested
and swapped in while requests keep coming, with no failed request and every answer naming the
version that gave it; a version that cannot load leaves the serving one in place, said on
/metrics. Real trained versions in a real MLflow store, the real service over HTTP on 127.0.0.1."""

import gc
import json
import threading
import time
import weakref
from collections import Counter

import httpx
import pytest
from mlflow.tracking import MlflowClient

from benchmarks.service_process import running_service
from serving.champion import Champion, _retire, freeze_loaded_objects
from serving.model_store import ServedModel
from training.tracking import TrackingConfig
from training.train import train

ADMIN = {"Authorization": "Bearer admin-secret"}
TOKENS = json.dumps([{"name": "ops", "role": "admin", "token": "admin-secret"}])


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory, sample_dir, sample_panel, fast_train_config):
    """A home whose store holds versions 1 (@champion) and 2 (no alias yet) of ``demand``."""
    home = tmp_path_factory.mktemp("two-versions")
    tracking = TrackingConfig.embedded(home)
    train(sample_panel, tracking, fast_train_config, source=str(sample_dir))
    shorter = sample_panel[sample_panel["ds"] < sample_panel["ds"].max()]  # version 2: one day less of data
    train(shorter, tracking, fast_train_config, source=str(sample_dir))
    (home / "sample").mkdir()
    (home / "sample" / "site.yaml").write_bytes((sample_dir / "site.yaml").read_bytes())
    return home, tracking.tracking_uri


def _crown(tracking_uri: str, version: str) -> None:
    MlflowClient(tracking_uri).set_registered_model_alias("demand", "champion", version)


def _broken_version(tracking_uri: str, tmp_path) -> str:
    """A registered version whose files are not a model."""
    (tmp_path / "not-a-model").mkdir()
    client = MlflowClient(tracking_uri)
    return str(client.create_model_version("demand", source=str(tmp_path / "not-a-model")).version)


def test_a_new_champion_is_swapped_in_and_a_broken_one_is_refused(two_versions, tmp_path):
    _, uri = two_versions
    _crown(uri, "1")
    load = lambda: ServedModel.resolve(uri, "demand", "champion", threads=1)  # noqa: E731
    swapped = []
    champion = Champion(load(), lambda: ServedModel.lookup(uri, "demand", "champion").version, load, swapped.append)
    assert champion.check().swapped is False
    _crown(uri, "2")
    outcome = champion.check()
    assert outcome.swapped and champion.model.info.version == "2" and [m.info.version for m in swapped] == ["2"]
    _crown(uri, _broken_version(uri, tmp_path))
    refused = champion.check()
    assert not refused.swapped and refused.serving == "2" and "did not load" in refused.error
    assert champion.model.info.version == "2"
    _crown(uri, "1")


def _every_worker_serves(base: str, version: str, within_s: float) -> bool:
    """Whether 10 answers in a row come from ``version`` in time, each on a new connection (the kernel
    spreads connections over the workers, not the requests of one connection)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if all(httpx.get(f"{base}/model", timeout=30).json()["version"] == version for _ in range(10)):
            return True
        time.sleep(0.5)
    return False


def _hammer(base: str, bodies: list[dict], stop: threading.Event, seen: list, limit: int) -> None:
    with httpx.Client(base_url=base, timeout=60) as client:
        for k in range(limit):
            if stop.is_set():
                return
            sent = time.monotonic()
            response = client.post("/forecast", json=bodies[k % len(bodies)])
            body = response.json() if response.headers.get("content-type") == "application/json" else {}
            version = body.get("model", {}).get("version")
            seen.append((sent, response.status_code, response.headers.get("x-capcast-model"), version))


def test_a_swap_under_load_fails_no_request_and_every_answer_names_its_version(two_versions, sample_panel, tmp_path):
    home, uri = two_versions
    _crown(uri, "1")
    ids = sorted(sample_panel["unique_id"].unique())
    env = {"CAPCAST_TOKENS": TOKENS, "CAPCAST_WORKERS": "2", "CAPCAST_MODEL_POLL_S": "0"}
    with running_service(home, env=env, ready_timeout_s=180) as base, httpx.Client(base_url=base, timeout=60) as client:
        history = [{"unique_id": ids[1], "ds": client.get("/model").json()["trained_until"], "y": 3}]
        bodies = [
            {"unique_ids": ids[:2], "horizon": 7},
            {"unique_ids": [ids[1]], "horizon": 3, "history": history},
        ]
        stop, seen = threading.Event(), []
        clients = [threading.Thread(target=_hammer, args=(base, bodies, stop, seen, 400)) for _ in range(4)]
        for thread in clients:
            thread.start()
        time.sleep(1.5)
        _crown(uri, "2")
        reload = client.post("/admin/reload", headers=ADMIN)
        assert reload.status_code == 200, reload.text
        assert reload.json()["serving"]["version"] == "2"
        assert _every_worker_serves(base, "2", within_s=90)  # the other one loads it after a second
        converged = time.monotonic()
        time.sleep(1)
        stop.set()
        for thread in clients:
            thread.join(timeout=120)
        statuses = Counter(status for _, status, _, _ in seen)
        assert statuses == Counter({200: len(seen)}), statuses
        assert all(header == f"demand/{version}" for _, _, header, version in seen)
        assert {"1", "2"} <= {version for _, _, _, version in seen}
        after = [version for sent, _, _, version in seen if sent > converged]
        assert after and set(after) == {"2"}

        _crown(uri, _broken_version(uri, tmp_path))
        failed = client.post("/admin/reload", headers=ADMIN)
        assert failed.status_code == 502 and failed.json()["error"]["code"] == "reload_failed"
        assert "still serving version 2" in failed.json()["error"]["message"]
        assert client.get("/model").json()["version"] == "2"
        assert client.post("/admin/reload").status_code == 401
        metrics = client.get("/metrics").text
        assert 'capcast_model_reloads_total{outcome="failed"}' in metrics
    _crown(uri, "1")


def test_a_retired_version_is_freed_although_loaded_objects_are_frozen():
    """The service freezes what it loaded (no full collector passes over it); retiring a version
    unfreezes, so its reference cycles are collected, not kept for the life of the process."""

    class Version:
        closed = False

        def __init__(self):
            self.cycle = {"owner": self}  # pandas and pydantic objects hold cycles like this

        def close(self):
            self.closed = True

    old = Version()
    alive = weakref.ref(old)
    freeze_loaded_objects()
    try:
        holder = [old]
        del old
        _retire(holder)
        assert alive() is None and holder == []
    finally:
        gc.unfreeze()
