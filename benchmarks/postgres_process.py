"""A throwaway PostgreSQL server on 127.0.0.1: initdb + pg_ctl in a temp folder, with Debian's server
binaries, as the ``postgres`` user when we are root (initdb refuses root).

Used by the inventory benchmark and the tests' databases (``tests/databases.py``): one way to start
and stop a server whose data is thrown away.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

__all__ = ["POSTGRES_BIN", "PostgresDidNotStart", "postgres_server"]

# Debian's server binaries, newest version installed (15 on these machines; not on PATH).
POSTGRES_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), default=Path("/none"))


class PostgresDidNotStart(RuntimeError):
    """No server binaries, or initdb or pg_ctl failed (the message has their words and the server log)."""


def _as_postgres(*command: str | Path, cwd: Path) -> None:
    """Run a server command as the ``postgres`` user when we are root; its own words when it fails."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    done = subprocess.run([*prefix, *map(str, command)], cwd=cwd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        log = cwd / "log"
        raise PostgresDidNotStart(
            f"{Path(command[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}"
            + (f"\nserver log:\n{log.read_text()}" if log.exists() else "")
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def postgres_server(*, fsync: bool = False) -> Iterator[Callable[[], str]]:
    """A server with trust auth on a free port of 127.0.0.1; yields a factory of fresh, empty database
    URLs (``postgresql+psycopg://``). ``fsync=False`` runs it with ``-F`` (commits are not flushed to
    disk: fine for data that is thrown away, not for measuring durable writes). Stopped and deleted
    on exit."""
    if not (POSTGRES_BIN / "initdb").exists():
        raise PostgresDidNotStart("no PostgreSQL server under /usr/lib/postgresql: install Debian's postgresql package")
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
        options = f"{'' if fsync else '-F '}-k {folder} -h 127.0.0.1 -p {port}"
        _as_postgres(
            POSTGRES_BIN / "pg_ctl", "start", "-w", "-D", data, "-l", folder / "log", "-o", options, cwd=folder
        )
        yield new_database
    finally:
        admin.dispose()
        if (data / "postmaster.pid").exists():
            _as_postgres(POSTGRES_BIN / "pg_ctl", "stop", "-D", data, "-m", "immediate", cwd=folder)
        shutil.rmtree(folder, ignore_errors=True)
