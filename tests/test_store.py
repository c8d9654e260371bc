"""Storage on SQLite and PostgreSQL: idempotent feedback and jti replay, across Store objects
(as across workers and instances), and a schema created safely by processes starting at once."""
from __future__ import annotations

import threading
import time
import uuid

import pytest

from cds_service.store import FeedbackRow, Store, StoreError, hook_call_table, hot_sql


def row(card="c1", ts="2026-11-27T10:00:00+00:00", outcome="accepted"):
    return FeedbackRow(service_id="s", card_uuid=card, outcome=outcome, outcome_timestamp=ts,
                       accepted_suggestions='["a"]', override_system=None, override_code=None, override_display=None,
                       user_comment=None)


def test_schema_creation_is_safe_when_many_start_at_once(db_url):
    stores = [Store(db_url) for _ in range(6)]
    errors = []

    def start(store):
        try:
            store.create_schema()
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in stores]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    assert stores[0].ping()


def test_feedback_is_idempotent_across_stores(db_url):
    a, b = Store(db_url), Store(db_url)
    a.create_schema()
    assert a.add_feedback([row(), row(card="c2")]) == 2
    assert b.add_feedback([row(), row(card="c2"), row(card="c3")]) == 1
    assert a.feedback_count() == 3


def test_concurrent_feedback_from_many_clients_is_stored_once_each(db_url):
    stores = [Store(db_url) for _ in range(4)]
    stores[0].create_schema()

    def post(store, offset):
        for i in range(50):
            store.add_feedback([row(card=f"card-{(i + offset) % 60}")])

    threads = [threading.Thread(target=post, args=(s, n * 10)) for n, s in enumerate(stores)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert stores[0].feedback_count() == 60
    assert len({r["card_uuid"] for r in stores[1].feedback_rows()}) == 60


def test_jti_replay_is_refused_until_expiry(db_url):
    a, b = Store(db_url), Store(db_url)
    a.create_schema()
    assert a.remember_jti("iss|1", time.time() + 60) is True
    assert b.remember_jti("iss|1", time.time() + 60) is False
    assert a.remember_jti("iss|2", time.time() - 1) is True
    assert b.remember_jti("iss|2", time.time() + 60) is True  # the expired entry was purged


def test_postgres_url_without_driver_name_is_accepted(postgres_url):
    store = Store(postgres_url)
    assert store.dialect == "postgresql" and store.ping()


def _memory_row(card: str, subject: str, now: float) -> dict:
    return {"card_uuid": card, "subject": subject, "topic": "t", "variant": "v", "findings": "[]",
            "suggestions": '{"s1": "t/order-abi"}', "snooze_days": 30, "shown_at": now, "expires_at": now + 100,
            "overridden_at": None, "override_reason": None}


def test_the_hot_statements_record_and_find_a_snooze_on_both_databases(db_url):
    store = Store(db_url)
    store.create_schema()
    now, subject = time.time(), f"subject-{uuid.uuid4()}"  # the PostgreSQL server is shared by the session
    card, other = str(uuid.uuid4()), str(uuid.uuid4())
    log = [{"card_uuid": card, "at": now, "topic": "t", "variant": "v", "indicator": "info", "status": "shown",
            "knowledge_version": "k"}]
    store.record_cards(now, False, log, [_memory_row(card, subject, now), _memory_row(other, subject, now)])
    store.record_cards(now, True, log, [_memory_row(card, subject, now)])  # the same card again: stored once
    assert store.snooze_rows(subject, now) == ([], [])  # shown, never overridden: nothing snoozed yet
    store.mark_overridden(card, now, "already-assessed", now + 50)
    store.remember_accepted([{"subject": subject, "suggestion": "t/order-abi", "accepted_at": now, "expires_at": now + 50}])
    memory, accepted = store.snooze_rows(subject, now + 1)
    assert [(m["card_uuid"], m["override_reason"], m["snooze_days"]) for m in memory] == [(card, "already-assessed", 30)]
    assert [(a["suggestion"], a["accepted_at"]) for a in accepted] == [("t/order-abi", now)]
    assert store.snooze_rows(subject, now + 60) == ([], [])  # both periods over
    cards, _, calls = store.report_rows(now - 1, now + 1)
    assert sum(c["card_uuid"] == card for c in cards) == 2 and sorted(c["shadow"] for c in calls if c["at"] == now)[-2:] == [False, True]


def test_a_failed_hot_statement_is_a_store_error_and_writes_nothing(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/store.db")
    store.create_schema()
    now = time.time()
    bad = [{"card_uuid": "c", "at": now}]  # a log row without its other columns: the driver refuses it
    with pytest.raises(StoreError, match=r"^cannot record cards \(ProgrammingError\)$"):
        store.record_cards(now, False, bad, [])
    assert store.count_rows(hook_call_table) == 0  # the hook call's row went with the failed transaction


def test_the_hot_statements_exist_for_both_dialects_only():
    assert ":subject" in hot_sql("sqlite")["snoozed"] and "%(subject)s" in hot_sql("postgresql")["snoozed"]
    assert all(":" not in sql for sql in hot_sql("postgresql").values())
    with pytest.raises(ValueError, match="mysql"):
        hot_sql("mysql")


def test_hook_calls_recorded_from_many_threads_are_all_kept(db_url):
    store = Store(db_url)
    store.create_schema()
    before, errors = store.count_rows(hook_call_table), []

    def record():
        try:
            for _ in range(20):
                store.record_cards(time.time(), False, [], [])
        except StoreError as exc:  # the test reports any failure
            errors.append(exc)

    threads = [threading.Thread(target=record) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == [] and store.count_rows(hook_call_table) - before == 160
