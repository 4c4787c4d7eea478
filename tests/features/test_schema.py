"""dataset.yaml: column roles declared beside the data, and the holiday calendar by country."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from capcast.cli import app
from features.calendar import HolidayFlag
from features.io import load_panel
from features.schema import DatasetSchema, load_schema
from features.validation import PanelError
from models.lgbm import LightGBMForecaster
from training.backtest import rolling_origin_backtest

HORIZON = 7


@pytest.fixture
def data(tmp_path, sample_dir):
    """The sample with a text attribute (store type), a column to ignore and a measured-afterwards one."""
    sales = pd.read_csv(sample_dir / "sales.csv")
    stores = sales["store_id"].map({"S1": "mall", "S2": "high street"})
    visits = np.random.default_rng(3).poisson(100, len(sales))
    sales.assign(store_type=stores, note="checked", visits=visits).to_csv(tmp_path / "sales.csv", index=False)
    return tmp_path


def _write(folder, text):
    (folder / "dataset.yaml").write_text(text, encoding="utf-8")


def test_without_roles_a_text_attribute_is_refused_with_the_fix(data):
    with pytest.raises(PanelError) as refused:
        load_panel(data)
    assert "column store_type: not a number: 'mall'" in str(refused.value)
    assert "declare it in dataset.yaml, e.g. 'columns: {store_type: static}'" in str(refused.value)


def test_declared_roles_reach_validation_and_the_model(data):
    _write(
        data,
        "holidays: {country: US}\ncolumns:\n  store_type: static\n  note: ignore\n"
        "  visits: {role: observed_only, assume: 100}\n",
    )
    schema = load_schema(data)
    panel = load_panel(data, schema)
    assert "note" not in panel.columns and panel["store_type"].dtype == object
    spec = schema.feature_spec(panel)
    assert spec.static == ("item_id", "store_id", "family", "store_type")
    assert dict(spec.observed_only) == {"in_stock": 1.0, "visits": 100.0}
    model = LightGBMForecaster(horizon=HORIZON, features=spec, n_estimators=20, num_threads=1).fit(panel)
    assert "store_type" in model.mlf_.ts.features_order_ and "store_type" in model.series_attributes_
    # The baseline scenario and the backtests assume the declared value for an observed-only column.
    assert (model.baseline_future(HORIZON)["visits"] == 100.0).all()
    assert (model.known_future(panel.tail(5))["visits"] == 100.0).all()

    def forecasts(frame):
        make = lambda: LightGBMForecaster(horizon=HORIZON, features=spec, n_estimators=20, num_threads=1)  # noqa: E731
        return rolling_origin_backtest(frame, make, HORIZON, origins=1).forecasts.drop(columns=["y", "stockout"])

    before = forecasts(panel)
    later = panel["ds"] > before["cutoff"].iloc[0]
    pd.testing.assert_frame_equal(forecasts(panel.assign(visits=np.where(later, 0.0, panel["visits"]))), before)


def test_holidays_follow_the_declared_country_and_region():
    christmas_eve, corpus_christi = pd.Timestamp("2024-12-24"), pd.Timestamp("2024-05-30")
    days = pd.DatetimeIndex([christmas_eve, corpus_christi, pd.Timestamp("2024-07-04")])
    assert list(HolidayFlag("US")(days)) == [0, 0, 1]
    assert list(HolidayFlag("DE", "BY")(days)) == [0, 1, 0]  # Fronleichnam is a Bavarian holiday
    assert list(HolidayFlag("US", shift_days=1)(days)) == [1, 0, 0]  # the day before Christmas
    schema = DatasetSchema.model_validate({"holidays": {"country": "DE", "subdivision": "BY"}})
    panel = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=30), "y": 1.0})
    spec = schema.feature_spec(panel)
    assert (spec.holiday_country, spec.holiday_subdivision, spec.holiday_features) == ("DE", "BY", True)
    assert DatasetSchema.model_validate({"holidays": "none"}).feature_spec(panel).holiday_features is False


@pytest.mark.parametrize(
    "text, field, message",
    [
        ("holidays: {country: XX}", "holidays", "unknown holiday country 'XX'"),
        ("holidays: {country: DE, subdivision: ZZ}", "holidays", "unknown subdivision 'ZZ' of DE"),
        ("columns: {visits: observed_only}", "columns.visits", "needs 'assume'"),
        ("columns: {visits: sometimes}", "columns.visits.role", "Input should be"),
        ("columns: {y: static}", "columns", "take no role"),
        ("colums: {}", "colums", "Extra inputs are not permitted"),
        ("hierarchy: [[family], family]", "hierarchy", "hierarchy level 'family' is given twice"),
        ("reconcile: top_down", "reconcile", "Input should be 'bottom_up', 'mint_shrink'"),
        ("hierarchy: [region]", "hierarchy", "hierarchy column 'region' is not a column of sales.csv"),
        (
            "hierarchy: [[store_id, promo]]",
            "hierarchy",
            "hierarchy column 'promo' is not a static column of sales.csv (it is known_future): "
            "declare it 'columns: {promo: static}'",
        ),
    ],
)
def test_a_wrong_dataset_yaml_is_one_line_naming_the_file_and_field(data, text, field, message):
    _write(data, text)
    result = CliRunner().invoke(app, ["data", "validate", str(data)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    line = result.stderr.strip()
    assert line.startswith(f"{data / 'dataset.yaml'}, column {field}: ") and message in line


def test_hierarchy_levels_are_lists_of_static_columns_or_one_name_and_bottom_up_by_default():
    schema = DatasetSchema.model_validate({"hierarchy": ["family", ["store_id", "family"]]})
    assert schema.hierarchy == (("family",), ("store_id", "family")) and schema.reconcile == "bottom_up"
    assert DatasetSchema().hierarchy == () and DatasetSchema(reconcile="mint_shrink").reconcile == "mint_shrink"
