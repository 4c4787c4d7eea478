"""A served model of a hierarchy (items, families, total): family ids forecast like any series, what it
reports, its refusals with their fields, forecasts from newer actuals, and plans of each family's own row."""

import json

import numpy as np
import pandas as pd
import pytest

from planning import DemandBasis, plan_rows
from serving.errors import ApiError
from serving.forecasting import forecast_body
from serving.model_store import ServedModel
from serving.plan_maker import PlanMaker, load_default_site
from serving.schemas import ForecastRequest, RecommendRequest
from tests.serving.conftest import run_async
from training.tracking import TrackingConfig

HORIZON = 5


@pytest.fixture(scope="module")
def served(hierarchy_home):
    model = ServedModel.resolve(TrackingConfig.embedded(hierarchy_home).tracking_uri, "demand", "champion", threads=1)
    yield model
    model.close()


def _forecast(model: ServedModel, **request) -> dict[str, pd.DataFrame]:
    body = json.loads(run_async(forecast_body(model, ForecastRequest(horizon=HORIZON, **request))))
    return {s["unique_id"]: pd.DataFrame(s["points"]) for s in body["forecasts"]}


def _refusal(model: ServedModel, **request) -> tuple[int, str, str]:
    with pytest.raises(ApiError) as refused:
        _forecast(model, **request)
    return refused.value.status, refused.value.code, refused.value.field


def test_model_reports_its_hierarchy_and_plans_families_without_a_level_error(served):
    info = served.info
    assert (info.hierarchy, info.reconcile, info.plans_from) == ([["family"]], "bottom_up", "family")
    assert info.family_level_error == 0.0
    assert {"F1", "F2", "total"} <= set(served.forecast_ids) and "F1" not in served.series_ids


def test_a_family_is_forecast_as_the_sum_of_its_items_and_bad_ids_are_refused(served):
    items = [i for i in served.series_ids if served.levels[i] == "unique_id"]
    family_of = served.series_attributes.set_index("unique_id")["family"]
    f1 = [i for i in items if family_of[i] == "F1"]
    forecasts = _forecast(served, unique_ids=["F1", *f1])
    summed = sum(forecasts[i]["mean"] for i in f1)
    np.testing.assert_allclose(forecasts["F1"]["mean"], summed, atol=1e-3)
    assert _refusal(served, unique_ids=["F1", "F9"]) == (404, "unknown_series", "unique_ids.1")


def test_future_values_of_some_items_move_their_family_and_an_aggregates_are_refused(served):
    forecaster = served.pyfunc.unwrap_python_model().forecaster
    item = served.series_ids[0]
    family = served.series_attributes.set_index("unique_id").loc[item, "family"]
    rows = forecaster.baseline_future(HORIZON)
    rows = rows[rows["unique_id"] == item].assign(promo=1.0, ds=lambda f: f["ds"].dt.strftime("%Y-%m-%d"))
    baseline = _forecast(served, unique_ids=[family])[family]
    promoted = _forecast(served, unique_ids=[family], future=rows.to_dict("records"))[family]
    assert (promoted["mean"] != baseline["mean"]).any()
    aggregate = rows.assign(unique_id=family).to_dict("records")
    assert _refusal(served, unique_ids=[family], future=aggregate) == (422, "invalid_future", "future.0.unique_id")


def test_forecasts_start_after_newer_actuals_of_every_item(served):
    start = pd.Timestamp(served.info.last_period) + pd.Timedelta(days=1)
    actuals = [{"unique_id": i, "ds": start.date().isoformat(), "y": 3.0} for i in served.series_ids]
    forecasts = _forecast(served, unique_ids=["F1", "total"], history=actuals)
    assert forecasts["F1"]["ds"].iloc[0] == (start + pd.Timedelta(days=1)).date().isoformat()
    # Actuals of some items only would leave the others a period behind: nothing could be reconciled.
    assert _refusal(served, unique_ids=["F1"], history=actuals[1:]) == (422, "invalid_history", "history")
    family = [{**actuals[0], "unique_id": "F1"}]
    assert _refusal(served, unique_ids=["F1"], history=family) == (422, "invalid_history", "history.0.unique_id")


def test_plans_cover_each_familys_own_forecast_with_no_level_error(served, hierarchy_home):
    rows, families_own = plan_rows(served.all_series_forecast(HORIZON).to_dict("records"))
    families = set(served.series_attributes.set_index("unique_id").loc[served.series_ids, "family"])
    assert families_own and {r["unique_id"] for r in rows} == families and len(rows) == len(families) * HORIZON
    assert all(r["family"] == r["unique_id"] for r in rows)
    maker = PlanMaker(served, load_default_site(hierarchy_home / "sample" / "site.yaml"), 1.0)
    plan, lineage = maker.make(RecommendRequest(horizon=HORIZON, time_limit_s=1))
    assert lineage.level_error == 0.0 and plan.context.basis == DemandBasis(level_error=0.0).describe()
    family_mean = {(d.family, d.day): d.mean for d in plan.context.forecast}
    own = {(r["unique_id"], r["ds"].date()): r["mean"] for r in rows}
    assert family_mean == pytest.approx(own, abs=1e-3)
