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
