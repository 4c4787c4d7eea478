"""``capcast inventory``: the stock ledger on the command line: dead letters an operator lists,
fixes, replays or discards; a physical count reconciled against the ledger; the shipment history
written as the demand panel ``capcast train`` reads."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from capcast.cli.edge import fail, load_inventory_config_or_fail, load_site_or_fail, read_csv_or_fail
from capcast.settings import Settings

if TYPE_CHECKING:
    from inventory import Ledger

inventory_app = typer.Typer(help="The stock ledger: dead letters, counts, the demand history.", no_args_is_help=True)
letters_app = typer.Typer(help="Events that could not be applied: list, fix, replay, discard.", no_args_is_help=True)
inventory_app.add_typer(letters_app, name="dead-letters")

COUNT_COLUMNS = ("node", "sku", "qty", "counted_at")


def open_ledger() -> Ledger:
    """The ledger of CAPCAST_DATABASE_URL (schema brought up to date) with its configuration."""
    import sqlalchemy as sa

    from capcast import database
    from inventory import InventoryConfig, Ledger

    settings = Settings()
    config = load_inventory_config_or_fail(settings.inventory_path) if settings.inventory_path.exists() else None
    try:
        engine = database.engine(settings.database)
        database.upgrade(engine)
    except (sa.exc.SQLAlchemyError, OSError) as error:
        shown = sa.make_url(settings.database).render_as_string(hide_password=True)
        fail(f"{shown}: {(str(getattr(error, 'orig', None) or error).strip().splitlines() or ['unreachable'])[0]}")
    return Ledger(engine, config or InventoryConfig())


def _letter_line(letter) -> str:
    error = letter.error or {}
    where = f" ({error.get('field')})" if error.get("field") else ""
    return (
        f"{letter.id}  {letter.status:<9} source {letter.source or '?'}  received {letter.received_at:%Y-%m-%d %H:%M}  "
        f"{error.get('code', '')}{where}: {error.get('message', '')}"
    )


@letters_app.command("list")
def list_letters(
    status: Annotated[str, typer.Option(help="open, replayed, discarded, or all")] = "open",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Dead letters, oldest first: id, status, source, when received, and why they could not be applied."""
    if status not in ("open", "replayed", "discarded", "all"):
        fail(f"--status: must be open, replayed, discarded or all, got {status!r}")
    letters = open_ledger().dead_letters(status=None if status == "all" else status, limit=limit)
    if not letters:
        typer.echo(f"no {'' if status == 'all' else status + ' '}dead letters")
    for letter in letters:
        typer.echo(_letter_line(letter))


def _letter_action(action, *args):
    from inventory import DeadLetterNotFound, DeadLetterNotOpen

    try:
        return action(*args)
    except (DeadLetterNotFound, DeadLetterNotOpen) as error:
        fail(str(error))


@letters_app.command("show")
def show_letter(letter_id: Annotated[int, typer.Argument(help="the dead letter's id")]) -> None:
    """One dead letter: why, and its body as received (or as fixed), as JSON."""
    letter = _letter_action(open_ledger().dead_letter, letter_id)
    typer.echo(_letter_line(letter))
    typer.echo(json.dumps(letter.body, indent=2, default=str))


