"""Issue 24: the prefetch protocol (prefetch) pinned at its own level, one rule per test: the searches
the service asks an EHR for, how context tokens are filled, and what each key's value means.

(tests/test_mutation_pins_prefetch.py pins the same module through the HTTP API.)
"""
from __future__ import annotations

import dataclasses
import re

import pytest

from cds_service import prefetch
from cds_service.errors import BadRequest
from cds_service.prefetch import KeyResult, PrefetchKey, classify, fill, search_url
from cds_service.rules import ExtraPrefetchKey

PATIENT_TOKEN = "{{context.patientId}}"


def _codes_of(query: str) -> list[str]:
    (codes,) = re.findall(r"[?&]code=([^&]+)", query)
    return codes.split(",")


def _sign_codes(knowledge, signs) -> set[str]:
    return {c.code for c in knowledge.terminology.codes_for(frozenset(signs))}


def _read_from(knowledge, rtype: str) -> set[str]:
    return {s.id for s in knowledge.rules.signs.values() if rtype in s.read_from}


# ---------------------------------------------------------------- the searches asked for
def test_rule_the_prefetch_keys_their_order_and_which_are_required(knowledge):
    keys = prefetch.keys(knowledge)
    assert [k.key for k in keys] == ["conditions", "observations", "procedures", "serviceRequests", "questionnaireResponses",
                                     "medicationRequests", "medicationStatements", "smokingStatus", "patient"]
    assert {k.key for k in keys if k.required} == {"conditions", "observations"}
    assert [k.key for k in keys if k.by_id] == ["patient"]
    assert prefetch.templates(keys) == {k.key: k.query for k in keys}


def test_rule_each_search_is_by_patient_with_its_filters_sort_and_page_size(knowledge):
    q = prefetch.templates(prefetch.keys(knowledge))
    by_patient = f"?patient={PATIENT_TOKEN}&"
    assert q["conditions"] == f"Condition{by_patient}_count=200"
    assert re.fullmatch(rf"Observation\?patient={re.escape(PATIENT_TOKEN)}&code=[^&]+&_sort=-date&_count=200", q["observations"])
    assert re.fullmatch(rf"Procedure\?patient={re.escape(PATIENT_TOKEN)}&code=[^&]+&_sort=-date&_count=50", q["procedures"])
    assert re.fullmatch(rf"ServiceRequest\?patient={re.escape(PATIENT_TOKEN)}&status=draft,active,on-hold&code=[^&]+&_count=50",
                        q["serviceRequests"])
    assert q["questionnaireResponses"] == (f"QuestionnaireResponse{by_patient}questionnaire={knowledge.questions.canonical}"
                                           "&status=completed,amended&_sort=-authored&_count=20")
    assert q["medicationRequests"] == f"MedicationRequest{by_patient}status=active&_count=200"
    assert q["medicationStatements"] == f"MedicationStatement{by_patient}status=active&_count=200"
    assert q["smokingStatus"] == f"Observation{by_patient}code=http://loinc.org|{knowledge.therapy.smoking.loinc}&_sort=-date&_count=10"
    assert q["patient"] == f"Patient?_id={PATIENT_TOKEN}"


@pytest.mark.parametrize("key,rtype", [("observations", "Observation"), ("procedures", "Procedure"),
                                       ("serviceRequests", "ServiceRequest")])
def test_rule_a_code_filtered_search_lists_every_code_of_the_signs_read_from_it_sorted_once(knowledge, key, rtype):
    codes = _codes_of(prefetch.templates(prefetch.keys(knowledge))[key])
    assert codes == sorted(set(codes))
    assert set(codes) == _sign_codes(knowledge, _read_from(knowledge, rtype))


