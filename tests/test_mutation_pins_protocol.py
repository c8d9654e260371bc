"""Issue 24: patient identity, paging origins and prefetch protocol, pinned through the Flask app.

Each test names the rule it pins and was checked by making the one-line change by hand (in
records, fhir_client, prefetch or engine) and seeing it fail.
"""
from __future__ import annotations

import re

import pytest
import responses

from builders import THERAPY_KEYS_NULL, NOW, PATIENT, SCT, bundle, condition, hook_request

URL = "/cds-services/leg-pain-claudication"
FHIR = "https://fhir.example.org/r4"
AUTH = {"access_token": "tok-123", "token_type": "Bearer", "expires_in": 300, "scope": "patient/*.read", "subject": "cds"}
ERROR_OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}


@pytest.fixture
def settings(settings):
    """A deadline no loaded machine reaches: these tests pin what is fetched, not how fast (2 shared cores)."""
    return settings.with_overrides(fhir_deadline_ms=30_000, fhir_timeout_ms=30_000)


def _claudication(**kw):
    return condition(SCT, "63491006", **kw)


def _with_reference(resource: dict, reference: str) -> dict:
    resource["subject"] = {"reference": reference}
    return resource


# ---------------------------------------------------------------- patient identity (records._belongs_to)
@pytest.mark.parametrize("reference", [f"Patient/other-{PATIENT}", f"Patient/x{PATIENT}", f"urn:uuid:other-{PATIENT}",
                                       f"https://ehr.example.org/fhir/Patient/other-{PATIENT}", f"{PATIENT}"])
def test_rule_a_resource_whose_reference_merely_ends_with_the_patient_id_is_another_patients(engine, reference):
    result = engine.evaluate(hook_request([_with_reference(_claudication(), reference)]), now=NOW)
    assert result.response["cards"] == []
    assert result.stats.other_patient == 1 and result.stats.resources_used == 0


@pytest.mark.parametrize("reference", [f"Patient/{PATIENT}", f"urn:uuid:{PATIENT}",
                                       f"https://ehr.example.org/fhir/Patient/{PATIENT}"])
def test_rule_the_patients_own_reference_in_any_accepted_form_is_kept(engine, reference):
    result = engine.evaluate(hook_request([_with_reference(_claudication(), reference)]), now=NOW)
    assert [c["source"]["topic"]["code"] for c in result.response["cards"]] == ["arterial-claudication"]
    assert result.stats.other_patient == 0


# ---------------------------------------------------------------- paging origin (fhir_client._origin)
def _paged_body(next_url: str) -> dict:
    first = bundle([])
    first["link"] = [{"relation": "next", "url": next_url}]
    body = hook_request([], fhirServer=FHIR, fhirAuthorization=AUTH)
    body["prefetch"] = {"conditions": first, "observations": bundle([]), "procedures": None, "serviceRequests": None,
                        "ulcerConditions": None, "questionnaireResponses": None, **THERAPY_KEYS_NULL}
    return body


@pytest.mark.parametrize("next_url", [
    "http://fhir.example.org/r4/Condition?page=2",        # downgrade to http, same host
    "https://fhir.example.org:8443/r4/Condition?page=2",  # same scheme and host, another port
    "https://FHIR.example.org.evil.example/r4/Condition?page=2",
])
@responses.activate
def test_rule_a_next_link_is_followed_only_on_the_same_scheme_host_and_port(client, next_url):
    responses.get(next_url.split("?")[0], json=bundle([_claudication()]))
    response = client.post(URL, json=_paged_body(next_url))
    assert response.status_code == 200  # the first page the client sent stands
    assert response.get_json()["cards"] == []
    assert len(responses.calls) == 0  # so the token was never sent there


@pytest.mark.parametrize("next_url", [f"{FHIR}/Condition?page=2", "https://fhir.example.org:443/r4/Condition?page=2",
                                      "https://FHIR.Example.org/r4/Condition?page=2"])
@responses.activate
def test_rule_the_same_origin_written_differently_is_still_followed(client, next_url):
    responses.get(next_url.split("?")[0], json=bundle([_claudication()]))
    response = client.post(URL, json=_paged_body(next_url))
    assert [c["source"]["topic"]["code"] for c in response.get_json()["cards"]] == ["arterial-claudication"]
    (call,) = responses.calls
    assert call.request.headers["Authorization"] == "Bearer tok-123"


