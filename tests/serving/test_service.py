"""The BentoML service in-process: forecasts, plans, and one error format for bad input."""

import pytest
from mlflow.exceptions import MlflowException

from planning import Plan, demand_from_forecast, load_site, plan_violations, service_level_demand


def _error(response, status):
    assert response.status_code == status, response.text
    assert response.headers["X-Capcast-Model"] == "demand/1"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    return body["error"]


def test_ready_and_reports_served_model(service_client):
    assert service_client.get("/readyz").status_code == 200
    info = service_client.get("/model").json()
    assert (info["name"], info["version"], info["alias"]) == ("demand", "1", "champion")


def test_forecast_returns_mean_and_band_per_series_and_day(service_client, sample_panel):
    ids = sorted(sample_panel["unique_id"].unique())[:2]
    response = service_client.post("/forecast", json={"unique_ids": ids, "horizon": 7})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"]["version"] == "1" and body["horizon"] == 7
    assert [s["unique_id"] for s in body["forecasts"]] == ids
    assert {s["method"] for s in body["forecasts"]} == {"global model"}
    for series in body["forecasts"]:
        assert len(series["points"]) == 7
        for point in series["points"]:
            q = point["quantiles"]
            assert 0 <= q["q10"] <= q["q50"] <= q["q90"]


@pytest.mark.parametrize(
    "body, status, code, field",
    [
        ({"unique_ids": ["P001-S1", "nope"], "horizon": 3}, 404, "unknown_series", "unique_ids.1"),
        ({"unique_ids": ["P001-S1"], "horizon": 0}, 422, "invalid_request", "horizon"),
        ({"unique_ids": ["P001-S1"], "horizon": -5}, 422, "invalid_request", "horizon"),
        ({"unique_ids": ["P001-S1"], "horizon": 10_000}, 422, "horizon_too_long", "horizon"),
        ({"unique_ids": ["P001-S1"], "horizon": "soon"}, 422, "invalid_request", "horizon"),
        ({"unique_ids": [], "horizon": 3}, 422, "invalid_request", "unique_ids"),
        ({"unique_ids": "P001-S1"}, 422, "invalid_request", "unique_ids"),
        ({"unique_ids": [7], "horizon": 3}, 422, "invalid_request", "unique_ids.0"),
        ({"horizon": 3}, 422, "invalid_request", "unique_ids"),
        ({"unique_ids": ["P001-S1"], "horizon": 3, "colour": "red"}, 422, "invalid_request", "colour"),
    ],
)
def test_bad_forecast_requests_get_4xx_with_field(service_client, body, status, code, field):
    error = _error(service_client.post("/forecast", json=body), status)
    assert (error["code"], error["field"]) == (code, field)


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2", b"\xff\xfe", b'{"unique_ids": ["P001-S1"],}'])
def test_malformed_json_gets_400(service_client, raw):
    response = service_client.post("/forecast", content=raw, headers={"content-type": "application/json"})
    assert _error(response, 400)["code"] == "malformed_json"


def test_empty_body_gets_422(service_client):
    response = service_client.post("/forecast", content=b"", headers={"content-type": "application/json"})
    assert _error(response, 422)["code"] == "invalid_request"


def test_successful_responses_name_the_model_too(service_client):
    assert service_client.get("/model").headers["X-Capcast-Model"] == "demand/1"


