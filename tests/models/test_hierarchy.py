"""Coherent hierarchy forecasts: every level present, children adding up to parents, bottom-up and
MinTrace as hierarchicalforecast computes them, quantiles moved with the reconciled mean, the
known-future path, pickling and the refusals."""

import copy

import numpy as np
import pandas as pd
import pytest

from features.generate import SampleConfig, generate_panel
from models.base import Forecaster, FutureValuesError, HistoryError
from models.baselines import SeasonalNaive
from models.hierarchy import TOTAL, HierarchicalForecaster
from models.lgbm import LightGBMForecaster

HORIZON = 7
HIERARCHY = (("family",), ("store_id",), ("store_id", "family"))
# 6 items in 2 families x 2 stores: 12 series, 8 aggregates (total, 2 families, 2 stores, 4 store-families).
LEVELS = {"total": 1, "family": 2, "store_id": 2, "store_id/family": 4, "unique_id": 12}


@pytest.fixture(scope="module")
def panel():
    return generate_panel(SampleConfig(products=6, locations=2, days=200, families=2), seed=3)


@pytest.fixture(scope="module")
def split(panel):
    cutoff = panel["ds"].max() - pd.Timedelta(days=HORIZON)
    return panel[panel["ds"] <= cutoff], panel[panel["ds"] > cutoff]


def _base():
    return LightGBMForecaster(horizon=HORIZON, n_estimators=20, calibration_windows=2, num_threads=1)


@pytest.fixture(scope="module")
def fitted(split):
    """One fit, a copy per method: the method acts at predict (``none`` holds the raw forecasts)."""
    model = HierarchicalForecaster(base=_base(), hierarchy=HIERARCHY).fit(split[0])
    return {method: copy.deepcopy(model).set_params(method=method) for method in ("none", "bottom_up", "mint_shrink")}


@pytest.fixture(scope="module")
def forecasts(fitted, split):
    return {method: model.predict(HORIZON, future=model.known_future(split[1])) for method, model in fitted.items()}


def _sums(forecast: pd.DataFrame, model: HierarchicalForecaster, column: str = "mean") -> pd.DataFrame:
    """Each aggregate's ``column`` summed from the bottom rows: ``unique_id, ds, <column>``."""
    bottom = forecast[forecast["unique_id"].map(model.level_of_) == "unique_id"]
    bottom = bottom.join(model.attributes_, on="unique_id")
    frames = [bottom.groupby("ds", as_index=False)[column].sum().assign(unique_id=TOTAL)]
    for level in HIERARCHY:
        sums = bottom.groupby([*level, "ds"], as_index=False)[column].sum()
        frames.append(sums.assign(unique_id=sums[list(level)].agg("/".join, axis=1)))
    return pd.concat(frames)[["unique_id", "ds", column]]


def _aggregates(forecast: pd.DataFrame, model: HierarchicalForecaster) -> pd.DataFrame:
    """The forecast's aggregate rows next to the sums of their bottom rows (``mean``, ``summed``)."""
    sums = _sums(forecast, model).rename(columns={"mean": "summed"})
    return forecast.merge(sums, on=["unique_id", "ds"], validate="one_to_one")


def test_every_level_is_forecast_with_its_ids(fitted, forecasts):
    model = fitted["mint_shrink"]
    assert {level: len(ids) for level, ids in model.tags_.items()} == LEVELS
    assert model.level_of_["S1/F2"] == "store_id/family"
    assert model.level_of_[TOTAL] == "total"
    assert model.level_of_["P001-S1"] == "unique_id"
    forecast = forecasts["mint_shrink"]
    assert forecast.groupby("unique_id").size().to_dict() == dict.fromkeys(model.level_of_, HORIZON)
    assert list(forecast.columns) == ["unique_id", "ds", "mean", "q2.5", "q10", "q50", "q90", "q97.5"]


@pytest.mark.parametrize("method", ["bottom_up", "mint_shrink"])
def test_reconciled_means_add_up_at_every_level(fitted, forecasts, method):
    joined = _aggregates(forecasts[method], fitted[method])
    assert len(joined) == (len(fitted[method].level_of_) - LEVELS["unique_id"]) * HORIZON
    np.testing.assert_allclose(joined["mean"], joined["summed"], rtol=1e-6, atol=1e-6)


def test_direct_forecasts_do_not_add_up(fitted, forecasts):
    """What reconciliation fixes: the base model's own forecasts of the aggregates disagree with the sums."""
    joined = _aggregates(forecasts["none"], fitted["none"])
    assert (np.abs(joined["mean"] - joined["summed"]) > 0.01 * joined["summed"]).mean() > 0.5


def test_bottom_up_keeps_the_bottom_forecasts(fitted, forecasts):
    """Bottom-up changes no bottom mean."""
    bottom_up, direct = forecasts["bottom_up"], forecasts["none"]
    below = bottom_up["unique_id"].map(fitted["bottom_up"].level_of_) == "unique_id"
    assert below.sum() == LEVELS["unique_id"] * HORIZON
    columns = ["unique_id", "ds", "mean"]
    pd.testing.assert_frame_equal(bottom_up.loc[below, columns], direct.loc[below, columns])


