"""Issue 24: the FHIR fallback client (fhir_client) pinned at its own level, one rule per test.

The app tests (test_fhir_client, test_mutation_pins_protocol, test_mutation_pins_security) see a 412
or a card; here each rule is held directly: which servers and pages the access token may go to,
what a failed call reports (the reason reaches the OperationOutcome), and what is logged.
"""
from __future__ import annotations

import errno
import json
import logging
import time
from types import SimpleNamespace

import pytest
import requests
import responses

from cds_service import fhir_client
from cds_service.fhir_client import (UNREACHABLE, FallbackFactory, Fetcher, _same_origin, _unobtainable, _within,
                                     server_allowed, transport_failure)
from cds_service.metrics import Metrics
from cds_service.prefetch import KeyResult, PrefetchKey

FHIR = "https://fhir.example.org/r4"
KEY = PrefetchKey("conditions", "Condition", "_count=200", True)
FIRST = f"{FHIR}/Condition?patient=pat-1&_count=200"


@pytest.fixture
def settings(settings):
    """What is fetched is pinned here, not how fast (2 shared, busy cores)."""
    return settings.with_overrides(fhir_deadline_ms=30_000, fhir_timeout_ms=20_000)


def _fetcher(settings, *, token: str | None = "tok-1", denied: str | None = None, metrics=None) -> Fetcher:
    return Fetcher(settings=settings, fhir_server=FHIR, access_token=token, context={"patientId": "pat-1"},
                   denied=denied, metrics=metrics)


def _page(resources=(), next_url: str | None = None) -> dict:
    page = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}
    if next_url:
        page["link"] = [{"relation": "next", "url": next_url}]
    return page


def _condition(i: int) -> dict:
    return {"resourceType": "Condition", "id": f"c{i}"}


def _fetch_one(fetcher: Fetcher, given: KeyResult | None = None) -> KeyResult:
    (result,) = fetcher([(KEY, given or KeyResult("absent"))])
    return result


# ---------------------------------------------------------------- the log names a transport failure, never a message
class _Failure(Exception):
    pass


def _oserror(code: int) -> OSError:
    return OSError(code, "quoted https://fhir.example.org/r4/Condition?patient=pat-1")


def test_rule_a_transport_failure_is_logged_as_class_and_errno_name_found_anywhere_in_the_chain():
    by_reason = _Failure("x")
    by_reason.reason = _oserror(errno.ECONNREFUSED)
    assert transport_failure(by_reason) == "_Failure/ECONNREFUSED"
    assert transport_failure(requests.ConnectionError("msg", _oserror(errno.ECONNRESET))) == "ConnectionError/ECONNRESET"
    try:
        try:
            raise _oserror(errno.ETIMEDOUT)
        except OSError as inner:
            raise _Failure("outer") from inner
    except _Failure as chained:
        assert transport_failure(chained) == "_Failure/ETIMEDOUT"
    try:
        try:
            raise _oserror(errno.EHOSTUNREACH)
        except OSError:
            raise _Failure("while handling")  # noqa: B904 - the implicit context is what is pinned
    except _Failure as context:
        assert transport_failure(context) == "_Failure/EHOSTUNREACH"


def test_rule_the_reason_comes_before_the_args_and_the_args_before_the_cause():
    exc = _Failure(_oserror(errno.ETIMEDOUT))
    exc.reason = _oserror(errno.ECONNREFUSED)
    exc.__cause__ = _oserror(errno.ENETDOWN)
    assert transport_failure(exc) == "_Failure/ECONNREFUSED"
    exc.reason = "a string, not an error"
    assert transport_failure(exc) == "_Failure/ETIMEDOUT"
    exc = _Failure("text first", _oserror(errno.ECONNRESET))
    exc.__cause__ = _oserror(errno.ENETDOWN)
    assert transport_failure(exc) == "_Failure/ECONNRESET"


def test_rule_an_oserror_without_a_known_errno_is_looked_through_and_a_loop_ends():
    exc = _Failure(OSError("no errno"))
    assert transport_failure(exc) == "_Failure"
    assert transport_failure(_Failure(_oserror(99999))) == "_Failure"
    looped = _Failure("x")
    looped.reason = looped
    assert transport_failure(looped) == "_Failure"
    assert transport_failure(_oserror(errno.ECONNREFUSED)) == "ConnectionRefusedError/ECONNREFUSED"


