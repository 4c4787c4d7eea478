"""/recommend's edge: what planning refuses becomes a 4xx naming the request's field."""

import pandas as pd
import pytest

from planning import DemandBasis, Lock, SolverSettings
from serving.errors import ApiError
from serving.plan_maker import recommend_or_refuse
from tests.planning.conftest import make_site

FAST = SolverSettings(time_limit_s=1)


def _forecast() -> pd.DataFrame:
    days = pd.date_range("2026-01-05", periods=5, freq="D")
    rows = [{"unique_id": u, "ds": d, "family": u, "mean": 40.0, "q10": 30.0, "q90": 55.0} for u in "AB" for d in days]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "basis, locks, site, expected",
    [
        (DemandBasis(column="q99"), [], make_site(), (422, "unknown_demand_column", "demand")),
        (DemandBasis(), [Lock(line="L9", day="2026-01-06", shift="day")], make_site(), (422, "invalid_lock", "locks")),
        # Two families, but the site's lines make only B.
        (DemandBasis(), [], make_site(initial_inventory={}, lines=make_site().model_dump()["lines"][1:]), None),
    ],
)
def test_planning_refusals_become_4xx_with_the_field(basis, locks, site, expected):
    with pytest.raises(ApiError) as error:
        recommend_or_refuse(_forecast(), site, basis, FAST, locks)
    expected = expected or (422, "site_does_not_fit", "site")
    assert (error.value.status, error.value.code, error.value.field) == expected


def test_a_forecast_frame_becomes_a_plan():
    plan = recommend_or_refuse(_forecast(), make_site(), DemandBasis(column="mean"), FAST)
    assert plan.days == 5 and sorted({f.family for f in plan.families}) == ["A", "B"]
