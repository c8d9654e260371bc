"""Builders for order-select and order-sign requests: drafts shaped like the public sandbox's
and like a careful EHR's, and the patient's record split into the order services' keys."""
from __future__ import annotations

import uuid

from builders import ICD, PATIENT, SCT, bundle

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SELECT_ID = "leg-pain-claudication-order-select"
SIGN_ID = "leg-pain-claudication-order-sign"
LEFT_LEG = {"coding": [{"system": SCT, "code": "32153003", "display": "Structure of left lower limb"}]}
RIGHT_LEG = {"coding": [{"system": SCT, "code": "62175007", "display": "Structure of right lower limb"}]}


def sandbox_medication(code: str = "242461", display: str = "cilostazol 100 MG Oral Tablet", *,
                       patient: str = PATIENT, rid: str = "request-123") -> dict:
    """The MedicationRequest the sandbox's Rx View builds (medication-reducers.js createFhirResource):
    no intent until dispensing details are set, category one object, the RxNorm coding of the choice."""
    return {"resourceType": "MedicationRequest", "id": rid, "status": "draft",
            "subject": {"reference": f"Patient/{patient}"}, "authoredOn": "2026-11-27",
            "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                                   "doseAndRate": [{"doseQuantity": {"value": 1, "system": "http://unitsofmeasure.org",
                                                                     "code": "{pill}"}}]}],
            "category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                                     "code": "community"}]},
            "medicationCodeableConcept": {"text": display, "coding": [{"display": display, "system": RXNORM, "code": code}]}}


def medication(code: str, display: str, *, rid: str | None = None, patient: str = PATIENT) -> dict:
    """An R4-conformant draft MedicationRequest."""
    return {"resourceType": "MedicationRequest", "id": rid or uuid.uuid4().hex[:12], "status": "draft",
            "intent": "order", "subject": {"reference": f"Patient/{patient}"},
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code, "display": display}]}}


def compression(code: str = "312648001", display: str = "Four layer compression bandaging for skin ulcer", *,
                body_site: dict | None = None, resource_type: str = "ServiceRequest", rid: str | None = None,
                patient: str = PATIENT, text: str | None = None) -> dict:
    r = {"resourceType": resource_type, "id": rid or uuid.uuid4().hex[:12], "status": "draft", "intent": "order",
         "subject": {"reference": f"Patient/{patient}"}}
    concept = {"coding": [{"system": SCT, "code": code, "display": display}], **({"text": text} if text else {})}
    r["code" if resource_type == "ServiceRequest" else "codeCodeableConcept"] = concept
    if body_site is not None:
        r["bodySite"] = [body_site]
    return r


def heart_failure(code: str = "I50.22", **kw) -> dict:
    from builders import condition
    system = ICD if code[0].isalpha() else SCT
    return condition(system, code, **kw)


def order_request(drafts: list[dict], resources: list[dict] | None = None, *, hook: str = "order-sign",
                  selections: list[str] | None = None, prefetch: dict | None = None, bundle_type: str | None = None,
                  patient: str = PATIENT, **extra) -> dict:
    draft_bundle = {"resourceType": "Bundle", "entry": [{"resource": d} for d in drafts]}
    if bundle_type:
        draft_bundle["type"] = bundle_type
    context = {"userId": "Practitioner/dr-1", "patientId": patient, "draftOrders": draft_bundle}
    if hook == "order-select":
        context["selections"] = selections if selections is not None else [f"{d['resourceType']}/{d['id']}" for d in drafts]
    if prefetch is None:
        resources = resources or []
        conditions = [r for r in resources if r["resourceType"] == "Condition"]
        prefetch = {"heartFailure": bundle(conditions), "arterialConditions": bundle(conditions),
                    "abi": bundle([r for r in resources if r["resourceType"] == "Observation"])}
    body = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context, "prefetch": prefetch}
    body.update(extra)
    return body
