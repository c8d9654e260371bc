"""Medication classes (valuesets/medications/) and what counts as on record."""
from __future__ import annotations

import json

import pytest

from builders import PATIENT
from cds_service import medications
from cds_service.config import REPO_ROOT
from cds_service.terminology import TerminologyError
from therapy_builders import ASPIRIN_81, RIVAROXABAN_2_5, RIVAROXABAN_20, RXNORM, medication_request, medication_statement


def test_every_shipped_code_is_rxnorm_with_a_source(knowledge):
    classes = knowledge.medications
    assert classes.names == {"antiplatelet", "rivaroxaban-low-dose", "statin", "cilostazol", "anticoagulant-full-dose"}
    for path in (REPO_ROOT / "valuesets" / "medications").glob("*.json"):
        for include in json.loads(path.read_text())["compose"]["include"]:
            for concept in include["concept"]:
                source = concept["extension"][0]["valueString"]
                assert source and ("/" in source or "id " in source), (path.name, concept["code"])


def test_low_dose_rivaroxaban_is_its_own_class(knowledge):
    codes = knowledge.medications.codes
    assert codes[(RXNORM, RIVAROXABAN_2_5)] == "rivaroxaban-low-dose"
    assert codes[(RXNORM, RIVAROXABAN_20)] == "anticoagulant-full-dose"


def _write(tmp_path, name, concepts, system=RXNORM):
    vs = {"resourceType": "ValueSet", "id": name, "description": "test",
          "compose": {"include": [{"system": system, "concept": concepts}]}}
    (tmp_path / f"{name}.json").write_text(json.dumps(vs))


def _sourced(code, display="x"):
    return {"code": code, "display": display,
            "extension": [{"url": "https://claudication-cds.example.org/fhir/StructureDefinition/concept-source",
                           "valueString": "somewhere/public file.json"}]}


@pytest.mark.parametrize("concepts, system, message", [
    ([{"code": "1191", "display": "aspirin"}], RXNORM, "does not cite its source"),
    ([_sourced("abc")], RXNORM, "numeric RXCUI"),
    ([_sourced("1191")], "http://snomed.info/sct", "is not RxNorm"),
])
def test_a_broken_medication_value_set_stops_the_start(tmp_path, concepts, system, message):
    _write(tmp_path, "broken", concepts, system)
    with pytest.raises(TerminologyError, match=message):
        medications.load(tmp_path)


def test_a_code_may_belong_to_one_class_only(tmp_path):
    _write(tmp_path, "a", [_sourced("1191")])
    _write(tmp_path, "b", [_sourced("1191")])
    with pytest.raises(TerminologyError, match="already belongs"):
        medications.load(tmp_path)


def test_a_contained_medication_is_read(knowledge):
    request = medication_request("0")
    del request["medicationCodeableConcept"]
    request["medicationReference"] = {"reference": "#m1"}
    request["contained"] = [{"resourceType": "Medication", "id": "m1",
                             "code": {"coding": [{"system": RXNORM, "code": ASPIRIN_81}]}}]
    (found,) = medications.on_record([request], knowledge.medications, PATIENT)
    assert (found.medication_class, found.resource_type) == ("antiplatelet", "MedicationRequest")


def test_an_unknown_or_malformed_medication_is_skipped(knowledge):
    odd = [medication_request("999999999"), {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                                             "medicationCodeableConcept": {"coding": "nope"}}, "not a resource"]
    assert medications.on_record(odd, knowledge.medications, PATIENT) == []


@pytest.mark.parametrize("states, readable, complete", [
    ({"medicationRequests": "present", "medicationStatements": "present"}, True, True),
    ({"medicationRequests": "present", "medicationStatements": "null"}, True, True),
    ({"medicationRequests": "present", "medicationStatements": "failed-skipped"}, True, False),
    ({"medicationRequests": "partial", "medicationStatements": "present"}, True, False),
    ({"medicationRequests": "failed-skipped", "medicationStatements": "absent-skipped"}, False, False),
    ({}, False, False),
])
def test_how_far_the_medication_keys_can_be_trusted(knowledge, states, readable, complete):
    meds = medications.read([medication_statement(ASPIRIN_81)], knowledge.medications, PATIENT, states,
                            ("medicationRequests", "medicationStatements"))
    assert (meds.readable, meds.complete) == (readable, complete)
    assert bool(meds.found) is readable
