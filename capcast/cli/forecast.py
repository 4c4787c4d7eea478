"""``capcast forecast``: every series from the served model version, written as CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capcast.cli.edge import fail, file_field_line, read_csv_or_fail
from capcast.settings import Settings


def forecast(
    out: Annotated[Path, typer.Option(help="CSV file to write the forecast frame to")],
    horizon: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="periods of the model's data ahead: days, hours, weeks or months, as the model's data "
            "(default: the model's longest horizon)",
        ),
    ] = None,
    future: Annotated[
        Path | None,
        typer.Option(help="CSV of known-future values (unique_id, ds, one column per exogenous column of the model)"),
    ] = None,
) -> None:
    """Forecast every series with the @champion model (columns: unique_id, ds, mean, quantiles, family...; a model
    of a hierarchy adds its aggregates and a level column)."""
    from serving.errors import ApiError
    from serving.model_store import ModelNotFound, RegistryUnreachable, ServedModel
    from serving.responses import periods_are_days

    settings = Settings()
    try:
        model = ServedModel.resolve(settings.tracking_uri, settings.model_name, settings.model_alias)
    except (ModelNotFound, RegistryUnreachable) as error:
        fail(str(error))
    except Exception as error:  # a broken version fails in its own code: whatever it raises, one line
        reason = str(error).splitlines()[0] if str(error) else ""
        fail(
            f"model {settings.model_name}@{settings.model_alias} cannot be loaded: {type(error).__name__}: {reason} "
            "(promote a working version with `capcast promote --version N --force`)"
        )
    try:
        horizon = model.horizon(horizon)
    except ApiError as error:
        fail(f"--horizon: {error.message}")
    known = read_csv_or_fail(future) if future is not None else None
    try:
        frame = model.all_series_forecast(horizon, known)
    except ApiError as error:
        fail(file_field_line(future, error.field, error.message))
    out.parent.mkdir(parents=True, exist_ok=True)
    written_ds = frame["ds"].dt.strftime("%Y-%m-%d" if periods_are_days(frame["ds"]) else "%Y-%m-%d %H:%M")
    frame.assign(ds=written_ds).to_csv(out, index=False, float_format="%.4f")
    typer.echo(_summary(model, frame, horizon, out, future))
    if model.cold_start_ids:
        shown = ", ".join(sorted(model.cold_start_ids)[:5])
        typer.echo(
            f"{len(model.cold_start_ids)} series too short for the global model use the cold-start fallback: {shown}"
        )


def _summary(model, frame, horizon: int, out: Path, future: Path | None) -> str:
    info = model.info
    # The model's own frequency, not the written ds: one hourly period at midnight would look daily.
    periods = f"{model.period_unit}s"
    if info.plans_from == "family":
        planned = "`capcast plan` plans each family's own reconciled forecast, with no family level error"
    else:
        planned = f"family level error {info.family_level_error:g}, which `capcast plan` uses by default"
    levels = f", levels {', '.join(sorted(set(frame['level'])))}" if "level" in frame.columns else ""
    summary = (
        f"wrote {out}: {frame['unique_id'].nunique()} series x {horizon} {periods} from model version {info.version}"
        f"{levels} ({planned})"
    )
    if not info.exogenous:
        return summary
    columns = ", ".join(info.exogenous)
    if future is not None:
        return f"{summary}; {columns} from {future}"
    return f"{summary}; {columns}: each series' most frequent recent value (pass --future to set them)"
