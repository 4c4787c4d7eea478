"""Databases for the tests: each test that takes ``engine`` runs twice, on SQLite (a temp file) and
on a throwaway PostgreSQL server, each time on a fresh database migrated to head, as the service's
start would. Loaded for the whole suite from ``tests/conftest.py``.

The server is started once per session with Debian's PostgreSQL binaries (initdb + pg_ctl as the
``postgres`` user: initdb refuses root), on 127.0.0.1 at a free port.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from capcast.database import engine as open_engine
from capcast.database import upgrade

# Debian's server binaries, newest version installed (15 on these machines; not on PATH).
POSTGRES_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), default=Path("/none"))


def _as_postgres(*command: str | Path, cwd: Path) -> None:
    """Run a server command as the ``postgres`` user when we are root (initdb refuses root); a failure
    fails the test with the command's own words."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    done = subprocess.run([*prefix, *map(str, command)], cwd=cwd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        log = cwd / "log"
        pytest.fail(
            f"{Path(command[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}"
            + (f"\nserver log:\n{log.read_text()}" if log.exists() else ""),
            pytrace=False,
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL on 127.0.0.1 with trust auth; yields a factory of fresh, empty database URLs."""
    if not (POSTGRES_BIN / "initdb").exists():
        pytest.fail(
            "no PostgreSQL server under /usr/lib/postgresql: install Debian's postgresql package",
            pytrace=False,
        )
    folder = Path(tempfile.mkdtemp(prefix="capcast-pg-"))  # under /tmp: pytest's own temp folders are root-only
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", _free_port()
    admin = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", isolation_level="AUTOCOMMIT")
    names = (f"store_{n}" for n in itertools.count())

    def new_database() -> str:
        name = next(names)
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}"

    try:
        initdb = ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]
        _as_postgres(POSTGRES_BIN / "initdb", *initdb, cwd=folder)
        options = f"-F -k {folder} -h 127.0.0.1 -p {port}"  # -F: no fsync, the data is thrown away
        _as_postgres(
            POSTGRES_BIN / "pg_ctl", "start", "-w", "-D", data, "-l", folder / "log", "-o", options, cwd=folder
        )
        yield new_database
    finally:
        admin.dispose()
        if (data / "postmaster.pid").exists():
            _as_postgres(POSTGRES_BIN / "pg_ctl", "stop", "-D", data, "-m", "immediate", cwd=folder)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'capcast.db'}"
    return request.getfixturevalue("postgres_server")()


@pytest.fixture
def engine(database_url):
    """An engine on a fresh database migrated to head."""
    result = open_engine(database_url)
    upgrade(result)
    yield result
    result.dispose()
