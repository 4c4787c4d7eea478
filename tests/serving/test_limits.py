"""What one request may ask: each limit refused with its own code, the limit in the message; and
the caps every request meets before its endpoint (body size, requests at once)."""

import asyncio
import sqlite3

import bentoml
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI, Request
from starlette.testclient import TestClient

from serving.errors import install_error_handlers
from serving.limits import RequestLimits
from serving.middleware import BodyLimit, ConcurrencyLimit, ModelVersionHeader, served_by
from tests.serving.conftest import run_async


@pytest.fixture
def limited(service_client, monkeypatch):
    """The in-process service with small limits for one test."""
    service = bentoml.get_current_service()
    small = RequestLimits(series=2, future_rows=3, plan_line_shifts=50, recommend_time_limit_s=5)
    monkeypatch.setattr(service, "limits", small)
    monkeypatch.setattr(service.planner, "limits", small)
    return service_client


def _refusal(response, status: int, code: str, field: str | None) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    return error["message"]


def test_too_many_series(limited, sample_panel):
    ids = sorted(sample_panel["unique_id"].unique())[:3]
    message = _refusal(limited.post("/forecast", json={"unique_ids": ids}), 422, "too_many_series", "unique_ids")
    assert "at most 2" in message


def test_too_many_future_rows(limited, sample_panel):
    uid = sorted(sample_panel["unique_id"].unique())[0]
    rows = [{"unique_id": uid, "ds": f"2030-01-0{d}", "price": 1.0, "promo": 0} for d in range(1, 5)]
    response = limited.post("/forecast", json={"unique_ids": [uid], "horizon": 4, "future": rows})
    assert "at most 3" in _refusal(response, 422, "too_many_future_rows", "future")


def test_a_plan_larger_than_the_limit_is_refused_before_solving(limited):
    for path in ("/recommend", "/plans"):
        response = limited.post(path, json={"horizon": 7}, headers={"Authorization": "Bearer planner-secret"})
        assert "at most 50" in _refusal(response, 422, "plan_too_large", "site")


def test_a_long_recommend_solve_is_sent_to_plan_jobs(limited):
    response = limited.post("/recommend", json={"horizon": 3, "time_limit_s": 6})
    assert "POST /plans" in _refusal(response, 422, "time_limit_too_long", "time_limit_s")


# ---- the caps before the endpoints, on a small app: deterministic and fast ----------------------


def _app(concurrency: int = 8, body_bytes: int = 1024) -> tuple[FastAPI, asyncio.Event]:
    release = asyncio.Event()
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict:
        served_by(request.scope["state"], "demand/7")
        return {"bytes": len(await request.body())}

    @app.get("/wait")
    async def wait() -> dict:
        await release.wait()
        return {}

    app.add_middleware(BodyLimit, limit=body_bytes)
    app.add_middleware(ConcurrencyLimit, limit=concurrency)
    app.add_middleware(ModelVersionHeader, current=lambda: "demand/6")
    return app, release


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://capcast")


def test_a_body_above_the_limit_is_413_whether_declared_or_streamed():
    app, _ = _app(body_bytes=1024)

    async def chunks():
        for _ in range(8):
            yield b"x" * 256

    async def run():
        async with _client(app) as client:
            small = await client.post("/echo", content=b"x" * 1024)
            declared = await client.post("/echo", content=b"x" * 1025)
            streamed = await client.post("/echo", content=chunks())
            return small, declared, streamed

    small, declared, streamed = run_async(run())
    assert small.status_code == 200 and small.json() == {"bytes": 1024}
    for response in (declared, streamed):
        assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
        assert "at most 1024 bytes" in response.json()["error"]["message"]


def test_requests_beyond_the_concurrency_are_503_with_retry_after_and_the_rest_are_served():
    app, release = _app(concurrency=2)

    async def run():
        async with _client(app) as client:
            waiting = [asyncio.create_task(client.get("/wait")) for _ in range(2)]
            await asyncio.sleep(0.2)
            refused = await client.get("/wait")
            release.set()
            return refused, await asyncio.gather(*waiting), await client.post("/echo", content=b"{}")

    refused, served, after = run_async(run())
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert refused.json()["error"]["code"] == "overloaded"
    assert [r.status_code for r in served] == [200, 200] and after.status_code == 200


def test_every_answer_names_the_version_that_gave_it():
    app, release = _app(concurrency=1, body_bytes=4)

    async def run():
        release.set()
        async with _client(app) as client:
            return await client.post("/echo", content=b"{}"), await client.post("/echo", content=b"12345")

    answered, refused = run_async(run())
    assert answered.headers["X-Capcast-Model"] == "demand/7"  # the endpoint's own
    assert refused.status_code == 413 and refused.headers["X-Capcast-Model"] == "demand/6"  # the serving one


def test_a_database_held_by_other_writers_is_a_503_to_retry_not_a_500(tmp_path):
    """SQLite's busy timeout running out under many writers (real locks): the caller is told to retry."""
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.1})
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/write")
    def write() -> dict:
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO t VALUES (1)"))
        return {}

    holder.execute("BEGIN EXCLUSIVE")
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            busy = client.post("/write")
    finally:
        holder.execute("ROLLBACK")
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
    assert busy.json()["error"]["code"] == "overloaded"
    with TestClient(app) as client:
        assert client.post("/write").status_code == 200
