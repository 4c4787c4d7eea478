"""``POST /forecast`` without HTTP: baseline answers written at load, scenario requests batched."""

import asyncio
import json

import pandas as pd
import pytest

from serving.errors import ApiError
from serving.forecasting import forecast_body
from serving.model_store import ServedModel
from serving.responses import to_series_forecasts
from serving.schemas import ForecastRequest, ForecastResponse
from tests.serving.conftest import run_async
from training.tracking import TrackingConfig


@pytest.fixture(scope="module")
def served(trained_home):
    model = ServedModel.resolve(TrackingConfig.embedded(trained_home).tracking_uri, "demand", "champion", threads=1)
    yield model
    model.close()


def _slow_body(model: ServedModel, ids: list[str], horizon: int, future: pd.DataFrame | None) -> str:
    """The response as pydantic writes it from a direct model call."""
    frame = model.forecast_frame(ids, horizon, future)
    source = "none" if not model.info.exogenous else ("baseline" if future is None else "request")
    forecasts = to_series_forecasts(frame, model.cold_start_ids)
    return ForecastResponse(model=model.info, horizon=horizon, future=source, forecasts=forecasts).model_dump_json()


def _scenario(model: ServedModel, ids: list[str], horizon: int, price_factor: float) -> list[dict]:
    """Known-future rows for ``ids``: the model's baseline values with prices scaled."""
    forecaster = model.pyfunc.unwrap_python_model().forecaster
    rows = forecaster.baseline_future(horizon, ids)
    rows["price"] = (rows["price"] * price_factor).round(2)
    rows["ds"] = rows["ds"].dt.strftime("%Y-%m-%d")
    return rows.to_dict("records")


def test_baseline_body_is_what_pydantic_writes_for_the_models_answer(served):
    ids = served.series_ids
    for chosen, horizon in (([ids[3]], 1), ([ids[5], ids[0], ids[5]], 4), (ids, served.info.max_horizon)):
        body = run_async(forecast_body(served, ForecastRequest(unique_ids=chosen, horizon=horizon)))
        assert body.decode() == _slow_body(served, chosen, horizon, None)


def test_concurrent_scenarios_share_model_calls_and_each_gets_its_own_answer(served):
    assert "price" in served.info.exogenous
    ids, horizon = served.series_ids, 5
    requests = [
        ForecastRequest(unique_ids=[ids[k % len(ids)]], horizon=horizon, future=_scenario(served, [ids[k]], horizon, f))
        for k, f in enumerate((0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 0.7, 0.6))
    ]

    async def all_at_once():
        return await asyncio.gather(*(forecast_body(served, r) for r in requests))

    batches_before = served.scenarios.batches
    bodies = run_async(all_at_once())
    assert served.scenarios.batches - batches_before < len(requests)
    for request, body in zip(requests, bodies):
        future = pd.DataFrame([r.model_dump() | (r.model_extra or {}) for r in request.future])
        assert body.decode() == _slow_body(served, request.unique_ids, horizon, future)


def test_a_scenario_the_model_refuses_fails_alone_in_its_batch(served):
    ids, horizon = served.series_ids, 4
    good = ForecastRequest(unique_ids=[ids[0]], horizon=horizon, future=_scenario(served, [ids[0]], horizon, 0.9))
    short = _scenario(served, [ids[1]], horizon, 0.9)[:-1]  # the last period has no values
    bad = ForecastRequest(unique_ids=[ids[1]], horizon=horizon, future=short)

    async def together():
        return await asyncio.gather(*(forecast_body(served, r) for r in (good, bad, good)), return_exceptions=True)

    first, refused, again = run_async(together())
    assert json.loads(first)["forecasts"][0]["unique_id"] == ids[0] and first == again
    assert isinstance(refused, ApiError) and refused.status == 422 and refused.code == "invalid_future"


