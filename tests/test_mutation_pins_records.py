"""Issue 24: reading prefetched resources (records) pinned, one rule per test: which coding is read,
what counts as broken (and says where), whose resource it is, and what the intake counts."""
from __future__ import annotations

import pytest

from cds_service import records
from cds_service.records import Malformed, match, select
from builders import ICD, LNC, PATIENT, SCT, condition, observation

CLAUDICATION = {"system": SCT, "code": "63491006"}
ABI = {"system": LNC, "code": "77194-9"}


@pytest.mark.parametrize("resource,message", [
    ({"resourceType": "Condition", "code": []}, "CodeableConcept is not an object"),
    ({"resourceType": "Condition", "code": {"coding": {"system": SCT}}}, "coding is not a list"),
    ({"resourceType": "Condition", "code": {"coding": ["63491006"]}}, "coding entry is not an object"),
    ({"resourceType": "Observation", "code": {"coding": []}, "component": {"code": {}}}, "component is not a list"),
    ({"resourceType": "Observation", "code": {"coding": []}, "component": [7]}, "component entry is not an object"),
    ({"resourceType": "Observation", "code": {"coding": []}, "valueCodeableConcept": "x"}, "CodeableConcept is not an object"),
])
def test_rule_a_broken_coding_structure_is_malformed_saying_which_part(knowledge, resource, message):
    with pytest.raises(Malformed) as broken:
        match(resource, knowledge.terminology)
    assert str(broken.value) == message


def test_rule_the_first_known_coding_is_read_and_odd_codings_are_passed_over(knowledge):
    resource = {"resourceType": "Condition", "code": {"coding": [
        {"system": SCT, "code": 63491006}, {"system": None, "code": "63491006"}, {"code": "63491006"},
        {"system": SCT, "code": "444814009"}, CLAUDICATION, {"system": SCT, "code": "399957001"}]}}
    concept, via = match(resource, knowledge.terminology)
    assert (concept.sign, via) == ("intermittent-claudication", "code")
    assert match({"resourceType": "Condition", "code": {"text": "no coding"}}, knowledge.terminology) is None


def test_rule_components_and_values_are_read_for_observations_only_after_the_code(knowledge):
    component = [{"code": {"coding": [{"system": LNC, "code": "8302-2"}]}}, {"code": {"coding": [ABI]}}]
    assert match({"resourceType": "Observation", "code": {"coding": []}, "component": component},
                 knowledge.terminology)[1] == "component"
    assert match({"resourceType": "Condition", "code": {"coding": []}, "component": component}, knowledge.terminology) is None
    both = {"resourceType": "Observation", "code": {"coding": [CLAUDICATION]}, "component": component}
    assert match(both, knowledge.terminology)[1] == "code"
    value = {"resourceType": "Observation", "code": {"coding": []}, "component": [{"code": {"coding": []}}],
             "valueCodeableConcept": {"coding": [CLAUDICATION]}}
    assert match(value, knowledge.terminology)[1] == "value"
    assert match({"resourceType": "Condition", "valueCodeableConcept": {"coding": [CLAUDICATION]}},
                 knowledge.terminology) is None


def _claudication(**kw) -> dict:
    return condition(SCT, "63491006", **kw)


@pytest.mark.parametrize("subject,counted", [
    ({"reference": f"Patient/{PATIENT}"}, "records"), ({"reference": f"urn:uuid:{PATIENT}"}, "records"),
    ({"reference": f"https://ehr.example.org/fhir/Patient/{PATIENT}"}, "records"),
    ({"display": "no reference"}, "records"),
    ({"reference": "Patient/other"}, "other_patient"), ({"reference": f"Group/{PATIENT}"}, "other_patient"),
    ({"reference": f"https://ehr.example.org/fhir/Group/{PATIENT}"}, "other_patient"),
    ("Patient/pat-1", "malformed"), ({"reference": 7}, "malformed"),
])
def test_rule_a_resource_is_the_patients_only_by_a_reference_to_that_patient(knowledge, subject, counted):
    resource = _claudication()
    resource["subject"] = subject
    intake = select([resource], knowledge.terminology, PATIENT)
    assert {"records": len(intake.records), "other_patient": intake.other_patient, "malformed": intake.malformed} == {
        k: int(k == counted) for k in ("records", "other_patient", "malformed")}


def test_rule_a_patient_element_names_the_patient_when_there_is_no_subject(knowledge):
    resource = _claudication()
    del resource["subject"]
    resource["patient"] = {"reference": "Patient/other"}
    assert select([resource], knowledge.terminology, PATIENT).other_patient == 1
    resource["subject"] = None  # a subject element present decides, even empty
    intake = select([resource], knowledge.terminology, PATIENT)
    assert intake.other_patient == 0