def test_mint_moves_the_bottom_forecasts_towards_the_aggregates(forecasts):
    mint, bottom_up = forecasts["mint_shrink"], forecasts["bottom_up"]
    assert mint[["unique_id", "ds"]].equals(bottom_up[["unique_id", "ds"]])
    assert np.abs(mint["mean"] - bottom_up["mean"]).max() > 1.0


@pytest.mark.parametrize("method", ["none", "bottom_up", "mint_shrink"])
def test_quantiles_never_cross_and_stay_non_negative(forecasts, method):
    values = forecasts[method][["q2.5", "q10", "q50", "q90", "q97.5"]].to_numpy()
    assert (values >= 0).all()
    assert (np.diff(values, axis=1) >= 0).all()
    assert (forecasts[method]["mean"] >= 0).all()


@pytest.mark.parametrize("method", ["bottom_up", "mint_shrink"])
def test_bands_are_calibrated_on_the_reconciled_backtest_forecasts(fitted, forecasts, method):
    """The calibration learns from every scored series-period of the reconciled calibration windows,
    and the served bands are its bands around the reconciled means, not the base's moved."""
    model, forecast, direct = fitted[method], forecasts[method], forecasts["none"]
    calibration = model.calibrations_[method]
    assert calibration.n_scores == int(model.insample_["y"].notna().sum())
    bands = calibration.apply(forecast["mean"].to_numpy(), forecast["unique_id"].to_numpy())
    np.testing.assert_allclose(forecast["q90"], np.clip(bands[90.0], 0, None), atol=1e-9)
    moved = direct["q90"] - direct["mean"] + forecast["mean"]
    assert not np.allclose(forecast["q90"], moved)


