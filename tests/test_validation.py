"""The hook request's envelope check: the fast reading of the schema and jsonschema agree (issue 23).

``request_envelope_ok`` decides alone when an envelope is good; jsonschema only words the 400. So
both must accept and refuse exactly the same envelopes: hypothesis builds envelopes from a valid
one, each part replaced by values that sit on the schema's edges (lengths, patterns with a trailing
newline, integers written as 1.0, booleans, nulls, wrong containers)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from cds_service.errors import BadRequest
from cds_service.validation import request_envelope_ok, require_valid, validator

UUID = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
DROP = object()
ANY = [None, True, 0, 1.0, -1, "", "x", [], {}, [1], {"a": 1}]
PARTS = {
    "hook": ["patient-view", "order-select", "h" * 128, "h" * 129, *ANY],
    "hookInstance": [UUID, UUID.upper(), UUID + "\n", UUID[:-1], "x" + UUID, *ANY],
    "fhirServer": ["https://ehr.example.org/fhir", "http://x", "https://a b", "ftp://x", "https://x\n", "https://" + "x" * 2040,
                   *ANY],
    "fhirAuthorization": [{"access_token": "t", "token_type": "Bearer", "expires_in": 300, "scope": "s", "subject": "c"},
                          {"access_token": "t", "token_type": "Bearer", "expires_in": 300.0, "scope": "s", "subject": "c",
                           "patient": "p-1"},
                          {"access_token": "t", "token_type": "Bearer", "expires_in": 300.5, "scope": "s", "subject": "c"},
                          {"access_token": "t", "token_type": "Bearer", "expires_in": True, "scope": "s", "subject": "c"},
                          {"access_token": "t", "token_type": "Bearer", "expires_in": -1, "scope": "s", "subject": "c"},
                          {"access_token": "t", "token_type": "bearer", "expires_in": 1, "scope": "s", "subject": "c"},
                          {"access_token": "", "token_type": "Bearer", "expires_in": 1, "scope": "s", "subject": "c"},
                          {"access_token": "t", "token_type": "Bearer", "expires_in": 1, "scope": "s", "subject": "c",
                           "patient": "a b"},
                          {"access_token": "t", "token_type": "Bearer", "expires_in": 1, "scope": "s"}, *ANY],
    "context": [{"userId": "Practitioner/1", "patientId": "p-1"}, {"userId": "Practitioner/1", "patientId": "p-1", "encounterId": "e.1"},
                {"userId": "Practitioner/1", "patientId": "p-1\n"}, {"userId": "Device/1", "patientId": "p-1"},
                {"userId": "Practitioner/1", "patientId": "p" * 65}, {"userId": "Practitioner/1", "patientId": "p-1", "encounterId": 5},
                {"userId": "Practitioner/1", "patientId": None}, {"userId": "Practitioner/1"}, {"patientId": "p-1"}, *ANY],
    "prefetch": [{}, {"conditions": None}, {"conditions": {"resourceType": "Bundle"}}, {"conditions": []}, {"conditions": "x"},
                 {"conditions": None, "observations": 5}, *ANY],
    "extension": [{}, {"x": 1}, *ANY],
    "unknownPart": ["anything", *ANY],
}
VALID = {"hook": "patient-view", "hookInstance": UUID, "context": {"userId": "Practitioner/1", "patientId": "p-1"}}


@st.composite
def envelopes(draw):
    body = dict(VALID)
    for name in draw(st.lists(st.sampled_from(sorted(PARTS)), max_size=4, unique=True)):
        value = draw(st.sampled_from([DROP, *PARTS[name]]))
        if value is DROP:
            body.pop(name, None)
        else:
            body[name] = value
    return body


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(body=envelopes())
def test_the_fast_check_and_jsonschema_accept_and_refuse_the_same_envelopes(body):
    assert request_envelope_ok(body) == validator("request").is_valid(body), body


@pytest.mark.parametrize("body", [None, [], "x", 5, [VALID]])
def test_a_body_that_is_not_an_object_is_refused_by_both(body):
    assert not request_envelope_ok(body) and not validator("request").is_valid(body)


def test_a_refused_envelope_is_still_worded_by_jsonschema():
    with pytest.raises(BadRequest, match=r"^context\.patientId has an invalid format$"):
        require_valid("request", {**VALID, "context": {"userId": "Practitioner/1", "patientId": "a b"}})
    require_valid("request", VALID)  # accepted: no error