def test_rule_the_intake_counts_each_resource_once_in_one_place(knowledge):
    dup = _claudication(rid="c1")
    same_id_other_type = observation(SCT, "63491006", rid="c1")
    no_id = _claudication()
    del no_id["id"]
    resources = [dup, dict(dup), same_id_other_type, no_id, dict(no_id), {"resourceType": "Patient"}, None,
                 condition(SCT, "444814009"), _claudication(patient="other")]
    intake = select(resources, knowledge.terminology, PATIENT)
    assert (intake.seen, len(intake.records), intake.duplicates, intake.irrelevant, intake.malformed,
            intake.other_patient) == (9, 4, 1, 2, 1, 1)
    assert [r.resource_type for r in intake.records] == ["Condition", "Observation", "Condition", "Condition"]


def test_rule_a_duplicate_of_a_resource_dropped_as_malformed_is_malformed_too(knowledge):
    broken = _claudication(rid="c9")
    broken["onsetDateTime"] = "soon"
    intake = select([broken, dict(broken)], knowledge.terminology, PATIENT)
    assert (intake.malformed, intake.duplicates) == (1, 1)


@pytest.mark.parametrize("code,gap", [
    ({"coding": [{"system": ICD, "code": "I87.1"}]}, True),
    ({"coding": [{"system": ICD, "code": "J45.909"}, {"system": ICD, "code": "I87.1"}]}, True),
    ({"coding": ["I87.1", {"system": ICD}, {"system": ICD, "code": 871}]}, False),
    ({"coding": {"system": ICD, "code": "I87.1"}}, False), ("I87.1", False), ({"text": "I87.1"}, False),
])
def test_rule_a_coding_gap_is_counted_from_any_wellformed_coding_and_never_breaks_the_read(knowledge, code, gap):
    resource = {"resourceType": "Condition", "id": "g1", "code": code, "subject": {"reference": f"Patient/{PATIENT}"}}
    intake = select([resource], knowledge.terminology, PATIENT, knowledge.gaps)
    assert intake.unknown_codes == int(gap)
    assert intake.records == []


def test_rule_only_conditions_are_counted_as_coding_gaps(knowledge):
    obs = observation(ICD, "I87.1")
    assert select([obs], knowledge.terminology, PATIENT, knowledge.gaps).unknown_codes == 0
    assert records._gap({"code": {"coding": [{"system": ICD, "code": "I87.1"}]}}, knowledge.gaps)


# -- records.Probe: the typed pass's reading of a resource (issue 23) ---------------------------------------
# prefetch.decode leaves each Condition, Observation, Procedure and ServiceRequest as a Probe holding only its
# codings; select must keep, drop and count exactly as it does for the whole resource.

def _probed(resources: list) -> list:
    """The resources as prefetch.decode's typed pass leaves them (one Bundle, so one split of the bytes)."""
    import orjson

    from builders import bundle, hook_request
    from cds_service import prefetch
    decoded = prefetch.decode(orjson.dumps(hook_request(prefetch={"conditions": bundle(resources)})))
    probes = decoded["prefetch"]["conditions"].resources
    assert [type(p) for p in probes] == [records.Probe] * len(resources)  # the typed pass answered
    return probes


UNKNOWN_OBS = {"system": LNC, "code": "8302-2"}
ABSENT_PULSE = {"system": SCT, "code": "163121008"}
PROBE_CORPUS = {
    "condition-known-code": condition(SCT, "63491006"),
    "observation-known-component": observation(LNC, "8302-2", component=[{"code": {"coding": [UNKNOWN_OBS]}},
                                                                          {"code": {"coding": [ABI]}}]),
    "observation-unknown-components-only": observation(LNC, "8302-2", component=[{"code": {"coding": [UNKNOWN_OBS]}}]),
    "observation-known-value": observation(SCT, "29545-1", value={"valueCodeableConcept": {"coding": [ABSENT_PULSE]}}),
    "observation-unknown-component-known-value": observation(LNC, "8302-2", component=[{"code": {"coding": [UNKNOWN_OBS]}}],
                                                             value={"valueCodeableConcept": {"coding": [ABSENT_PULSE]}}),
    "condition-with-a-known-value-and-component": {**condition(ICD, "R52"), "valueCodeableConcept": {"coding": [ABSENT_PULSE]},
                                                   "component": [{"code": {"coding": [ABI]}}]},
    "known-code-without-system": {**condition(SCT, "x"), "code": {"coding": [{"code": "63491006"}]}},
    "known-system-without-code": {**condition(SCT, "x"), "code": {"coding": [{"system": SCT}]}},
    "condition-in-a-gap": condition(ICD, "I87.1"),
    "observation-in-a-gap": observation(ICD, "I87.1"),
    "gap-code-without-system": {**condition(ICD, "x"), "code": {"coding": [{"code": "I87.1"}]}},
    "gap-system-without-code": {**condition(ICD, "x"), "code": {"coding": [{"system": ICD}]}},
    "condition-without-code": {k: v for k, v in condition(SCT, "63491006").items() if k != "code"},
    "condition-coded-as-text-only": {**condition(SCT, "x"), "code": {"text": "claudication"}},
}


