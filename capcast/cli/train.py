"""``capcast train``, ``capcast retrain`` and ``capcast backtest``: the training job, the scheduled
retraining loop and the rolling-origin check."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from enum import IntEnum
from pathlib import Path
from typing import Annotated

import typer

from capcast.cli.edge import HORIZON_UNITS, MAX_HORIZON, Gaps, fail, load_dataset_or_fail, load_panel_or_fail
from capcast.cli.progress import JobLog
from capcast.settings import Settings

# Unset options keep the production model's own defaults (models.lgbm.LightGBMForecaster).
Data = Annotated[Path, typer.Option(help="panel file or data directory (with sales.csv)")]
Horizon = Annotated[
    int | None,
    typer.Option(min=1, max=MAX_HORIZON, help=f"longest horizon, in {HORIZON_UNITS} (default: the model's)"),
]
Rounds = Annotated[int | None, typer.Option(min=1, help="LightGBM boosting rounds (default: the model's)")]
Threads = Annotated[int | None, typer.Option(min=0, help="LightGBM threads, 0 = all cores (default: the model's)")]
Levels = Annotated[
    list[int] | None,
    typer.Option(
        "--level",
        min=1,
        max=99,
        help="central interval level in percent, repeatable (default: the model's; 90 gives q5/q95)",
    ),
]
Origins = Annotated[int, typer.Option(min=1, max=52, help="backtest folds (rolling origins one horizon apart)")]
Dask = Annotated[
    str | None,
    typer.Option(help="fit on a Dask cluster: a scheduler address (tcp://host:8786) or 'local' (2 local workers)"),
]
JsonLog = Annotated[bool, typer.Option("--json-log", help="one JSON object per line on stdout, for schedulers")]
Metric = Annotated[
    str | None, typer.Option(help="primary score: wrmsse, wape or rmsse (default: wrmsse with prices, else wape)")
]
Margin = Annotated[float, typer.Option(min=0.0, max=0.99, help="relative improvement the challenger needs")]
CoverageTolerance = Annotated[
    float, typer.Option(min=0.0, max=1.0, help="how much farther from 80% its 80% band may cover (0.02 = 2 points)")
]


class RetrainOutcome(IntEnum):
    """``capcast retrain``'s exit codes, for a scheduler."""

    PROMOTED = 0
    FAILED = 1
    CHAMPION_KEPT = 3


def _tracking(settings: Settings):
    from training.tracking import TrackingConfig

    return TrackingConfig(
        settings.tracking_uri,
        settings.artifact_location,
        settings.experiment,
        settings.model_name,
        settings.model_alias,
    )


@contextmanager
def job_errors(log: JobLog, context: str, code: int = 1) -> Iterator[None]:
    """Whatever a job's data, store or model can get wrong, as one line and ``code``; never a traceback."""
    from mlflow.exceptions import MlflowException

    from training.registry import RegistryError
    from training.tracking import TrackingUnreachable

    try:
        yield
    except (ValueError, LookupError, OSError, MlflowException, TrackingUnreachable, RegistryError) as error:
        message = (getattr(error, "message", None) or str(error) or type(error).__name__).splitlines()[0]
        # An unreachable store is not the fault of the data or version the job names.
        line = f"{context}: {message}" if context and not isinstance(error, TrackingUnreachable) else message
        log.event("failed", error=line)
        fail(line, code)


