"""``capcast train`` and ``capcast backtest``: the forecaster's training job and its rolling-origin check."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from capcast.cli.edge import HORIZON_UNITS, MAX_HORIZON, fail, load_panel_or_fail
from capcast.settings import Settings


def train(
    data: Annotated[Path, typer.Option(help="panel file or data directory (with sales.csv)")],
    horizon: Annotated[
        int, typer.Option(min=1, max=MAX_HORIZON, help=f"longest horizon served, in {HORIZON_UNITS}")
    ] = 28,
    n_estimators: Annotated[int, typer.Option(min=1, help="LightGBM boosting rounds")] = 300,
    threads: Annotated[int, typer.Option(min=0, help="LightGBM threads (0 = all cores)")] = 0,
    levels: Annotated[
        list[int] | None,
        typer.Option(
            "--level",
            min=1,
            max=99,
            help="central interval level in percent, repeatable (default 80 and 95; 90 gives q5/q95)",
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
    data: Annotated[Path, typer.Option(help="panel file or data directory (with sales.csv)")],
    horizon: Annotated[
        int, typer.Option(min=1, max=MAX_HORIZON, help=f"horizon at each origin, in {HORIZON_UNITS}")
    ] = 28,
    origins: Annotated[int, typer.Option(min=1, max=52, help="number of forecast origins")] = 3,
    step: Annotated[int | None, typer.Option(min=1, help="periods between origins (default: the horizon)")] = None,
    n_estimators: Annotated[int, typer.Option(min=1, help="LightGBM boosting rounds")] = 300,
    threads: Annotated[int, typer.Option(min=0, help="LightGBM threads (0 = all cores)")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="write every score (per origin and per horizon step) as JSON here")
    ] = None,
) -> None:
    """Rolling-origin backtest of the production forecaster and seasonal naive, per origin and per horizon step."""
    import json

    import pandas as pd

    from features.pipeline import infer_frequency
    from models.baselines import weekly_seasonal_naive
    from training.backtest import LEVELS, rolling_origin_backtest
    from training.train import TrainConfig

    panel = load_panel_or_fail(data)
    config = TrainConfig(horizon=horizon, n_estimators=n_estimators, num_threads=threads)
    candidates = {"lgbm": config.forecaster, "seasonal_naive": lambda: weekly_seasonal_naive(panel, LEVELS)}
    reports = {}
    try:
        for name, make in candidates.items():
            reports[name] = rolling_origin_backtest(panel, make, horizon, origins, step)
    except ValueError as error:
        fail(f"{data}: {error}")
    # Steps pooled over one cycle of the data: a day of hourly data, a week of daily data.
    # The backtests fitted, so the panel's frequency is one the models support.
    size, cycle = (24, "day") if infer_frequency(panel) == "h" else (7, "week")
    with pd.option_context("display.width", 160, "display.max_columns", 30, "display.precision", 3):
        for name, report in reports.items():
            typer.echo(f"\n{name}: by origin\n{report.by_origin.to_string(index=False)}")
            pooled = report.by_step.groupby((report.by_step["step"] - 1) // size).mean().drop(columns="step")
            pooled.index = [
                f"{cycle} {g + 1} (steps {size * g + 1}-{min(size * g + size, horizon)})" for g in pooled.index
            ]
            typer.echo(f"{name}: by horizon step (mean per {cycle} of steps)\n{pooled.to_string()}")
    if out is not None:
        document = {
            name: {"by_origin": r.by_origin.to_dict("records"), "by_step": r.by_step.to_dict("records")}
            for name, r in reports.items()
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
        typer.echo(f"written to {out}")
