"""The order services over HTTP: errors as OperationOutcomes, the FHIR fallback, and feedback,
metrics, logs, auth and the audit log exactly as for patient-view."""
from __future__ import annotations

import json
import logging

import pytest
import responses

from builders import bundle
from order_builders import SELECT_ID, SIGN_ID, compression, heart_failure, order_request, sandbox_medication
from test_auth import BASE, auth_app, auth_settings, call, clients_file, keys, token  # noqa: F401  (fixtures)
from test_metrics import value

SIGN = f"/cds-services/{SIGN_ID}"
SELECT = f"/cds-services/{SELECT_ID}"
FHIR = "https://fhir.example.org/r4"


def test_order_sign_answers_with_a_critical_card(client):
    response = client.post(SIGN, json=order_request([sandbox_medication()], [heart_failure()]))
    assert response.status_code == 200
    (card,) = response.get_json()["cards"]
    assert card["indicator"] == "critical"


def test_order_select_answers_for_the_selection(client):
    body = order_request([sandbox_medication()], [heart_failure()], hook="order-select")
    assert client.post(SELECT, json=body).get_json()["cards"][0]["indicator"] == "critical"


@pytest.mark.parametrize("path,mutate,expression", [
    (SIGN, lambda b: b["context"].pop("draftOrders"), "context.draftOrders"),
    (SIGN, lambda b: b["context"].update(draftOrders=["not", "a", "bundle"]), "context.draftOrders"),
    (SIGN, lambda b: b.update(hook="order-select"), "hook"),
    (SELECT, lambda b: b["context"].pop("selections"), "context.selections"),
    (SELECT, lambda b: b["context"].update(selections="MedicationRequest/request-123"), "context.selections"),
    (SIGN, lambda b: b["context"].pop("patientId"), None),
])
def test_bad_order_requests_are_400_with_an_operation_outcome(client, path, mutate, expression):
    body = order_request([sandbox_medication()], hook="order-select" if path == SELECT else "order-sign")
    mutate(body)
    response = client.post(path, json=body)
    assert response.status_code == 400
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    if expression:
        assert outcome["issue"][0]["expression"] == [expression]


def test_a_draft_with_nothing_readable_is_200_not_500(client):
    body = order_request([{"resourceType": "MedicationRequest", "id": "x"}])
    body["context"]["draftOrders"]["entry"].append({"resource": {"resourceType": "ServiceRequest", "code": 7}})
    body["context"]["draftOrders"]["entry"].append(17)
    response = client.post(SIGN, json=body)
    assert response.status_code == 200 and response.get_json() == {"cards": []}


def test_patient_view_body_to_an_order_service_is_400(client):
    from builders import hook_request
    assert client.post(SIGN, json=hook_request([])).status_code == 400


@responses.activate
def test_absent_keys_are_fetched_from_the_fhir_server_with_the_token(client):
    responses.get(f"{FHIR}/Condition", json=bundle([heart_failure()]))
    responses.get(f"{FHIR}/Observation", json=bundle([]))
    body = order_request([sandbox_medication()], prefetch={}, fhirServer=FHIR,
                         fhirAuthorization={"access_token": "tok-123", "token_type": "Bearer", "expires_in": 300,
                                            "scope": "patient/Condition.read patient/Observation.read", "subject": "cds"})
    response = client.post(SIGN, json=body)
    assert response.status_code == 200 and response.get_json()["cards"][0]["indicator"] == "critical"
    assert {c.request.headers["Authorization"] for c in responses.calls} == {"Bearer tok-123"}
    assert all("patient=pat-1" in c.request.url for c in responses.calls)


@responses.activate
def test_an_unreachable_fhir_server_is_never_412_for_order_services(client):
    responses.get(f"{FHIR}/Condition", status=500)
    responses.get(f"{FHIR}/Observation", status=500)
    response = client.post(SIGN, json=order_request([sandbox_medication()], prefetch={}, fhirServer=FHIR))
    assert response.status_code == 200 and response.get_json() == {"cards": []}


def test_feedback_on_an_order_card_is_stored(client, app):
    card = client.post(SIGN, json=order_request([sandbox_medication()], [heart_failure()])).get_json()["cards"][0]
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z",
            "overrideReason": {"reason": card["overrideReasons"][0]}}
    for path in (SIGN, SELECT):
        assert client.post(f"{path}/feedback", json={"feedback": [item]}).status_code == 200
    assert app.extensions["cds"].store.feedback_count() == 2  # one row per service


def test_metrics_count_order_cards_by_topic(client):
    for _ in range(2):
        client.post(SIGN, json=order_request([sandbox_medication()], [heart_failure()]))
    client.post(SIGN, json={"hook": "order-sign"})
    text = client.get("/metrics").data.decode()
    assert value(text, "cds_cards_total", topic="cilostazol-heart-failure", indicator="critical") == 2
    assert value(text, "cds_http_requests_total", endpoint="/cds-services/{id}", status="400") == 1


def test_log_line_counts_deviations_and_carries_no_patient_data(client, caplog):
    caplog.set_level(logging.INFO, logger="cds_service.request")
    secret = "pat-secret-42"
    body = order_request([sandbox_medication(patient=secret)], [heart_failure(patient=secret, text="Mrs Example")],
                         patient=secret)
    assert client.post(SIGN, json=body).status_code == 200
    (record,) = [r for r in caplog.records if r.name == "cds_service.request"]
    assert record.draft_deviations == {"Bundle.type-missing": 1, "MedicationRequest.intent-missing": 1,
                                       "MedicationRequest.category-not-a-list": 1}
    assert record.drafts == record.drafts_judged == 1 and record.cards == 1 and record.rules_skipped == []
    text = json.dumps({k: str(v) for k, v in record.__dict__.items()})
    assert secret not in text and "Mrs Example" not in text and "request-123" not in text


def test_audit_log_covers_order_cards(settings, knowledge, caplog):
    from cds_service.app import create_app
    caplog.set_level(logging.INFO, logger="cds_service.audit")
    loud = create_app(settings.with_overrides(audit_log=True), knowledge=knowledge).test_client()
    card = loud.post(SIGN, json=order_request([compression(body_site=None)], [heart_failure("I50.84")])).get_json()["cards"][0]
    (record,) = [r for r in caplog.records if r.name == "cds_service.audit"]
    assert record.card == card["uuid"] and record.topic == "compression-heart-failure" and record.indicator == "warning"


def test_order_services_need_a_token_when_auth_is_on(auth_app, keys):  # noqa: F811
    body = order_request([sandbox_medication()], [heart_failure()])
    assert call(auth_app, path=SIGN, body=body).status_code == 401
    assert call(auth_app, token(keys, aud=BASE + SIGN), path=SIGN, body=body).status_code == 200
    assert call(auth_app, token(keys, aud=BASE + SELECT), path=SIGN, body=body).status_code == 401  # wrong aud
