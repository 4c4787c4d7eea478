"""``capcast plan``: a capacity plan for a forecast CSV and a site, through ``planning.recommend``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from capcast.cli.edge import fail, load_site_or_fail, read_csv_or_fail, read_yaml_models_or_fail
from capcast.settings import Settings


def plan(
    forecast: Annotated[Path, typer.Option(help="forecast CSV (unique_id, ds, [family], mean, q..)")],
    site: Annotated[Path, typer.Option(help="site YAML/JSON")],
    out: Annotated[Path | None, typer.Option(help="write the plan as JSON here")] = None,
    service_level: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="cover cumulative demand with this probability (default: 0.95)"),
    ] = None,
    level_error: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=2.0,
            help="relative error of a family's level shared by its series "
            "(default: the @champion model's, measured in training; 0 without one)",
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
    from planning import DemandBasis, Lock, LockError, Plan, PlanningError, Replan, SolverSettings, recommend
    from serving.model_store import champion_level_error

    site_model = load_site_or_fail(site)
    lock_list = read_yaml_models_or_fail(locks, list[Lock]) if locks else []
    replan = Replan(read_yaml_models_or_fail(previous, Plan), frozen_days, change_penalty) if previous else None
    frame = read_csv_or_fail(forecast)
    if missing := [c for c in ("unique_id", "ds", demand or "mean") if c not in frame.columns]:
        fail([f"{forecast}: row 1, column {c}: missing required column" for c in missing])
    if level_error is not None:
        level_source = "given"
    else:
        settings = Settings()
        level_error, level_source = champion_level_error(
            settings.tracking_uri, settings.model_name, settings.model_alias
        )
    basis = DemandBasis(level_error=level_error, column=demand)
    if service_level is not None:
        basis = replace(basis, service_level=service_level)
    try:
        result = recommend(
            frame.to_dict("records"),
            site_model,
            basis,
            SolverSettings(time_limit_s=time_limit, workers=workers, seed=seed),
            lock_list,
            replan,
        )
    except PlanningError as error:
        fail(f"{site}: {error}", code=2)
    except LockError as error:
        fail(f"{locks}: {error}")
    except ValueError as error:
        fail(f"{forecast}: {error}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    k, s = result.kpis, result.solver
    typer.echo(
        f"plan {result.start} +{result.days} days: {s.status}, cost {k.cost.total:,.0f} "
        f"(bound {s.best_bound:,.0f}, gap {s.gap:.1%}), expected fill rate {k.expected_fill_rate:.1%}, "
        f"line utilisation {k.line_utilisation:.1%}"
        + (
            ""
            if demand
            else f"; service level {basis.service_level:g} with family level error {level_error:g} ({level_source})"
        )
        + (f"; written to {out}" if out else "")
    )
