"""`capcast serve` as a real process answering over HTTP on 127.0.0.1."""

import httpx
import pytest

from benchmarks.service_process import running_service


@pytest.fixture(scope="module")
def served(trained_home, tmp_path_factory):
    """One service for the file: a stock source's token besides the planner's, and its own database (the
    shared home's stock stays as it is)."""
    folder = tmp_path_factory.mktemp("serve")
    env = {
        "CAPCAST_TOKENS": '[{"name": "till-9", "role": "source", "token": "t9"}]',
        "CAPCAST_DATABASE_URL": f"sqlite:///{folder / 'capcast.db'}",
    }
    with (folder / "serve.log").open("w") as log, running_service(trained_home, env=env, log=log) as base:
        yield base


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


def test_serve_says_where_the_page_and_the_planner_token_are(served, trained_home, tmp_path_factory):
    """`capcast serve` prints the page's address and the token file, which only its owner can read."""
    log = next(tmp_path_factory.getbasetemp().glob("serve*/serve.log")).read_text()
    assert f"planner page: {served}/ui/" in log
    token_file = trained_home / "planner-token"
    assert f"need the planner token in {token_file}" in log
    assert token_file.stat().st_mode & 0o777 == 0o600 and len(token_file.read_text().strip()) >= 24
    with httpx.Client(base_url=served, timeout=30) as client:
        token = token_file.read_text().strip()
        refused = client.post("/plans", json={}, headers={"Authorization": "Bearer wrong"})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        jobs = client.get("/plan-jobs").json()
        assert client.post(
            f"/plan-jobs/{jobs[0]['id']}/cancel", headers={"Authorization": f"Bearer {token}"}
        ).is_success


def test_stock_data_latency_shows_on_metrics(served):
    """Per node and source, how late events arrive and are applied, and each node's last event, on /metrics
    (over HTTP: BentoML's metrics endpoint is not reachable through the in-process client)."""
    event = {"event_id": "m1", "source": "till-9", "node": "shop-9", "sku": "x", "kind": "receipt", "qty": 4}
    event["occurred_at"] = "2026-03-02T09:00:00+00:00"
    with httpx.Client(base_url=served, timeout=30) as client:
        applied = client.post("/inventory/events", json={"events": [event]}, headers={"Authorization": "Bearer t9"})
        assert applied.json()["applied"] == [0], applied.text
        metrics = client.get("/metrics").text
    labels = 'node="shop-9",source="till-9"'
    assert f"capcast_stock_event_received_delay_seconds_count{{{labels}}} 1.0" in metrics
    assert f"capcast_stock_event_applied_delay_seconds_count{{{labels}}} 1.0" in metrics
    assert 'capcast_stock_node_last_event_timestamp_seconds{node="shop-9"} 1.7724' in metrics
