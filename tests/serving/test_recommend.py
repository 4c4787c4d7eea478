"""From a forecast frame to a plan, including panels with no product family column."""

import pandas as pd
import pytest

from serving.errors import ApiError
from serving.recommend import plan_from_forecast
from tests.planning.conftest import make_site


def _forecast(with_family: bool) -> pd.DataFrame:
    days = pd.date_range("2026-01-05", periods=5, freq="D")
    frame = pd.DataFrame(
        [
            {"unique_id": uid, "ds": ds, "mean": 40.0, "q10": 30.0, "q50": 40.0, "q90": 55.0}
            for uid in ("A", "B")
            for ds in days
        ]
    )
    if with_family:
        frame["family"] = frame["unique_id"]
    return frame


@pytest.mark.parametrize("with_family", [True, False])
def test_series_without_family_are_planned_as_their_own_product(with_family):
    plan = plan_from_forecast(_forecast(with_family), make_site(), "mean", time_limit_s=1)
    assert sorted({f.family for f in plan.families}) == ["A", "B"]
    assert all(f.demand == 40 for f in plan.families)


def test_default_covers_a_service_level_above_the_mean():
    mean_plan = plan_from_forecast(_forecast(True), make_site(), "mean", time_limit_s=1)
    covered = plan_from_forecast(_forecast(True), make_site(), None, time_limit_s=1, service_level=0.95)
    assert sum(f.demand for f in covered.families) > sum(f.demand for f in mean_plan.families)


@pytest.mark.parametrize("column", ["unique_id", "family", "ds", "q99", "item_id"])
def test_only_mean_or_quantile_columns_can_be_planned_for(column):
    with pytest.raises(ApiError) as error:
        plan_from_forecast(_forecast(True), make_site(), column, time_limit_s=1)
    assert (error.value.status, error.value.code, error.value.field) == (422, "unknown_demand_column", "demand")
