"""The gap policy: a series that skips periods (a store closed for a quarter) is refused, zero-filled,
kept as unobserved or cut, as the user says."""

import numpy as np
import pandas as pd
import pytest

from features.gaps import OBSERVED_WEIGHT, GapPolicy
from features.pipeline import training_frame
from features.validation import PanelError, parse_panel
from models.lgbm import LightGBMForecaster
from training.backtest import rolling_origin_backtest

CLOSED = ("2023-03-01", "2023-04-30")
HORIZON = 7


@pytest.fixture(scope="module")
def closed(sample_panel):
    """The sample as text, with one series closed for two months."""
    uid = sample_panel.groupby("unique_id")["ds"].min().idxmin()
    shut = (sample_panel["unique_id"] == uid) & sample_panel["ds"].between(*CLOSED)
    text = sample_panel[~shut].assign(ds=lambda f: f["ds"].dt.strftime("%Y-%m-%d")).astype(str)
    return text.reset_index(drop=True), uid


def test_a_gap_is_refused_by_default_naming_the_options(closed):
    raw, uid = closed
    with pytest.raises(PanelError) as refused:
        parse_panel(raw)
    assert str(refused.value).endswith(
        f"column ds: 61 days missing in series {uid!r} before this row: add them, or say what they are with "
        "--gaps zero|missing|drop-before (or 'gaps:' in dataset.yaml)"
    )


def test_each_policy_says_what_the_skipped_periods_are(closed, sample_panel):
    raw, uid = closed
    inside = lambda p: p[(p["unique_id"] == uid) & p["ds"].between(*CLOSED)]  # noqa: E731
    zero, missing = parse_panel(raw, gaps=GapPolicy.ZERO), parse_panel(raw, gaps=GapPolicy.MISSING)
    assert len(zero) == len(missing) == len(sample_panel)
    assert (inside(zero)["y"] == 0).all() and inside(missing)["y"].isna().all()
    assert (inside(missing)["item_id"] == sample_panel.loc[sample_panel["unique_id"] == uid, "item_id"].iloc[0]).all()
    assert inside(missing)["price"].isna().all()  # unknown, read by the model as missing
    cut = parse_panel(raw, gaps=GapPolicy.DROP_BEFORE)
    assert cut.loc[cut["unique_id"] == uid, "ds"].min() > pd.Timestamp(CLOSED[1])
    assert len(cut[cut["unique_id"] != uid]) == len(sample_panel[sample_panel["unique_id"] != uid])


def test_unobserved_periods_are_neither_learned_from_nor_scored(closed):
    raw, uid = closed
    panel = parse_panel(raw, gaps=GapPolicy.MISSING)
    frame = training_frame(panel)
    unobserved = frame[OBSERVED_WEIGHT] == 0
    assert unobserved.sum() == 61 and frame["y"].notna().all()  # filled for the lags, weighted out
    model = LightGBMForecaster(horizon=HORIZON, n_estimators=30, num_threads=1).fit(panel)
    assert np.isfinite(model.predict(HORIZON, future=model.baseline_future(HORIZON))["mean"]).all()
    # A backtest whose test window falls in the closure scores only the other series.
    shut_days = panel.loc[panel["y"].isna(), "ds"]
    make = lambda: LightGBMForecaster(horizon=HORIZON, n_estimators=30, num_threads=1)  # noqa: E731
    report = rolling_origin_backtest(panel[panel["ds"] <= shut_days.max()], make, HORIZON, origins=1)
    assert report.forecasts.loc[report.forecasts["unique_id"] == uid, "y"].isna().all()
    assert np.isfinite(report.by_origin["wape"]).all() and report.by_step["wape"].notna().all()