def test_rule_signs_with_an_extra_key_of_their_own_leave_the_base_search(knowledge):
    signs = tuple(sorted(_read_from(knowledge, "Observation")))[:2]
    extra = ExtraPrefetchKey(key="moreObservations", resource_type="Observation", signs=signs, reason="test")
    changed = dataclasses.replace(knowledge, rules=dataclasses.replace(knowledge.rules, prefetch_keys={extra.key: extra}))
    keys = {k.key: k for k in prefetch.keys(changed)}
    assert list(keys)[4] == "moreObservations"  # after the base keys, before the answers and the therapy keys
    assert keys["moreObservations"] == PrefetchKey(
        "moreObservations", "Observation", f"code={','.join(sorted(_sign_codes(knowledge, signs)))}&_count=200", False)
    rest = _read_from(knowledge, "Observation") - set(signs)
    assert set(_codes_of(keys["observations"].query)) == _sign_codes(knowledge, rest)
    assert keys["procedures"] == next(k for k in prefetch.keys(knowledge) if k.key == "procedures")  # other types untouched


def test_rule_without_questions_or_therapy_knowledge_their_keys_are_not_asked_for(knowledge):
    bare = dataclasses.replace(knowledge, questions=None, therapy=None)
    assert [k.key for k in prefetch.keys(bare)] == ["conditions", "observations", "procedures", "serviceRequests"]


# ---------------------------------------------------------------- filling a template
def test_rule_context_tokens_are_filled_url_encoded_keeping_slashes():
    template = "X?patient={{context.patientId}}&u={{context.userId}}&e={{context.encounterId}}&p={{context.patientId}}"
    assert fill(template, {"patientId": "a b&c", "userId": "Practitioner/1", "encounterId": "e?1"}) == \
        "X?patient=a%20b%26c&u=Practitioner/1&e=e%3F1&p=a%20b%26c"
    assert fill("X?patient={{context.patientId}}", {"patientId": 42}) == "X?patient=42"


@pytest.mark.parametrize("name", ["patientId", "userId", "encounterId"])
def test_rule_a_template_needing_a_context_value_the_request_lacks_is_a_400_naming_it(name):
    context = {"patientId": "p", "userId": "u", "encounterId": "e"}
    context[name] = None
    with pytest.raises(BadRequest) as refused:
        fill("X?a={{context.%s}}" % name, context)
    assert refused.value.message == f"prefetch template needs context.{name}"
    assert fill("X?a=1", {}) == "X?a=1"  # a token not used needs no value


@pytest.mark.parametrize("base", ["https://fhir.example.org/r4", "https://fhir.example.org/r4/"])
def test_rule_the_fallback_search_is_under_the_servers_base(base):
    key = PrefetchKey("conditions", "Condition", "_count=200", True)
    assert search_url(base, key, {"patientId": "p 1"}) == "https://fhir.example.org/r4/Condition?patient=p%201&_count=200"


# ---------------------------------------------------------------- what a key's value means
def test_rule_absent_and_null_are_told_apart():
    assert classify("k", {"resourceType": "Bundle"}, provided=False) == KeyResult("absent")
    assert classify("k", None, provided=True) == KeyResult("null")


@pytest.mark.parametrize("value", [[], "Bundle", {"entry": []}, {"resourceType": 7}])
def test_rule_a_value_that_is_not_fhir_is_a_400_naming_the_key(value):
    with pytest.raises(BadRequest) as refused:
        classify("observations", value, provided=True)
    assert refused.value.message == "prefetch.observations must be a FHIR resource, a Bundle or null"
    assert refused.value.expression == "prefetch.observations"


def test_rule_a_bundle_entry_that_is_not_a_list_is_a_400_at_the_entry():
    with pytest.raises(BadRequest) as refused:
        classify("observations", {"resourceType": "Bundle", "entry": {"resource": {}}}, provided=True)
    assert (refused.value.message, refused.value.expression) == ("prefetch.observations.entry must be a list",
                                                                 "prefetch.observations.entry")


