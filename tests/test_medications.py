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
    ([{"code": "1191", "display": "aspirin"}], RXNORM, "extension is required"),
    ([_sourced("abc")], RXNORM, "does not match"),
    ([_sourced("1191")], "http://snomed.info/sct", "must be 'http://www.nlm.nih.gov/research/umls/rxnorm'"),
    ([{**_sourced("1191"), "display": ""}], RXNORM, "display"),
    ([{**_sourced("1191"), "dispaly": "aspirin"}], RXNORM, "unknown key"),
    ([{"code": "1191", "display": "aspirin", "extension": [
        {"url": "https://claudication-cds.example.org/fhir/StructureDefinition/concept-laterality", "valueCode": "left"}]}],
     RXNORM, "extension"),
    ([{"code": "1191", "display": "aspirin", "extension": [
        {"url": "https://claudication-cds.example.org/fhir/StructureDefinition/concept-source"}]}],
     RXNORM, "valueString is required"),
])
def test_a_broken_medication_value_set_stops_the_start(tmp_path, concepts, system, message):
    """Each key of medication-valueset.schema.json refuses a broken value (each test < 1 s)."""
    _write(tmp_path, "broken", concepts, system)
    with pytest.raises(TerminologyError, match=message) as caught:
        medications.load(tmp_path)
    assert "medications/broken.json" in str(caught.value)  # the problem names its file


def test_a_medication_value_set_with_a_key_written_twice_is_refused(tmp_path):
    """The strict reader: a second "code" would silently replace the first one in json.loads."""
    (tmp_path / "dup.json").write_text(
        '{"resourceType": "ValueSet", "id": "dup", "description": "d", "compose": {"include": [{"system": '
        f'"{RXNORM}", "concept": [{{"code": "1191", "code": "36567", "display": "x", "extension": []}}]}}]}}}}')
    with pytest.raises(TerminologyError, match="twice|duplicate"):
        medications.load(tmp_path)


@pytest.mark.parametrize("change, message", [
    (lambda vs: vs.update(id="other"), "must match the file name"),
    (lambda vs: vs.update(description=""), "description"),
    (lambda vs: vs.update(extra=1), "unknown key"),
    (lambda vs: vs["compose"].update(include=[]), "include"),
])
def test_a_medication_value_set_envelope_is_checked(tmp_path, change, message):
    vs = {"resourceType": "ValueSet", "id": "aspirin", "description": "test",
          "compose": {"include": [{"system": RXNORM, "concept": [_sourced("1191")]}]}}
    change(vs)
    (tmp_path / "aspirin.json").write_text(json.dumps(vs))
    with pytest.raises(TerminologyError, match=message):
        medications.load(tmp_path)


def test_an_empty_or_missing_medication_folder_stops_the_start(tmp_path):
    with pytest.raises(TerminologyError, match="no medication value sets"):
        medications.load(tmp_path)
    with pytest.raises(TerminologyError, match="does not exist"):
        medications.load(tmp_path / "missing")


def test_a_code_may_belong_to_one_class_only(tmp_path):
    _write(tmp_path, "a", [_sourced("1191")])
    _write(tmp_path, "b", [_sourced("1191")])
    with pytest.raises(TerminologyError, match="already belongs"):
        medications.load(tmp_path)


def test_the_shipped_medication_value_sets_load(knowledge):
    assert {"antiplatelet", "statin"} <= set(knowledge.medications.codes.values())


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