def _intake(resources: list, knowledge) -> tuple:
    intake = select(resources, knowledge.terminology, PATIENT, knowledge.gaps)
    return ([(r.concept.sign, r.via) for r in intake.records], intake.seen, intake.irrelevant, intake.malformed,
            intake.unknown_codes)


@pytest.mark.parametrize("name", sorted(PROBE_CORPUS))
def test_rule_a_probe_is_kept_dropped_and_counted_as_its_whole_resource(knowledge, name):
    """A coding is read from code, then (Observation only) component codes, then valueCodeableConcept; a
    coding needs both system and code; a coding gap is counted for a Condition only."""
    resource = PROBE_CORPUS[name]
    assert _intake(_probed([resource]), knowledge) == _intake([resource], knowledge)


def test_rule_probes_keep_the_intake_counts_of_the_whole_resources(knowledge):
    """The corpus at once: four kept (code, component, value, value), the rest irrelevant, one coding gap."""
    resources = list(PROBE_CORPUS.values())
    kept, seen, irrelevant, malformed, gaps = _intake(_probed(resources), knowledge)
    assert (kept, seen, irrelevant, malformed, gaps) == _intake(resources, knowledge)
    assert [via for _, via in kept] == ["code", "component", "value", "value"]
    assert (seen, irrelevant, malformed, gaps) == (len(resources), len(resources) - 4, 0, 1)
    assert select(_probed(resources), knowledge.terminology, PATIENT).unknown_codes == 0  # counting is opt-in


@pytest.mark.parametrize("code,expected", [
    ({"coding": [{"system": LNC, "code": "72166-2"}]}, True),
    ({"coding": [UNKNOWN_OBS, {"system": LNC, "code": "72166-2"}]}, True),
    ({"coding": [{"system": SCT, "code": "72166-2"}]}, False),
    ({"coding": [{"system": LNC, "code": "72167-0"}]}, False),
    ({"text": "smoking status"}, False),
    (None, False),
])
def test_rule_a_probe_has_a_coding_only_with_the_same_system_and_code(code, expected):
    resource = {"resourceType": "Observation", "status": "final", "subject": {"reference": f"Patient/{PATIENT}"}}
    if code is not None:
        resource["code"] = code
    (probe,) = _probed([resource])
    assert probe.has_coding(LNC, "72166-2") is expected


def test_rule_bytes_orjson_refuses_in_a_resource_read_whole_are_the_invalid_json_400():
    """A probe's or an unread entry's bytes are met by orjson when a value set knows the code: a number
    beyond a double's range there is the body's 400, worded as for the whole body."""
    import orjson

    from builders import hook_request
    from cds_service import prefetch
    from cds_service.errors import INVALID_JSON, BadRequest
    raw = orjson.dumps(hook_request([{**condition(SCT, "63491006"), "onsetDateTime": "PLACEHOLDER"}]))
    raw = raw.replace(b'"PLACEHOLDER"', b"1e999")
    (probe,) = prefetch.decode(raw)["prefetch"]["conditions"].resources
    (entry,) = prefetch._decode_entries(raw)["prefetch"]["conditions"]["entry"]
    for resource in (probe, entry["resource"]):
        with pytest.raises(BadRequest) as refused:
            resource.whole()
        assert str(refused.value) == INVALID_JSON, type(resource)


@pytest.mark.parametrize("resource", [
    condition(ICD, "R52"),  # not an Observation: code only
    observation(LNC, "8302-2", component=[{"code": {"coding": [UNKNOWN_OBS]}}]),  # no component known
], ids=["condition", "observation-with-components"])
def test_rule_a_probe_no_value_set_knows_is_never_read_whole(knowledge, resource):
    """The pre-filter on a probe is exact, not merely generous: a resource it passes is decoded whole, so a
    number beyond a double's range in a resource nobody reads would become the body's 400. It is skipped."""
    import orjson

    from builders import bundle, hook_request
    from cds_service import prefetch
    raw = orjson.dumps(hook_request(prefetch={"conditions": bundle([{**resource, "note": "PLACEHOLDER"}])}))
    probes = prefetch.decode(raw.replace(b'"PLACEHOLDER"', b"1e999"))["prefetch"]["conditions"].resources
    assert _intake(probes, knowledge) == ([], 1, 1, 0, 0)


def test_rule_each_probed_condition_in_a_coding_gap_is_counted(knowledge):
    """Two Conditions in coding gaps are two unknown codes (the count adds up, it does not flag)."""
    assert _intake(_probed([condition(ICD, "I87.1"), condition(ICD, "I87.1", rid="c-2")]), knowledge)[4] == 2
