"""The ``capcast`` command line: data, train, forecast, plan, serve.

Every failure a user can cause ends in one clear line per problem on stderr
and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from capcast.settings import Settings

app = typer.Typer(
    help="capcast: demand forecasts turned into capacity plans.", no_args_is_help=True, pretty_exceptions_enable=False
)
data_app = typer.Typer(help="Sample data and the panel contract.", no_args_is_help=True)
app.add_typer(data_app, name="data")

MAX_PROBLEMS_SHOWN = 50
# Horizons count periods of the data: a year of hourly data bounds train and backtest alike.
MAX_HORIZON = 24 * 366
HORIZON_UNITS = "periods of the data (days, or hours for hourly data)"


@app.callback()
def _quiet_libraries() -> None:
    """Keep library chatter (MLflow's migrations and progress bars) out of the CLI's output."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _fail(lines: list[str] | str, code: int = 1) -> None:
    lines = [lines] if isinstance(lines, str) else lines
    for line in lines[:MAX_PROBLEMS_SHOWN]:
        typer.echo(line, err=True)
    if len(lines) > MAX_PROBLEMS_SHOWN:
        typer.echo(f"... and {len(lines) - MAX_PROBLEMS_SHOWN} more problems", err=True)
    raise typer.Exit(code)


def _validation_lines(source: str, error) -> list[str]:
    """pydantic errors as ``source: field.path: reason`` lines."""
    return [f"{source}: {'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in error.errors()]


@data_app.command("generate")
def data_generate(
    out: Annotated[Path, typer.Option(help="directory to write sales.csv and site.yaml into")],
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives byte-identical files")] = 0,
    products: Annotated[int, typer.Option(min=1, help="number of products")] = 40,
    locations: Annotated[int, typer.Option(min=1, help="number of stores")] = 5,
    days: Annotated[int, typer.Option(min=120, help="days of history")] = 1096,
    hourly: Annotated[
        bool, typer.Option(help="hourly workload per site (--locations sites) instead; no site.yaml")
    ] = False,
) -> None:
    """Write a seeded synthetic sales history and a matching production site."""
    from features.generate import SampleConfig, write_hourly_sample, write_sample

    try:
        if hourly:
            typer.echo(
                f"wrote {write_hourly_sample(out, seed, sites=locations, days=days)} (hourly; plans are daily, so no site)"
            )
            return
        panel, site = write_sample(out, seed, SampleConfig(products=products, locations=locations, days=days))
    except OSError as error:
        _fail(f"{out}: cannot write: {error.strerror or error}")
    typer.echo(f"wrote {panel} and {site}")


@data_app.command("validate")
def data_validate(
    file: Annotated[Path, typer.Argument(help="panel file (CSV or Parquet) or a data directory")],
) -> None:
    """Check a panel against the data contract; one line per problem (file, row, column)."""
    from features.io import load_panel
    from features.validation import PanelError

    try:
        panel = load_panel(file)
    except PanelError as error:
        _fail([str(p) for p in error.problems])
    typer.echo(
        f"{file}: ok, {panel['unique_id'].nunique()} series, {len(panel)} rows, "
        f"{panel['ds'].min().date()} to {panel['ds'].max().date()}"
    )


@app.command()
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
    from features.io import load_panel
    from features.validation import PanelError
    from training.tracking import TrackingConfig
    from training.train import TrainConfig
    from training.train import train as run_training

    settings = Settings()
    try:
        panel = load_panel(data)
    except PanelError as error:
        _fail([str(p) for p in error.problems])
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
        _fail(f"{data}: {error}")
    metrics = result.metrics
    typer.echo(
        f"registered {result.model_name} version {result.version}{f' as @{settings.model_alias}' if result.is_champion else ' (challenger)'} "
        f"(run {result.run_id}); holdout WAPE lightgbm {metrics['holdout_wape_lgbm']:.3f} vs seasonal naive "
        f"{metrics['holdout_wape_seasonal_naive']:.3f}"
    )


def _read_csv_or_fail(path: Path):
    import pandas as pd

    if not path.exists():
        _fail(f"{path}: file not found")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        _fail(f"{path}: cannot read: {str(error).splitlines()[0] if str(error) else type(error).__name__}")


def _champion_level_error(settings: Settings) -> tuple[float, str]:
    """The family level error the @champion model measured in training, read from its MLflow run."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from serving.model_store import ModelNotFound, ServedModel

    try:
        version = ServedModel.lookup(settings.tracking_uri, settings.model_name, settings.model_alias)
        metrics = MlflowClient(settings.tracking_uri).get_run(version.run_id).data.metrics
    except (ModelNotFound, MlflowException):
        return 0.0, "no trained model found: series treated as independent"
    if "family_level_error" not in metrics:
        return 0.0, f"model version {version.version} did not measure it"
    return float(metrics["family_level_error"]), f"measured by model version {version.version}"


def _served_model(settings: Settings):
    from serving.model_store import ModelNotFound, ServedModel

    try:
        return ServedModel.resolve(settings.tracking_uri, settings.model_name, settings.model_alias)
    except ModelNotFound as error:
        _fail(str(error))


@app.command()
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

    from features.io import load_panel
    from features.pipeline import infer_frequency
    from features.validation import PanelError
    from models.baselines import weekly_seasonal_naive
    from training.backtest import LEVELS, rolling_origin_backtest
    from training.train import TrainConfig

    try:
        panel = load_panel(data)
    except PanelError as error:
        _fail([str(p) for p in error.problems])
    config = TrainConfig(horizon=horizon, n_estimators=n_estimators, num_threads=threads)
    candidates = {"lgbm": config.forecaster, "seasonal_naive": lambda: weekly_seasonal_naive(panel, LEVELS)}
    reports = {}
    try:
        for name, make in candidates.items():
            reports[name] = rolling_origin_backtest(panel, make, horizon, origins, step)
    except ValueError as error:
        _fail(f"{data}: {error}")
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


@app.command()
def forecast(
    out: Annotated[Path, typer.Option(help="CSV file to write the forecast frame to")],
    horizon: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="periods of the model's data ahead: days, or hours for hourly models (default: the model's longest horizon)",
        ),
    ] = None,
    future: Annotated[
        Path | None,
        typer.Option(help="CSV of known-future values (unique_id, ds, one column per exogenous column of the model)"),
    ] = None,
) -> None:
    """Forecast every series with the @champion model (columns: unique_id, ds, mean, quantiles, family...)."""

    from serving.errors import ApiError
    from serving.model_store import first_missing_value, periods_are_days

    model = _served_model(Settings())
    try:
        horizon = model.horizon(horizon)
    except ApiError as error:
        _fail(f"--horizon: {error.message}")
    known = _read_csv_or_fail(future) if future is not None else None
    if known is not None and (missing := first_missing_value(known, model.info.exogenous)) is not None:
        row, column = missing
        # Rows counted as `capcast data validate` counts them: the header is row 1.
        _fail(f"{future}: row {row + 2}, column {column}: missing value")
    try:
        frame = model.all_series_forecast(horizon, known)
    except ApiError as error:
        _fail(f"{future}: {error.message}")
    scenario = (
        ""
        if not model.info.exogenous
        else (
            f"; {', '.join(model.info.exogenous)} from {future}"
            if future
            else f"; {', '.join(model.info.exogenous)}: each series' most frequent recent value (pass --future to set them)"
        )
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    daily = periods_are_days(frame["ds"])
    frame.assign(ds=frame["ds"].dt.strftime("%Y-%m-%d" if daily else "%Y-%m-%d %H:%M")).to_csv(
        out, index=False, float_format="%.4f"
    )
    # The model's own frequency, not the written ds: one hourly period at midnight would look daily.
    periods = "hours" if model.forecaster.freq_ == "h" else "days"
    typer.echo(
        f"wrote {out}: {frame['unique_id'].nunique()} series x {horizon} {periods} from model version {model.info.version}"
        f" (family level error {model.info.family_level_error:g}, which `capcast plan` uses by default){scenario}"
    )
    if model.cold_start_ids:
        typer.echo(
            f"{len(model.cold_start_ids)} series too short for the global model use the cold-start fallback: {', '.join(sorted(model.cold_start_ids)[:5])}"
        )


def _load_site_or_fail(path: Path):
    from pydantic import ValidationError

    from planning.site import load_site

    if not path.exists():
        _fail(f"{path}: file not found")
    try:
        return load_site(path)
    except ValidationError as error:
        _fail(_validation_lines(str(path), error))
    except (ValueError, OSError) as error:
        _fail(f"{path}: {error}" if not str(error).startswith(str(path)) else str(error))


def _load_models_or_fail(path: Path, kind):
    """A YAML/JSON file validated as ``kind`` (a pydantic model or a list of them)."""
    import yaml
    from pydantic import TypeAdapter, ValidationError

    if not path.exists():
        _fail(f"{path}: file not found")
    try:
        return TypeAdapter(kind).validate_python(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as error:
        _fail(_validation_lines(str(path), error))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        _fail(f"{path}: not valid YAML/JSON: {str(error).splitlines()[0]}")


@app.command()
def plan(
    forecast: Annotated[Path, typer.Option(help="forecast CSV (unique_id, ds, [family], mean, q..)")],
    site: Annotated[Path, typer.Option(help="site YAML/JSON")],
    out: Annotated[Path | None, typer.Option(help="write the plan as JSON here")] = None,
    service_level: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="cover cumulative demand with this probability")
    ] = 0.95,
    level_error: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=2.0,
            help="relative error of a family's level shared by its series (default: the @champion model's, measured in training; 0 without one)",
        ),
    ] = None,
    demand: Annotated[
        str | None, typer.Option(help='plan for the daily sums of this column instead ("mean", "q90")')
    ] = None,
    time_limit: Annotated[float, typer.Option(min=0.1, help="CP-SAT time limit, seconds")] = 10.0,
    seed: Annotated[int, typer.Option(help="CP-SAT random seed")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="CP-SAT search workers")] = 2,
    locks: Annotated[
        Path | None, typer.Option(help="JSON/YAML list of locked decisions (line, day, shift, ...)")
    ] = None,
    previous: Annotated[
        Path | None, typer.Option(help="plan JSON this plan replaces (warm start, change penalty)")
    ] = None,
    frozen_days: Annotated[int, typer.Option(min=0, help="first days in which changes to --previous are charged")] = 0,
    change_penalty: Annotated[float, typer.Option(min=0, help="charge per changed line-shift in frozen days")] = 100.0,
) -> None:
    """Plan shifts, line speeds and maintenance for a forecast with CP-SAT."""

    from planning.demand import demand_from_forecast
    from planning.model import LockError
    from planning.plan import Lock, Plan
    from planning.service_level import service_level_demand
    from planning.solve import PlanningError, Replan, SolverSettings, solve

    site_model = _load_site_or_fail(site)
    lock_list = _load_models_or_fail(locks, list[Lock]) if locks else []
    replan = Replan(_load_models_or_fail(previous, Plan), frozen_days, change_penalty) if previous else None
    frame = _read_csv_or_fail(forecast)
    missing = [c for c in ("unique_id", "ds", demand or "mean") if c not in frame.columns]
    if missing:
        _fail([f"{forecast}: row 1, column {c}: missing required column" for c in missing])
    level_error, level_source = (level_error, "given") if level_error is not None else _champion_level_error(Settings())
    try:
        rows = frame.to_dict("records")
        demand_table = (
            demand_from_forecast(rows, demand)
            if demand
            else service_level_demand(rows, service_level, level_error=level_error)
        )
        settings = SolverSettings(time_limit_s=time_limit, workers=workers, seed=seed)
        result = solve(site_model, demand_table, settings, locks=lock_list, replan=replan)
    except PlanningError as error:
        _fail(f"{site}: {error}", code=2)
    except LockError as error:
        _fail(f"{locks}: {error}")
    except ValueError as error:
        _fail(f"{forecast}: {error}")
    document = result.model_dump_json(indent=2)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(document, encoding="utf-8")
    k, s = result.kpis, result.solver
    typer.echo(
        f"plan {result.start} +{result.days} days: {s.status}, cost {k.cost.total:,.0f} (bound {s.best_bound:,.0f}, gap {s.gap:.1%}), "
        f"expected fill rate {k.expected_fill_rate:.1%}, line utilisation {k.line_utilisation:.1%}"
        + (
            ""
            if demand
            else f"; service level {service_level:g} with family level error {level_error:g} ({level_source})"
        )
        + (f"; written to {out}" if out else "")
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on (default CAPCAST_HOST or 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default CAPCAST_PORT or 3000)")] = None,
) -> None:
    """Start the BentoML service serving the @champion model."""
    from serving.model_store import ModelNotFound, ServedModel

    settings = Settings()
    try:  # fail here, in one line, rather than inside the server
        version = ServedModel.lookup(settings.tracking_uri, settings.model_name, settings.model_alias)
    except ModelNotFound as error:
        _fail(str(error))
    site_path = settings.site_path.resolve()
    if site_path.exists():
        _load_site_or_fail(site_path)
    host, port = host or settings.host, port or settings.port
    base = f"http://{host}:{port}"
    typer.echo(f"serving {settings.model_name} version {version.version} (@{settings.model_alias}) on {base}")
    typer.echo(f"  GET  {base}/readyz    GET {base}/model    GET {base}/docs")
    typer.echo(f"  POST {base}/forecast  POST {base}/recommend")
    root = Path(__file__).resolve().parent.parent
    # The server runs from the project root: pass every path absolute.
    env = {**os.environ, "CAPCAST_HOME": str(settings.home.resolve()), "CAPCAST_SITE": str(site_path)}
    command = [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        "serving.service:Capcast",
        "--host",
        host,
        "--port",
        str(port),
        "--working-dir",
        str(root),
    ]
    sys.stdout.flush()
    os.execvpe(command[0], command, env)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