# ---------------------------------------------------------------- failed keys (prefetch.classify, engine.gather)
def _prefetch_body(conditions, **extra) -> dict:
    body = hook_request([], **extra)
    body["prefetch"] = {"conditions": conditions, "observations": bundle([]), "procedures": None, "serviceRequests": None,
                        "ulcerConditions": None, "questionnaireResponses": None, **THERAPY_KEYS_NULL}
    return body


@responses.activate
def test_rule_a_failed_key_whose_refetch_also_fails_is_412_not_an_empty_200(client):
    responses.get(f"{FHIR}/Condition", status=500)
    response = client.post(URL, json=_prefetch_body(ERROR_OUTCOME, fhirServer=FHIR, fhirAuthorization=AUTH))
    assert response.status_code == 412
    outcome = response.get_json()
    assert "conditions" in outcome["issue"][0]["diagnostics"] and "HTTP 500" in outcome["issue"][0]["diagnostics"]
    assert len(responses.calls) == 1


def test_rule_a_failed_key_that_may_not_be_refetched_is_412(settings, knowledge):
    """The server is refused (http where https is required): the failed key stays failed."""
    from cds_service.app import create_app
    app = create_app(settings.with_overrides(fhir_require_https=True), knowledge=knowledge)
    body = _prefetch_body(ERROR_OUTCOME, fhirServer="http://fhir.example.org/r4", fhirAuthorization=AUTH)
    response = app.test_client().post(URL, json=body)
    assert response.status_code == 412
    assert "https" in response.get_json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("severity", ["error", "fatal"])
def test_rule_an_error_outcome_inside_a_prefetch_bundle_is_a_failed_key_not_a_warning(client, severity):
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": "too-costly"}]}
    response = client.post(URL, json=_prefetch_body(bundle([_claudication(), outcome])))
    assert response.status_code == 412
    diagnostics = response.get_json()["issue"][0]["diagnostics"]
    assert "conditions" in diagnostics and "OperationOutcome (too-costly)" in diagnostics


@pytest.mark.parametrize("severity", ["warning", "information"])
def test_rule_a_warning_outcome_inside_a_prefetch_bundle_does_not_fail_the_key(client, severity):
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": "informational"}]}
    response = client.post(URL, json=_prefetch_body(bundle([outcome, _claudication()])))
    assert response.status_code == 200
    assert [c["source"]["topic"]["code"] for c in response.get_json()["cards"]] == ["arterial-claudication"]


def test_rule_an_outcome_without_issues_is_a_failed_key(client):
    response = client.post(URL, json=_prefetch_body({"resourceType": "OperationOutcome"}))
    assert response.status_code == 412


@pytest.mark.parametrize("key", ["procedures", "serviceRequests"])
def test_rule_an_optional_key_that_failed_is_skipped_not_fatal(client, key):
    body = hook_request([_claudication()])
    body["prefetch"][key] = ERROR_OUTCOME
    response = client.post(URL, json=body)
    assert response.status_code == 200
    assert [c["source"]["topic"]["code"] for c in response.get_json()["cards"]] == ["arterial-claudication"]


# ---------------------------------------------------------------- fallback details (fhir_client.Fetcher)
@responses.activate
def test_rule_a_refused_server_leaves_the_keys_the_client_sent_standing(settings, knowledge):
    """The server may not be called (http where https is required): a first page the client sent stands,
    its next link is not followed, and only the keys it did not send fail."""
    from cds_service.app import create_app
    app = create_app(settings.with_overrides(fhir_require_https=True), knowledge=knowledge)
    server = "http://fhir.example.org/r4"
    first = bundle([_claudication()])
    first["link"] = [{"relation": "next", "url": f"{server}/Condition?page=2"}]
    responses.get(f"{server}/Condition", json=bundle([]))
    body = _prefetch_body(first, fhirServer=server)
    response = app.test_client().post(URL, json=body)
    assert response.status_code == 200
    assert [c["source"]["topic"]["code"] for c in response.get_json()["cards"]] == ["arterial-claudication"]
    assert len(responses.calls) == 0


@responses.activate
def test_rule_fallback_calls_are_counted_by_outcome(client):
    responses.get(f"{FHIR}/Condition", json=bundle([]))
    responses.get(f"{FHIR}/Observation", status=500)
    responses.get(f"{FHIR}/Procedure", json=bundle([]))
    responses.get(f"{FHIR}/ServiceRequest", json=bundle([]))
    responses.get(f"{FHIR}/QuestionnaireResponse", json=bundle([]))
    for rtype in ("MedicationRequest", "MedicationStatement", "Patient"):  # the therapy keys (issue 18)
        responses.get(f"{FHIR}/{rtype}", json=bundle([]))
    body = hook_request([], fhirServer=FHIR, fhirAuthorization=AUTH)
    del body["prefetch"]
    assert client.post(URL, json=body).status_code == 412
    text = client.get("/metrics").get_data(as_text=True)
    counts = dict(re.findall(r'cds_fhir_fallback_calls_total\{outcome="(\w+)"\} ([0-9.]+)', text))
    assert counts["failure"] == "2.0"  # observations and smokingStatus, both Observation searches
    assert float(counts["success"]) >= 3  # the other keys, the optional ones included


