"""Conformance points 2, 3 and 6: the service endpoint, its errors, and its cards."""
from __future__ import annotations

import json
import uuid

import pytest

from builders import SCT, condition, hook_request

URL = "/cds-services/leg-pain-claudication"


def test_valid_request_gets_schema_valid_cards(client):
    response = client.post(URL, json=hook_request([condition(SCT, "63491006")]))
    assert response.status_code == 200
    cards = response.get_json()["cards"]
    assert len(cards) == 1
    card = cards[0]
    assert uuid.UUID(card["uuid"])
    assert len(card["summary"]) < 140
    assert card["source"]["topic"]["code"] == "arterial-claudication"
    assert all(uuid.UUID(s["uuid"]) for s in card["suggestions"])
    assert card["selectionBehavior"] in ("at-most-one", "any")
    assert all(r["display"] for r in card["overrideReasons"])


def test_nothing_to_say_is_an_empty_card_list(client):
    response = client.post(URL, json=hook_request([]))
    assert response.status_code == 200 and response.get_json() == {"cards": []}


def test_unknown_fields_and_extensions_are_ignored(client):
    body = hook_request([], extension={"com.example.thing": {"a": 1}}, somethingNew=True)
    body["context"]["extra"] = "x"
    assert client.post(URL, json=body).status_code == 200


@pytest.mark.parametrize("mutate,expected", [
    (lambda b: b.pop("hook"), "hook is required"),
    (lambda b: b.pop("hookInstance"), "hookInstance is required"),
    (lambda b: b.pop("context"), "context is required"),
    (lambda b: b["context"].pop("patientId"), "context.patientId is required"),
    (lambda b: b["context"].pop("userId"), "context.userId is required"),
    (lambda b: b.update(hook="order-select"), "patient-view hook only"),
    (lambda b: b.update(hookInstance="not-a-uuid"), "hookInstance has an invalid format"),
    (lambda b: b["context"].update(patientId="../../etc/passwd"), "context.patientId has an invalid format"),
    (lambda b: b["context"].update(patientId="x" * 65), "context.patientId has an invalid format"),
    (lambda b: b["context"].update(userId="Device/1"), "context.userId has an invalid format"),
    (lambda b: b["context"].update(encounterId="a b"), "context.encounterId has an invalid format"),
    (lambda b: b.update(fhirAuthorization={"access_token": "t", "token_type": "Bearer", "expires_in": 1,
                                           "scope": "s", "subject": "x"}), "companion field"),
    (lambda b: b.update(fhirServer="ftp://x"), "fhirServer has an invalid format"),
    (lambda b: b.update(prefetch={"conditions": [1, 2]}), "prefetch.conditions has the wrong type"),
    (lambda b: b.update(prefetch={"conditions": {"no": "resourceType"}, "observations": None}), "must be a FHIR resource"),
])
def test_bad_envelope_is_400_with_operation_outcome(client, mutate, expected):
    body = hook_request([])
    mutate(body)
    response = client.post(URL, json=body)
    assert response.status_code == 400
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert expected in outcome["issue"][0]["diagnostics"]


def test_patient_id_is_never_echoed_in_errors(client):
    body = hook_request([])
    body["context"]["patientId"] = "Jane Doe 1970"
    response = client.post(URL, json=body)
    assert response.status_code == 400 and b"Jane" not in response.data


@pytest.mark.parametrize("data", [b"", b"{", b"[1,2]", b"null", b'"text"', b"\xff\xfe", b"[" * 5000 + b"]" * 5000])
def test_body_not_a_json_object_is_400(client, data):
    response = client.post(URL, data=data, content_type="application/json")
    assert response.status_code == 400


