"""The 18 synthetic patients (Synthea, diabetic neuropathy) loaded as prefetch through our own templates.

Each has type 2 diabetic neuropathy (SNOMED 368581000119106, active) and no recorded foot
examination, so each gets the neurogenic card; none holds an arterial or venous sign.
"""
from __future__ import annotations

import pytest

from cds_service import localsearch
from helpers import checked, by_topic
from builders import NOW
from synthetic import DATA, PATIENT_FILES, given_name, load


def test_all_eighteen_patients_are_present():
    assert len(PATIENT_FILES) == 18, f"expected the 18 synthetic patients in {DATA}"


@pytest.mark.parametrize("path", PATIENT_FILES, ids=given_name)
def test_synthetic_patient_gets_neurogenic_card_only(engine, path):
    patient_id, resources = localsearch.patient_resources(load(path))
    body = {"hook": "patient-view", "hookInstance": "0b6f8b7e-8f3a-4d7e-9d6b-6c3f2a1e0d9c",
            "context": {"userId": "Practitioner/1", "patientId": patient_id},
            "prefetch": localsearch.prefetch_for(resources, engine.prefetch_templates, patient_id)}
    result = checked(engine.evaluate(body, now=NOW))
    cards = by_topic(result.response["cards"])
    assert set(cards) == {"neurogenic-claudication"}
    card = cards["neurogenic-claudication"]
    assert "Neuropathy due to type 2 diabetes mellitus" in card["detail"]
    assert card["suggestions"][0]["actions"][0]["resource"]["code"]["coding"][0]["code"] == "401191002"
    assert result.stats.malformed == 0


def test_a_recent_foot_exam_makes_the_card_redundant(engine):
    from builders import SCT, procedure
    patient_id, resources = localsearch.patient_resources(load(PATIENT_FILES[0]))
    exam = procedure(SCT, "401191002", days=40, patient=patient_id)
    body = {"hook": "patient-view", "hookInstance": "0b6f8b7e-8f3a-4d7e-9d6b-6c3f2a1e0d9c",
            "context": {"userId": "Practitioner/1", "patientId": patient_id},
            "prefetch": localsearch.prefetch_for(resources + [exam], engine.prefetch_templates, patient_id)}
    assert checked(engine.evaluate(body, now=NOW)).response["cards"] == []
