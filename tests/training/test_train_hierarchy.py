"""A training run of a hierarchy (the sample's ``hierarchy: [[family]]``): bottom series scored as any model's,
each aggregate level's WAPE beside them, the hierarchy in the run's record, and a logged model that forecasts a
family as the sum of its items."""

import json

import mlflow
import numpy as np
import pandas as pd

from training.tracking import TrackingConfig, connect


def _run(home):
    tracking = TrackingConfig.embedded(home)
    client, _ = connect(tracking)  # tracking and registry: an earlier test may have pointed MLflow elsewhere
    version = client.get_model_version_by_alias(tracking.model_name, tracking.champion_alias)
    return tracking, client.get_run(version.run_id)


def test_run_scores_the_series_and_each_level_and_records_the_hierarchy(hierarchy_home):
    _, run = _run(hierarchy_home)
    metrics, params = run.data.metrics, run.data.params
    assert {"backtest_wape_lgbm", "backtest_wrmsse_lgbm", "backtest_coverage_80_lgbm"} <= set(metrics)
    for level in ("family", "total"):
        assert 0.0 < metrics[f"backtest_wape_level_{level}_lgbm"] < metrics["backtest_wape_lgbm"]
        assert f"fold_wape_level_{level}_lgbm" in metrics
    assert json.loads(params["hierarchy"]) == [["family"]] and params["reconcile"] == "bottom_up"
    # The LightGBM model's own parameters stay where promotion reads them.
    assert params["horizon"] == "14" and params["n_estimators"] == "30"


def test_logged_model_forecasts_a_family_as_the_sum_of_its_items(hierarchy_home, sample_panel):
    tracking, _ = _run(hierarchy_home)
    model = mlflow.pyfunc.load_model(f"models:/{tracking.model_name}@{tracking.champion_alias}")
    items = sorted(sample_panel.loc[sample_panel["family"] == "F1", "unique_id"].unique())
    request = pd.DataFrame({"unique_id": ["F1", *items], "horizon": 5}).astype({"horizon": "int64"})
    forecast = model.predict(request)
    assert set(forecast["unique_id"]) == {"F1", *items} and len(forecast) == 5 * (len(items) + 1)
    family = forecast[forecast["unique_id"] == "F1"].set_index("ds")["mean"]
    summed = forecast[forecast["unique_id"] != "F1"].groupby("ds")["mean"].sum()
    np.testing.assert_allclose(family, summed, rtol=1e-6)
