"""Train -> log -> register -> load, against a real MLflow store in a temp folder."""

import json

import mlflow
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from training.tracking import TrackingConfig, connect
from training.train import panel_fingerprint, train

CHAMPION = "champion"


@pytest.fixture
def tracking(tmp_path) -> TrackingConfig:
    return TrackingConfig.embedded(tmp_path / "home")


def test_first_version_becomes_champion_and_loads_from_the_registry(tracking, sample_panel, fast_train_config):
    result = train(sample_panel, tracking, fast_train_config, source="sample")
    assert (result.version, result.is_champion) == ("1", True)

    client, _ = connect(tracking)
    champion = client.get_model_version_by_alias("demand", CHAMPION)
    assert str(champion.version) == "1" and champion.run_id == result.run_id

    model = mlflow.pyfunc.load_model("models:/demand@champion")
    ids = sorted(sample_panel["unique_id"].unique())[:3]
    forecast = model.predict(pd.DataFrame({"unique_id": ids, "horizon": 5}).astype({"horizon": "int64"}))
    assert list(forecast.columns) == ["unique_id", "ds", "mean", "q2.5", "q10", "q50", "q90", "q97.5"]
    assert len(forecast) == 15 and forecast["ds"].min() > sample_panel["ds"].max()


def test_run_records_metrics_params_and_data_fingerprint(tracking, sample_panel, fast_train_config):
    result = train(sample_panel, tracking, fast_train_config, source="sample")
    run = MlflowClient(tracking.tracking_uri).get_run(result.run_id)
    for name in ("wape", "rmsse", "coverage_80", "coverage_95"):
        assert f"holdout_{name}_lgbm" in run.data.metrics
        assert f"holdout_{name}_seasonal_naive" in run.data.metrics
    assert run.data.metrics["holdout_wape_lgbm"] < run.data.metrics["holdout_wape_seasonal_naive"]
    assert run.data.params["horizon"] == str(fast_train_config.horizon)
    assert run.data.tags["data_fingerprint"] == panel_fingerprint(sample_panel)
    features = json.loads(mlflow.artifacts.load_text(f"runs:/{result.run_id}/features.json"))["features"]
    assert "lag7" in features and "is_holiday" in features


def test_second_version_is_a_challenger_not_the_champion(tracking, sample_panel, fast_train_config):
    train(sample_panel, tracking, fast_train_config)
    second = train(sample_panel, tracking, fast_train_config)
    assert (second.version, second.is_champion) == ("2", False)
    client, _ = connect(tracking)
    assert str(client.get_model_version_by_alias("demand", CHAMPION).version) == "1"


def test_logged_model_carries_its_code_and_pinned_requirements(tracking, sample_panel, fast_train_config):
    result = train(sample_panel, tracking, fast_train_config)
    local = mlflow.artifacts.download_artifacts(f"models:/demand/{result.version}")
    from pathlib import Path

    root = Path(local)
    assert (root / "code" / "models" / "lgbm.py").exists()
    assert (root / "code" / "features" / "pipeline.py").exists()
    requirements = (root / "requirements.txt").read_text()
    assert "lightgbm==" in requirements and "mlforecast==" in requirements


@pytest.mark.parametrize(
    "request_frame, field",
    [
        (pd.DataFrame({"unique_id": ["P001-S1"]}), "horizon"),
        (pd.DataFrame({"unique_id": ["no-such-series"], "horizon": [3]}), "unique_id"),
        (pd.DataFrame({"unique_id": ["P001-S1"], "horizon": [99]}), "horizon"),
        (pd.DataFrame({"unique_id": ["P001-S1", "P001-S2"], "horizon": [3, 4]}), "horizon"),
    ],
)
def test_pyfunc_rejects_bad_requests_naming_the_field(trained_home, request_frame, field):
    connect(TrackingConfig.embedded(trained_home))
    model = mlflow.pyfunc.load_model("models:/demand@champion")
    with pytest.raises(MlflowException, match=f"^{field}:"):
        model.unwrap_python_model().predict(None, request_frame)


def test_pyfunc_refuses_an_empty_known_future_value_naming_the_column(trained_home):
    """Callers of the registered version other than the service (mlflow serve, batch jobs) get the
    refusal too, as bad input: "<column>: <reason>" under INVALID_PARAMETER_VALUE."""
    connect(TrackingConfig.embedded(trained_home))
    model = mlflow.pyfunc.load_model("models:/demand@champion")
    forecaster = model.unwrap_python_model().forecaster
    days = forecaster.forecast_periods(2)
    rows = pd.DataFrame(
        {"unique_id": "P001-S1", "ds": days, "price": 5.0, "promo": [0.0, None], "in_stock": 1.0, "horizon": 2}
    )
    with pytest.raises(
        MlflowException, match=f"^promo: missing value for series 'P001-S1' on {days[1].date()}$"
    ) as error:
        model.predict(rows.astype({"horizon": "int64"}))
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"
