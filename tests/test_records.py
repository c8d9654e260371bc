"""The pre-filter and model building: irrelevant dropped cheaply, malformed skipped and counted."""
from __future__ import annotations

import pytest

from cds_service import records
from builders import LNC, PATIENT, SCT, condition, observation


def test_irrelevant_resources_build_no_model(knowledge):
    resources = [condition(SCT, "444814009"), observation(LNC, "8302-2"), {"resourceType": "Patient", "id": "x"}]
    intake = records.select(resources, knowledge.terminology, PATIENT)
    assert intake.records == [] and intake.irrelevant == 3 and intake.malformed == 0


def test_relevant_resource_becomes_a_model(knowledge):
    intake = records.select([condition(SCT, "63491006")], knowledge.terminology, PATIENT)
    (record,) = intake.records
    assert record.concept.sign == "intermittent-claudication" and record.model.__class__.__name__ == "Condition"


def test_malformed_resources_are_counted(knowledge):
    bad_date = condition(SCT, "63491006")
    bad_date["onsetDateTime"] = "soon"
    resources = [bad_date, {"resourceType": "Condition", "code": []}, "not an object", 7,
                 {"resourceType": "Observation", "code": {"coding": "x"}},
                 {"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": SCT, "code": "63491006"}]},
                  "subject": "Patient/pat-1"}]
    intake = records.select(resources, knowledge.terminology, PATIENT)
    assert intake.records == [] and intake.malformed == 6


def test_other_patients_and_duplicates_are_dropped(knowledge):
    same = condition(SCT, "63491006", rid="c1")
    resources = [same, dict(same), condition(SCT, "63491006", patient="other")]
    intake = records.select(resources, knowledge.terminology, PATIENT)
    assert len(intake.records) == 1 and intake.duplicates == 1 and intake.other_patient == 1


def test_finding_coded_as_observation_value_is_matched(knowledge):
    obs = observation(SCT, "29545-1", value={"valueCodeableConcept": {"coding": [{"system": SCT, "code": "163121008"}]}})
    (record,) = records.select([obs], knowledge.terminology, PATIENT).records
    assert record.via == "value" and record.concept.sign == "absent-pedal-pulse"


def test_abi_in_a_component_is_matched(knowledge):
    obs = observation(LNC, "00000-0", component=[{"code": {"coding": [{"system": LNC, "code": "77194-9"}], "text": "Left ABI"},
                                                  "valueQuantity": {"value": 0.8}}])
    (record,) = records.select([obs], knowledge.terminology, PATIENT).records
    assert record.via == "component"


def test_conditions_in_leg_blocks_that_no_value_set_knows_are_counted(knowledge):
    from builders import ICD, SCT, condition, observation
    from cds_service import records
    resources = [condition(ICD, "I87.1"), condition(ICD, "S86.121A"), condition(ICD, "M54.12"),
                 condition(SCT, "37796009"), observation(ICD, "I87.1"), condition(ICD, "I82.401")]
    intake = records.select(resources, knowledge.terminology, "pat-1", knowledge.gaps)
    assert intake.unknown_codes == 1  # I87.1; lacerations and cervical radiculopathy are excluded by name
    assert records.select(resources, knowledge.terminology, "pat-1").unknown_codes == 0  # counting is opt-in


# -- The field reader against the fhir.resources models it replaced (issue 23) ------------------------
# For every mix of good and broken values in the fields findings read, the reader accepts exactly the
# resources the R4B model accepts, and findings read from either give the same findings. The pools
# hold what a FHIR server or a client gets wrong; pydantic's own quirks (a number taken as a dateTime,
# counted from 1970) are left out on purpose: the reader calls them malformed.

from datetime import datetime, timezone  # noqa: E402

from fhir.resources.R4B.condition import Condition  # noqa: E402
from fhir.resources.R4B.observation import Observation  # noqa: E402
from fhir.resources.R4B.procedure import Procedure  # noqa: E402
from fhir.resources.R4B.servicerequest import ServiceRequest  # noqa: E402
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from builders import abi, procedure, service_request  # noqa: E402
from cds_service import findings  # noqa: E402

R4B = {"Condition": Condition, "Observation": Observation, "Procedure": Procedure, "ServiceRequest": ServiceRequest}
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
DROP = object()  # the field is removed
DATES = ["2026-03-01", "2026-03", "2025", "2026-03-01T10:00:00Z", "2026-02-20T10:00:00.5+02:00", "2026-03-01T10:00:00.1234567Z",
         "soon", "2026-13-01", "2026-03-01T10:00:00", "", " 2026", "2026-03-01T10:00Z", None, DROP]
INSTANTS = ["2026-03-01T10:00:00Z", "2026-03-01", "x", None, DROP]
CODES = ["final", "preliminary", "amended", "cancelled", "active", "completed", "draft", "order", "not-done", "", " final",
         "a  b", "two words", 5, None, DROP]
CONCEPT = [{"coding": [{"system": CLINICAL, "code": "active"}]}, {"coding": [{"system": CLINICAL, "code": "resolved"}]},
           {"coding": [{"system": SCT, "code": "7771000", "display": "Left"}], "text": "left leg"}, {"coding": "x"},
           {"coding": [{"code": ""}]}, {"coding": [None]}, {"coding": [{"system": SCT, "code": 5}]}, {"text": 5}, {"text": ""},
           {"coding": [{"system": SCT, "code": "2667000", "display": 7}]}, {"coding": [{"system": SCT, "code": "2667000"}]},
           "active", {}, None, DROP]