def test_recommend_returns_a_plan_that_passes_the_checker(service_client, trained_home, sample_panel):
    response = service_client.post("/recommend", json={"horizon": 14, "time_limit_s": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"]["version"] == "1"
    plan = Plan.model_validate(body["plan"])
    assert plan.days == 14 and plan.solver.status in ("OPTIMAL", "FEASIBLE")
    assert plan.solver.time_limit_s == 2

    # Rebuild the demand independently: the forecast endpoint, families from the raw panel.
    family_of = sample_panel.drop_duplicates("unique_id").set_index("unique_id")["family"].to_dict()
    forecast = service_client.post("/forecast", json={"unique_ids": sorted(family_of), "horizon": 14}).json()
    rows = [
        {
            "unique_id": s["unique_id"],
            "ds": p["ds"],
            "mean": p["mean"],
            **p["quantiles"],
            "family": family_of[s["unique_id"]],
        }
        for s in forecast["forecasts"]
        for p in s["points"]
    ]
    site = load_site(trained_home / "sample" / "site.yaml")
    level_error = body["model"]["family_level_error"]
    assert level_error >= 0 and body["demand"] == f"service level 0.95, level error {level_error:g}"
    assert plan_violations(site, service_level_demand(rows, 0.95, level_error=level_error), plan) == []
    # The service level covers more than the mean forecast.
    assert sum(f.demand for f in plan.families) > sum(sum(v) for v in demand_from_forecast(rows, "mean").units.values())


@pytest.mark.parametrize(
    "body, status, code, field",
    [
        ({"demand": "q99"}, 422, "unknown_demand_column", "demand"),
        ({"horizon": 0}, 422, "invalid_request", "horizon"),
        ({"horizon": 500}, 422, "horizon_too_long", "horizon"),
        ({"time_limit_s": 0}, 422, "invalid_request", "time_limit_s"),
        ({"site": {"lines": []}}, 422, "invalid_request", "site.shifts"),
        (
            {"locks": [{"line": "L9", "day": "2023-08-29", "shift": "early", "staffed": True}]},
            422,
            "invalid_lock",
            "locks",
        ),
        ({"locks": [{"line": "L1", "shift": "early"}]}, 422, "invalid_request", "locks.0.day"),
        ({"service_level": 1.2}, 422, "invalid_request", "service_level"),
    ],
)
def test_bad_recommend_requests_get_4xx_with_field(service_client, body, status, code, field):
    error = _error(service_client.post("/recommend", json=body), status)
    assert (error["code"], error["field"]) == (code, field)


def test_recommend_keeps_locks_and_reports_conflicts(service_client):
    start = service_client.get("/model").json()["trained_until"]
    from datetime import date, timedelta

    day = str(date.fromisoformat(start) + timedelta(days=2))
    kept = service_client.post(
        "/recommend",
        json={
            "horizon": 7,
            "time_limit_s": 1,
            "locks": [{"line": "L1", "day": day, "shift": "night", "staffed": True}],
        },
    )
    assert kept.status_code == 200, kept.text
    night = [d for d in kept.json()["plan"]["shifts"] if (d["line"], d["day"], d["shift"]) == ("L1", day, "night")]
    assert night[0]["staffed"] is True
    impossible = [
        {"line": line, "day": day, "shift": shift, "staffed": True}
        for line in ("L1", "L2", "L3", "L4")
        for shift in ("early", "late", "night")
    ]
    error = _error(service_client.post("/recommend", json={"horizon": 7, "time_limit_s": 2, "locks": impossible}), 409)
    assert error["code"] == "no_plan" and error["field"] == "locks"
    assert "labour pool" in error["message"] and "Cheapest relaxation" in error["message"]


def test_unknown_paths_and_methods_use_the_error_format(service_client):
    assert _error(service_client.get("/nope"), 404)["code"] == "not_found"
    assert service_client.get("/readyz").status_code == 200
    assert service_client.post("/forecast", json={"unique_ids": ["P001-S1"], "horizon": 2}).status_code == 200
    wrong_method = service_client.get("/forecast")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()


def _future_rows(service_client, ids, horizon, promo=0, price=5.0):
    from datetime import date, timedelta

    start = date.fromisoformat(service_client.get("/model").json()["trained_until"])
    return [
        {"unique_id": uid, "ds": str(start + timedelta(days=d + 1)), "price": price, "promo": promo, "in_stock": 1}
        for uid in ids
        for d in range(horizon)
    ]


def test_forecast_reads_known_future_values_or_says_it_used_the_baseline(service_client, sample_panel):
    ids = sorted(sample_panel["unique_id"].unique())[:2]
    info = service_client.get("/model").json()
    assert info["exogenous"] == ["price", "promo", "in_stock"]
    baseline = service_client.post("/forecast", json={"unique_ids": ids, "horizon": 5}).json()
    assert baseline["future"] == "baseline"
    regular = service_client.post(
        "/forecast", json={"unique_ids": ids, "horizon": 5, "future": _future_rows(service_client, ids, 5)}
    )
    promoted = service_client.post(
        "/forecast",
        json={"unique_ids": ids, "horizon": 5, "future": _future_rows(service_client, ids, 5, promo=1, price=3.0)},
    )
    assert regular.status_code == promoted.status_code == 200, promoted.text
    assert regular.json()["future"] == "request"
    total = lambda body: sum(p["mean"] for s in body["forecasts"] for p in s["points"])  # noqa: E731
    assert total(promoted.json()) > total(regular.json())


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda rows: [{k: v for k, v in r.items() if k != "promo"} for r in rows], "future.promo"),
        (
            lambda rows: [{k: v for k, v in r.items() if (i, k) != (3, "promo")} for i, r in enumerate(rows)],
            "future.3.promo",
        ),
        (lambda rows: [{**r, "weather": 1.0} for r in rows], "future.weather"),
        (lambda rows: rows[1:], "future.ds"),
        (lambda rows: [{**r, "price": "cheap"} if i == 2 else r for i, r in enumerate(rows)], "future.2"),
        (lambda rows: [{**r, "unique_id": "P001-S1"} for r in rows], "future"),
        # A daily model takes days: an hour, a bad date or an offset is named, never a 500.
        (lambda rows: [{**r, "ds": r["ds"] + "T10:00"} if i == 1 else r for i, r in enumerate(rows)], "future.ds"),
        (lambda rows: [{**r, "ds": "2023-02-30"} if i == 1 else r for i, r in enumerate(rows)], "future.1.ds"),
        (
            lambda rows: [{**r, "ds": r["ds"] + "T00:00+01:00"} if i == 1 else r for i, r in enumerate(rows)],
            "future.1.ds",
        ),
    ],
)
def test_bad_future_values_get_422_with_the_field(service_client, sample_panel, change, field):
    ids = sorted(sample_panel["unique_id"].unique())[1:3]
    rows = change(_future_rows(service_client, ids, 3))
    error = _error(service_client.post("/forecast", json={"unique_ids": ids, "horizon": 3, "future": rows}), 422)
    assert error["field"] == field, error


