"""``capcast train`` and ``capcast backtest``: the forecaster's training job and its rolling-origin check."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from capcast.cli.edge import HORIZON_UNITS, MAX_HORIZON, fail, load_panel_or_fail
from capcast.settings import Settings

# Unset options keep the production model's own defaults (models.lgbm.LightGBMForecaster).
Data = Annotated[Path, typer.Option(help="panel file or data directory (with sales.csv)")]
Horizon = Annotated[
    int | None,
    typer.Option(min=1, max=MAX_HORIZON, help=f"longest horizon, in {HORIZON_UNITS} (default: the model's)"),
]
Rounds = Annotated[int | None, typer.Option(min=1, help="LightGBM boosting rounds (default: the model's)")]
Threads = Annotated[int | None, typer.Option(min=0, help="LightGBM threads, 0 = all cores (default: the model's)")]


def train(
    data: Data,
    horizon: Horizon = None,
    n_estimators: Rounds = None,
    threads: Threads = None,
    levels: Annotated[
        list[int] | None,
        typer.Option(
            "--level",
            min=1,
            max=99,
            help="central interval level in percent, repeatable (default: the model's; 90 gives q5/q95)",
        ),
    ] = None,
) -> None:
    """Backtest, train and register a model version in MLflow (the first one becomes @champion)."""
    from training.tracking import TrackingConfig
    from training.train import TrainConfig
    from training.train import train as run_training

    settings = Settings()
    panel = load_panel_or_fail(data)
    tracking = TrackingConfig(
        settings.tracking_uri,
        settings.artifact_location,
        settings.experiment,
        settings.model_name,
        settings.model_alias,
    )
    try:
        config = TrainConfig(horizon=horizon, n_estimators=n_estimators, num_threads=threads)
        if levels:
            config = replace(config, levels=tuple(sorted(set(levels))))
        result = run_training(panel, tracking, config, source=str(data))
    except ValueError as error:
        fail(f"{data}: {error}")
    metrics = result.metrics
    role = f"as @{settings.model_alias}" if result.is_champion else "(challenger)"
    typer.echo(
        f"registered {result.model_name} version {result.version} {role} (run {result.run_id}); holdout WAPE "
        f"lightgbm {metrics['holdout_wape_lgbm']:.3f} vs seasonal naive {metrics['holdout_wape_seasonal_naive']:.3f}"
    )


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
) -> None:
    """Rolling-origin backtest of the production forecaster and seasonal naive, per origin and per horizon step."""
    import json

    import pandas as pd

    from features.pipeline import infer_frequency
    from training.backtest import pooled_per_cycle, rolling_origin_backtest
    from training.train import TrainConfig, candidates

    panel = load_panel_or_fail(data)
    config = TrainConfig(horizon=horizon, n_estimators=n_estimators, num_threads=threads)
    horizon = config.forecaster().horizon  # each origin forecasts as far as the model does
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
