"""Property-based fuzzing (hypothesis, seeded): whatever arrives, the answer is 200, 400, 404, 412
or 413 with an OperationOutcome for errors, never a 500, and within the deadline plus a margin."""
from __future__ import annotations

import time

import orjson
from hypothesis import HealthCheck, given, settings, strategies as st

from builders import ICD, LNC, SCT, hook_request

URL = "/cds-services/leg-pain-claudication"
OK = {200, 400, 404, 412, 413, 415}  # 415: json=None sends no body and no Content-Type
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
KNOWN = [(SCT, "63491006"), (ICD, "I70.212"), (LNC, "77194-9"), (SCT, "102572006"), (SCT, "368581000119106"),
         (ICD, "I82.402"), (SCT, "401191002"), (SCT, "163121008"), (ICD, "G83.4"), (SCT, "2667000")]

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**63, max_value=2**63),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
                    st.sampled_from(["", "2024-02-30", "0000-01-01", "9999-12-31T23:59:59+14:00", "2026", "final",
                                     "active", "refuted", "entered-in-error", "Patient/pat-1", "1e309", "\x00", "left"]))
json_values = st.recursive(scalars, lambda children: st.one_of(st.lists(children, max_size=4),
                                                               st.dictionaries(st.text(max_size=12), children, max_size=4)),
                           max_leaves=20)


@st.composite
def codings(draw):
    system, code = draw(st.sampled_from(KNOWN))
    return {"system": draw(st.sampled_from([system, system, "urn:x", 5])), "code": draw(st.sampled_from([code, code, 7, None]))}


FIELDS = ["status", "clinicalStatus", "verificationStatus", "onsetDateTime", "effectiveDateTime", "abatementDateTime",
          "valueQuantity", "valueBoolean", "valueCodeableConcept", "bodySite", "component", "interpretation", "subject",
          "dataAbsentReason", "performedDateTime", "recordedDate", "issued", "id"]


@st.composite
def resources(draw):
    resource = {"resourceType": draw(st.sampled_from(["Condition", "Observation", "Procedure", "ServiceRequest",
                                                      "Patient", "Bogus", 3])),
                "code": draw(st.one_of(st.builds(lambda c: {"coding": [c]}, codings()), json_values))}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=6, unique=True)):
        resource[name] = draw(json_values)
    if draw(st.booleans()):
        resource["subject"] = {"reference": "Patient/pat-1"}
    return resource


prefetch_values = st.one_of(
    st.none(), json_values,
    st.builds(lambda rs: {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in rs]},
              st.lists(resources(), max_size=8)),
    resources())


def _assert_answer(response, started):
    assert response.status_code in OK, response.status_code
    assert time.perf_counter() - started < 2.0
    if response.status_code != 200:
        assert response.get_json()["resourceType"] == "OperationOutcome"


@FUZZ
@given(prefetch=st.dictionaries(st.sampled_from(["conditions", "observations", "procedures", "serviceRequests", "x"]),
                                prefetch_values, max_size=5))
def test_prefetch_payloads(client, prefetch):
    started = time.perf_counter()
    _assert_answer(client.post(URL, json=hook_request([], prefetch=prefetch)), started)


@FUZZ
@given(path=st.lists(st.sampled_from(["hook", "hookInstance", "context", "userId", "patientId", "encounterId", "prefetch",
                                      "fhirServer", "fhirAuthorization", "extension"]), min_size=1, max_size=2),
       value=json_values)
def test_envelope_mutations(client, path, value):
    body = hook_request([])
    target = body
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(target.get(key, {}), dict) else {}
    target[path[-1]] = value
    started = time.perf_counter()
    _assert_answer(client.post(URL, json=body), started)


@FUZZ
@given(patient=st.text(max_size=80), user=st.text(max_size=80))
def test_context_ids(client, patient, user):
    body = hook_request([])
    body["context"] = {"patientId": patient, "userId": user}
    started = time.perf_counter()
    _assert_answer(client.post(URL, json=body), started)


@FUZZ
@given(raw=st.binary(max_size=300))
def test_raw_bytes(client, raw):
    started = time.perf_counter()
    _assert_answer(client.post(URL, data=raw, content_type="application/json"), started)
    _assert_answer(client.post(URL + "/feedback", data=raw, content_type="application/json"), started)


@FUZZ
@given(body=json_values, item=st.dictionaries(st.sampled_from(["card", "outcome", "outcomeTimestamp", "acceptedSuggestions",
                                                               "overrideReason"]), json_values))
def test_feedback_bodies(client, body, item):
    started = time.perf_counter()
    _assert_answer(client.post(URL + "/feedback", json=body), started)
    _assert_answer(client.post(URL + "/feedback", json={"feedback": [item]}), started)


def test_numbers_as_strings_duplicates_and_unknown_types(client):
    from builders import condition
    c = condition(SCT, "63491006", rid="dup")
    weird = dict(c, onsetDateTime=20240101)
    body = hook_request([c, dict(c), weird, {"resourceType": "Unknown", "code": {"coding": [{"system": SCT, "code": "63491006"}]}}])
    response = client.post(URL, json=body)
    assert response.status_code == 200 and len(response.get_json()["cards"]) == 1


def test_deep_nesting_and_huge_strings(client):
    deep = b'{"hook":"patient-view","x":' + b"[" * 2000 + b"]" * 2000 + b"}"
    assert client.post(URL, data=deep, content_type="application/json").status_code == 400
    body = hook_request([])
    body["context"]["patientId"] = "a" * 100_000
    assert client.post(URL, json=body).status_code == 400
    body = hook_request([])
    body["extension"] = {"big": "x" * 3_000_000}
    assert client.post(URL, data=orjson.dumps(body), content_type="application/json").status_code == 200


def test_too_many_prefetch_resources_is_413(settings, knowledge):
    from cds_service.app import create_app
    app = create_app(settings.with_overrides(max_prefetch_resources=10), knowledge=knowledge)
    body = hook_request([], prefetch={"conditions": {"resourceType": "Bundle", "type": "searchset",
                                                     "entry": [{"resource": {"resourceType": "Condition"}}] * 11},
                                      "observations": None})
    response = app.test_client().post(URL, json=body)
    assert response.status_code == 413 and response.get_json()["resourceType"] == "OperationOutcome"