# ---------------------------------------------------------------- origins and the allow-list
@pytest.mark.parametrize("url,base", [
    ("HTTPS://FHIR.Example.ORG/r4/x", FHIR), ("https://fhir.example.org:443/r4", FHIR),
    ("http://fhir.example.org:80/r4", "http://fhir.example.org/r4"), ("ftp://fhir.example.org/a", "ftp://fhir.example.org/b"),
])
def test_rule_the_same_origin_is_scheme_host_and_default_port(url, base):
    assert _same_origin(url, base)


@pytest.mark.parametrize("url,base", [
    ("http://fhir.example.org/r4", FHIR), ("https://fhir.example.org:80/r4", FHIR),
    ("https://fhir.example.org:8443/r4", FHIR), ("https://other.example.org/r4", FHIR),
    ("http://fhir.example.org/r4", "http://fhir.example.org:8080/r4"),
    ("ftp://fhir.example.org:21/a", "ftp://fhir.example.org/a"),  # no default port assumed beyond http and https
    ("https://fhir.example.org:99999/r4", FHIR),
])
def test_rule_another_scheme_host_or_port_is_another_origin(url, base):
    assert not _same_origin(url, base)


@pytest.mark.parametrize("url,base", [
    (FHIR, FHIR), (FHIR + "/", FHIR), (FHIR + "/Condition", FHIR), (FHIR, FHIR + "/"),
    ("https://fhir.example.org/anything", "https://fhir.example.org"), (FHIR + "/.well-known", FHIR),
    (FHIR + "/a..b", FHIR),
])
def test_rule_a_server_at_or_under_the_configured_base_is_within_it(url, base):
    assert _within(url, base)


@pytest.mark.parametrize("url", [
    "https://fhir.example.org/r4x", "https://fhir.example.org/", "https://user@fhir.example.org/r4",
    FHIR + "?x=1", FHIR + "#frag", FHIR + "/../admin", FHIR + "/%2E%2E/admin", FHIR + "/%2e%2e/admin",
    FHIR + "/./x", FHIR + "/%2E/x", "http://fhir.example.org/r4", "https://fhir.example.org:8443/r4",
])
def test_rule_anything_else_is_not_within_the_configured_base(url):
    assert not _within(url, FHIR)


def _client(*servers: str):
    return SimpleNamespace(iss="https://ehr.example.org", fhir_servers=servers)


def test_rule_the_allow_list_refusals_say_why(settings):
    open_dev = settings.with_overrides(fhir_allow_any_server=True, fhir_require_https=False)
    closed = settings.with_overrides(fhir_allow_any_server=False, fhir_require_https=True)
    assert server_allowed("https://fhir.example.org:abc/r4", open_dev, None) == "fhirServer is not a usable URL"
    assert server_allowed("https:///r4", open_dev, None) == "fhirServer is not a usable URL"
    assert server_allowed("http://fhir.example.org/r4", closed, _client("http://fhir.example.org/r4")) == \
        "fhirServer must use https"
    assert server_allowed("http://fhir.example.org/r4", open_dev, None) is None
    assert server_allowed(FHIR, closed, None) == "fhirServer is not configured for this client"
    assert server_allowed(FHIR, closed, _client()) == "fhirServer is not configured for this client"
    assert server_allowed(FHIR + "/tenant", closed, _client("https://other.example.org/r4", FHIR)) is None
    for look_alike in ("https://fhir.example.org.evil.example/r4", FHIR + "x", FHIR + "-evil/Patient"):
        assert server_allowed(look_alike, closed, _client(FHIR)) == "fhirServer is not configured for this client"
    assert server_allowed("https://other.example.org/fhir", open_dev, _client(FHIR)) == \
        "fhirServer is not configured for this client"  # the client's own list decides, even in development
    assert server_allowed("https://other.example.org/fhir", open_dev, _client()) is None  # no list: the setting decides


# ---------------------------------------------------------------- what a call sends and what a failure reports
@responses.activate
def test_rule_a_call_sends_the_token_and_accept_header_only_with_a_timeout_and_no_redirects(settings):
    responses.get(FIRST, json=_page([_condition(1)]))
    result = _fetch_one(_fetcher(settings))
    assert (result.state, result.resources) == ("present", [_condition(1)])
    (call,) = responses.calls
    assert call.request.headers["Authorization"] == "Bearer tok-1"
    assert call.request.headers["Accept"] == "application/fhir+json, application/json;q=0.9"
    kwargs = call.request.req_kwargs
    assert kwargs["stream"] is True  # read in chunks, so the size limit and the deadline hold while reading
    connect, read = kwargs["timeout"]
    assert connect == read and 19.0 < read <= 20.0  # the per-call timeout, within the request's deadline