def _stop_on_sigterm() -> None:
    """A scheduler's SIGTERM ends the job like Ctrl-C: the MLflow run is marked FAILED, not left RUNNING."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def _train_config(horizon, n_estimators, threads, levels, features=None):
    from training.train import TrainConfig

    config = TrainConfig(horizon=horizon, features=features, n_estimators=n_estimators, num_threads=threads)
    return replace(config, levels=tuple(sorted(set(levels)))) if levels else config


def _run_training(data: Path, config, origins: int, dask: str | None, log: JobLog, gaps: str | None = None):
    """Train on ``data`` with the features its ``dataset.yaml`` declares (column roles, holidays) and its
    hierarchy, when it declares one."""
    from features.schema import schema_path
    from training.engine import fitting
    from training.train import train as run_training

    panel, schema = load_dataset_or_fail(data, gaps)
    if dask is not None and schema.hierarchy:
        fail(f"--dask: {schema_path(data)} declares a hierarchy, which is fit in this process only: drop --dask")
    with job_errors(log, str(data)):
        config = replace(config, features=schema.feature_spec(panel), **_hierarchy(schema))
    _stop_on_sigterm()
    with job_errors(log, "--dask"), fitting(dask) as fit, job_errors(log, str(data)):
        return run_training(
            panel,
            _tracking(Settings()),
            config,
            source=str(data.resolve()),
            origins=origins,
            stage=log.stage,
            fit=fit,
            engine="local" if dask is None else f"dask {dask}",
            gaps=str(gaps or schema.gaps),
        )


def _hierarchy(schema) -> dict:
    """TrainConfig's hierarchy fields from ``dataset.yaml`` (none without a ``hierarchy:``)."""
    if not schema.hierarchy:
        return {}
    return {"hierarchy": schema.hierarchy, "reconcile": str(schema.reconcile)}


def _trained_line(result, alias: str) -> str:
    metrics = result.metrics
    role = f"as @{alias}" if result.is_champion else "(challenger)"
    by_level = ", ".join(
        f"{name.removeprefix('backtest_wape_level_').removesuffix('_lgbm')} {value:.3f}"
        for name, value in metrics.items()
        if name.startswith("backtest_wape_level_") and name.endswith("_lgbm")
    )
    return (
        f"registered {result.model_name} version {result.version} {role} (run {result.run_id}); backtest WAPE over "
        f"{len(result.evaluation.by_fold)} folds: lightgbm {metrics['backtest_wape_lgbm']:.3f} vs seasonal naive "
        f"{metrics['backtest_wape_seasonal_naive']:.3f}"
        + (f"; lightgbm's WAPE by level: {by_level}" if by_level else "")
    )


def train(
    data: Annotated[
        Path | None,
        typer.Option(help="panel file or data directory (with sales.csv); with --reproduce, default: the run's"),
    ] = None,
    horizon: Horizon = None,
    n_estimators: Rounds = None,
    threads: Threads = None,
    levels: Levels = None,
    origins: Origins = 3,
    dask: Dask = None,
    json_log: JsonLog = False,
    gaps: Gaps = None,
    reproduce: Annotated[
        str | None, typer.Option(help="re-run this recorded run (an MLflow run id) and compare its predictions")
    ] = None,
) -> None:
    """Backtest, train and register a model version in MLflow (the first one becomes @champion)."""
    log = JobLog(json_log)
    if reproduce is not None:
        _reproduce(reproduce, data, log)
        return
    if data is None:
        fail("--data: give the panel to train on (a file or a directory with sales.csv)")
    config = _train_config(horizon, n_estimators, threads, levels)
    result = _run_training(data, config, origins, dask, log, gaps)
    log.done(
        _trained_line(result, Settings().model_alias),
        run_id=result.run_id,
        version=result.version,
        champion=result.is_champion,
        metrics=result.metrics,
    )


def _reproduce(run_id: str, data: Path | None, log: JobLog) -> None:
    from training.reproduce import reproduce

    panel = load_panel_or_fail(data) if data is not None else None
    with job_errors(log, f"run {run_id}"), log.stage("reproduce"):
        outcome = reproduce(_tracking(Settings()), run_id, panel)
    note = f" ({outcome.code_note})" if outcome.code_note else ""
    if outcome.identical:
        log.done(f"run {run_id} reproduced: {outcome.rows} forecast rows identical{note}", **vars(outcome))
        return
    line = (
        f"run {run_id} did not reproduce: {outcome.rows} forecast rows differ by up to "
        f"{outcome.max_abs_difference:.6g}{note}"
    )
    log.event("failed", error=line, **vars(outcome))
    fail(line)


