"""Builders for the therapy and screening tests: medications, smoking status, a Patient, a full prefetch."""
from __future__ import annotations

import uuid
from datetime import date

from builders import ICD, LNC, NOW, PATIENT, SCT, bundle, days_ago, hook_request

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ASPIRIN_81 = "243670"
CLOPIDOGREL_75 = "309362"
PRASUGREL_10 = "855812"
TICAGRELOR_90 = "1116635"
RIVAROXABAN_2_5 = "2059015"
RIVAROXABAN_20 = "1232086"
APIXABAN_5 = "1364445"
ATORVASTATIN_40 = "617311"
ATORVASTATIN = "83367"  # ingredient
CILOSTAZOL_100 = "242461"

CURRENT_SMOKER = "449868002"
FORMER_SMOKER = "8517006"
NEVER_SMOKER = "266919005"

CLAUDICATION = (SCT, "63491006")
PAD = (ICD, "I73.9")


def medication_request(code: str, *, status: str = "active", intent: str = "order", patient: str = PATIENT) -> dict:
    return {"resourceType": "MedicationRequest", "id": uuid.uuid4().hex[:16], "status": status, "intent": intent,
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code}]},
            "subject": {"reference": f"Patient/{patient}"}, "authoredOn": days_ago(60)}


def medication_statement(code: str, *, status: str = "active", patient: str = PATIENT) -> dict:
    return {"resourceType": "MedicationStatement", "id": uuid.uuid4().hex[:16], "status": status,
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code}]},
            "subject": {"reference": f"Patient/{patient}"}}


def smoking(value: str, *, days: float = 20, status: str = "final") -> dict:
    return {"resourceType": "Observation", "id": uuid.uuid4().hex[:16], "status": status,
            "code": {"coding": [{"system": LNC, "code": "72166-2"}]}, "subject": {"reference": f"Patient/{PATIENT}"},
            "effectiveDateTime": days_ago(days), "valueCodeableConcept": {"coding": [{"system": SCT, "code": value}]}}


def patient(age_years: int | None = None, *, birth_date: str | None = None) -> dict:
    """A Patient whose birthday this year has passed (day 28 at the latest), so the age is exact."""
    if birth_date is None and age_years is not None:
        today = NOW.date()
        birth_date = date(today.year - age_years, today.month, min(today.day, 28)).isoformat()
    return {"resourceType": "Patient", "id": PATIENT, **({"birthDate": birth_date} if birth_date else {})}


def full_request(resources: list[dict], *, meds: list[dict] | None = None, statements: list[dict] | None = None,
                 smoking_obs: list[dict] | None = None, patient_resource: dict | None = None, **overrides) -> dict:
    """A patient-view request with every key, the therapy keys included (empty unless given)."""
    by_type = {"conditions": "Condition", "observations": "Observation", "procedures": "Procedure",
               "serviceRequests": "ServiceRequest"}
    prefetch = {key: bundle([r for r in resources if r["resourceType"] == t]) for key, t in by_type.items()}
    prefetch.update(medicationRequests=bundle(meds or []), medicationStatements=bundle(statements or []),
                    smokingStatus=bundle(smoking_obs or []), patient=patient_resource)
    prefetch.update(overrides)
    return hook_request(prefetch=prefetch)


REFUSED = {"resourceType": "OperationOutcome",
           "issue": [{"severity": "error", "code": "forbidden", "diagnostics": "insufficient scope"}]}
