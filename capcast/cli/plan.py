"""``capcast plan``: a capacity plan for a forecast CSV and a site, through ``planning.recommend``."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from capcast.cli.edge import fail, load_site_or_fail, read_csv_or_fail, read_yaml_models_or_fail
from capcast.settings import Settings


class Stock(StrEnum):
    SITE = "site"
    LEDGER = "ledger"


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
            "(default: the @champion model's, measured in training; 0 without one, or when the forecast has "
            "each family's own rows: a hierarchy's family level)",
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
    store: Annotated[
        bool, typer.Option(help="also keep the plan as a draft in the plan store (capcast plans)")
    ] = False,
    stock: Annotated[
        Stock,
        typer.Option(
            help="opening stock: the site file's initial_inventory, or the stock ledger's at its production node"
        ),
    ] = Stock.SITE,
) -> None:
    """Plan shifts, line speeds and maintenance for a forecast with CP-SAT."""
    from capcast.cli.plans import open_plan_store
    from planning import (
        DemandBasis,
        Lineage,
        Lock,
        LockError,
        Plan,
        PlanningError,
        Replan,
        SolverSettings,
        plan_rows,
        recommend,
        site_digest,
    )
    from serving.model_store import champion_level_error

    site_model = load_site_or_fail(site)
    lock_list = read_yaml_models_or_fail(locks, list[Lock]) if locks else []
    replan = Replan(read_yaml_models_or_fail(previous, Plan), frozen_days, change_penalty) if previous else None
    frame = read_csv_or_fail(forecast)
    if missing := [c for c in ("unique_id", "ds", demand or "mean") if c not in frame.columns]:
        fail([f"{forecast}: row 1, column {c}: missing required column" for c in missing])
    stock_source = "site"
    if stock is Stock.LEDGER:
        site_model, stock_source = _ledger_stock(site_model, frame)
    # A forecast of a hierarchy with a family level: each family's own row, whose band holds its shared error.
    rows, families_own = plan_rows(frame.to_dict("records"))
    if level_error is not None:
        level_source = "given"
    elif families_own:
        level_error, level_source = 0.0, "each family's own reconciled forecast, whose band already holds it"
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
            rows,
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
    stored = None
    if store:
        lineage = Lineage(
            forecast=f"file {forecast.name} sha256:{hashlib.sha256(forecast.read_bytes()).hexdigest()}",
            site=site_model.name,
            site_sha256=site_digest(site_model),
            service_level=basis.service_level,
            level_error=basis.level_error,
            demand_column=basis.column,
            horizon=result.days,
            solver={"time_limit_s": time_limit, "workers": workers, "seed": seed},
            locks=lock_list,
            opening_stock=stock_source,
            initial_inventory=dict(site_model.initial_inventory),
            frozen_days=frozen_days if previous else 0,
            change_penalty_per_shift=change_penalty if previous else 0.0,
            made_by="capcast plan",
        )
        stored = open_plan_store().add(result, lineage.model_dump(mode="json"))
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
        + (f"; stored as draft {stored.id}" if stored else "")
    )


def _ledger_stock(site, forecast):
    """The site starting from the stock ledger's units at its production node when the forecast starts,
    and how the lineage names that stock."""
    import pandas as pd

    from capcast.cli.inventory import open_ledger
    from serving.plan_maker import opening_stock

    first_day = pd.to_datetime(forecast["ds"], errors="coerce").min()
    if pd.isna(first_day):
        fail("--stock ledger: the forecast has no readable day to start the stock from")
    try:
        return opening_stock(site, open_ledger().family_stock, first_day.date())
    except ValueError as error:
        fail(f"--stock ledger: {error}")