CONCEPTS = [[c] for c in CONCEPT[:3]] + [CONCEPT[0], [], [None], [CONCEPT[3]], None, DROP]
QUANTITY = [{"value": 0.7}, {"value": "0.7"}, {"value": 0.45, "code": "{ratio}"}, {"value": 5, "unit": "mmHg"}, {"value": True},
            {"value": "01"}, {"value": "1e1"}, {"unit": 5}, {"unit": ""}, {"code": "a b"}, {}, "0.7", None, DROP]
BOOLEAN = [True, False, "yes", "no", "maybe", 1, 0, 2, 1.0, 0.5, None, DROP]
PERIOD = [{"start": "2026-03-01"}, {"start": "x"}, {}, "2026", None, DROP]
STRING = ["x", "", 5, None, DROP]
COMPONENT = [[{"code": {"coding": [{"system": LNC, "code": "77194-9"}], "text": "Left ABI"}, "valueQuantity": {"value": 0.8}}],
             [{"code": {"coding": [{"system": LNC, "code": "77194-9"}]}, "valueQuantity": {"value": 0.8}, "valueBoolean": True}],
             [{"valueQuantity": {"value": 1}}], [{"code": {}, "dataAbsentReason": {"text": "x"}}], "x", [None], None, DROP]
FIELDS = {
    "Condition": {"id": ["c-1", "a b", "", 5], "clinicalStatus": CONCEPT, "verificationStatus": CONCEPT, "bodySite": CONCEPTS,
                  "onsetDateTime": DATES, "onsetPeriod": PERIOD, "onsetString": STRING, "recordedDate": DATES,
                  "abatementDateTime": DATES, "abatementString": STRING, "abatementAge": QUANTITY, "subject": [DROP, {}]},
    "Observation": {"status": CODES, "effectiveDateTime": DATES, "effectiveInstant": INSTANTS, "effectivePeriod": PERIOD,
                    "issued": INSTANTS, "valueQuantity": QUANTITY, "valueBoolean": BOOLEAN, "valueCodeableConcept": CONCEPT,
                    "valueString": STRING, "interpretation": CONCEPTS, "bodySite": CONCEPT, "dataAbsentReason": CONCEPT,
                    "component": COMPONENT},
    "Procedure": {"status": CODES, "performedDateTime": DATES, "performedPeriod": PERIOD, "performedString": STRING,
                  "bodySite": CONCEPTS, "subject": [DROP]},
    "ServiceRequest": {"status": CODES, "intent": CODES, "authoredOn": DATES, "subject": [DROP]},
}
BASES = {"Condition": lambda: condition(SCT, "63491006"), "Observation": lambda: abi(0.8, "left"),
         "Observation-finding": lambda: observation(SCT, "102572006"),
         "Procedure": lambda: procedure(SCT, "401191002", days=10), "ServiceRequest": lambda: service_request(LNC, "77194-9")}
NOW_FIXED = datetime(2026, 3, 20, tzinfo=timezone.utc)


@st.composite
def mutated(draw):
    base = draw(st.sampled_from(sorted(BASES)))
    resource = BASES[base]()
    pools = FIELDS[resource["resourceType"]]
    for name in draw(st.lists(st.sampled_from(sorted(pools)), min_size=1, max_size=4, unique=True)):
        value = draw(st.sampled_from(pools[name]))
        if value is DROP:
            resource.pop(name, None)
        else:
            resource[name] = value
    return resource


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(resource=mutated())
def test_the_field_reader_accepts_what_the_r4b_model_accepts_and_reads_the_same_findings(knowledge, resource):
    try:
        model = R4B[resource["resourceType"]].model_validate(resource)
    except Exception:  # noqa: BLE001 - pydantic's ValidationError, as records.select caught before
        model = None
    intake = records.select([resource], knowledge.terminology, PATIENT)
    if intake.other_patient:
        return  # a subject the test made empty is read as "no patient named", by both
    assert (model is not None) == (len(intake.records) == 1), (resource, intake)
    if model is None:
        assert intake.malformed == 1
        return
    (fast,) = intake.records
    reference = records.Record(resource_type=fast.resource_type, model=model, concept=fast.concept, via=fast.via)
    ours = findings.extract([fast], knowledge.rules, knowledge.terminology, NOW_FIXED)
    theirs = findings.extract([reference], knowledge.rules, knowledge.terminology, NOW_FIXED)
    assert ours.findings == theirs.findings and ours.excluded == theirs.excluded


def test_an_undeclared_field_name_is_an_error_not_none(knowledge):
    (record,) = records.select([condition(SCT, "63491006")], knowledge.terminology, PATIENT).records
    assert record.model.abatementDateTime is None and record.model.subject.reference == f"Patient/{PATIENT}"
    with pytest.raises(AttributeError):
        record.model.abatementDate  # noqa: B018 - not a Condition element: a typo must not read as None


def test_elements_the_service_does_not_read_are_not_checked(knowledge):
    resource = condition(SCT, "63491006")
    resource["meta"] = {"unknown": 1}
    resource["note"] = "not an Annotation"
    assert len(records.select([resource], knowledge.terminology, PATIENT).records) == 1
