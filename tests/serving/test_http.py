"""`capcast serve` as a real process answering over HTTP on 127.0.0.1."""

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

READY_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(trained_home, tmp_path_factory):
    port = _free_port()
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPCAST_")}
    env["CAPCAST_HOME"] = str(trained_home)
    process = subprocess.Popen(
        [sys.executable, "-m", "capcast", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"capcast serve exited with {process.returncode}; see {log.name}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail(f"service not ready in {READY_TIMEOUT_S}s; see {log.name}")
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_forecast_over_http(served, sample_panel):
    uid = sorted(sample_panel["unique_id"].unique())[0]
    with httpx.Client(base_url=served, timeout=30) as client:
        response = client.post("/forecast", json={"unique_ids": [uid], "horizon": 5})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["model"] == client.get("/model").json()
        assert len(body["forecasts"][0]["points"]) == 5


def test_bad_input_over_http_is_a_4xx_in_one_format(served):
    with httpx.Client(base_url=served, timeout=30) as client:
        malformed = client.post("/forecast", content=b"{oops", headers={"content-type": "application/json"})
        assert malformed.status_code == 400
        assert malformed.json()["error"]["code"] == "malformed_json"
        too_long = client.post("/forecast", json={"unique_ids": ["x"], "horizon": 9999})
        assert too_long.status_code == 422 and too_long.json()["error"]["field"] == "horizon"
        unknown = client.get("/no-such-endpoint")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_bentoml_endpoints_stay_reachable(served):
    with httpx.Client(base_url=served, timeout=30) as client:
        assert client.get("/livez").status_code == 200
        metrics = client.get("/metrics")
        assert metrics.status_code == 200 and "bentoml_service_request" in metrics.text


def test_recommend_over_http(served):
    with httpx.Client(base_url=served, timeout=60) as client:
        response = client.post("/recommend", json={"horizon": 7, "time_limit_s": 1})
        assert response.status_code == 200, response.text
        assert response.json()["plan"]["solver"]["status"] in ("OPTIMAL", "FEASIBLE")
