"""Alembic environment: migrations run on the connection ``Store.create_schema`` hands over
(under its advisory lock on PostgreSQL), never on a URL read from an ini file."""
from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