@responses.activate
def test_rule_without_an_access_token_no_authorization_header_is_sent(settings):
    responses.get(FIRST, json=_page())
    _fetch_one(_fetcher(settings, token=None))
    assert "Authorization" not in responses.calls[0].request.headers


@pytest.mark.parametrize("status,reason", [
    (401, "the FHIR server refused the access token (HTTP 401)"),
    (403, "the FHIR server refused the access token (HTTP 403)"),
    (300, "the FHIR server answered with a redirect; not followed"),
    (302, "the FHIR server answered with a redirect; not followed"),
    (399, "the FHIR server answered with a redirect; not followed"),
    (400, "the FHIR server answered HTTP 400"), (201, "the FHIR server answered HTTP 201"),
    (500, "the FHIR server answered HTTP 500"),
])
@responses.activate
def test_rule_an_http_failure_makes_the_key_failed_saying_which(settings, status, reason):
    """A redirect is never followed (it could carry the token elsewhere), even to a page that would answer."""
    responses.get(FIRST, json=_page(), status=status, headers={"Location": f"{FHIR}/Condition?page=2"})
    responses.get(f"{FHIR}/Condition?page=2", json=_page([_condition(2)]))
    assert _fetch_one(_fetcher(settings)) == KeyResult("failed", reason=reason)


@pytest.mark.parametrize("body,reason", [
    (b"<html>", "the FHIR server's answer is not JSON"),
    (b"[1]", "the FHIR server's answer is not a FHIR resource"),
    (b'{"resourceType": 5}', "the FHIR server's answer is not a FHIR resource"),
    (b'{"resourceType": "Patient"}', "the FHIR server did not answer with a Bundle"),
    (b'{"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}',
     "the FHIR server answered with OperationOutcome (timeout)"),
    (b'{"resourceType": "Bundle", "entry": 5}', "the FHIR server's answer is not a valid Bundle"),
])
@responses.activate
def test_rule_an_answer_that_is_not_a_searchset_fails_the_key_saying_why(settings, body, reason):
    responses.get(FIRST, body=body)
    assert _fetch_one(_fetcher(settings)) == KeyResult("failed", reason=reason)


@responses.activate
def test_rule_an_answer_of_exactly_the_size_limit_is_read_one_byte_more_is_not(settings):
    limited = settings.with_overrides(fhir_max_response_bytes=1024)
    body = json.dumps(_page()).encode()
    exact = body[:-1] + b" " * (1024 - len(body)) + b"}"
    assert len(exact) == 1024
    responses.get(FIRST, body=exact)
    assert _fetch_one(_fetcher(limited)).state == "present"
    responses.replace(responses.GET, FIRST, body=exact[:-1] + b" }")
    assert _fetch_one(_fetcher(limited)) == KeyResult("failed", reason="the FHIR server's answer is too large")


@responses.activate
def test_rule_an_unreachable_server_reads_the_same_whatever_the_cause_and_logs_only_its_kind(settings, caplog):
    caplog.set_level(logging.WARNING, logger="cds_service.fhir")
    responses.get(FIRST, body=requests.ConnectionError("to https://fhir.example.org/r4/Condition?patient=pat-1",
                                                       _oserror(errno.ECONNREFUSED)))
    assert _fetch_one(_fetcher(settings)) == KeyResult("failed", reason=UNREACHABLE)
    (record,) = [r for r in caplog.records if r.name == "cds_service.fhir"]
    assert record.getMessage() == "fhir server unreachable" and record.reason == "ConnectionError/ECONNREFUSED"


def test_rule_once_the_deadline_has_passed_no_call_is_made(settings):
    with pytest.raises(fhir_client.FetchFailed, match="^the overall deadline for FHIR calls passed$"):
        _fetcher(settings)._get(FIRST, time.monotonic() - 0.001)


