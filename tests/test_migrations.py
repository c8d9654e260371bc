"""Alembic migrations on SQLite and PostgreSQL: a database in today's (pre-migration) schema,
with data in it, is brought up to the newest revision without losing a row; a fresh one is
created from nothing; running them again changes nothing."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text, UniqueConstraint, create_engine
from sqlalchemy import inspect, text

from cds_service.store import FeedbackRow, Store

# The schema as `create_all` made it before migrations existed (the shape of store.py at that time).
_before = MetaData()
Table("feedback", _before,
      Column("id", Integer, primary_key=True, autoincrement=True),
      Column("service_id", String(128), nullable=False), Column("card_uuid", String(64), nullable=False),
      Column("outcome", String(16), nullable=False), Column("outcome_timestamp", String(40), nullable=False),
      Column("accepted_suggestions", Text), Column("override_system", String(512)), Column("override_code", String(128)),
      Column("override_display", String(512)), Column("user_comment", Text), Column("received_at", Float, nullable=False),
      UniqueConstraint("service_id", "card_uuid", "outcome_timestamp", name="uq_feedback_item"))
Table("seen_jti", _before, Column("key", String(600), primary_key=True), Column("expires_at", Float, nullable=False),
      Index("ix_seen_jti_expires", "expires_at"))

NEW_TABLES = {"card_log", "hook_call", "snooze_memory", "accepted_suggestion", "screening_shown", "alembic_version"}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request, tmp_path):
    """A database with no tables at all, on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/fresh.db"
    base = request.getfixturevalue("postgres_url")
    name = f"mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return base.rsplit("/", 1)[0] + f"/{name}"


def _url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://")


def test_migrations_up_from_todays_schema_keep_the_data(empty_db):
    old = create_engine(_url(empty_db))
    _before.create_all(old)
    with old.begin() as conn:
        conn.execute(_before.tables["feedback"].insert().values(
            service_id="s", card_uuid="c1", outcome="accepted", outcome_timestamp="2026-11-27T10:00:00+00:00",
            received_at=1.0))
        conn.execute(_before.tables["seen_jti"].insert().values(key="iss|jti", expires_at=4e9))
    old.dispose()

    store = Store(empty_db)
    store.create_schema()
    tables = set(inspect(store.engine).get_table_names())
    assert NEW_TABLES <= tables
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0003"
    assert store.feedback_count() == 1
    assert store.remember_jti("iss|jti", 4e9) is False  # the seen token id survived
    row = FeedbackRow(service_id="s", card_uuid="c1", outcome="accepted", outcome_timestamp="2026-11-27T10:00:00+00:00",
                      accepted_suggestions=None, override_system=None, override_code=None, override_display=None,
                      user_comment=None)
    assert store.add_feedback([row]) == 0  # the unique constraint came through
    store.dispose()


def test_a_fresh_database_is_created_and_a_second_run_changes_nothing(empty_db):
    store = Store(empty_db)
    store.create_schema()
    first = {t: sorted(c["name"] for c in inspect(store.engine).get_columns(t)) for t in inspect(store.engine).get_table_names()}
    store.create_schema()
    again = {t: sorted(c["name"] for c in inspect(store.engine).get_columns(t)) for t in inspect(store.engine).get_table_names()}
    assert first == again and NEW_TABLES | {"feedback", "seen_jti"} == set(first)
    store.dispose()


def test_the_migrated_tables_match_what_the_code_declares(empty_db):
    """store.py's Table objects and the migrations must describe the same columns."""
    from cds_service.store import metadata
    store = Store(empty_db)
    store.create_schema()
    for table in metadata.sorted_tables:
        assert {c["name"] for c in inspect(store.engine).get_columns(table.name)} == {c.name for c in table.columns}, table.name
    store.dispose()