def retrain(
    data: Data,
    horizon: Horizon = None,
    n_estimators: Rounds = None,
    threads: Threads = None,
    levels: Levels = None,
    origins: Origins = 3,
    dask: Dask = None,
    metric: Metric = None,
    margin: Margin = 0.01,
    coverage_tolerance: CoverageTolerance = 0.02,
    json_log: JsonLog = False,
    gaps: Gaps = None,
) -> None:
    """Train on the latest data, register a challenger and promote it if it wins; exit 0 promoted,
    3 champion kept, 1 failed (for cron and other schedulers)."""
    from training.promotion import PromotionRule, promote

    log = JobLog(json_log)
    with job_errors(log, "retrain", RetrainOutcome.FAILED):
        rule = PromotionRule(metric=metric, margin=margin, coverage_tolerance=coverage_tolerance)
    result = _run_training(data, _train_config(horizon, n_estimators, threads, levels), origins, dask, log, gaps)
    if not json_log:
        print(_trained_line(result, Settings().model_alias))
    if result.is_champion:
        log.done(f"version {result.version} is the first @champion", outcome="promoted", version=result.version)
        raise typer.Exit(RetrainOutcome.PROMOTED)
    with job_errors(log, f"promoting version {result.version}"), log.stage("promote"):
        decision = promote(_tracking(Settings()), result.version, rule=rule)
    outcome = "promoted" if decision.promoted else "champion_kept"
    verb = "promoted to" if decision.promoted else "not promoted; the champion stays"
    log.done(
        f"version {decision.challenger} {verb} @{Settings().model_alias}: {decision.reason}",
        outcome=outcome,
        decision=vars(decision),
    )
    raise typer.Exit(RetrainOutcome.PROMOTED if decision.promoted else RetrainOutcome.CHAMPION_KEPT)


def backtest(
    data: Data,
    horizon: Horizon = None,
    origins: Annotated[int, typer.Option(min=1, max=52, help="number of forecast origins")] = 3,
    step: Annotated[int | None, typer.Option(min=1, help="periods between origins (default: the horizon)")] = None,
    n_estimators: Rounds = None,
    threads: Threads = None,
    out: Annotated[
        Path | None, typer.Option(help="write every score (per origin and per horizon step) as JSON here")
    ] = None,
    gaps: Gaps = None,
) -> None:
    """Rolling-origin backtest of the production forecaster and seasonal naive, per origin and per horizon step."""
    import json

    import pandas as pd

    from features.pipeline import infer_frequency
    from training.backtest import pooled_per_cycle, rolling_origin_backtest
    from training.train import TrainConfig, candidates

    panel, schema = load_dataset_or_fail(data, gaps)
    try:
        features = schema.feature_spec(panel)
    except ValueError as error:
        fail(f"{data}: {error}")
    config = TrainConfig(
        horizon=horizon, features=features, n_estimators=n_estimators, num_threads=threads, **_hierarchy(schema)
    )
    horizon = config.lightgbm().horizon  # each origin forecasts as far as the model does
    try:
        reports = {
            name: rolling_origin_backtest(panel, make, horizon, origins, step)
            for name, make in candidates(panel, config).items()
        }
    except ValueError as error:
        fail(f"{data}: {error}")
    # The backtests fitted, so the panel's frequency is one the models support.
    freq = infer_frequency(panel)
    with pd.option_context("display.width", 160, "display.max_columns", 30, "display.precision", 3):
        for name, report in reports.items():
            pooled, cycle = pooled_per_cycle(report.by_step, horizon, freq)
            typer.echo(f"\n{name}: by origin\n{report.by_origin.to_string(index=False)}")
            typer.echo(f"{name}: by horizon step (mean per {cycle} of steps)\n{pooled.to_string()}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        document = {name: report.scores() for name, report in reports.items()}
        out.write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
        typer.echo(f"written to {out}")
