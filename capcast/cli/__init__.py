"""The ``capcast`` command line: one module per command group, each a thin edge over the packages.

Every failure a user can cause ends in one clear line per problem on stderr
and a non-zero exit code, never a traceback (``capcast.cli.edge``).
"""

from __future__ import annotations

import logging
import os

import typer

from capcast.cli.data import data_app
from capcast.cli.db import db_app
from capcast.cli.forecast import forecast
from capcast.cli.inventory import inventory_app
from capcast.cli.models import models_app, promote
from capcast.cli.plan import plan
from capcast.cli.plans import plans_app
from capcast.cli.serve import serve
from capcast.cli.train import backtest, retrain, train

__all__ = ["app", "main"]

app = typer.Typer(
    help="capcast: demand forecasts turned into capacity plans.", no_args_is_help=True, pretty_exceptions_enable=False
)
app.add_typer(data_app, name="data")
app.add_typer(plans_app, name="plans")
app.add_typer(db_app, name="db")
app.add_typer(inventory_app, name="inventory")
app.add_typer(models_app, name="models")
for command in (train, retrain, promote, backtest, forecast, plan, serve):
    app.command()(command)


@app.callback()
def _quiet_libraries() -> None:
    """Keep library chatter (MLflow's migrations and progress bars) out of the CLI's output."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def main() -> None:  # pragma: no cover - console entry point
    app()