def _no_prefetch(**extra) -> dict:
    body = hook_request([], fhirServer=FHIR, fhirAuthorization=AUTH, **extra)
    del body["prefetch"]
    return body


def _serve_empty_except(rtype: str, **kw) -> None:
    for other in ("Condition", "Observation", "Procedure", "ServiceRequest"):
        if other != rtype:
            responses.get(f"{FHIR}/{other}", json=bundle([]))
    responses.get(f"{FHIR}/{rtype}", **kw)


@responses.activate
def test_rule_a_fhir_servers_malformed_bundle_is_an_unobtainable_key_412_not_the_clients_400(client):
    """The client sent nothing wrong: a broken answer from the FHIR server makes the key unobtainable."""
    _serve_empty_except("Condition", json={"resourceType": "Bundle", "type": "searchset", "entry": {"oops": 1}})
    response = client.post(URL, json=_no_prefetch())
    assert response.status_code == 412
    assert response.get_json()["issue"][0]["diagnostics"] == (
        "prefetch key 'conditions' could not be had: the FHIR server's answer is not a valid Bundle")


@responses.activate
def test_rule_a_next_link_on_a_page_the_service_fetched_is_held_to_the_same_origin(client):
    """The service's own first page stands (the key is partial); its downgraded next link is never called."""
    page = bundle([_claudication()])
    page["link"] = [{"relation": "next", "url": "http://fhir.example.org/r4/Condition?page=2"}]
    _serve_empty_except("Condition", json=page)
    responses.get("http://fhir.example.org/r4/Condition", json=bundle([]))
    response = client.post(URL, json=_no_prefetch())
    assert response.status_code == 200
    assert [c["source"]["topic"]["code"] for c in response.get_json()["cards"]] == ["arterial-claudication"]
    assert responses.calls and not any(c.request.url.startswith("http://") for c in responses.calls)


@responses.activate
def test_rule_an_answer_that_is_not_a_bundle_fails_the_key_saying_so(client):
    _serve_empty_except("Condition", json={"resourceType": "Patient", "id": "x"})
    response = client.post(URL, json=_no_prefetch())
    assert response.get_json()["issue"][0]["diagnostics"] == (
        "prefetch key 'conditions' could not be had: the FHIR server did not answer with a Bundle")


@responses.activate
def test_rule_the_first_page_the_client_sent_is_kept_while_later_pages_are_fetched(client):
    first = bundle([_claudication()])
    first["link"] = [{"relation": "next", "url": f"{FHIR}/Condition?page=2"}]
    responses.get(f"{FHIR}/Condition", json=bundle([]))
    response = client.post(URL, json=_prefetch_body(first, fhirServer=FHIR, fhirAuthorization=AUTH))
    assert [c["source"]["topic"]["code"] for c in response.get_json()["cards"]] == ["arterial-claudication"]
    assert len(responses.calls) == 1


@responses.activate
def test_rule_when_a_later_page_fails_the_first_page_the_client_sent_stands(client):
    first = bundle([_claudication()])
    first["link"] = [{"relation": "next", "url": f"{FHIR}/Condition?page=2"}]
    responses.get(f"{FHIR}/Condition", status=500)
    response = client.post(URL, json=_prefetch_body(first, fhirServer=FHIR, fhirAuthorization=AUTH))
    assert response.status_code == 200
    assert [c["source"]["topic"]["code"] for c in response.get_json()["cards"]] == ["arterial-claudication"]


@responses.activate
def test_rule_http_on_its_default_port_written_out_is_the_same_origin(client):
    server = "http://fhir.example.org/r4"
    first = bundle([])
    first["link"] = [{"relation": "next", "url": "http://fhir.example.org:80/r4/Condition?page=2"}]
    responses.get("http://fhir.example.org:80/r4/Condition", json=bundle([_claudication()]))
    response = client.post(URL, json=_prefetch_body(first, fhirServer=server))
    assert [c["source"]["topic"]["code"] for c in response.get_json()["cards"]] == ["arterial-claudication"]
