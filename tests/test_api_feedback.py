"""Conformance point 7: feedback validated, stored idempotently, answered 200."""
from __future__ import annotations

import json

import pytest

URL = "/cds-services/leg-pain-claudication/feedback"
CARD = "3f3b8f5e-1c3c-4a6e-9f51-0d4a8f1a2b3c"


def item(**overrides):
    base = {"card": CARD, "outcome": "accepted", "acceptedSuggestions": [{"id": "a1"}],
            "outcomeTimestamp": "2026-11-27T10:00:00Z"}
    base.update(overrides)
    return base


def test_feedback_is_stored_once(client, app):
    store = app.extensions["cds"].store
    for _ in range(3):
        response = client.post(URL, json={"feedback": [item()]})
        assert response.status_code == 200
    assert store.feedback_count() == 1
    # the same instant written another way is the same item
    client.post(URL, json={"feedback": [item(outcomeTimestamp="2026-11-27T10:00:00+00:00")]})
    assert store.feedback_count() == 1


def test_overridden_with_reason_and_second_outcome(client, app):
    body = {"feedback": [item(outcome="overridden", acceptedSuggestions=None, outcomeTimestamp="2026-11-27T11:00:00Z",
                              overrideReason={"reason": {"system": "https://x", "code": "patient-declined",
                                                         "display": "Patient declined"}, "userComment": "later"})]}
    body["feedback"][0].pop("acceptedSuggestions")
    assert client.post(URL, json=body).status_code == 200
    rows = app.extensions["cds"].store.feedback_rows()
    assert rows[-1]["override_code"] == "patient-declined"


def test_unknown_card_uuid_is_not_an_error(client):
    assert client.post(URL, json={"feedback": [item(card="never-issued")]}).status_code == 200


@pytest.mark.parametrize("body", [
    {},
    {"feedback": []},
    {"feedback": [item(outcome="maybe")]},
    {"feedback": [{"card": CARD, "outcome": "accepted", "outcomeTimestamp": "2026-11-27T10:00:00Z"}]},
    {"feedback": [item(outcomeTimestamp="yesterday")]},
    {"feedback": [item(outcomeTimestamp="2026-11-27T10:00:00")]},
    {"feedback": [item(card=5)]},
    [1, 2],
])
def test_bad_feedback_is_400(client, body):
    response = client.post(URL, json=body)
    assert response.status_code == 400
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_feedback_for_unknown_service_is_404(client):
    assert client.post("/cds-services/other/feedback", json={"feedback": [item()]}).status_code == 404


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_feedback_not_declared_json_is_415_and_not_stored(client, app, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(URL, data=json.dumps({"feedback": [item()]}), headers=headers)
    assert response.status_code == 415 and response.get_json()["resourceType"] == "OperationOutcome"
    assert client.post(URL, data=json.dumps({"feedback": [item()]}),
                       headers={"Content-Type": "application/fhir+json; charset=utf-8"}).get_json()["stored"] == 1
