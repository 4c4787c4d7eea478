"""Train -> log -> register -> load, against a real MLflow store in a temp folder."""

import json
from dataclasses import replace

import mlflow
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from features.pipeline import FeatureSpec
from models.lgbm import LightGBMForecaster
from training.tracking import TrackingConfig, connect
from training.train import TrainConfig, _run_params, panel_fingerprint, train

CHAMPION = "champion"


@pytest.fixture
def tracking(tmp_path) -> TrackingConfig:
    return TrackingConfig.embedded(tmp_path / "home")


def test_first_version_becomes_champion_and_loads_from_the_registry(tracking, sample_panel, fast_train_config):
    result = train(sample_panel, tracking, fast_train_config, source="sample", origins=2)
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
    result = train(sample_panel, tracking, fast_train_config, source="sample", origins=2)
    run = MlflowClient(tracking.tracking_uri).get_run(result.run_id)
    for name in ("wape", "rmsse", "coverage_80", "coverage_95"):
        assert f"backtest_{name}_lgbm" in run.data.metrics
        assert f"backtest_{name}_seasonal_naive" in run.data.metrics
    assert run.data.metrics["backtest_wape_lgbm"] < run.data.metrics["backtest_wape_seasonal_naive"]
    assert run.data.params["horizon"] == str(fast_train_config.horizon)
    # Every hyper-parameter of the forecaster, as the forecaster has it, defaults included.
    for name, value in fast_train_config.forecaster().get_params().items():
        assert run.data.params[name] == str(value), name
    assert run.data.params["subsample"] == "0.8" and run.data.params["strategy"] == "recursive"
    assert run.data.params["features"] == "None" and run.data.params["feature_lags"] == "(1, 7, 14, 28)"
    assert run.data.tags["data_fingerprint"] == panel_fingerprint(sample_panel)
    features = json.loads(mlflow.artifacts.load_text(f"runs:/{result.run_id}/features.json"))["features"]
    assert "lag7" in features and "is_holiday" in features


def test_run_records_folds_provenance_and_plots(tracking, sample_panel, fast_train_config):
    from importlib.metadata import version

    from training.provenance import code_version

    result = train(sample_panel, tracking, fast_train_config, source="sample", origins=2)
    client = MlflowClient(tracking.tracking_uri)
    tags = client.get_run(result.run_id).data.tags
    assert (tags["git_commit"], tags["git_dirty"]) == tuple(code_version().values())
    assert json.loads(tags["packages"])["lightgbm"] == version("lightgbm")
    assert len(tags["model_code_sha256"]) == 64 and tags["backtest_origins"] == "2"
    folds = client.get_metric_history(result.run_id, "fold_wape_lgbm")
    assert [m.step for m in folds] == [0, 1]
    assert result.metrics["backtest_wape_lgbm"] == pytest.approx(sum(m.value for m in folds) / 2)
    plots = sorted(f.path for f in client.list_artifacts(result.run_id, "plots"))
    assert plots == [
        f"plots/{name}.png" for name in ("coverage_by_step", "error_by_step", "feature_importance", "forecast_bands")
    ]
    # The version carries its own evaluation, which promotion reads instead of backtesting again.
    evaluation = [k for k in client.get_model_version("demand", result.version).tags if k.startswith("evaluation.")]
    assert evaluation == [f"evaluation.{result.evaluation.key}"]


def test_train_config_sets_only_what_it_names_and_the_forecaster_keeps_the_defaults():
    assert TrainConfig().forecaster().get_params() == LightGBMForecaster().get_params()
    config = replace(TrainConfig(horizon=14, n_estimators=60, num_threads=1), levels=(90,))
    expected = LightGBMForecaster(horizon=14, n_estimators=60, num_threads=1, levels=(90,))
    assert config.forecaster().get_params() == expected.get_params()
    assert config.forecaster() is not config.forecaster()


def test_run_params_write_a_feature_spec_as_text(sample_panel):
    spec = FeatureSpec(lags=(1, 7), rolling_windows=(7,), holiday_features=False)
    forecaster = LightGBMForecaster(horizon=7, features=spec, n_estimators=10, num_threads=1).fit(sample_panel)
    params = _run_params(forecaster)
    assert params["features"] == str(spec) and params["min_history"] == "None"
    assert params["feature_lags"] == "(1, 7)" and all(isinstance(value, str) for value in params.values())


def test_second_version_is_a_challenger_not_the_champion(tracking, sample_panel, fast_train_config):
    train(sample_panel, tracking, fast_train_config, origins=2)
    second = train(sample_panel, tracking, fast_train_config, origins=2)
    assert (second.version, second.is_champion) == ("2", False)
    client, _ = connect(tracking)
    assert str(client.get_model_version_by_alias("demand", CHAMPION).version) == "1"


def test_logged_model_carries_its_code_and_pinned_requirements(tracking, sample_panel, fast_train_config):
    result = train(sample_panel, tracking, fast_train_config, origins=2)
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