# ---------------------------------------------------------------- paging
@responses.activate
def test_rule_pages_are_read_up_to_the_cap_and_the_key_is_then_partial(settings):
    capped = settings.with_overrides(fhir_page_cap=2)
    responses.get(FIRST, json=_page([_condition(1)], f"{FHIR}/Condition?page=2"))
    responses.get(f"{FHIR}/Condition?page=2", json=_page([_condition(2)], f"{FHIR}/Condition?page=3"))
    responses.get(f"{FHIR}/Condition?page=3", json=_page([_condition(3)]))
    result = _fetch_one(_fetcher(capped))
    assert result == KeyResult("partial", resources=[_condition(1), _condition(2)],
                               reason="later pages not fetched: more than 2 pages")
    responses.replace(responses.GET, f"{FHIR}/Condition?page=2", json=_page([_condition(2)]))
    assert _fetch_one(_fetcher(capped)) == KeyResult("present", resources=[_condition(1), _condition(2)])


@responses.activate
def test_rule_paging_stops_at_a_repeated_page_and_at_another_origin(settings):
    responses.get(FIRST, json=_page([_condition(1)], FIRST))
    assert _fetch_one(_fetcher(settings)) == KeyResult(
        "partial", resources=[_condition(1)], reason="later pages not fetched: a next link repeats a page already read")
    responses.replace(responses.GET, FIRST, json=_page([_condition(1)], "http://fhir.example.org/r4/Condition?page=2"))
    assert _fetch_one(_fetcher(settings)) == KeyResult(
        "partial", resources=[_condition(1)], reason="later pages not fetched: a next link points to another server; not followed")
    assert len(responses.calls) == 2  # the http link was never called


@responses.activate
def test_rule_the_clients_first_page_is_kept_and_its_next_link_followed(settings):
    responses.get(f"{FHIR}/Condition?page=2", json=_page([_condition(2)]))
    given = KeyResult("present", resources=[_condition(1)], next_url=f"{FHIR}/Condition?page=2")
    assert _fetch_one(_fetcher(settings), given) == KeyResult("present", resources=[_condition(1), _condition(2)])
    given = KeyResult("present", resources=[_condition(1)], next_url="https://elsewhere.example.org/Condition?page=2")
    assert _fetch_one(_fetcher(settings), given) == KeyResult(
        "partial", resources=[_condition(1)], reason="later pages not fetched: a next link points to another server; not followed")


@responses.activate
def test_rule_a_first_search_that_cannot_start_fails_the_key_and_calls_nothing(settings):
    """Defence in depth: a fhirServer whose origin cannot be read (server_allowed refuses it first) makes
    the key failed, not partial with nothing in it, and no call is made."""
    fetcher = Fetcher(settings=settings, fhir_server="https://fhir.example.org:99999/r4", access_token="tok-1",
                      context={"patientId": "pat-1"}, denied=None)
    assert _fetch_one(fetcher) == KeyResult("failed", reason="a next link points to another server; not followed")
    assert len(responses.calls) == 0


def test_rule_a_key_that_cannot_be_completed_keeps_what_the_client_sent():
    sent = KeyResult("present", resources=[_condition(1)], next_url=f"{FHIR}/Condition?page=2")
    assert _unobtainable(sent, [_condition(1), _condition(2)], "R") == KeyResult(
        "partial", resources=[_condition(1), _condition(2)], reason="later pages not fetched: R")
    assert _unobtainable(KeyResult("partial", resources=[_condition(1)]), [_condition(1)], "R").state == "partial"
    assert _unobtainable(KeyResult("absent"), [_condition(1)], "R") == KeyResult("failed", reason="R")
    assert _unobtainable(KeyResult("failed", reason="x"), [], "R") == KeyResult("failed", reason="R")


# ---------------------------------------------------------------- refusal, counting, and the factory
def test_rule_a_refused_server_gets_no_call_and_the_clients_keys_stand(settings):
    sent = KeyResult("present", resources=[_condition(1)])
    results = _fetcher(settings, denied="fhirServer must use https")(
        [(KEY, KeyResult("absent")), (KEY, KeyResult("failed", reason="OperationOutcome")), (KEY, sent),
         (KEY, KeyResult("null"))])
    assert results == [KeyResult("failed", reason="fhirServer must use https"),
                       KeyResult("failed", reason="fhirServer must use https"), sent, KeyResult("null")]


def _counted(metrics: Metrics) -> dict[str, float]:
    """The fallback calls counted so far, by outcome."""
    return {s.labels["outcome"]: s.value for m in metrics.registry.collect() if m.name == "cds_fhir_fallback_calls"
            for s in m.samples if s.name.endswith("_total")}