@pytest.mark.parametrize("outcome,reason", [
    ({"resourceType": "OperationOutcome", "issue": [{"severity": "fatal", "code": "exception"}]}, "OperationOutcome (exception)"),
    ({"resourceType": "OperationOutcome", "issue": [{"severity": "warning"}, {"severity": "error"}]}, "OperationOutcome (error)"),
    ({"resourceType": "OperationOutcome", "issue": "broken"}, "OperationOutcome"),
    ({"resourceType": "OperationOutcome", "issue": [{"severity": "information"}, "x"]}, "OperationOutcome"),
])
def test_rule_an_operation_outcome_sent_as_the_key_fails_it_saying_why(outcome, reason):
    assert classify("k", outcome, provided=True) == KeyResult("failed", reason=reason)


def test_rule_a_single_resource_is_present_as_itself():
    patient = {"resourceType": "Patient", "id": "p"}
    assert classify("patient", patient, provided=True) == KeyResult("present", resources=[patient])


def test_rule_a_bundles_entries_are_read_warnings_skipped_and_an_error_outcome_fails_the_key():
    a, b = {"resourceType": "Condition", "id": "a"}, {"resourceType": "Condition", "id": "b"}
    warning = {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "too-costly"}]}
    bundle = {"resourceType": "Bundle", "entry": [{"resource": a}, {"resource": warning}, {"fullUrl": "x"}, "junk",
                                                  {"resource": b}]}
    assert classify("k", bundle, provided=True) == KeyResult("present", resources=[a, None, None, b])
    assert classify("k", {"resourceType": "Bundle", "entry": None}, provided=True) == KeyResult("present")
    error = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "too-costly"}]}
    bundle["entry"].insert(1, {"resource": error})
    assert classify("k", bundle, provided=True) == KeyResult("failed", reason="OperationOutcome (too-costly)")


@pytest.mark.parametrize("links,next_url", [
    ([{"relation": "self", "url": "s"}, {"relation": "next", "url": "n1"}], "n1"),
    ([{"relation": "next", "url": "n1"}, {"relation": "next", "url": "n2"}], "n2"),
    ([{"relation": "next", "url": 5}, "next", {"relation": "previous", "url": "p"}], None),
    ({"relation": "next", "url": "n"}, None),
])
def test_rule_only_a_well_formed_next_link_is_kept(links, next_url):
    assert classify("k", {"resourceType": "Bundle", "link": links}, provided=True).next_url == next_url


def test_rule_only_the_evidence_keys_are_required_and_every_flag_is_a_boolean(knowledge):
    """Discovery tells the EHR which keys it must send; a refusal of an optional key removes only what needs it."""
    keys = prefetch.keys(knowledge)
    assert all(type(k.required) is bool for k in keys)
    assert [k.key for k in keys if k.required] == ["conditions", "observations"]
    (patient,) = [k for k in keys if k.by_id]
    assert (patient.key, patient.resource_type, patient.params) == ("patient", "Patient", "")


def test_rule_a_context_value_is_url_encoded_keeping_its_slashes():
    assert fill("Practitioner?_id={{context.userId}}&p={{context.patientId}}",
                {"userId": "Practitioner/dr 1", "patientId": "p-1"}) == "Practitioner?_id=Practitioner/dr%201&p=p-1"


@pytest.mark.parametrize("server", ["https://ehr.example.org/fhirX", "https://ehr.example.org/fhirX/",
                                    "https://ehr.example.org/fhirX//"])
def test_rule_a_fallback_search_sits_under_the_server_base_with_one_slash(server):
    key = PrefetchKey("conditions", "Condition", "_count=200", True)
    assert search_url(server, key, {"patientId": "p-1"}) == "https://ehr.example.org/fhirX/Condition?patient=p-1&_count=200"


def test_rule_a_body_that_is_not_utf8_is_a_json_error_the_caller_words_as_400():
    import orjson
    with pytest.raises(orjson.JSONDecodeError):
        prefetch.decode(b'{"hook": "patient-view", "x": "\xff"}')