def test_body_too_large_is_413(app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = app.test_client().post(URL, data=b"{" + b" " * 2048 + b"}", content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_unknown_service_is_404(client):
    response = client.post("/cds-services/nope", json=hook_request([]))
    assert response.status_code == 404
    assert response.get_json()["issue"][0]["code"] == "not-found"


def test_unknown_path_is_404_outcome(client):
    assert client.get("/nowhere").status_code == 404


def test_wrong_method_is_405(client):
    response = client.get(URL)
    assert response.status_code == 405
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_absent_required_prefetch_without_fhir_server_is_412(client):
    body = hook_request([])
    del body["prefetch"]["conditions"]
    response = client.post(URL, json=body)
    assert response.status_code == 412
    assert "conditions" in response.get_json()["issue"][0]["diagnostics"]


def test_absent_optional_prefetch_is_skipped(client):
    body = hook_request([condition(SCT, "63491006")])
    del body["prefetch"]["procedures"], body["prefetch"]["serviceRequests"]
    assert client.post(URL, json=body).status_code == 200


def test_null_prefetch_means_no_data(client):
    body = hook_request([], prefetch={"conditions": None, "observations": None, "procedures": None, "serviceRequests": None})
    response = client.post(URL, json=body)
    assert response.status_code == 200 and response.get_json() == {"cards": []}


def test_operation_outcome_prefetch_without_fhir_server_is_412(client):
    body = hook_request([])
    body["prefetch"]["observations"] = {"resourceType": "OperationOutcome",
                                        "issue": [{"severity": "error", "code": "forbidden"}]}
    response = client.post(URL, json=body)
    assert response.status_code == 412
    assert "observations" in response.get_json()["issue"][0]["diagnostics"]


def test_bundle_carrying_an_error_outcome_counts_as_failed(client):
    body = hook_request([])
    body["prefetch"]["conditions"]["entry"].append(
        {"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "fatal", "code": "exception"}]},
         "search": {"mode": "outcome"}})
    assert client.post(URL, json=body).status_code == 412


def test_bundle_with_a_warning_outcome_is_used(client):
    body = hook_request([condition(SCT, "63491006")])
    body["prefetch"]["conditions"]["entry"].append(
        {"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "informational"}]},
         "search": {"mode": "outcome"}})
    response = client.post(URL, json=body)
    assert response.status_code == 200 and len(response.get_json()["cards"]) == 1


def test_single_resource_prefetch_is_accepted(client):
    body = hook_request([])
    body["prefetch"]["conditions"] = condition(SCT, "63491006")
    assert len(client.post(URL, json=body).get_json()["cards"]) == 1


def test_malformed_resource_is_skipped_not_fatal(client):
    good = condition(SCT, "63491006")
    bad = condition(SCT, "18347007")
    bad["onsetDateTime"] = "not a date"
    broken = {"resourceType": "Condition", "code": "oops"}
    body = hook_request([good, bad, broken])
    response = client.post(URL, json=body)
    assert response.status_code == 200
    topics = [c["source"]["topic"]["code"] for c in response.get_json()["cards"]]
    assert topics == ["arterial-claudication"]


def test_resources_of_another_patient_are_ignored(client):
    body = hook_request([condition(SCT, "63491006", patient="someone-else")])
    assert client.post(URL, json=body).get_json() == {"cards": []}


def test_cards_are_stable_for_the_same_hook_instance(client):
    body = hook_request([condition(SCT, "63491006")])
    first = client.post(URL, json=body).get_json()
    second = client.post(URL, json=body).get_json()
    assert first == second


@pytest.mark.parametrize("content_type", ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx", None])
def test_a_body_not_declared_json_is_415(client, content_type):
    """A page on any site can POST text/plain without a preflight; the service answers it 415."""
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(URL, data=json.dumps(hook_request([])), headers=headers)
    assert response.status_code == 415
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "not-supported"


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "application/fhir+json", "Application/FHIR+JSON;charset=UTF-8"])
def test_json_media_types_with_parameters_are_accepted(client, content_type):
    response = client.post(URL, data=json.dumps(hook_request([])), headers={"Content-Type": content_type})
    assert response.status_code == 200
