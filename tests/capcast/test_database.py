"""The database's engine, its migrations and ``capcast db upgrade``, on SQLite (the plan store's tests run
every query on PostgreSQL as well)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from capcast import database
from capcast.cli.db import db_app
from capcast.settings import Settings
from inventory.tables import metadata as inventory_tables
from planning.store.tables import metadata as plan_tables

ROOT = Path(__file__).resolve().parents[2]
HEAD = ScriptDirectory.from_config(database.alembic_config()).get_current_head()


def test_the_database_is_sqlite_under_home_unless_a_url_is_set(tmp_path, monkeypatch):
    monkeypatch.delenv("CAPCAST_DATABASE_URL", raising=False)
    assert Settings(home=tmp_path).database == f"sqlite:///{tmp_path.resolve() / 'capcast.db'}"
    monkeypatch.setenv("CAPCAST_DATABASE_URL", "postgresql+psycopg://planner@db/capcast")
    assert Settings(home=tmp_path).database == "postgresql+psycopg://planner@db/capcast"


def test_a_bare_postgresql_url_gets_the_driver_capcast_ships():
    engine = database.engine("postgresql://planner@db.invalid/capcast")  # connects only when used
    assert engine.url.drivername == "postgresql+psycopg"


def test_sqlite_is_set_up_for_several_writers(tmp_path):
    engine = database.engine(f"sqlite:///{tmp_path / 'new' / 'folder' / 'capcast.db'}")
    with engine.connect() as connection:
        pragma = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("foreign_keys", "journal_mode", "busy_timeout")
        }
    engine.dispose()
    assert pragma == {"foreign_keys": 1, "journal_mode": "wal", "busy_timeout": database.SQLITE_BUSY_TIMEOUT_MS}
    assert (tmp_path / "new" / "folder" / "capcast.db").is_file()


def test_upgrade_reaches_head_and_is_idempotent(tmp_path):
    engine = database.engine(f"sqlite:///{tmp_path / 'capcast.db'}")
    assert database.current_revision(engine) is None
    database.upgrade(engine)
    assert database.current_revision(engine) == HEAD
    database.upgrade(engine)
    assert database.current_revision(engine) == HEAD
    assert {"plans", "plan_events", "plan_jobs"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_every_migration_downgrades_to_an_empty_database(tmp_path):
    engine = database.engine(f"sqlite:///{tmp_path / 'capcast.db'}")
    database.upgrade(engine)
    with engine.begin() as connection:
        command.downgrade(database.alembic_config(connection), "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    assert database.current_revision(engine) is None
    database.upgrade(engine)
    assert database.current_revision(engine) == HEAD
    engine.dispose()


def test_the_migration_tree_ships_in_the_package():
    """A non-editable install carries every file of capcast/migrations (package data)."""
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    files = [
        path.relative_to(ROOT / "capcast").as_posix()
        for path in (ROOT / "capcast" / "migrations").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert "migrations/script.py.mako" in files
    unshipped = [f for f in files if not any(fnmatch.fnmatch(f, pattern) for pattern in package_data["capcast"])]
    assert unshipped == []


@pytest.fixture
def cli() -> typer.Typer:
    """``capcast db`` as the command line mounts it."""
    app = typer.Typer()
    app.add_typer(db_app, name="db")
    return app


def test_capcast_db_upgrade_creates_the_sqlite_database(cli, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("CAPCAST_HOME", str(home))
    monkeypatch.delenv("CAPCAST_DATABASE_URL", raising=False)
    for _ in range(2):  # and again: nothing to do
        result = CliRunner().invoke(cli, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert result.output.strip() == f"sqlite:///{home.resolve() / 'capcast.db'}: at revision {HEAD}"
    assert (home / "capcast.db").is_file()


def test_capcast_db_upgrade_names_an_unreachable_database_in_one_line(cli, monkeypatch):
    monkeypatch.setenv("CAPCAST_DATABASE_URL", "postgresql+psycopg://planner:secret@127.0.0.1:1/capcast")
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 1
    assert result.output.startswith("postgresql+psycopg://planner:***@127.0.0.1:1/capcast: ")
    assert len(result.output.strip().splitlines()) == 1 and "secret" not in result.output


def test_the_schema_at_head_is_every_domains_tables(engine):
    """On SQLite and PostgreSQL, the migrations build exactly the tables the stores query: the plan
    store's and the stock ledger's (a column added to either without a migration fails here)."""
    head = ScriptDirectory.from_config(database.alembic_config()).get_current_head()
    assert database.current_revision(engine) == head
    every = sa.MetaData()
    for metadata in (plan_tables, inventory_tables):
        for table in metadata.tables.values():
            table.to_metadata(every)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), every) == []