def test_a_future_row_that_lacks_a_value_gets_422_naming_row_and_column(service_client, sample_panel):
    """The other rows' promo makes the column; the row without it would reach the model as an
    empty value, which it reads as "unknown" rather than refusing."""
    ids = sorted(sample_panel["unique_id"].unique())
    rows = _future_rows(service_client, ids, 2)
    del rows[3]["promo"]
    for path, body in (
        ("/forecast", {"unique_ids": ids, "horizon": 2}),
        ("/recommend", {"horizon": 2, "time_limit_s": 1}),
    ):
        error = _error(service_client.post(path, json={**body, "future": rows}), 422)
        assert (error["code"], error["field"], error["message"]) == (
            "missing_future_value",
            "future.3.promo",
            "missing value",
        ), path
    # /recommend forecasts in-process: the model's own refusal still names its column.
    error = _error(
        service_client.post("/recommend", json={"horizon": 2, "future": _future_rows(service_client, ids, 2)[1:]}), 422
    )
    assert error["field"] == "future.ds" and "1 forecast periods have no values" in error["message"], error


def test_model_info_gives_the_last_period_with_its_hour(service_client):
    info = service_client.get("/model").json()
    assert info["last_period"] == info["trained_until"] + "T00:00:00"  # daily: the day's midnight


def test_hourly_model_info_says_at_which_hour_the_forecast_starts(hourly_client):
    info = hourly_client.get("/model").json()
    assert (info["trained_until"], info["last_period"]) == ("2024-01-21", "2024-01-21T23:00:00")
    forecast = hourly_client.post("/forecast", json={"unique_ids": ["S1"], "horizon": 2}).json()
    assert forecast["forecasts"][0]["points"][0]["ds"] == "2024-01-22T00:00:00"


