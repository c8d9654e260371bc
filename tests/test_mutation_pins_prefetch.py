"""Issue 24: what each prefetch key holds, as the engine records it and as a client is told (prefetch.classify)."""
from __future__ import annotations

import pytest
import responses

from builders import THERAPY_KEYS_NULL, NOW, SCT, bundle, condition, hook_request

URL = "/cds-services/leg-pain-claudication"


@pytest.fixture
def settings(settings):
    """A deadline no loaded machine reaches: these tests pin what is fetched, not how fast (2 shared cores)."""
    return settings.with_overrides(fhir_deadline_ms=30_000, fhir_timeout_ms=30_000)


def _body(fhirServer: str | None = None, **keys) -> dict:
    body = hook_request([], **({"fhirServer": fhirServer} if fhirServer else {}))
    body["prefetch"] = {"conditions": bundle([]), "observations": bundle([]), "procedures": bundle([]),
                        "serviceRequests": bundle([]), "ulcerConditions": None, "questionnaireResponses": None, **THERAPY_KEYS_NULL, **keys}
    for name, value in keys.items():
        if value is ...:
            del body["prefetch"][name]
    return body


def test_rule_each_keys_state_is_recorded_present_null_or_skipped(engine):
    """A single resource (not a Bundle) is present; null is the client's 'no data'; an absent or failed
    optional key is skipped. The states reach the request log through Stats.keys."""
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
    body = _body(conditions=condition(SCT, "63491006"), observations=None, procedures=..., serviceRequests=outcome)
    result = engine.evaluate(body, now=NOW)
    assert result.stats.keys == {"conditions": "present", "observations": "null", "procedures": "absent-skipped",
                                 "serviceRequests": "failed-skipped", "questionnaireResponses": "null",
                                 **{k: "null" for k in THERAPY_KEYS_NULL}}  # the retired ulcerConditions is ignored
    assert [c["source"]["topic"]["code"] for c in result.response["cards"]] == ["arterial-claudication"]


@pytest.mark.parametrize("value", [{"entry": []}, {"resourceType": 5}])  # non-objects stop at the schema
def test_rule_a_prefetch_key_that_is_not_fhir_is_a_400_naming_the_key(client, value):
    response = client.post(URL, json=_body(conditions=value))
    assert response.status_code == 400
    issue = response.get_json()["issue"][0]
    assert issue["expression"] == ["prefetch.conditions"]
    assert "prefetch.conditions must be a FHIR resource, a Bundle or null" in issue["diagnostics"]


def test_rule_a_bundle_whose_entry_is_not_a_list_is_a_400_naming_it(client):
    response = client.post(URL, json=_body(observations={"resourceType": "Bundle", "entry": {"resource": {}}}))
    assert response.status_code == 400
    assert response.get_json()["issue"][0]["expression"] == ["prefetch.observations.entry"]


def test_rule_an_outcome_with_only_warnings_sent_as_a_key_still_fails_it(client):
    """The client sent an OperationOutcome instead of data: the key failed whatever the severities say."""
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "informational"}]}
    response = client.post(URL, json=_body(conditions=outcome))
    assert response.status_code == 412
    assert response.get_json()["issue"][0]["diagnostics"] == "prefetch key 'conditions' could not be had: OperationOutcome"


def test_rule_bundle_entry_not_a_list_message_names_the_problem(client):
    response = client.post(URL, json=_body(observations={"resourceType": "Bundle", "entry": "x"}))
    assert response.get_json()["issue"][0]["diagnostics"] == "prefetch.observations.entry must be a list"


def test_rule_a_bundle_entry_that_is_not_an_object_is_counted_malformed_not_a_500(engine):
    body = _body(conditions={"resourceType": "Bundle", "type": "searchset",
                             "entry": ["garbage", 5, {"resource": condition(SCT, "63491006")}]})
    result = engine.evaluate(body, now=NOW)
    assert result.stats.malformed == 2
    assert [c["source"]["topic"]["code"] for c in result.response["cards"]] == ["arterial-claudication"]


@responses.activate
def test_rule_only_a_next_link_is_followed_not_self_or_previous(client):
    server = "https://fhir.example.org/r4"
    page = bundle([])
    page["link"] = [{"relation": "self", "url": f"{server}/Condition?page=1"},
                    {"relation": "previous", "url": f"{server}/Condition?page=0"}, "not a link"]
    responses.get(f"{server}/Condition", json=bundle([condition(SCT, "63491006")]))
    response = client.post(URL, json=_body(conditions=page, fhirServer=server))
    assert response.status_code == 200 and response.get_json()["cards"] == []
    assert len(responses.calls) == 0


def test_rule_prefetch_templates_search_each_resource_type_for_its_own_codes(client):
    """Conditions are read by patient without a code list (issue 17: URLs stay under 2,000 characters);
    Observations are searched with Observation codes (ABI), not with Condition-only codes (DVT)."""
    services = client.get("/cds-services").get_json()["services"]
    (service,) = [s for s in services if s["hook"] == "patient-view"]
    conditions, observations = service["prefetch"]["conditions"], service["prefetch"]["observations"]
    assert conditions == "Condition?patient={{context.patientId}}&_count=200"
    assert "77194-9" in observations and "I82.401" not in observations  # DVT: read from Conditions only
    for key, rtype in {"conditions": "Condition", "observations": "Observation", "procedures": "Procedure",
                       "serviceRequests": "ServiceRequest", "questionnaireResponses": "QuestionnaireResponse"}.items():
        assert service["prefetch"][key].startswith(f"{rtype}?patient={{{{context.patientId}}}}&"), key
