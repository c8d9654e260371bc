"""Shared state on a real database: feedback items, seen JWT ids, governance rows, and when a
screening card was shown.

SQLite by default, PostgreSQL when ``CDS_DATABASE_URL`` names one (SQLAlchemy Core, psycopg 3).
Writes are idempotent inserts (``ON CONFLICT DO NOTHING``), so the same feedback or jti
arriving twice, on any worker or instance, is stored once. The schema is brought up to date
at start by the Alembic migrations in ``cds_service/migrations`` (a database from before
migrations is stamped at the baseline first), under an advisory lock on PostgreSQL so several
instances may start at once.

Governance tables: ``card_log`` and ``hook_call`` hold no patient link (the report reads
them); ``snooze_memory`` and ``accepted_suggestion`` are patient-linked only through a keyed
hash and are purged when their period ends. What they mean is decided in ``snooze.py``; this
module only stores and fetches.
"""
from __future__ import annotations

import contextlib
import re
import threading
import time
from typing import Any, Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text, UniqueConstraint,
                        create_engine, delete, event, func, inspect, select, text, update)
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

card_log_table = Table(
    "card_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("card_uuid", String(64), nullable=False),
    Column("at", Float, nullable=False),
    Column("topic", String(64), nullable=False),
    Column("variant", String(128), nullable=False),
    Column("indicator", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("knowledge_version", String(64), nullable=False),
    Index("ix_card_log_at", "at"),
    Index("ix_card_log_card", "card_uuid"),
)

hook_call_table = Table(
    "hook_call", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("shadow", Boolean, nullable=False),
    Index("ix_hook_call_at", "at"),
)

snooze_memory_table = Table(
    "snooze_memory", metadata,
    Column("card_uuid", String(64), primary_key=True),
    Column("subject", String(64), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("variant", String(128), nullable=False),
    Column("findings", Text, nullable=False),
    Column("suggestions", Text, nullable=False),
    Column("snooze_days", Integer, nullable=True),
    Column("shown_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("overridden_at", Float, nullable=True),
    Column("override_reason", String(64), nullable=True),
    Index("ix_snooze_memory_subject", "subject"),
    Index("ix_snooze_memory_expires", "expires_at"),
)

accepted_suggestion_table = Table(
    "accepted_suggestion", metadata,
    Column("subject", String(64), primary_key=True),
    Column("suggestion", String(128), primary_key=True),
    Column("accepted_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_accepted_suggestion_expires", "expires_at"),
)

PATIENT_LINKED_TABLES = (snooze_memory_table, accepted_suggestion_table)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE_REVISION = "0001"

_SCHEMA_LOCK = 781_455_019
_ALEMBIC_LOCK = threading.Lock()  # alembic's context is process-global: one migration run at a time per process  # arbitrary constant for pg_advisory_lock

# When the opt-in screening card (issue 18) was last shown, per patient: ``key`` is a keyed hash
# (HMAC-SHA256) of the FHIR server and patient id, never the id itself. One small row per patient.
# Kept apart from the snooze tables: no expiry to purge, one row per patient (migration 0003).
screening_shown_table = Table(
    "screening_shown", metadata,
    Column("key", String(64), primary_key=True),
    Column("shown_at", Float, nullable=False),
)


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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL with ``synchronous=NORMAL``: a commit no longer waits for an fsync (12 ms on the
    development machine, paid by every hook call now that each records its cards). The database
    stays consistent after any crash; an operating-system crash or power loss may lose the last
    commits before a checkpoint. Production uses PostgreSQL, whose durability this does not touch."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# The two statements every patient-view call runs, written once as SQL both dialects accept (named
# parameters as ``:name``; PostgreSQL's driver spells them ``%(name)s``) and run on the pooled DBAPI
# connection. Why: building, caching and compiling the same SQLAlchemy Core statements cost about
# 0.35 ms of every hook call on SQLite, where running them costs 0.04 ms (issue 23).
_MEMORY_COLUMNS = tuple(c.name for c in snooze_memory_table.columns)
_ACCEPTED_COLUMNS = tuple(c.name for c in accepted_suggestion_table.columns)
_HOT_SQL = {
    "snoozed": f"SELECT {', '.join(_MEMORY_COLUMNS)} FROM snooze_memory WHERE subject = :subject "
               "AND overridden_at IS NOT NULL AND expires_at > :now",
    "accepted": f"SELECT {', '.join(_ACCEPTED_COLUMNS)} FROM accepted_suggestion WHERE subject = :subject "
                "AND expires_at > :now",
    "hook_call": "INSERT INTO hook_call (at, shadow) VALUES (:at, :shadow)",
    "card_log": "INSERT INTO card_log (card_uuid, at, topic, variant, indicator, status, knowledge_version) "
                "VALUES (:card_uuid, :at, :topic, :variant, :indicator, :status, :knowledge_version)",
    "memory": f"INSERT INTO snooze_memory ({', '.join(_MEMORY_COLUMNS)}) "
              f"VALUES ({', '.join(':' + c for c in _MEMORY_COLUMNS)}) ON CONFLICT (card_uuid) DO NOTHING",
}
_NAMED = re.compile(r":([a-z_]+)")


def hot_sql(dialect: str) -> dict[str, str]:
    """The hot statements as the dialect's driver takes named parameters: sqlite3 ``:name``, psycopg ``%(name)s``."""
    if dialect == "sqlite":
        return dict(_HOT_SQL)
    if dialect == "postgresql":
        return {name: _NAMED.sub(r"%(\1)s", sql) for name, sql in _HOT_SQL.items()}
    raise ValueError(f"no hot statements for the {dialect!r} dialect")


class Store:
    def __init__(self, url: str):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        self.url = url
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 5, "check_same_thread": False}
        elif url.startswith("postgresql"):
            kwargs["connect_args"] = {"connect_timeout": 3}  # an unreachable server costs a request 3 s, not minutes
        self.engine: Engine = create_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._insert = sqlite.insert if self.engine.dialect.name == "sqlite" else postgresql.insert
        self._hot: dict[str, dict[str, str]] = {}  # dialect -> the hot statements (see hot_sql)
        # SQLite takes one writer at a time, and a connection that finds the write lock taken sleeps in
        # SQLite's busy handler (1 ms, then 2, 5, 10 ms...), not until the lock is free: the threads of
        # one worker wait for each other here instead, where the next one starts as soon as the lock is
        # released (issue 23: 2 workers, 8 clients, 10-resource body: 1.3 busy sleeps per hook call before, 0 to 0.1 after).
        self._write_lock: threading.Lock | contextlib.nullcontext[None] = (
            threading.Lock() if self.engine.dialect.name == "sqlite" else contextlib.nullcontext())

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def create_schema(self, attempts: int = 5) -> None:
        """Migrate the database to the newest revision. Safe when several processes start at once:
        PostgreSQL takes an advisory lock; SQLite, which has none, retries when another process won
        the race."""
        for attempt in range(attempts):
            try:
                with self.engine.begin() as conn:
                    if self.dialect == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK})
                    _migrate(conn)
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
        insert = self._insert(table).values(key=key, shown_at=now)
        stmt = insert.on_conflict_do_update(index_elements=["key"], set_={"shown_at": now},
                                          where=table.c.shown_at <= now - period_s).returning(table.c.key)
        try:
            with self.engine.begin() as conn:
                return len(conn.execute(stmt).fetchall()) == 1
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record the screening card ({type(exc).__name__})") from None

    # ---- governance: the non-identifying log (report) and the patient-linked memory (snooze)

    def _run_hot(self, work: Callable[[Any, dict[str, str]], Any], *, commit: bool, what: str) -> Any:
        """``work(cursor, statements)`` on a pooled DBAPI connection (pre-pinged on checkout like any
        other), committed when asked. Any failure is a StoreError naming ``what`` was being done;
        whatever is left open is rolled back when the pool takes the connection back."""
        engine = self.engine  # read once: a test may swap it for one whose server is down
        statements = self._hot.get(engine.dialect.name)
        if statements is None:
            statements = self._hot[engine.dialect.name] = hot_sql(engine.dialect.name)
        try:
            connection = engine.raw_connection()
            try:
                cursor = connection.cursor()
                try:
                    if not commit:
                        return work(cursor, statements)
                    with self._write_lock:
                        result = work(cursor, statements)
                        connection.commit()
                    return result
                finally:
                    cursor.close()
            finally:
                connection.close()
        except (SQLAlchemyError, engine.dialect.loaded_dbapi.Error) as exc:
            raise StoreError(f"cannot {what} ({type(exc).__name__})") from None

    def record_cards(self, call_at: float, shadow: bool, log_rows: list[dict], memory_rows: list[dict]) -> None:
        """One hook call: its count, a log row per card evaluated, a memory row per card shown (one transaction)."""
        def work(cursor: Any, sql: dict[str, str]) -> None:
            cursor.execute(sql["hook_call"], {"at": call_at, "shadow": shadow})
            if log_rows:
                cursor.executemany(sql["card_log"], log_rows)
            if memory_rows:
                cursor.executemany(sql["memory"], memory_rows)
        self._run_hot(work, commit=True, what="record cards")

    def snooze_rows(self, subject: str, now: float) -> tuple[list[dict], list[dict]]:
        """The subject's overridden memory rows and accepted suggestions still in force at ``now``."""
        def work(cursor: Any, sql: dict[str, str]) -> tuple[list[dict], list[dict]]:
            params = {"subject": subject, "now": now}
            cursor.execute(sql["snoozed"], params)
            memory = [dict(zip(_MEMORY_COLUMNS, r, strict=True)) for r in cursor.fetchall()]
            cursor.execute(sql["accepted"], params)
            return memory, [dict(zip(_ACCEPTED_COLUMNS, r, strict=True)) for r in cursor.fetchall()]
        result: tuple[list[dict], list[dict]] = self._run_hot(work, commit=False, what="read snoozes")
        return result

    def memory_for(self, card_uuids: list[str]) -> dict[str, dict]:
        if not card_uuids:
            return {}
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(select(snooze_memory_table).where(snooze_memory_table.c.card_uuid.in_(card_uuids)))
                return {r.card_uuid: dict(r._mapping) for r in rows}
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read card memory ({type(exc).__name__})") from None

    def mark_overridden(self, card_uuid: str, at: float, reason: str, expires_at: float) -> None:
        """Start a snooze: the first override of a shown card wins (a repeat does not extend it)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(update(snooze_memory_table).where(
                    snooze_memory_table.c.card_uuid == card_uuid, snooze_memory_table.c.overridden_at.is_(None)
                ).values(overridden_at=at, override_reason=reason, expires_at=expires_at))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record an override ({type(exc).__name__})") from None

    def remember_accepted(self, rows: list[dict]) -> None:
        if not rows:
            return
        stmt = self._insert(accepted_suggestion_table).values(rows)
        stmt = stmt.on_conflict_do_update(index_elements=["subject", "suggestion"], set_={
            "accepted_at": stmt.excluded.accepted_at, "expires_at": stmt.excluded.expires_at})
        try:
            with self.engine.begin() as conn:
                conn.execute(stmt)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record accepted suggestions ({type(exc).__name__})") from None

    def purge(self, now: float) -> int:
        """Delete patient-linked rows whose period has ended; return how many went."""
        try:
            with self.engine.begin() as conn:
                return sum(conn.execute(delete(t).where(t.c.expires_at <= now)).rowcount or 0
                           for t in PATIENT_LINKED_TABLES)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot purge expired rows ({type(exc).__name__})") from None

    def count_rows(self, table: Table) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()

    def report_rows(self, since: float, until: float) -> tuple[list[dict], list[dict], list[dict]]:
        """Cards logged in [since, until), the feedback on those cards, and the hook calls."""
        with self.engine.connect() as conn:
            cards = [dict(r._mapping) for r in conn.execute(select(card_log_table).where(
                card_log_table.c.at >= since, card_log_table.c.at < until).order_by(card_log_table.c.id))]
            in_period = select(card_log_table.c.card_uuid).where(card_log_table.c.at >= since, card_log_table.c.at < until)
            feedback = [dict(r._mapping) for r in conn.execute(select(
                feedback_table.c.card_uuid, feedback_table.c.outcome, feedback_table.c.override_code,
                feedback_table.c.accepted_suggestions).where(feedback_table.c.card_uuid.in_(in_period)))]
            calls = [dict(r._mapping) for r in conn.execute(select(hook_call_table).where(
                hook_call_table.c.at >= since, hook_call_table.c.at < until))]
        return cards, feedback, calls

    def dispose(self) -> None:
        self.engine.dispose()


def _migrate(conn: Any) -> None:
    """Alembic upgrade to head on this connection; a pre-migration database is stamped first."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    with _ALEMBIC_LOCK:
        tables = set(inspect(conn).get_table_names())
        if "alembic_version" not in tables and "feedback" in tables:
            command.stamp(cfg, BASELINE_REVISION)
        command.upgrade(cfg, "head")
