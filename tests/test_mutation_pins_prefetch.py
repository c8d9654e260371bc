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


# -- The typed pass (prefetch.decode) and its entry-by-entry fallback, classified (issue 23) -----------------
# Each rule holds on both paths: the typed pass answers any body whose fields have the declared types; a body
# with one field of another type (here a resource whose code is a string) takes the entry-by-entry path.

NEXT = "https://fhir.example.org/Condition?patient=p&page=2"
REFUSED_BY_THE_TYPED_PASS = {"resourceType": "Condition", "code": "not a CodeableConcept"}


def _decoded(value, *, typed: bool) -> object:
    """One prefetch key as the engine receives it, from the typed pass or from the entry-by-entry path."""
    import orjson

    from cds_service import prefetch
    prefetch_value = value if typed or value is None else {**value, "entry": [*(value.get("entry") or []),
                                                                            {"resource": REFUSED_BY_THE_TYPED_PASS}]}
    raw = orjson.dumps(hook_request(prefetch={"conditions": prefetch_value}))
    decoded = prefetch.decode(raw)["prefetch"]["conditions"]
    assert (type(decoded) is prefetch.Searchset) is (typed and value is not None and "entry" in value)
    return decoded


@pytest.mark.parametrize("typed", [True, False], ids=["typed-pass", "entry-by-entry"])
@pytest.mark.parametrize("links,expected", [
    ([{"relation": "next", "url": NEXT}], NEXT),
    ([{"relation": "self", "url": "https://fhir.example.org/self"}, {"relation": "next", "url": NEXT}], NEXT),
    ([{"relation": "self", "url": NEXT}], None),
    ([{"relation": "next", "url": 7}], None),
    ([{"url": NEXT}], None),
    (["next"], None),
    ({"relation": "next", "url": NEXT}, None),
    (None, None),
])
def test_rule_the_next_page_is_the_bundle_link_whose_relation_is_next(typed, links, expected):
    """Paging (issue 9): only a link object with relation 'next' and a string url is followed; no such link,
    no next page (None, never an empty string)."""
    from cds_service import prefetch
    value = {**bundle([condition(SCT, "63491006")]), **({"link": links} if links is not None else {})}
    result = prefetch.classify("conditions", _decoded(value, typed=typed), True)
    assert result.state == "present" and result.next_url == expected
    if typed and links is None:
        assert "link" not in _decoded(value, typed=True)


@pytest.mark.parametrize("typed", [True, False], ids=["typed-pass", "entry-by-entry"])
def test_rule_an_error_outcome_among_entries_fails_the_key_on_either_path(typed):
    """A Bundle holding an error OperationOutcome is a failed key (refetched, or the request is a 412);
    a warning OperationOutcome is dropped and the key is present."""
    from cds_service import prefetch
    error = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "forbidden"}]}
    warning = {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "informational"}]}
    failed = prefetch.classify("conditions", _decoded(bundle([condition(SCT, "63491006"), error]), typed=typed), True)
    assert (failed.state, failed.reason) == ("failed", "OperationOutcome (forbidden)")
    present = prefetch.classify("conditions", _decoded(bundle([warning, condition(SCT, "63491006")]), typed=typed), True)
    assert present.state == "present" and len(present.resources) == 1 + (not typed)


@pytest.mark.parametrize("body,expected", [
    (b'{"hook":"patient-view","prefetch":null,"context":{"patientId":5}}', {"hook": "patient-view", "prefetch": None}),
    (b'{"hook":"patient-view","context":{"patientId":5}}', {"hook": "patient-view"}),
])
def test_rule_the_entry_by_entry_path_keeps_a_null_or_absent_prefetch(body, expected):
    """The envelope's prefetch, null or absent, is kept as sent on the fallback path (a null prefetch and
    a missing one are different refusals later)."""
    from cds_service import prefetch
    decoded = prefetch._decode_entries(body)
    assert {k: decoded[k] for k in ("hook", "prefetch") if k in decoded} == expected


def test_rule_the_utf8_check_reads_the_first_byte_too():
    """A body whose very first byte is not UTF-8 is refused like any other (orjson's 400)."""
    from cds_service import prefetch
    assert prefetch._utf8(b"\xff" + b"{}" * 10) is False
    assert prefetch._utf8("é".encode()[1:] + b"{}") is False
    assert prefetch._utf8("é{}".encode()) is True
