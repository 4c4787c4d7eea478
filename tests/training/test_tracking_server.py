"""Training against a real MLflow tracking server, and a server that is not there.

The round trip runs ``mlflow server`` on 127.0.0.1 (``benchmarks.mlflow_server``) with a throwaway
PostgreSQL as its backend store (the session's, ``tests/databases.py``) and artifacts proxied by the
server into a temp folder: train -> register -> train again -> promote -> ``capcast serve`` resolves
@champion from that server and answers /forecast with the promoted version. An unreachable server
fails ``connect`` and ``capcast train`` in seconds, in one line.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from mlflow.tracking import MlflowClient

from benchmarks.mlflow_server import MlflowServerDidNotStart, mlflow_server
from benchmarks.service_process import running_service
from training.promotion import promote
from training.tracking import TrackingConfig, TrackingUnreachable, check_reachable, connect
from training.train import TrainConfig, train

HORIZON = 7
SMALL_TRAINING = TrainConfig(horizon=HORIZON, n_estimators=20, num_threads=1)
SERIES = 4
ORIGINS = 2  # backtest folds per training run: fewer than the job's default, for time


@pytest.fixture(scope="module")
def tracking_server(postgres_server, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A tracking server on a fresh PostgreSQL database; (its URL, the folder its artifacts go to)."""
    artifacts = tmp_path_factory.mktemp("mlflow-artifacts")
    try:
        with mlflow_server(postgres_server(), artifacts=artifacts) as url:
            yield url, artifacts
    except MlflowServerDidNotStart as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="module")
def small_panel(sample_panel):
    """A few series of the session's sample: seconds to train."""
    ids = sorted(sample_panel["unique_id"].unique())[:SERIES]
    return sample_panel[sample_panel["unique_id"].isin(ids)].reset_index(drop=True)


def _closed_port() -> int:
    """A port of 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_train_register_promote_and_serve_through_a_tracking_server(tracking_server, small_panel, sample_dir, tmp_path):
    url, artifacts = tracking_server
    tracking = TrackingConfig(tracking_uri=url, artifact_location=None)

    first = train(small_panel, tracking, SMALL_TRAINING, source="sample", origins=ORIGINS)
    assert (first.version, first.is_champion) == ("1", True)
    shorter = small_panel[small_panel["ds"] < small_panel["ds"].max()]  # version 2: one day less of data
    second = train(shorter, tracking, SMALL_TRAINING, source="sample", origins=ORIGINS)
    assert (second.version, second.is_champion) == ("2", False)

    client = MlflowClient(tracking_uri=url, registry_uri=url)
    assert client.get_model_version_by_alias("demand", "champion").version == "1"
    # The server stores artifacts itself (proxied), in the folder it was given.
    run = client.get_run(second.run_id)
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    assert any(artifacts.rglob("forecaster.pkl"))

    decision = promote(tracking, "2", data=small_panel, force=True)
    assert decision.promoted and (decision.challenger, decision.champion) == ("2", "1"), decision.reason
    assert client.get_model_version_by_alias("demand", "champion").version == "2"

    home = tmp_path / "home"
    (home / "sample").mkdir(parents=True)
    (home / "sample" / "site.yaml").write_bytes((sample_dir / "site.yaml").read_bytes())
    env = {"CAPCAST_MLFLOW_TRACKING_URI": url, "CAPCAST_WORKERS": "1", "CAPCAST_MODEL_POLL_S": "0"}
    with (
        (tmp_path / "serve.log").open("w") as log,
        running_service(home, log=log, env=env, ready_timeout_s=120) as base,
        httpx.Client(base_url=base, timeout=60) as http,
    ):
        ids = sorted(small_panel["unique_id"].unique())[:2]
        response = http.post("/forecast", json={"unique_ids": ids, "horizon": HORIZON})
        assert response.status_code == 200, response.text
        assert response.headers["X-Capcast-Model"] == "demand/2"
        model = response.json()["model"]
        assert (model["version"], model["alias"], model["run_id"]) == ("2", "champion", second.run_id)
        assert model["trained_until"] == str(shorter["ds"].max().date())
        assert [series["unique_id"] for series in response.json()["forecasts"]] == ids


def test_connect_to_a_closed_port_fails_in_seconds_in_one_line():
    uri = f"http://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    with pytest.raises(TrackingUnreachable) as raised:
        connect(TrackingConfig(tracking_uri=uri))
    assert time.monotonic() - started < 10
    assert str(raised.value) == f"MLflow tracking server {uri} is unreachable: Connection refused"


def test_connect_does_not_show_credentials_in_its_message():
    port = _closed_port()
    with pytest.raises(TrackingUnreachable) as raised:
        connect(TrackingConfig(tracking_uri=f"http://ops:secret@127.0.0.1:{port}"))
    assert str(raised.value) == f"MLflow tracking server http://127.0.0.1:{port} is unreachable: Connection refused"


@pytest.fixture
def health_answers() -> Iterator[tuple[str, list[int]]]:
    """An HTTP server on 127.0.0.1 whose every answer has the status last put in the list; (its URL, the list)."""
    statuses = [200]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(statuses[-1])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", statuses
    finally:
        server.shutdown()
        server.server_close()


def test_what_a_health_check_answer_means(health_answers):
    uri, statuses = health_answers
    for reachable in (200, 401, 403):  # an authenticating proxy in front still means a server is there
        statuses.append(reachable)
        check_reachable(uri)
    statuses.append(502)
    with pytest.raises(TrackingUnreachable, match=r"is unreachable: GET /health answered 502 Bad Gateway$"):
        check_reachable(uri)
    statuses.append(404)
    with pytest.raises(TrackingUnreachable, match=r"answered 404 Not Found \(not an MLflow tracking server\?\)$"):
        check_reachable(uri)


def test_a_server_that_accepts_but_never_answers_is_unreachable_after_the_timeout():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel completes connections; nothing ever reads or answers them
        uri = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(TrackingUnreachable) as raised:
            check_reachable(uri, timeout_s=0.5)
        assert time.monotonic() - started < 5
    assert str(raised.value) == f"MLflow tracking server {uri} is unreachable: no answer within 0.5 s"


def test_capcast_train_against_an_unreachable_server_exits_in_seconds_with_one_line(sample_dir, tmp_path):
    uri = f"http://127.0.0.1:{_closed_port()}"
    variables = {k: v for k, v in os.environ.items() if not k.startswith("CAPCAST_")}
    variables |= {"CAPCAST_HOME": str(tmp_path / "home"), "CAPCAST_MLFLOW_TRACKING_URI": uri}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "capcast", "train", "--data", str(sample_dir), "--threads", "1"],
        env=variables,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].endswith(f"MLflow tracking server {uri} is unreachable: Connection refused"), lines[0]
    assert elapsed < 30, f"took {elapsed:.1f} s"  # the interpreter and imports, then one refused connection
