"""Databases for the tests: each test that takes ``engine`` runs twice, on SQLite (a temp file) and
on a throwaway PostgreSQL server, each time on a fresh database migrated to head, as the service's
start would. Loaded for the whole suite from ``tests/conftest.py``.

The server is started once per session by ``benchmarks.postgres_process`` (Debian's binaries,
initdb + pg_ctl as the ``postgres`` user: initdb refuses root), on 127.0.0.1 at a free port.
"""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from benchmarks.postgres_process import PostgresDidNotStart
from benchmarks.postgres_process import postgres_server as throwaway_postgres
from capcast.database import engine as open_engine
from capcast.database import upgrade


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL on 127.0.0.1 with trust auth (``benchmarks.postgres_process``, without
    fsync); yields a factory of fresh, empty database URLs. A server that cannot start fails the test
    with initdb's or pg_ctl's own words."""
    with ExitStack() as stack:
        try:
            new_database = stack.enter_context(throwaway_postgres())
        except PostgresDidNotStart as error:
            pytest.fail(str(error), pytrace=False)
        yield new_database


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
