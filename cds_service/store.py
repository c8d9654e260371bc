"""Shared state on a real database: feedback items, seen JWT ids and when a screening card was shown.

SQLite by default, PostgreSQL when ``CDS_DATABASE_URL`` names one (SQLAlchemy Core, psycopg 3).
Writes are idempotent inserts (``ON CONFLICT DO NOTHING``), so the same feedback or jti
arriving twice, on any worker or instance, is stored once. The schema is created at start,
under an advisory lock on PostgreSQL so several instances may start at once.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import (Column, Float, Index, Integer, MetaData, String, Table, Text, UniqueConstraint, create_engine,
                        delete, event, func, select, text)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

metadata = MetaData()

feedback_table = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", String(128), nullable=False),
    Column("card_uuid", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("outcome_timestamp", String(40), nullable=False),
    Column("accepted_suggestions", Text, nullable=True),
    Column("override_system", String(512), nullable=True),
    Column("override_code", String(128), nullable=True),
    Column("override_display", String(512), nullable=True),
    Column("user_comment", Text, nullable=True),
    Column("received_at", Float, nullable=False),
    UniqueConstraint("service_id", "card_uuid", "outcome_timestamp", name="uq_feedback_item"),
)

seen_jti_table = Table(
    "seen_jti", metadata,
    Column("key", String(600), primary_key=True),
    Column("expires_at", Float, nullable=False),
    Index("ix_seen_jti_expires", "expires_at"),
)

# When the opt-in screening card (issue 18) was last shown, per patient: ``key`` is a keyed hash
# (HMAC-SHA256) of the FHIR server and patient id, never the id itself. One small row per patient.
# Issue 19 builds a snooze store in parallel; this table stays small and separate on purpose.
screening_shown_table = Table(
    "screening_shown", metadata,
    Column("key", String(64), primary_key=True),
    Column("shown_at", Float, nullable=False),
)

_SCHEMA_LOCK = 781_455_019  # arbitrary constant for pg_advisory_lock


class StoreError(RuntimeError):
    """The database could not be reached or written."""


@dataclass(frozen=True)
class FeedbackRow:
    service_id: str
    card_uuid: str
    outcome: str
    outcome_timestamp: str
    accepted_suggestions: str | None
    override_system: str | None
    override_code: str | None
    override_display: str | None
    user_comment: str | None


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class Store:
    def __init__(self, url: str):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        self.url = url
        kwargs = {"pool_pre_ping": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 5, "check_same_thread": False}
        elif url.startswith("postgresql"):
            kwargs["connect_args"] = {"connect_timeout": 3}  # an unreachable server costs a request 3 s, not minutes
        self.engine: Engine = create_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._insert = sqlite.insert if self.engine.dialect.name == "sqlite" else postgresql.insert

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def create_schema(self, attempts: int = 5) -> None:
        """Create missing tables. Safe when several processes start at once: PostgreSQL takes an
        advisory lock; SQLite, which has none, retries when another process won the race."""
        for attempt in range(attempts):
            try:
                with self.engine.begin() as conn:
                    if self.dialect == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK})
                    metadata.create_all(conn, checkfirst=True)
                return
            except SQLAlchemyError as exc:
                if attempt == attempts - 1:
                    raise StoreError(f"cannot prepare the database ({type(exc).__name__})") from None
                time.sleep(0.05 * (attempt + 1))

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def add_feedback(self, rows: list[FeedbackRow]) -> int:
        """Insert the rows not stored before; return how many were new."""
        if not rows:
            return 0
        now = time.time()
        values = [{**row.__dict__, "received_at": now} for row in rows]
        stmt = self._insert(feedback_table).values(values).on_conflict_do_nothing(
            index_elements=["service_id", "card_uuid", "outcome_timestamp"]).returning(feedback_table.c.id)
        try:
            with self.engine.begin() as conn:  # RETURNING counts new rows on every driver (rowcount may be -1)
                return len(conn.execute(stmt).fetchall())
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot store feedback ({type(exc).__name__})") from None

    def feedback_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(feedback_table)).scalar_one()

    def feedback_rows(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(feedback_table).order_by(feedback_table.c.id))]

    def remember_jti(self, key: str, expires_at: float) -> bool:
        """True when the jti is new; False when it was seen before and has not expired (a replay)."""
        now = time.time()
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(seen_jti_table).where(seen_jti_table.c.expires_at < now))
                stmt = self._insert(seen_jti_table).values(key=key, expires_at=expires_at).on_conflict_do_nothing(
                    index_elements=["key"]).returning(seen_jti_table.c.key)
                return len(conn.execute(stmt).fetchall()) == 1
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record the token id ({type(exc).__name__})") from None

    def claim_screening(self, key: str, now: float, period_s: float) -> bool:
        """True when the screening card may be shown now (never shown, or last shown a period ago),
        recording it as shown; False when it was shown within the period. One atomic upsert, so two
        workers answering the same patient at once cannot both show it."""
        table = screening_shown_table
        stmt = self._insert(table).values(key=key, shown_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"shown_at": now},
                                          where=table.c.shown_at <= now - period_s).returning(table.c.key)
        try:
            with self.engine.begin() as conn:
                return len(conn.execute(stmt).fetchall()) == 1
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record the screening card ({type(exc).__name__})") from None

    def dispose(self) -> None:
        self.engine.dispose()
