"""Alembic's environment for capcast's one migration tree (plans now, the stock ledger later).

Migrations run only through ``capcast.database.upgrade`` (``capcast db upgrade``, or a
process's start), which passes its connection, already in a transaction, as
``config.attributes["connection"]``. Offline mode (SQL scripts to run by hand) is not
offered: the schema changes through migrations run by capcast, never through hand-run SQL.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or connection is None:
    raise RuntimeError(
        "capcast's migrations run on a live connection: use `capcast db upgrade` or capcast.database.upgrade"
    )
# No target metadata: revisions are written by hand (tests/planning/store checks they match the tables).
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