def _hourly_future(hours=3):
    return [{"unique_id": "S1", "ds": f"2024-01-22T{hour:02d}:00:00", "holiday": 0} for hour in range(hours)]


def _predict_raising(monkeypatch, model, error):
    def predict(request):
        raise error

    monkeypatch.setattr(model.pyfunc, "predict", predict)


@pytest.mark.parametrize(
    "raised, field, message",
    [
        # The version's own check; versions logged before the pyfunc set its error code raise it as INTERNAL_ERROR.
        (MlflowException("holiday: holiday: values must be numbers"), "future.holiday", "values must be numbers"),
        (
            MlflowException.invalid_parameter_value("ds: two rows for series 'S1' at 2024-01-22 00:00"),
            "future.ds",
            "two rows for series 'S1' at 2024-01-22 00:00",
        ),
        # Other bad input: one line, without the request frame MLflow's message repeats.
        (
            MlflowException.invalid_parameter_value(
                "Failed to enforce schema of data '  unique_id  ds\n0  S1  2024-01-22' "
                "with schema '['holiday': double]'. "
                "Error: Failed to convert column holiday from type object to DataType.double.",
                error_class="SCHEMA_ENFORCEMENT_FAILED",
            ),
            "future",
            "Failed to convert column holiday from type object to DataType.double.",
        ),
    ],
)
def test_mlflow_refusals_of_future_values_get_422_with_the_field(
    hourly_client, hourly_model, monkeypatch, raised, field, message
):
    _predict_raising(monkeypatch, hourly_model, raised)
    response = hourly_client.post("/forecast", json={"unique_ids": ["S1"], "horizon": 3, "future": _hourly_future()})
    error = _error(response, 422)
    assert (error["field"], error["message"]) == (field, message)


def test_mlflow_schema_enforcement_of_future_values_gets_422_on_future(hourly_client, hourly_model, monkeypatch):
    """A real schema failure: values that reach the pyfunc as words, which MLflow will not take for doubles."""
    predict = hourly_model.pyfunc.predict
    monkeypatch.setattr(hourly_model.pyfunc, "predict", lambda request: predict(request.assign(holiday="none")))
    response = hourly_client.post("/forecast", json={"unique_ids": ["S1"], "horizon": 3, "future": _hourly_future()})
    error = _error(response, 422)
    assert error["field"] == "future" and "holiday" in error["message"] and "\n" not in error["message"], error


@pytest.mark.parametrize(
    "error, future",
    [
        (MlflowException("Model is missing metadata."), _hourly_future()),
        # The service checked the horizon itself: the model refusing it is a disagreement here.
        (MlflowException.invalid_parameter_value("horizon: must be between 1 and 2, got 3"), _hourly_future()),
    ],
)
def test_mlflow_errors_the_caller_did_not_cause_are_logged_server_errors(
    hourly_client, hourly_model, monkeypatch, caplog, error, future
):
    from starlette.testclient import TestClient

    _predict_raising(monkeypatch, hourly_model, error)
    client = TestClient(
        hourly_client.app, raise_server_exceptions=False
    )  # the same app, answering 500 as in production
    response = client.post("/forecast", json={"unique_ids": ["S1"], "horizon": 3, "future": future})
    assert response.status_code == 500 and response.json()["error"]["code"] == "internal", response.text
    assert "unhandled error on /forecast" in caplog.text


def test_recommend_answers_500_for_a_model_error_that_is_not_about_future_values(
    hourly_client, hourly_model, monkeypatch, caplog
):
    from starlette.testclient import TestClient

    _predict_raising(monkeypatch, hourly_model, ValueError("horizon 3 is longer than the maximum 2"))
    client = TestClient(hourly_client.app, raise_server_exceptions=False)
    response = client.post("/recommend", json={"horizon": 3, "future": _hourly_future()})
    assert response.status_code == 500 and response.json()["error"]["code"] == "internal", response.text
    assert "unhandled error on /recommend" in caplog.text


