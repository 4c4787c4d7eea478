"""A request's known-future values against the served version's blank policies, without HTTP."""

from datetime import datetime

import pytest

from serving.errors import ApiError
from serving.future_input import checked_future, future_frame
from serving.schemas import FutureValues, ModelInfo

INFO = ModelInfo(
    name="demand",
    version="7",
    alias="champion",
    run_id="r",
    max_horizon=2,
    trained_until=datetime(2024, 1, 31).date(),
    last_period=datetime(2024, 1, 31),
    exogenous=["price", "promo"],
    blanks={"price": "previous"},  # promo not named: refused, as by versions trained before the policies
)


def _rows(**second) -> list[FutureValues]:
    rows = [{"unique_id": "a", "ds": "2024-02-01", "price": 4.0, "promo": 0}, {"unique_id": "a", "ds": "2024-02-02"}]
    rows[1] |= second
    return [FutureValues.model_validate(row) for row in rows]


def test_a_blank_is_refused_only_where_the_version_refuses_it():
    """An omitted or null price is left for the model to fill (its training carried prices forward);
    a blank promo is a 422 naming the row and the column."""
    for rows in (_rows(promo=1), _rows(price=None, promo=1)):
        checked = checked_future(future_frame(rows), INFO, ["a"], requested=True)
        assert checked["price"].isna().tolist() == [False, True]
    for rows in (_rows(price=4.0), _rows(price=4.0, promo=None)):
        with pytest.raises(ApiError) as refused:
            checked_future(future_frame(rows), INFO, ["a"], requested=True)
        error = refused.value
        assert (error.status, error.code, error.field, error.message) == (
            422,
            "missing_future_value",
            "future.1.promo",
            "missing value",
        )
