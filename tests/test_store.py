"""Storage: idempotent feedback and jti replay, across two Store objects on one database."""
from __future__ import annotations

import threading
import time

from cds_service.store import FeedbackRow, Store


def row(card="c1", ts="2026-11-27T10:00:00+00:00", outcome="accepted"):
    return FeedbackRow(service_id="s", card_uuid=card, outcome=outcome, outcome_timestamp=ts,
                       accepted_suggestions='["a"]', override_system=None, override_code=None, override_display=None,
                       user_comment=None)


def test_feedback_is_idempotent_across_stores(tmp_path):
    url = f"sqlite:///{tmp_path}/db.sqlite"
    a, b = Store(url), Store(url)
    a.create_schema(), b.create_schema()
    assert a.add_feedback([row(), row(card="c2")]) == 2
    assert b.add_feedback([row(), row(card="c2"), row(card="c3")]) == 1
    assert a.feedback_count() == 3


def test_concurrent_feedback_from_many_threads_is_stored_once_each(tmp_path):
    url = f"sqlite:///{tmp_path}/db.sqlite"
    stores = [Store(url) for _ in range(4)]
    stores[0].create_schema()

    def post(store, offset):
        for i in range(50):
            store.add_feedback([row(card=f"card-{(i + offset) % 60}")])

    threads = [threading.Thread(target=post, args=(s, n * 10)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stores[0].feedback_count() == 60


def test_jti_replay_is_refused_until_expiry(tmp_path):
    url = f"sqlite:///{tmp_path}/db.sqlite"
    a, b = Store(url), Store(url)
    a.create_schema()
    assert a.remember_jti("iss|1", time.time() + 60) is True
    assert b.remember_jti("iss|1", time.time() + 60) is False
    assert a.remember_jti("iss|2", time.time() - 1) is True
    assert b.remember_jti("iss|2", time.time() + 60) is True  # the expired entry was purged
