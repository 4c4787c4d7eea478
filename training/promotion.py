"""Challenger against champion: the rule that moves the champion alias, and the decision it records.

``decide`` is the rule, a pure function of two evaluations on the same folds
of the same data (``training.evaluation``); ``promote`` gathers them from the
registry (computing what is missing), applies the rule and records the
decision as tags on both versions and in the model's champion history.

A challenger with the champion's parameters and model code, trained on
newer data, is the champion's recipe refreshed: the folds would score both
alike, so the rule is that its data ends later (``refresh``). Any other
challenger must beat the champion on the primary metric by the margin without
an 80% band that covers worse than the tolerance allows (``better``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

import pandas as pd
from mlflow.tracking import MlflowClient
from sklearn.base import clone

from features.pipeline import infer_frequency
from training.backtest import Folds, cutoff_text
from training.evaluation import METRICS, Evaluation, evaluate, evaluation_key
from training.provenance import panel_fingerprint, recorded_panel
from training.registry import (
    champion_version,
    load_forecaster,
    now,
    read_evaluation,
    record_champion,
    record_evaluation,
    version_or_latest,
)
from training.tracking import TrackingConfig, connect

__all__ = ["Decision", "PromotionError", "PromotionRule", "decide", "promote"]

NOMINAL_COVERAGE = 0.80
# Tags a training run writes that promotion reads back (training.train).
ORIGINS_TAG, STEP_TAG, CODE_TAG = "backtest_origins", "backtest_step", "model_code_sha256"


class PromotionError(ValueError):
    """Promotion could not compare: no data to evaluate on, a version without what it needs."""


@dataclass(frozen=True)
class PromotionRule:
    """When a challenger replaces the champion.

    Args:
        metric: the primary score, lower is better (``training.evaluation.METRICS``); None takes
            the data's default: WRMSSE when it has prices, WAPE otherwise.
        margin: the relative improvement required: promoted when challenger < champion x (1 - margin).
        coverage_tolerance: how much farther from 80% (as a share: 0.02 = 2 points) the
            challenger's 80% band coverage may be than the champion's.
    """

    metric: str | None = None
    margin: float = 0.01
    coverage_tolerance: float = 0.02

    def __post_init__(self) -> None:
        if self.metric is not None and self.metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {self.metric!r}")
        if not 0.0 <= self.margin < 1.0:
            raise ValueError(f"margin must be at least 0 and below 1, got {self.margin}")
        if self.coverage_tolerance < 0.0:
            raise ValueError(f"coverage tolerance must not be negative, got {self.coverage_tolerance}")


@dataclass(frozen=True)
class Decision:
    """What promotion decided, and on what. Scores are None when they were not computed (forced)."""

    promoted: bool
    challenger: str
    champion: str | None
    reason: str
    rule: str
    forced: bool = False
    metric: str | None = None
    challenger_score: float | None = None
    champion_score: float | None = None
    challenger_coverage_80: float | None = None
    champion_coverage_80: float | None = None
    margin: float | None = None
    coverage_tolerance: float | None = None
    data_fingerprint: str | None = None
    at: str = field(default_factory=now)

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def _gap(evaluation: Evaluation) -> float | None:
    coverage = evaluation.scores.get("coverage_80")
    return None if coverage is None else abs(coverage - NOMINAL_COVERAGE)


def decide(challenger: Evaluation, champion: Evaluation, rule: PromotionRule) -> tuple[bool, str, str]:
    """The ``better`` rule on two evaluations of the same folds: (promoted, one-line reason, metric)."""
    if challenger.key != champion.key:
        raise PromotionError("the two evaluations are not of the same folds of the same data")
    metric = rule.metric or challenger.metric
    ours, theirs = challenger.scores.get(metric), champion.scores.get(metric)
    if ours is None or theirs is None or not (math.isfinite(ours) and math.isfinite(theirs)):
        return False, f"{metric} is undefined on these folds for one of the versions", metric
    needed = theirs * (1.0 - rule.margin)
    if not ours < needed:
        return (
            False,
            f"{metric} {ours:.4f} is not better than the champion's {theirs:.4f} by the {rule.margin:.1%} margin "
            f"(needs < {needed:.4f})",
            metric,
        )
    gap, their_gap = _gap(challenger), _gap(champion)
    if gap is not None and their_gap is not None and gap > their_gap + rule.coverage_tolerance:
        return (
            False,
            f"its 80% band covers {challenger.scores['coverage_80']:.1%}, farther from 80% than the champion's "
            f"{champion.scores['coverage_80']:.1%} by more than {rule.coverage_tolerance:.1%}",
            metric,
        )
    return True, f"{metric} {ours:.4f} beats the champion's {theirs:.4f} by {1 - ours / theirs:.1%}", metric


def _run_tags(client: MlflowClient, name: str, version: str) -> dict[str, str]:
    return client.get_run(client.get_model_version(name, version).run_id).data.tags


def _same_recipe(client: MlflowClient, tracking: TrackingConfig, challenger: str, champion: str) -> bool:
    """Same forecaster parameters and model code (``training.provenance.model_code_fingerprint``)."""
    runs = [client.get_run(client.get_model_version(tracking.model_name, v).run_id) for v in (challenger, champion)]
    codes = {run.data.tags.get(CODE_TAG) for run in runs}
    return len(codes) == 1 and None not in codes and runs[0].data.params == runs[1].data.params


def _data_end(client: MlflowClient, tracking: TrackingConfig, version: str) -> str:
    """The last period of the version's training data, as its run recorded it (midnight left out)."""
    return _run_tags(client, tracking.model_name, version).get("data_end", "").removesuffix(" 00:00:00")