def test_ids_select_bottom_and_aggregate_series(fitted, forecasts, split):
    """Any ids, aggregate or bottom, and the same numbers as in the whole forecast."""
    model, whole = fitted["mint_shrink"], forecasts["mint_shrink"]
    future = model.known_future(split[1])
    chosen = model.predict(HORIZON, ids=["S2/F1", TOTAL, "P002-S1"], future=future)
    assert sorted(chosen["unique_id"].unique()) == ["P002-S1", "S2/F1", TOTAL]
    expected = whole[whole["unique_id"].isin(["S2/F1", TOTAL, "P002-S1"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(chosen, expected)
    with pytest.raises(ValueError, match="'S3' is not in the hierarchy"):
        model.predict(HORIZON, ids=["S3"], future=future)


def test_future_values_of_the_bottom_series_reach_every_level(fitted, split):
    """A promotion on every item of family F1 on one day lifts F1 and the total that day, not before."""
    model = fitted["bottom_up"]
    assert model.exogenous_ == ("price", "promo", "in_stock")
    regular = model.baseline_future(HORIZON)
    assert set(regular["unique_id"]) == set(model.tags_["unique_id"])
    day = model.forecast_periods(HORIZON)[3]
    promoted = regular.copy()
    on_sale = (promoted["ds"] == day) & promoted["unique_id"].map(model.attributes_["family"]).eq("F1")
    promoted.loc[on_sale, "promo"] = 1.0
    promoted.loc[on_sale, "price"] *= 0.6
    base, lifted = model.predict(HORIZON, future=regular), model.predict(HORIZON, future=promoted)
    that_day = base["ds"] == day
    for series in ("F1", TOTAL):
        here = that_day & (base["unique_id"] == series)
        assert lifted.loc[here, "mean"].item() > 1.05 * base.loc[here, "mean"].item()
    before = base["ds"] < day  # later days read the lifted day through their lags
    np.testing.assert_allclose(lifted.loc[before, "mean"], base.loc[before, "mean"])
    with pytest.raises(FutureValuesError):
        model.predict(HORIZON)
    # A series the scenario leaves out takes its baseline values; an aggregate's values are its children's.
    some = model.predict(HORIZON, future=promoted[promoted["unique_id"].map(model.attributes_["family"]).eq("F1")])
    pd.testing.assert_frame_equal(some, lifted)
    with pytest.raises(FutureValuesError, match="'F1' is an aggregate of the hierarchy"):
        model.predict(HORIZON, future=regular.assign(unique_id="F1"))


def test_aggregate_exogenous_columns_are_the_mean_of_the_children(fitted, split):
    """The documented rule, read where the base keeps it: the total's mean price over training is the
    mean over days of the day's mean price across the items listed that day."""
    train = split[0]
    references = fitted["none"].base_.price_references_
    expected = train.groupby("ds")["price"].mean().mean()
    assert references.loc[TOTAL, "price"] == pytest.approx(expected)
    by_family = train[train["family"] == "F2"].groupby("ds")["price"].mean().mean()
    assert references.loc["F2", "price"] == pytest.approx(by_family)


def test_level_forecast_gives_the_planner_one_row_per_family_and_day(fitted, forecasts):
    rows = fitted["mint_shrink"].level_forecast(forecasts["mint_shrink"], "family")
    assert sorted(rows["family"].unique()) == ["F1", "F2"]
    assert rows["family"].equals(rows["unique_id"]) and len(rows) == 2 * HORIZON
    with pytest.raises(ValueError, match="'dept_id' is not in the hierarchy"):
        fitted["mint_shrink"].level_forecast(forecasts["mint_shrink"], "dept_id")


def test_pickling_gives_identical_forecasts(fitted, forecasts, split):
    model = fitted["mint_shrink"]
    loaded = Forecaster.from_bytes(model.to_bytes())
    pd.testing.assert_frame_equal(
        loaded.predict(HORIZON, future=loaded.known_future(split[1])), forecasts["mint_shrink"]
    )
    assert loaded.level_of_ == model.level_of_


def test_newer_actuals_move_every_level_and_stay_coherent(fitted, split):
    """Actuals of every item for the first test day: the forecast starts the day after, from the items'
    rows aggregated to every level as at fit, and still adds up; actuals that repeat the model's last
    day give the forecast made without them."""
    model, (train, test) = fitted["bottom_up"], split
    first_day = test[test["ds"] == test["ds"].min()]
    periods = model.forecast_periods(HORIZON)[1:]
    future = model.known_future(test[test["ds"].isin(periods)])
    moved = model.predict(HORIZON - 1, future=future, history=first_day[["unique_id", "ds", "y"]])
    assert moved["ds"].min() == periods[0] and moved["unique_id"].nunique() == len(model.level_of_)
    joined = _aggregates(moved, model)
    np.testing.assert_allclose(joined["mean"], joined["summed"], rtol=1e-6, atol=1e-6)
    last_day = train[train["ds"] == train["ds"].max()][["unique_id", "ds", "y"]]
    regular = model.baseline_future(HORIZON)
    again = model.predict(HORIZON, ids=["F1", "P001-S1"], history=last_day)  # no future: the baseline
    expected = model.predict(HORIZON, ids=["F1", "P001-S1"], future=regular)
    pd.testing.assert_frame_equal(again, expected, atol=1e-6)


@pytest.mark.parametrize(
    ("rows", "column", "row", "message"),
    [
        (lambda day: day.assign(unique_id="F1"), "unique_id", 0, "'F1' is an aggregate of the hierarchy"),
        (lambda day: day.assign(unique_id="P999-S9"), "unique_id", 0, "'P999-S9' is not in the hierarchy"),
        (lambda day: day.iloc[1:], "unique_id", None, "the actuals of series 'P001-S1' end on .*same period"),
    ],
)
def test_newer_actuals_that_cannot_be_reconciled_are_refused(fitted, split, rows, column, row, message):
    test = split[1]
    day = test[test["ds"] == test["ds"].min()][["unique_id", "ds", "y"]].reset_index(drop=True)
    with pytest.raises(HistoryError, match=message) as refused:
        fitted["bottom_up"].predict(HORIZON, history=rows(day))
    assert (refused.value.column, refused.value.row) == (column, row)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hierarchy": (("region",),)}, "hierarchy column 'region' is not in the panel"),
        ({"hierarchy": (("family",), ("promo_group",))}, "hierarchy column 'promo_group' is not static"),
        ({"hierarchy": (("family",), ("family",))}, "hierarchy level 'family' is given twice"),
        ({"hierarchy": ("family",)}, "must be a non-empty tuple of column names"),
        ({"method": "top_down"}, "unknown reconciliation method 'top_down'"),
    ],
)
def test_bad_hierarchies_and_methods_are_refused_naming_them(split, change, message):
    train = split[0].assign(promo_group=lambda frame: frame["promo"].map({0: "regular", 1: "promoted"}))
    settings = {"base": _base(), "hierarchy": HIERARCHY, **change}
    with pytest.raises(ValueError, match=message):
        HierarchicalForecaster(**settings).fit(train)


def test_series_ending_apart_and_residual_methods_without_residuals_are_refused(split):
    train = split[0]
    shorter = train[~((train["unique_id"] == "P001-S1") & (train["ds"] == train["ds"].max()))]
    with pytest.raises(ValueError, match="must end on the same period"):
        HierarchicalForecaster(base=_base(), hierarchy=HIERARCHY).fit(shorter)
    with pytest.raises(ValueError, match="'mint_shrink' needs the base's backtest errors; SeasonalNaive"):
        HierarchicalForecaster(base=SeasonalNaive(), hierarchy=HIERARCHY, method="mint_shrink").fit(train)


def test_bottom_up_is_the_default():
    assert HierarchicalForecaster().method == "bottom_up"
