"""The application factory's WSGI wrapping: the collector paused while requests are in flight (issue 23)."""
from __future__ import annotations

import gc

import pytest

from cds_service.app import CollectorPause


@pytest.fixture(autouse=True)
def collector_on():
    gc.enable()
    yield
    gc.enable()


def _app(seen: list, fail: bool = False):
    def app(environ, start_response):
        seen.append(gc.isenabled())
        if fail:
            raise RuntimeError("boom")
        start_response("200 OK", [])
        return [b"ok"]
    return app


def test_the_collector_is_paused_from_the_first_request_in_until_the_last_one_is_closed():
    seen: list = []
    pause = CollectorPause(_app(seen))
    first = pause({}, lambda *a: None)
    assert seen == [False] and not gc.isenabled()
    second = pause({}, lambda *a: None)
    assert list(first) == [b"ok"]
    first.close()
    assert not gc.isenabled()  # the second request is still in flight
    second.close()
    assert gc.isenabled() and seen == [False, False]
    second.close()  # a second close() is harmless and counts nothing twice
    assert gc.isenabled() and pause._in_flight == 0


def test_an_app_that_raises_still_resumes_the_collector():
    pause = CollectorPause(_app([], fail=True))
    with pytest.raises(RuntimeError):
        pause({}, lambda *a: None)
    assert gc.isenabled() and pause._in_flight == 0


def test_the_served_app_pauses_the_collector_during_a_hook_call(client, monkeypatch):
    from builders import SCT, condition, hook_request
    seen = []
    import cds_service.engine as engine_mod
    real = engine_mod.records.select

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)
    monkeypatch.setattr(engine_mod.records, "select", spy)
    response = client.post("/cds-services/leg-pain-claudication", json=hook_request([condition(SCT, "63491006")]))
    assert response.status_code == 200 and seen == [False]
    response.close()  # as gunicorn does once the answer is written
    assert gc.isenabled()


def test_under_a_load_that_never_leaves_the_worker_idle_a_young_collection_still_runs(monkeypatch):
    pause = CollectorPause(_app([]))
    monkeypatch.setattr(CollectorPause, "RESUME_AFTER", 1_000)
    held = pause({}, lambda *a: None)  # one request stays in flight throughout
    other = pause({}, lambda *a: None)
    garbage = [[] for _ in range(5_000)]  # noqa: F841 - allocations the paused collector counts
    assert gc.get_count()[0] > 1_000
    other.close()
    assert gc.get_count()[0] < 1_000 and not gc.isenabled()  # collected, and still paused for the held request
    held.close()
    assert gc.isenabled()


def test_below_the_limit_a_request_that_ends_while_another_runs_does_not_collect(monkeypatch):
    calls = []
    monkeypatch.setattr(gc, "collect", lambda generation=2: calls.append(generation))
    pause = CollectorPause(_app([]))
    held = pause({}, lambda *a: None)
    other = pause({}, lambda *a: None)
    other.close()
    assert calls == []  # the other request is still in flight and few allocations are pending
    held.close()
    assert calls == [0]  # the last one out collects the young generation


def test_a_young_collection_runs_only_past_the_limit_not_at_it(monkeypatch):
    """RESUME_AFTER allocations pending is still within the limit; one more collects."""
    calls: list = []
    monkeypatch.setattr(gc, "collect", lambda generation=2: calls.append(generation))
    pause = CollectorPause(_app([]))
    held = pause({}, lambda *a: None)
    for pending, expected in ((CollectorPause.RESUME_AFTER, []), (CollectorPause.RESUME_AFTER + 1, [0])):
        monkeypatch.setattr(gc, "get_count", lambda pending=pending: (pending, 0, 0))
        other = pause({}, lambda *a: None)
        other.close()
        assert calls == expected, pending
    held.close()


class _Answer(list):
    """A WSGI answer with its own close(), as a file wrapper or a streamed body has (PEP 3333)."""

    def __init__(self, fail: bool = False):
        super().__init__([b"ok"])
        self.closed, self.fail = 0, fail

    def close(self) -> None:
        self.closed += 1
        if self.fail:
            raise OSError("the client went away")


def test_closing_the_answer_closes_the_apps_own_answer_and_then_resumes_the_collector():
    answer = _Answer()
    pause = CollectorPause(lambda environ, start_response: answer)
    wrapped = pause({}, lambda *a: None)
    wrapped.close()
    assert answer.closed == 1 and gc.isenabled() and pause._in_flight == 0


def test_an_answer_whose_close_fails_still_resumes_the_collector():
    answer = _Answer(fail=True)
    pause = CollectorPause(lambda environ, start_response: answer)
    wrapped = pause({}, lambda *a: None)
    with pytest.raises(OSError):
        wrapped.close()
    assert answer.closed == 1 and gc.isenabled() and pause._in_flight == 0