def test_hourly_forecasts_keep_their_hours_in_the_response():
    import pandas as pd

    from serving.responses import to_series_forecasts

    frame = pd.DataFrame(
        {
            "unique_id": "S1",
            "ds": pd.date_range("2024-05-01 22:00", periods=3, freq="h"),
            "mean": 1.0,
            "q10": 0.5,
            "q50": 1.0,
            "q90": 2.0,
        }
    )
    points = to_series_forecasts(frame)[0].points
    assert [p.ds.isoformat() for p in points] == ["2024-05-01T22:00:00", "2024-05-01T23:00:00", "2024-05-02T00:00:00"]
    daily = to_series_forecasts(frame.assign(ds=pd.date_range("2024-05-01", periods=3, freq="D")))[0].points
    assert [p.ds.isoformat() for p in daily] == ["2024-05-01", "2024-05-02", "2024-05-03"]


def test_a_forecast_is_daily_when_every_period_starts_at_midnight():
    import pandas as pd

    from serving.responses import periods_are_days

    assert periods_are_days(pd.Series(pd.date_range("2024-05-01", periods=3, freq="D")))
    assert not periods_are_days(pd.Series(pd.date_range("2024-05-01 23:00", periods=2, freq="h")))


def test_forecast_horizon_is_documented_in_periods_of_the_model():
    from serving.schemas import ForecastRequest, RecommendRequest

    assert "hours for hourly models" in ForecastRequest.model_fields["horizon"].description
    assert RecommendRequest.model_fields["horizon"].description.startswith("days to plan")


def test_hourly_model_reads_future_values_by_the_hour(hourly_client, hourly_model, monkeypatch):
    baseline = hourly_client.post("/forecast", json={"unique_ids": ["S1"], "horizon": 6})
    assert baseline.status_code == 200, baseline.text
    assert baseline.json()["future"] == "baseline"
    hours = [p["ds"] for p in baseline.json()["forecasts"][0]["points"]]
    assert hours[:2] == ["2024-01-22T00:00:00", "2024-01-22T01:00:00"]  # the sample ends 2024-01-21 23:00
    received = []
    forecaster = hourly_model.pyfunc.unwrap_python_model().forecaster
    predict = forecaster._predict

    def spy(horizon, ids, future):
        received.append(future)
        return predict(horizon, ids, future)

    monkeypatch.setattr(forecaster, "_predict", spy)
    rows = [{"unique_id": "S1", "ds": ds, "holiday": hour % 2} for hour, ds in enumerate(hours)]
    response = hourly_client.post("/forecast", json={"unique_ids": ["S1"], "horizon": 6, "future": rows})
    assert response.status_code == 200, response.text
    assert response.json()["future"] == "request"
    [future] = received  # what the model forecasts from: each value at the hour it was sent for
    assert future["ds"].dt.strftime("%Y-%m-%dT%H:%M:%S").tolist() == hours
    assert future["holiday"].tolist() == [0, 1, 0, 1, 0, 1]


@pytest.mark.parametrize(
    "change, field, message",
    [
        (lambda rows: rows[:3] + rows[4:], "future.ds", "first: series 'S1' at 2024-01-22 03:00"),
        (
            lambda rows: [{**r, "ds": r["ds"][:10]} for r in rows],
            "future.ds",
            "two rows for series 'S1' at 2024-01-22 00:00",
        ),
        (
            lambda rows: [{**r, "ds": r["ds"] + "+01:00"} if i == 2 else r for i, r in enumerate(rows)],
            "future.2.ds",
            "timezone",
        ),
    ],
)
def test_hourly_future_rows_off_the_forecast_hours_get_422_naming_the_hour(hourly_client, change, field, message):
    hours = [f"2024-01-22T{hour:02d}:00:00" for hour in range(6)]
    rows = change([{"unique_id": "S1", "ds": ds, "holiday": 0} for ds in hours])
    error = _error(hourly_client.post("/forecast", json={"unique_ids": ["S1"], "horizon": 6, "future": rows}), 422)
    assert error["field"] == field and message in error["message"], error
