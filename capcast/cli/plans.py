"""``capcast plans``: the stored plans on the command line, as the planner page shows them: list,
show one, approve a draft, export one as CSV (one row per line-shift) or JSON."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from capcast.cli.edge import fail
from capcast.settings import Settings

if TYPE_CHECKING:
    from planning.store import PlanStore

plans_app = typer.Typer(help="Stored plans: list, show, approve, export.", no_args_is_help=True)


class Format(StrEnum):
    CSV = "csv"
    JSON = "json"


def open_plan_store() -> PlanStore:
    """The plan store of CAPCAST_DATABASE_URL (SQLite under CAPCAST_HOME by default), its schema
    brought up to date; one line and exit 1 when the database cannot be reached."""
    import sqlalchemy as sa

    from capcast import database
    from planning.store import PlanStore

    url = Settings().database
    try:
        engine = database.engine(url)
        database.upgrade(engine)
    except (sa.exc.SQLAlchemyError, OSError) as error:
        shown = sa.make_url(url).render_as_string(hide_password=True)
        fail(f"{shown}: {(str(getattr(error, 'orig', None) or error).strip().splitlines() or ['unreachable'])[0]}")
    return PlanStore(engine)


def _stored(store: PlanStore, plan_id: str):
    from planning.store import PlanNotFound

    try:
        return store.get(plan_id)
    except PlanNotFound as error:
        fail(str(error))


@plans_app.command("list")
def list_plans(
    site: Annotated[str | None, typer.Option(help="only this site's plans")] = None,
    status: Annotated[str | None, typer.Option(help="only plans with this status: draft, approved, superseded")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="at most this many, newest first")] = 20,
) -> None:
    """The newest stored plans: id, status, site, period, cost, expected fill rate."""
    from planning.store import PlanStatus

    if status is not None and status not in {s.value for s in PlanStatus}:
        fail(f"--status: must be one of {', '.join(s.value for s in PlanStatus)}, got {status!r}")
    plans = open_plan_store().list(site=site, status=PlanStatus(status) if status else None, limit=limit)
    if not plans:
        typer.echo("no stored plans" + (f" for site {site}" if site else ""))
    for p in plans:
        approved = f" by {p.approved_by} {p.approved_at:%Y-%m-%d %H:%M}" if p.approved_at else ""
        typer.echo(
            f"{p.id}  {p.status:<10} {p.site}  {p.start} to {p.end}  cost {p.cost:,.0f}  "
            f"fill rate {p.expected_fill_rate:.1%}  made {p.created_at:%Y-%m-%d %H:%M}{approved}"
        )


@plans_app.command("show")
def show(plan_id: Annotated[str, typer.Argument(help="the plan's id")]) -> None:
    """One plan's status, history, KPIs and lineage (what made it)."""
    stored = _stored(open_plan_store(), plan_id)
    k = stored.plan.kpis
    typer.echo(f"plan {stored.id}: {stored.status}, site {stored.site}, {stored.start} to {stored.end}")
    for event in stored.events:
        by = f" by {event.by}" if event.by else ""
        then = f" (by plan {event.superseded_by})" if event.superseded_by else ""
        typer.echo(f"  {event.kind} {event.at:%Y-%m-%d %H:%M:%S %Z}{by}{then}")
    typer.echo(
        f"cost {k.cost.total:,.2f}, expected fill rate {k.expected_fill_rate:.1%}, line utilisation "
        f"{k.line_utilisation:.1%}, changeovers {k.changeovers}; solver {stored.plan.solver.status}, "
        f"gap {stored.plan.solver.gap:.1%}"
    )
    typer.echo("lineage: " + json.dumps(stored.lineage, sort_keys=True))


@plans_app.command("approve")
def approve(
    plan_id: Annotated[str, typer.Argument(help="the draft to approve")],
    by: Annotated[str, typer.Option(help="who approves (recorded with the plan)")],
) -> None:
    """Approve a draft: it becomes the site's plan for its days, superseding any approved plan
    that overlaps them. An approved plan is never changed afterwards."""
    from planning.store import PlanNotDraft, PlanNotFound

    if not by.strip():
        fail("--by: say who approves")
    try:
        stored = open_plan_store().approve(plan_id, by=by.strip())
    except (PlanNotFound, PlanNotDraft) as error:
        fail(str(error))
    superseded = [e.superseded_by for e in stored.events if e.kind == "superseded"]
    typer.echo(f"approved plan {stored.id} for {stored.site}, {stored.start} to {stored.end}, by {stored.approved_by}")
    if superseded:
        typer.echo(f"it was superseded at once by {superseded[0]}")


@plans_app.command("export")
def export(
    plan_id: Annotated[str, typer.Argument(help="the plan to export")],
    out: Annotated[Path, typer.Option(help="file to write")],
    format: Annotated[Format, typer.Option(help="csv: one row per line-shift; json: the stored plan")] = Format.CSV,
) -> None:
    """Write a stored plan for the shop floor (CSV) or for another system (JSON, with its lineage)."""
    from planning import shift_csv

    stored = _stored(open_plan_store(), plan_id)
    text = shift_csv(stored.plan, stored.id) if format is Format.CSV else stored.model_dump_json(indent=2)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"{out}: cannot write: {error.strerror or error}")
    typer.echo(f"wrote {out}: plan {stored.id} ({stored.status}) as {format}")
