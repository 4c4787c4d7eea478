"""``capcast db``: the database of plans (and later the stock ledger) and its schema."""

from __future__ import annotations

import typer

from capcast.cli.edge import fail
from capcast.settings import Settings

db_app = typer.Typer(
    help="The database of plans: CAPCAST_DATABASE_URL, or SQLite at $CAPCAST_HOME/capcast.db.", no_args_is_help=True
)


@db_app.command("upgrade")
def upgrade() -> None:
    """Migrate the database's schema to the newest revision, creating an SQLite file; safe to repeat."""
    import sqlalchemy as sa
    from alembic.util import CommandError

    from capcast import database

    url = Settings().database
    try:
        shown = sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError as error:
        fail(f"CAPCAST_DATABASE_URL: {error}")
    try:
        engine = database.engine(url)
        try:
            database.upgrade(engine)
            revision = database.current_revision(engine)
        finally:
            engine.dispose()
    except (sa.exc.SQLAlchemyError, CommandError, OSError) as error:
        # The driver's own message names the cause (refused connection, unknown database, bad password).
        fail(f"{shown}: {_first_line(getattr(error, 'orig', None) or error)}")
    except ImportError as error:  # a URL for a database whose driver capcast does not ship
        fail(f"{shown}: {error}: capcast keeps its plans in SQLite or PostgreSQL (postgresql+psycopg://...)")
    typer.echo(f"{shown}: at revision {revision}")


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