def _actuals(served: ServedModel, ids: list[str], days: int, y: float = 9.0) -> list[dict]:
    last = pd.Timestamp(served.info.last_period)
    return [
        {"unique_id": uid, "ds": str((last + pd.Timedelta(days=d)).date()), "y": y}
        for uid in ids
        for d in range(1, days + 1)
    ]


def test_a_forecast_starts_after_the_actuals_the_caller_sends(service_client, served):
    assert service_client.get("/model").json()["takes_history"] is True
    known, other = served.series_ids[:2]
    body = {"unique_ids": [known, other, "NEW-1"], "horizon": 7, "history": _actuals(served, [known], 3)}
    body["history"] += [
        {"unique_id": "NEW-1", "ds": "2025-01-01", "y": 4},
        {"unique_id": "NEW-1", "ds": "2025-01-02", "y": 6},
    ]
    response = service_client.post("/forecast", json=body)
    assert response.status_code == 200, response.text
    forecasts = {f["unique_id"]: f for f in response.json()["forecasts"]}
    last = pd.Timestamp(served.info.last_period)
    assert forecasts[known]["points"][0]["ds"] == str((last + pd.Timedelta(days=4)).date())
    assert forecasts[other]["points"][0]["ds"] == str((last + pd.Timedelta(days=1)).date())
    assert forecasts["NEW-1"]["method"] == "cold start: historic average"
    assert forecasts["NEW-1"]["points"][0] == {
        "ds": "2025-01-03",
        "mean": 5.0,
        "quantiles": forecasts["NEW-1"]["points"][0]["quantiles"],
    }
    assert forecasts[known]["method"] == "global model" and len(forecasts[known]["points"]) == 7
    forecaster = served.pyfunc.unwrap_python_model().forecaster
    history = pd.DataFrame(body["history"]).assign(ds=lambda f: pd.to_datetime(f["ds"]))
    expected = forecaster.predict(7, ids=[known], history=history[history["unique_id"] == known])
    assert [p["mean"] for p in forecasts[known]["points"]] == expected["mean"].round(4).tolist()


@pytest.mark.parametrize(
    "change, status, code, field",
    [
        (lambda rows: [rows[0], rows[2]], 422, "invalid_history", "history.1.ds"),
        (lambda rows: [*rows, {**rows[0], "y": -1}], 422, "history_row", "history.3.y"),
        (lambda rows: [*rows, {**rows[0], "unique_id": "nobody"}], 422, "invalid_history", "history.3.unique_id"),
        (lambda rows: [*rows, {**rows[0], "ds": "2026-01-01T00:00:00+01:00"}], 422, "history_row", "history.3.ds"),
    ],
    ids=["gap", "negative", "stray", "offset"],
)
def test_actuals_that_do_not_continue_the_data_get_422_with_the_row(
    service_client, served, change, status, code, field
):
    known = served.series_ids[0]
    rows = change(_actuals(served, [known], 3))
    response = service_client.post("/forecast", json={"unique_ids": [known], "horizon": 3, "history": rows})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field and (code == "history_row" or error["code"] == code)


def test_an_unknown_series_without_actuals_is_still_unknown(service_client, served):
    body = {"unique_ids": ["nobody", served.series_ids[0]], "history": _actuals(served, served.series_ids[:1], 1)}
    response = service_client.post("/forecast", json=body)
    assert response.status_code == 404 and response.json()["error"]["field"] == "unique_ids.0"


def test_a_version_trained_before_history_existed_says_so(served):
    old = served.info
    served.info = old.model_copy(update={"takes_history": False})
    try:
        request = ForecastRequest(unique_ids=served.series_ids[:1], history=_actuals(served, served.series_ids[:1], 1))
        with pytest.raises(ApiError) as refused:
            run_async(forecast_body(served, request))
    finally:
        served.info = old
    assert (refused.value.status, refused.value.code, refused.value.field) == (422, "history_not_supported", "history")