@letters_app.command("fix")
def fix_letter(
    letter_id: Annotated[int, typer.Argument(help="the dead letter's id")],
    body: Annotated[Path, typer.Option(help="JSON file with the corrected event")],
) -> None:
    """Replace an open dead letter's body with a corrected event (then ``replay`` it)."""
    if not body.exists():
        fail(f"{body}: file not found")
    try:
        event = json.loads(body.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        fail(f"{body}: not valid JSON: {str(error).splitlines()[0]}")
    letter = _letter_action(open_ledger().fix, letter_id, event)
    typer.echo(f"dead letter {letter.id} fixed; replay it with `capcast inventory dead-letters replay {letter.id}`")


@letters_app.command("replay")
def replay_letter(letter_id: Annotated[int, typer.Argument(help="the dead letter's id")]) -> None:
    """Apply an open dead letter now; it stays open, with the new reason, if it still cannot be."""
    result = _letter_action(open_ledger().replay, letter_id)
    if result.rejected:
        reasons = "; ".join(f"{r.field}: {r.message}" if r.field else r.message for r in result.rejected)
        fail(f"dead letter {letter_id} still cannot be applied: {reasons}")
    typer.echo(f"dead letter {letter_id} applied" + (" (a duplicate: applied before)" if result.duplicates else ""))


@letters_app.command("discard")
def discard_letter(
    letter_id: Annotated[int, typer.Argument(help="the dead letter's id")],
    reason: Annotated[str, typer.Option(help="why it is dropped (kept with it)")],
) -> None:
    """Drop an open dead letter for good, saying why."""
    if not reason.strip():
        fail("--reason: say why it is discarded")
    letter = _letter_action(open_ledger().discard, letter_id, reason.strip())
    typer.echo(f"dead letter {letter.id} discarded")


@inventory_app.command("reconcile")
def reconcile(
    counts: Annotated[Path, typer.Option(help="CSV of a physical count: node, sku, qty, counted_at (with time zone)")],
) -> None:
    """Compare a count with the ledger's position at the time of each count, book the differences as
    adjustments with reason ``count``, and list them (a rerun books nothing twice)."""
    from pydantic import ValidationError

    from inventory import Count

    frame = read_csv_or_fail(counts)
    if missing := [c for c in COUNT_COLUMNS if c not in frame.columns]:
        fail([f"{counts}: row 1, column {c}: missing required column" for c in missing])
    rows, problems = [], []
    for index, row in enumerate(frame[list(COUNT_COLUMNS)].to_dict("records")):
        try:
            rows.append(Count.model_validate({k: (None if v != v else v) for k, v in row.items()}))  # NaN: empty
        except ValidationError as error:
            for e in error.errors(include_url=False):
                column = e["loc"][0] if e["loc"] else "(row)"
                problems.append(f"{counts}: row {index + 2}, column {column}: {e['msg']}")
    if problems:
        fail(problems)
    found = open_ledger().reconcile(rows)
    for d in found:
        typer.echo(
            f"{d.node} {d.sku} at {d.counted_at:%Y-%m-%d %H:%M %Z}: counted {d.counted}, ledger {d.ledger}, "
            f"adjusted {d.difference:+d}"
        )
    typer.echo(f"{len(rows)} count(s), {len(found)} discrepanc{'y' if len(found) == 1 else 'ies'} booked")


@inventory_app.command("demand")
def demand(
    out: Annotated[Path, typer.Option(help="directory to write sales.csv into (the panel capcast train reads)")],
    first_day: Annotated[str | None, typer.Option("--from", help="first day (YYYY-MM-DD); the ledger's first")] = None,
    last_day: Annotated[str | None, typer.Option("--to", help="last day (YYYY-MM-DD); the ledger's last")] = None,
) -> None:
    """Write the shipment history (net of returns) per node and SKU and day as a demand panel, with
    stockout days marked ``in_stock = 0`` and each SKU's family from the ledger's split."""
    import pandas as pd

    days = [_day(value, flag) for value, flag in ((first_day, "--from"), (last_day, "--to"))]
    try:
        rows = open_ledger().demand_history(*days)
    except ValueError as error:
        fail(f"--to: {error}")
    if not rows:
        fail("the ledger holds no events: nothing to write")
    out.mkdir(parents=True, exist_ok=True)
    path = out / "sales.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    series = len({row["unique_id"] for row in rows})
    typer.echo(f"wrote {path}: {series} series, {len(rows)} rows, {rows[0]['ds']} to {rows[-1]['ds']}")


def _day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{flag}: not a day (YYYY-MM-DD): {value!r}")


@inventory_app.command("atp")
def atp(
    sku: Annotated[str, typer.Option(help="the SKU")],
    node: Annotated[str, typer.Option(help="the node")],
    first_day: Annotated[str, typer.Option("--from", help="first day (YYYY-MM-DD)")],
    last_day: Annotated[str, typer.Option("--to", help="last day (YYYY-MM-DD)")],
    today: Annotated[str | None, typer.Option(help="the day promises start (YYYY-MM-DD); the real today")] = None,
) -> None:
    """Available-to-promise per day, as ``GET /inventory/atp`` answers it: on hand − reserved +
    scheduled receipts (the approved plans' production at the production node) − committed."""
    from capcast.cli.plans import open_plan_store
    from serving.inventory_desk import scheduled_receipts

    first, last, start = _day(first_day, "--from"), _day(last_day, "--to"), _day(today, "--today") or date.today()
    if first < start or last < first:
        fail(f"--from/--to: the period must start on or after {start} and not end before it starts")
    ledger, settings = open_ledger(), Settings()
    site = load_site_or_fail(settings.site_path).name if settings.site_path.exists() else None
    scheduled = scheduled_receipts(open_plan_store(), site, ledger.config, sku, node, start)
    answer = ledger.atp(sku, node, first, last, today=start, scheduled=scheduled)
    age = "never reported" if answer.age_s is None else f"last report {answer.age_s / 3600:,.1f} h ago"
    typer.echo(f"{sku} at {node}: {age}" + (" (stale)" if answer.stale else ""))
    for day in answer.days:
        typer.echo(
            f"{day.day}  available {day.available:>8,}  (on hand {day.on_hand:,}, reserved {day.reserved:,}, "
            f"scheduled {day.scheduled:,}, committed {day.committed:,})"
        )
