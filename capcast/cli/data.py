"""``capcast data``: the seeded sample and the panel contract."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capcast.cli.edge import Gaps, fail, load_panel_or_fail

data_app = typer.Typer(help="Sample data and the panel contract.", no_args_is_help=True)


@data_app.command("generate")
def generate(
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
            written = write_hourly_sample(out, seed, sites=locations, days=days)
            typer.echo(f"wrote {written} (hourly; plans are daily, so no site)")
            return
        panel, site = write_sample(out, seed, SampleConfig(products=products, locations=locations, days=days))
    except OSError as error:
        fail(f"{out}: cannot write: {error.strerror or error}")
    typer.echo(f"wrote {panel} and {site}")


@data_app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="panel file (CSV or Parquet) or a data directory")], gaps: Gaps = None
) -> None:
    """Check a panel against the data contract; one line per problem (file, row, column)."""
    panel = load_panel_or_fail(file, gaps)
    typer.echo(
        f"{file}: ok, {panel['unique_id'].nunique()} series, {len(panel)} rows, "
        f"{panel['ds'].min().date()} to {panel['ds'].max().date()}"
    )