@responses.activate
def test_rule_each_key_fetched_is_counted_once_by_outcome(settings):
    metrics = Metrics()
    responses.get(FIRST, json=_page())
    _fetch_one(_fetcher(settings, metrics=metrics))
    responses.replace(responses.GET, FIRST, status=500)
    _fetch_one(_fetcher(settings, metrics=metrics))
    _fetch_one(_fetcher(settings, metrics=metrics))
    responses.replace(responses.GET, FIRST, json=_page([], FIRST))
    _fetch_one(_fetcher(settings, metrics=metrics))
    counted = _counted(metrics)
    assert counted == {"success": 1.0, "failure": 2.0, "partial": 1.0}


def _request(**overrides):
    base = dict(fhir_server=FHIR, access_token="tok-9", patient_id="pat-7", user_id="Practitioner/u-3",
                encounter_id="enc-5")
    return SimpleNamespace(**{**base, **overrides})


@responses.activate
def test_rule_the_factory_fills_every_context_id_and_passes_the_token(settings):
    fetcher = FallbackFactory(settings)(_request(), None)
    key = PrefetchKey("custom", "Encounter", "practitioner={{context.userId}}&_id={{context.encounterId}}", False)
    url = f"{FHIR}/Encounter?patient=pat-7&practitioner=Practitioner/u-3&_id=enc-5"
    responses.get(url, json=_page())
    (result,) = fetcher([(key, KeyResult("absent"))])
    assert result.state == "present"
    assert responses.calls[0].request.url == url and responses.calls[0].request.headers["Authorization"] == "Bearer tok-9"
    assert (fetcher.fhir_server, fetcher.denied) == (FHIR, None)


def test_rule_no_fhir_server_no_fetcher_and_a_refused_one_is_logged_with_the_issuer(settings, caplog):
    caplog.set_level(logging.WARNING, logger="cds_service.fhir")
    factory = FallbackFactory(settings.with_overrides(fhir_allow_any_server=False), metrics=Metrics())
    assert factory(_request(fhir_server=None)) is None
    fetcher = factory(_request(), _client("https://other.example.org/r4"))
    assert fetcher.denied == "fhirServer is not configured for this client" and fetcher.metrics is factory.metrics
    (record,) = [r for r in caplog.records if r.name == "cds_service.fhir"]
    assert record.getMessage() == "fhir server refused"
    assert (record.reason, record.iss) == ("fhirServer is not configured for this client", "https://ehr.example.org")


# ---------------------------------------------------------------- the request's one deadline (a clock the test sets)
class _Clock:
    """time.monotonic as the test says it reads: each call takes the next value, the last one repeats."""

    def __init__(self, *readings: float):
        self.readings = list(readings)

    def monotonic(self) -> float:
        return self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]


@pytest.mark.parametrize("now,left", [(97.0, 3.0), (99.5, 0.5)])  # half a second left still makes the call
@responses.activate
def test_rule_a_call_never_waits_longer_than_what_is_left_of_the_deadline(settings, monkeypatch, now, left):
    responses.get(FIRST, json=_page())
    monkeypatch.setattr(fhir_client, "time", _Clock(now))
    assert _fetcher(settings)._get(FIRST, 100.0)["resourceType"] == "Bundle"
    assert responses.calls[0].request.req_kwargs["timeout"] == (left, left)


@responses.activate
def test_rule_the_deadline_holds_while_the_body_is_read(settings, monkeypatch):
    responses.get(FIRST, json=_page())
    monkeypatch.setattr(fhir_client, "time", _Clock(90.0, 100.5))  # before the call, then after the first chunk
    with pytest.raises(fhir_client.FetchFailed, match="^the overall deadline for FHIR calls passed$"):
        _fetcher(settings)._get(FIRST, 100.0)
    monkeypatch.setattr(fhir_client, "time", _Clock(90.0, 100.0))  # exactly at the deadline: not past it
    assert _fetcher(settings)._get(FIRST, 100.0)["resourceType"] == "Bundle"


@responses.activate
def test_rule_with_nothing_left_of_the_deadline_no_call_is_made(settings, monkeypatch):
    responses.get(FIRST, json=_page())
    monkeypatch.setattr(fhir_client, "time", _Clock(100.0))
    with pytest.raises(fhir_client.FetchFailed, match="^the overall deadline for FHIR calls passed$"):
        _fetcher(settings)._get(FIRST, 100.0)
    assert len(responses.calls) == 0


