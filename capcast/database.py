"""The one database of what capcast stores outside MLflow: its engine and its schema.

``engine(url)`` opens SQLite (the default, ``<home>/capcast.db``) or PostgreSQL
(``CAPCAST_DATABASE_URL``) configured so several threads and processes of the
service can write. ``upgrade(engine)`` brings the schema to the newest Alembic
migration in ``capcast/migrations`` (one tree for every domain's tables); it is
idempotent and safe to call at every start, also from processes starting together.

Transactions on SQLite: the engine, not the sqlite3 driver, emits ``BEGIN``, so
SQLAlchemy's transactions are real ones (DDL included). A connection with the
execution option ``sqlite_begin="IMMEDIATE"`` begins with ``BEGIN IMMEDIATE``,
taking the write lock at once: a transaction that reads and then writes uses it,
so it waits its turn on the busy timeout instead of failing on a stale snapshot
(the stores' writes and the migrations do). PostgreSQL ignores the option.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

__all__ = [
    "MIGRATIONS",
    "NAMING_CONVENTION",
    "SQLITE_BUSY_TIMEOUT_MS",
    "UtcDateTime",
    "alembic_config",
    "current_revision",
    "engine",
    "now",
    "upgrade",
    "utc",
    "writing",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
_SQLITE_BEGIN_MODES = {"DEFERRED", "IMMEDIATE", "EXCLUSIVE"}
# Concurrent starts on PostgreSQL would both try to create the tables: the first migrates, the others wait.
_MIGRATION_LOCK = int.from_bytes(hashlib.blake2b(b"capcast.migrations", digest_size=8).digest(), "big", signed=True)


def engine(url: str) -> sa.Engine:
    """An engine for ``url``; a bare ``postgresql://`` URL gets psycopg (3), the driver capcast ships."""
    parsed = sa.make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    # A pooled connection the server closed (restart, idle timeout) is replaced instead of failing a request.
    return sa.create_engine(parsed, pool_pre_ping=True)


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    result = sa.create_engine(url, connect_args={"check_same_thread": False})

    @sa.event.listens_for(result, "connect")
    def _configure(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # the driver emits no BEGIN of its own: _begin below does
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # WAL: readers never wait for the writer, and a writer waits for another only while it commits.
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @sa.event.listens_for(result, "begin")
    def _begin(connection: sa.Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode not in _SQLITE_BEGIN_MODES:
            raise ValueError(f"sqlite_begin: {mode!r} is not one of {sorted(_SQLITE_BEGIN_MODES)}")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return result


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Alembic's configuration, built in code (no alembic.ini): the package's migration tree, and the
    connection ``migrations/env.py`` runs on."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine) -> None:
    """Migrate the schema to the newest revision (nothing to do when it is there already)."""
    with engine.connect() as connection:
        connection.execution_options(sqlite_begin="IMMEDIATE")
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            command.upgrade(alembic_config(connection), "head")


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at; None before the first migration."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


# ---- What every domain's tables and queries share ---------------------------------------------

# Constraint and index names every domain's tables take, so that migrations can name them.
NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


class UtcDateTime(sa.TypeDecorator):
    """A timezone-aware UTC timestamp in and out: naive values are refused, others converted to UTC.

    SQLite keeps no zone (it stores the UTC wall time); PostgreSQL returns the session's zone.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)


def utc(value: datetime | None) -> datetime:
    """``value`` in UTC (now when None); ValueError for a naive timestamp, whose zone nobody knows."""
    if value is None:
        return now()
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value.isoformat()}: a timestamp needs a time zone (capcast stores UTC)")
    return value.astimezone(UTC)


@contextmanager
def writing(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction that will write, committed on leaving (rolled back on an exception).

    On SQLite it begins with ``BEGIN IMMEDIATE`` (the ``sqlite_begin`` option of
    ``engine``), so it holds the write lock from its first read: what it read
    stays true until it commits, and writers queue on the busy timeout rather than fail.
    """
    with engine.connect() as connection:
        connection.execution_options(sqlite_begin="IMMEDIATE")
        with connection.begin():
            yield connection
