"""The pre-filter and model building: irrelevant dropped cheaply, malformed skipped and counted."""
from __future__ import annotations

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
