"""The blank policy: an empty exogenous value is refused, or read one declared way in training and
forecasting alike, the policy travelling inside the fitted model."""

import numpy as np
import pandas as pd
import pytest

from features.blanks import Blank
from features.io import load_panel
from features.pipeline import FeatureSpec, future_frame, price_references, training_frame
from features.schema import DatasetSchema
from features.validation import PanelError
from models.base import Forecaster, FutureValuesError
from models.lgbm import LightGBMForecaster

DAYS = pd.date_range("2024-01-01", periods=60)
CUTOFF = DAYS[44]
DECLARED = FeatureSpec(blanks=(("price", Blank.PREVIOUS), ("promo", 0.0)))


@pytest.fixture(scope="module")
def panel():
    """Two series with blank prices (leading, inside, across the cut-off) and blank promotions."""
    rng = np.random.default_rng(0)
    frames = []
    for uid, base in (("a", 4.0), ("b", 9.0)):
        price = np.round(base * rng.choice([1.0, 0.8], len(DAYS), p=[0.8, 0.2]), 2)
        promo = (price < base).astype(float)
        y = rng.poisson(5 + 3 * promo).astype(float)
        price[[0, 1, 20, 45, 46, 59]] = np.nan  # listed on day 3; blanks before and after the cut-off
        promo[[5, 47]] = np.nan
        frames.append(pd.DataFrame({"unique_id": uid, "ds": DAYS, "y": y, "price": price, "promo": promo}))
    return pd.concat(frames, ignore_index=True)


def _write(folder, panel, dataset):
    panel.assign(ds=panel["ds"].dt.strftime("%Y-%m-%d")).to_csv(folder / "sales.csv", index=False)
    (folder / "dataset.yaml").write_text(dataset, encoding="utf-8")


def test_a_blank_is_refused_by_default_naming_file_row_and_column(tmp_path, panel):
    _write(tmp_path, panel, "columns:\n  price: {role: known_future, blank: previous}\n")
    with pytest.raises(PanelError) as refused:
        load_panel(tmp_path)
    lines = str(refused.value).splitlines()
    assert len(lines) == 4 and all(": missing value: a blank promo is refused unless" in line for line in lines)
    assert lines[0].startswith(f"{tmp_path / 'sales.csv'}, row 7, column promo: ")  # series a, day 6
    _write(
        tmp_path,
        panel,
        "columns:\n  price: {role: known_future, blank: previous}\n  promo: {role: known_future, blank: 0}\n",
    )
    assert load_panel(tmp_path)["price"].isna().sum() == 12  # validation fills nothing: the model does


def test_periods_a_gap_policy_inserts_are_blanks_too(tmp_path, panel):
    closed = panel[~((panel["unique_id"] == "b") & panel["ds"].between(DAYS[30], DAYS[32]))].fillna(1.0)
    _write(tmp_path, closed, "gaps: zero\ncolumns:\n  promo: {role: known_future, blank: missing}\n")
    with pytest.raises(PanelError, match=r"row 92, column price: the 3 days that 'zero' gaps insert before this row "):
        load_panel(tmp_path)


def test_the_yaml_shape():
    columns = DatasetSchema.model_validate(
        {"columns": {"p": {"role": "known_future", "blank": "previous"}, "q": {"role": "known_future", "blank": 0}}}
    ).columns
    assert (columns["p"].blank, columns["q"].blank) == (Blank.PREVIOUS, 0.0)
    assert DatasetSchema.model_validate({"columns": {"p": "known_future"}}).columns["p"].blank is Blank.REFUSE
    with pytest.raises(ValueError, match="blank must be 'refuse', 'previous', 'missing' or a number, got 'zero'"):
        DatasetSchema.model_validate({"columns": {"p": {"role": "known_future", "blank": "zero"}}})
    with pytest.raises(ValueError, match="'blank' is for known-future and observed-only columns"):
        DatasetSchema.model_validate({"columns": {"p": {"role": "static", "blank": "missing"}}})


def test_a_spec_written_in_code_takes_its_training_datas_word(panel):
    assert FeatureSpec().resolved(panel).blank_fills == {"price": Blank.MISSING, "promo": Blank.MISSING}
    assert FeatureSpec().resolved(panel.fillna(1.0)).blank_fills == {"price": Blank.REFUSE, "promo": Blank.REFUSE}
    assert DECLARED.resolved(panel).blank_fills == {"price": Blank.PREVIOUS, "promo": 0.0}


def test_training_and_forecasting_fill_the_same_values(panel):
    """A period's filled values are the same whether training reads it or a forecast made at the
    cut-off does: ``previous`` continues from the last value known at fit."""
    history, later = panel[panel["ds"] <= CUTOFF], panel[panel["ds"] > CUTOFF]
    spec = DECLARED.resolved(history)
    trained = training_frame(panel, spec, price_references(panel, spec))
    forecast = future_frame(later[["unique_id", "ds", "price", "promo"]], spec, price_references(history, spec))
    after = trained[trained["ds"] > CUTOFF].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        forecast[["unique_id", "ds", "price", "promo"]], after[["unique_id", "ds", "price", "promo"]]
    )
    assert after["price"].notna().all() and trained["price"].notna().all()
    first = trained.groupby("unique_id")["price"].first()
    assert (first == panel.dropna().groupby("unique_id")["price"].first()).all()  # leading blanks: first price


def test_a_fitted_model_keeps_and_applies_the_policy(panel):
    """One tiny fit: the policy survives pickling, fills a forecast's blank price with the last known
    one, and a forecast's blank in a refusing column is refused naming it."""
    spec = FeatureSpec(lags=(1, 7), rolling_windows=(7,), rolling_lags=(1,), blanks=(("price", Blank.PREVIOUS),))
    history = panel.fillna({"promo": 0.0})
    model = LightGBMForecaster(horizon=7, features=spec, n_estimators=10, calibration_windows=1, num_threads=1)
    model = Forecaster.from_bytes(model.fit(history).to_bytes())
    assert model.blank_fills_ == {"price": Blank.PREVIOUS, "promo": Blank.REFUSE}
    future = model.baseline_future(7)
    last = history.dropna().groupby("unique_id")["price"].last()
    blank = future.assign(price=np.where(future["ds"] == future["ds"].min(), np.nan, future["price"]))
    stated = blank.assign(price=blank["price"].fillna(blank["unique_id"].map(last)))
    pd.testing.assert_frame_equal(model.predict(7, future=blank), model.predict(7, future=stated))
    with pytest.raises(FutureValuesError, match=r"^missing value for series 'a' on 2024-03-01$") as refused:
        model.predict(7, future=future.assign(promo=np.where(future.index == 0, np.nan, 0.0)))
    assert refused.value.column == "promo"
