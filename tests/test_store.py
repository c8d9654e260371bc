"""Storage on SQLite and PostgreSQL: idempotent feedback and jti replay, across Store objects
(as across workers and instances), and a schema created safely by processes starting at once."""
from __future__ import annotations

import threading
import time

from cds_service.store import FeedbackRow, Store


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