def _evaluation(
    client: MlflowClient, tracking: TrackingConfig, version: str, panel: pd.DataFrame, folds: Folds, fingerprint: str
) -> Evaluation:
    """The version's evaluation on ``folds`` of ``panel``: recorded, or computed now and recorded."""
    freq = infer_frequency(panel)
    cutoffs = tuple(cutoff_text(cutoff, freq) for cutoff in folds.cutoffs(panel))
    recorded = read_evaluation(
        client, tracking.model_name, version, evaluation_key(fingerprint, cutoffs, folds.horizon)
    )
    if recorded is not None:
        return recorded
    forecaster = load_forecaster(tracking, version)
    if forecaster.max_horizon is not None and forecaster.max_horizon < folds.horizon:
        raise PromotionError(
            f"version {version} forecasts at most {forecaster.max_horizon} periods; the folds need {folds.horizon}"
        )
    evaluation, _ = evaluate(lambda: clone(forecaster), panel, folds, fingerprint)
    record_evaluation(client, tracking.model_name, version, evaluation)
    return evaluation


def _training_data(client: MlflowClient, tracking: TrackingConfig, version: str) -> pd.DataFrame:
    """The panel a version was trained on, re-read from where its run says and checked by fingerprint."""
    tags = _run_tags(client, tracking.model_name, version)
    source = tags.get("data_source")
    panel = recorded_panel(tags)
    if panel is None:
        raise PromotionError(f"version {version}'s training data ({source or 'not recorded'}) is gone: pass --data")
    if panel_fingerprint(panel) != tags.get("data_fingerprint"):
        raise PromotionError(f"{source} has changed since version {version} was trained on it: pass --data")
    return panel


def _folds(client: MlflowClient, tracking: TrackingConfig, version: str) -> Folds:
    """The folds the challenger's training run backtested on, so its own evaluation is reused."""
    run = client.get_run(client.get_model_version(tracking.model_name, version).run_id)
    tags, step = run.data.tags, run.data.tags.get(STEP_TAG)
    if "horizon" not in run.data.params:
        raise PromotionError(f"version {version}'s run records no horizon: it was not logged by capcast train")
    return Folds(
        horizon=int(run.data.params["horizon"]),
        origins=int(tags.get(ORIGINS_TAG, 3)),
        step=None if step in (None, "None") else int(step),
    )


def _record(client: MlflowClient, tracking: TrackingConfig, decision: Decision) -> Decision:
    name = tracking.model_name
    client.set_model_version_tag(name, decision.challenger, "promotion", decision.to_json())
    if decision.champion is not None:
        client.set_model_version_tag(
            name, decision.champion, f"challenged_by.{decision.challenger}", decision.to_json()
        )
    if decision.promoted:
        entry = {"forced": decision.forced, "rule": decision.rule, "replaced": decision.champion}
        record_champion(client, tracking, decision.challenger, entry)
    return decision


def promote(
    tracking: TrackingConfig,
    version: str | None = None,
    *,
    data: pd.DataFrame | None = None,
    rule: PromotionRule = PromotionRule(),
    force: bool = False,
) -> Decision:
    """Compare ``version`` (default: the newest) with the champion and move the alias when the rule says so.

    Args:
        tracking: the MLflow store.
        version: the challenger; an older version rolls back.
        data: the panel to compare on; None re-reads the challenger's training data.
        rule: when the challenger wins.
        force: move the alias without comparing; recorded as forced.

    Raises:
        PromotionError: nothing to compare on (data gone or changed, horizon too long).
        training.registry.RegistryError: no such model or version.
    """
    client, _ = connect(tracking)
    challenger = version_or_latest(client, tracking.model_name, version)
    champion = champion_version(client, tracking)
    if champion == challenger:
        return Decision(
            False, challenger, champion, f"version {challenger} is already @{tracking.champion_alias}", "none"
        )
    if champion is None or force:
        reason = "forced" if force else f"there is no @{tracking.champion_alias} yet"
        return _record(
            client, tracking, Decision(True, challenger, champion, reason, "forced" if force else "first", force)
        )
    if data is None and _same_recipe(client, tracking, challenger, champion):
        ours, theirs = (_data_end(client, tracking, v) for v in (challenger, champion))
        newer = ours > theirs
        reason = (
            f"same parameters and code as the champion, on data up to {ours} (champion: {theirs})"
            if newer
            else f"same parameters and code as the champion, and no newer data ({ours}; champion: {theirs})"
        )
        return _record(client, tracking, Decision(newer, challenger, champion, reason, "refresh"))
    panel = data if data is not None else _training_data(client, tracking, challenger)
    fingerprint = panel_fingerprint(panel)
    folds = _folds(client, tracking, challenger)
    ours = _evaluation(client, tracking, challenger, panel, folds, fingerprint)
    theirs = _evaluation(client, tracking, champion, panel, folds, fingerprint)
    promoted, reason, metric = decide(ours, theirs, rule)
    decision = Decision(
        promoted,
        challenger,
        champion,
        reason,
        "better",
        metric=metric,
        challenger_score=ours.scores.get(metric),
        champion_score=theirs.scores.get(metric),
        challenger_coverage_80=ours.scores.get("coverage_80"),
        champion_coverage_80=theirs.scores.get("coverage_80"),
        margin=rule.margin,
        coverage_tolerance=rule.coverage_tolerance,
        data_fingerprint=fingerprint,
    )
    return _record(client, tracking, decision)
