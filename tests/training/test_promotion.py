"""Promotion: the rule on evaluations, and promote() against a real MLflow store in a temp folder."""

import json
from dataclasses import replace

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from training.evaluation import Evaluation
from training.promotion import PromotionError, PromotionRule, decide, promote
from training.registry import champion_history
from training.tracking import TrackingConfig
from training.train import TrainConfig, train


def _evaluation(wrmsse: float, coverage_80: float = 0.80, fingerprint: str = "data") -> Evaluation:
    return Evaluation(
        data_fingerprint=fingerprint,
        cutoffs=("2024-01-01", "2024-01-08"),
        horizon=7,
        metric="wrmsse",
        scores={"wrmsse": wrmsse, "wape": wrmsse / 2, "coverage_80": coverage_80},
        by_fold=(),
    )


RULE = PromotionRule(margin=0.01, coverage_tolerance=0.02)


@pytest.mark.parametrize(
    "challenger, champion, promoted, reason",
    [
        (_evaluation(0.90), _evaluation(1.00), True, "beats the champion's 1.0000 by 10.0%"),
        (_evaluation(1.10), _evaluation(1.00), False, "is not better than the champion's 1.0000 by the 1.0% margin"),
        (_evaluation(1.00), _evaluation(1.00), False, "is not better"),
        (_evaluation(0.995), _evaluation(1.00), False, "(needs < 0.9900)"),
        (_evaluation(0.90, coverage_80=0.70), _evaluation(1.00, 0.79), False, "farther from 80%"),
        (_evaluation(0.90, coverage_80=0.775), _evaluation(1.00, 0.79), True, "beats"),
    ],
    ids=["better", "worse", "tie", "within-margin", "worse-coverage", "coverage-within-tolerance"],
)
def test_the_rule(challenger, champion, promoted, reason):
    decided, why, metric = decide(challenger, champion, RULE)
    assert (decided, metric) == (promoted, "wrmsse") and reason in why


def test_a_tie_passes_only_without_a_margin_and_the_metric_is_configurable():
    assert decide(_evaluation(1.0), _evaluation(1.0), replace(RULE, margin=0.0))[0] is False  # strictly better
    # WAPE is half of WRMSSE in these evaluations: the same ranking, read from the other score.
    assert decide(_evaluation(0.9), _evaluation(1.0), PromotionRule(metric="wape"))[2] == "wape"
    with pytest.raises(ValueError, match="metric must be one of"):
        PromotionRule(metric="mape")


def test_evaluations_of_other_folds_or_data_are_not_compared():
    with pytest.raises(PromotionError, match="not of the same folds"):
        decide(_evaluation(0.9), _evaluation(1.0, fingerprint="other"), RULE)


GOOD = TrainConfig(horizon=7, n_estimators=30, num_threads=1, calibration_windows=2)
# Three boosting rounds at the default learning rate barely leave the mean: clearly worse.
POOR = TrainConfig(horizon=7, n_estimators=3, num_threads=1, calibration_windows=2)


@pytest.fixture(scope="module")
def store(tmp_path_factory, sample_panel):
    """Version 1 (good, @champion) and version 2 (poor, a challenger) trained on the same panel."""
    tracking = TrackingConfig.embedded(tmp_path_factory.mktemp("promotion"))
    train(sample_panel, tracking, GOOD, origins=2)
    train(sample_panel, tracking, POOR, origins=2)
    return tracking


def _tags(tracking, version):
    return MlflowClient(tracking.tracking_uri).get_model_version(tracking.model_name, version).tags


def _champion(tracking):
    client = MlflowClient(tracking.tracking_uri)
    return str(client.get_model_version_by_alias(tracking.model_name, tracking.champion_alias).version)


def test_a_worse_challenger_is_refused_and_the_decision_is_recorded_on_both(store, sample_panel):
    decision = promote(store, data=sample_panel)
    assert (decision.promoted, decision.challenger, decision.champion, decision.rule) == (False, "2", "1", "better")
    assert decision.challenger_score > decision.champion_score and decision.metric == "wrmsse"
    assert _champion(store) == "1"
    recorded = json.loads(_tags(store, "2")["promotion"])
    assert recorded == json.loads(_tags(store, "1")["challenged_by.2"])
    assert recorded["challenger_score"] == decision.challenger_score and recorded["margin"] == 0.01
    assert recorded["forced"] is False and recorded["at"]


def test_forced_then_rolled_back_by_the_rule(store, sample_panel):
    forced = promote(store, "2", force=True)
    assert (forced.promoted, forced.forced, forced.rule) == (True, True, "forced") and _champion(store) == "2"
    # Roll back: the older, better version wins the comparison on the same folds.
    back = promote(store, "1", data=sample_panel)
    assert (back.promoted, back.champion, back.rule) == (True, "2", "better") and _champion(store) == "1"
    history = champion_history(MlflowClient(store.tracking_uri), store.model_name)
    assert [(e["version"], e["rule"], e["forced"]) for e in history[-3:]] == [
        ("1", "first", False),
        ("2", "forced", True),
        ("1", "better", False),
    ]
    # The champion's evaluation on these folds was recorded: both versions carry theirs.
    assert any(k.startswith("evaluation.") for k in _tags(store, "2"))
    again = promote(store, "1")
    assert again.promoted is False and "already @champion" in again.reason


def test_the_same_recipe_on_newer_data_is_a_refresh(tmp_path, sample_panel):
    tracking = TrackingConfig.embedded(tmp_path / "home")
    last = sample_panel["ds"].max()
    older = sample_panel[sample_panel["ds"] <= last - pd.Timedelta(days=14)]
    train(older, tracking, GOOD, origins=2)
    train(sample_panel, tracking, GOOD, origins=2)
    refreshed = promote(tracking)
    assert (refreshed.promoted, refreshed.rule) == (True, "refresh") and "on data up to" in refreshed.reason
    train(sample_panel, tracking, GOOD, origins=2)
    stale = promote(tracking)
    assert (stale.promoted, stale.rule) == (False, "refresh") and "no newer data" in stale.reason
    assert _champion(tracking) == "2"


def test_promotion_without_data_rereads_the_training_data_and_refuses_when_it_changed(tmp_path, sample_dir):
    from features.io import load_panel

    tracking = TrackingConfig.embedded(tmp_path / "home")
    data = tmp_path / "data"
    data.mkdir()
    (data / "sales.csv").write_bytes((sample_dir / "sales.csv").read_bytes())
    panel = load_panel(data)
    train(panel, tracking, GOOD, source=str(data), origins=2)
    train(panel, tracking, POOR, source=str(data), origins=2)
    assert promote(tracking).champion_score is not None  # compared on the re-read panel
    (data / "sales.csv").write_text((data / "sales.csv").read_text().replace(",3,", ",4,", 1))
    with pytest.raises(PromotionError, match="has changed since version 2 was trained on it: pass --data"):
        promote(tracking, "2", rule=PromotionRule(margin=0.5))
