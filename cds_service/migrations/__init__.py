"""Alembic migrations of the service's database (run by ``Store.create_schema`` at start)."""