def test_rule_a_key_still_being_fetched_at_the_deadline_is_unobtainable_and_the_request_goes_on(settings):
    """The worker is held until the test lets it go, so the deadline (10 ms) is always reached first."""
    import threading
    release = threading.Event()

    class Stuck(Fetcher):
        def _one(self, key, given, deadline):
            release.wait(30)
            return KeyResult("present")

    metrics = Metrics()
    fetcher = Stuck(settings=settings.with_overrides(fhir_deadline_ms=10), fhir_server=FHIR, access_token=None,
                    context={"patientId": "pat-1"}, denied=None, metrics=metrics)
    sent = KeyResult("present", resources=[_condition(1)], next_url=f"{FHIR}/Condition?page=2")
    try:
        results = fetcher([(KEY, KeyResult("absent")), (KEY, sent)])
    finally:
        release.set()
    reason = "the overall deadline for FHIR calls passed"
    assert results == [KeyResult("failed", reason=reason),
                       KeyResult("partial", resources=[_condition(1)], reason=f"later pages not fetched: {reason}")]
    assert value_of(metrics, "failure") == 2.0


def value_of(metrics: Metrics, outcome: str) -> float:
    return next(s.value for m in metrics.registry.collect() if m.name == "cds_fhir_fallback_calls" for s in m.samples
                if s.name.endswith("_total") and s.labels["outcome"] == outcome)


@pytest.mark.parametrize("url,base", [
    ("https://fhir.example.org/r4XX", FHIR),  # a sibling whose name merely starts with the base's
    ("https://fhir.example.org/r4 ", FHIR),  # another path that only trimming would make the base
    ("https://fhir.example.org/r4/Condition", "https://fhir.example.org/r4X"),  # the base is a whole segment
    ("https://fhir.example.org/r4X/Condition", "https://fhir.example.org/r4"),
])
def test_rule_a_path_is_under_the_base_by_whole_segments_only(url, base):
    assert not _within(url, base)


@responses.activate
def test_rule_with_time_to_spare_a_call_waits_the_configured_timeout_and_sends_its_headers(settings, monkeypatch):
    responses.get(FIRST, json=_page())
    monkeypatch.setattr(fhir_client, "time", _Clock(0.0))
    _fetcher(settings)._get(FIRST, 1000.0)
    request = responses.calls[0].request
    assert request.req_kwargs["timeout"] == (settings.fhir_timeout_ms / 1000.0,) * 2
    sent = dict(request.headers.lower_items())
    assert sent["accept"] == fhir_client.ACCEPT and sent["authorization"] == "Bearer tok-1"
    assert {"Accept", "Authorization"} <= set(request.headers.keys())  # spelled as RFC 9110 spells them


@responses.activate
def test_rule_a_gzip_encoded_answer_is_read_decoded(settings):
    import gzip
    responses.get(FIRST, body=gzip.compress(json.dumps(_page()).encode()), headers={"Content-Encoding": "gzip"},
                  content_type="application/fhir+json")
    assert _fetcher(settings)._get(FIRST, time.monotonic() + 30)["resourceType"] == "Bundle"


@responses.activate
def test_rule_a_client_page_whose_next_link_cannot_be_followed_counts_as_partial_not_as_a_failure(settings):
    """The client's first page stands; nothing failed, a later page was simply not fetched."""
    metrics = Metrics()
    given = KeyResult("present", resources=[{"resourceType": "Condition"}], next_url="https://elsewhere.example.org/r4/p2")
    result = _fetch_one(_fetcher(settings, metrics=metrics), given)
    assert result == KeyResult("partial", resources=[{"resourceType": "Condition"}],
                               reason="later pages not fetched: a next link points to another server; not followed")
    counted = _counted(metrics)
    assert counted == {"partial": 1.0} and not responses.calls


@responses.activate
def test_rule_the_overall_deadline_is_the_configured_milliseconds(settings, monkeypatch):
    import dataclasses
    short = dataclasses.replace(settings, fhir_deadline_ms=2000, fhir_timeout_ms=5000)
    responses.get(FIRST, json=_page())
    monkeypatch.setattr(fhir_client, "time", _Clock(0.0))
    assert _fetch_one(_fetcher(short)).state == "present"
    assert responses.calls[0].request.req_kwargs["timeout"] == (2.0, 2.0)
