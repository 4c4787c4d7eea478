"""A forecaster recipe's scores on rolling-origin folds of one panel: what promotion compares.

Two model versions are compared on the same folds of the same data, each refit
at every cut-off from its own parameters (``sklearn.base.clone`` of the version's
forecaster), so the comparison is of recipes on equal terms, never of a model
scored on data it was trained on. An evaluation is identified by the data's
fingerprint, the cut-offs and the horizon (``Evaluation.key``); a version keeps
each of its evaluations as a tag, so a comparison is computed once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from models.base import Forecaster
from training.backtest import PRICE_COLUMNS, BacktestReport, Folds, rolling_origin_backtest
from training.provenance import panel_fingerprint

__all__ = ["METRICS", "Evaluation", "default_metric", "evaluate", "evaluation_key"]

# Scores where lower is better, and what ``default_metric`` picks from.
METRICS = ("wrmsse", "wape", "rmsse")


def default_metric(panel: pd.DataFrame) -> str:
    """WRMSSE when the panel has prices (dollar-sales weights exist), WAPE otherwise."""
    return "wrmsse" if any(column in panel.columns for column in PRICE_COLUMNS) else "wape"


def evaluation_key(fingerprint: str, cutoffs: tuple[str, ...], horizon: int) -> str:
    text = json.dumps([fingerprint, list(cutoffs), horizon])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Evaluation:
    """Scores of one recipe on the folds of one panel.

    Attributes:
        data_fingerprint: ``training.provenance.panel_fingerprint`` of the panel.
        cutoffs: the folds' cut-offs, oldest first, as ``BacktestReport.by_origin`` writes them.
        horizon: periods forecast from each cut-off.
        metric: the panel's default primary metric (``default_metric``).
        scores: each score's mean over the folds (stockout rows: their sum).
        by_fold: one record per fold (``BacktestReport.by_origin``).
    """

    data_fingerprint: str
    cutoffs: tuple[str, ...]
    horizon: int
    metric: str
    scores: dict[str, float]
    by_fold: tuple[dict, ...]

    @property
    def key(self) -> str:
        return evaluation_key(self.data_fingerprint, self.cutoffs, self.horizon)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=float, allow_nan=True)

    @classmethod
    def from_json(cls, text: str) -> Evaluation:
        fields = json.loads(text)
        return cls(**{**fields, "cutoffs": tuple(fields["cutoffs"]), "by_fold": tuple(fields["by_fold"])})


def _fold_means(by_origin: pd.DataFrame) -> dict[str, float]:
    numbers = by_origin.drop(columns="cutoff").apply(pd.to_numeric, errors="coerce")
    scores = {name: float(value) for name, value in numbers.mean().items() if np.isfinite(value)}
    if "stockout_rows" in numbers:
        scores["stockout_rows"] = float(numbers["stockout_rows"].sum())
    return scores


def evaluate(
    make: Callable[[], Forecaster],
    panel: pd.DataFrame,
    folds: Folds,
    fingerprint: str | None = None,
    fit: Callable[[Forecaster, pd.DataFrame], Forecaster] | None = None,
) -> tuple[Evaluation, BacktestReport]:
    """Backtest ``make()`` on ``folds`` of ``panel``, fitting with ``fit`` (default: ``Forecaster.fit``);
    ``fingerprint`` saves hashing the panel again."""
    report = rolling_origin_backtest(panel, make, folds.horizon, folds.origins, folds.step, fit=fit)
    evaluation = Evaluation(
        data_fingerprint=fingerprint or panel_fingerprint(panel),
        cutoffs=tuple(report.by_origin["cutoff"]),
        horizon=folds.horizon,
        metric=default_metric(panel),
        scores=_fold_means(report.by_origin),
        by_fold=tuple(report.by_origin.to_dict("records")),
    )
    return evaluation, report
