"""Small builders for FHIR resources and hook requests used across the tests."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

SCT = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
LNC = "http://loinc.org"
NOW = datetime.now(timezone.utc).replace(microsecond=0)  # "now" for both the engine and the HTTP tests
PATIENT = "pat-1"


def days_ago(n: float) -> str:
    return (NOW - timedelta(days=n)).isoformat()


def _id() -> str:
    return uuid.uuid4().hex[:16]


def condition(system: str, code: str, *, clinical: str | None = "active", verification: str | None = "confirmed",
              onset_days: float | None = 30, body_site: list | None = None, abated_days: float | None = None,
              patient: str = PATIENT, display: str | None = None, text: str | None = None, rid: str | None = None) -> dict:
    r = {"resourceType": "Condition", "id": rid or _id(),
         "code": {"coding": [{"system": system, "code": code, **({"display": display} if display else {})}]},
         "subject": {"reference": f"Patient/{patient}"}}
    if text:
        r["code"]["text"] = text
    if clinical:
        r["clinicalStatus"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical}]}
    if verification:
        r["verificationStatus"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]}
    if onset_days is not None:
        r["onsetDateTime"] = days_ago(onset_days)
    if abated_days is not None:
        r["abatementDateTime"] = days_ago(abated_days)
    if body_site:
        r["bodySite"] = body_site
    return r


def observation(system: str, code: str, *, status: str = "final", days: float | None = 10, value: dict | None = None,
                body_site: dict | None = None, patient: str = PATIENT, interpretation: str | None = None,
                text: str | None = None, rid: str | None = None, **extra) -> dict:
    r = {"resourceType": "Observation", "id": rid or _id(), "status": status,
         "code": {"coding": [{"system": system, "code": code}]}, "subject": {"reference": f"Patient/{patient}"}}
    if text:
        r["code"]["text"] = text
    if days is not None:
        r["effectiveDateTime"] = days_ago(days)
    if value:
        r.update(value)
    if body_site:
        r["bodySite"] = body_site
    if interpretation:
        r["interpretation"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                            "code": interpretation}]}]
    r.update(extra)
    return r


def abi(value: float, side: str | None, days: float = 10, **kw) -> dict:
    site = {"left": {"coding": [{"system": SCT, "code": "32153003", "display": "Structure of left lower limb"}]},
            "right": {"coding": [{"system": SCT, "code": "62175007", "display": "Structure of right lower limb"}]}}.get(side)
    return observation(LNC, "77194-9", days=days, body_site=site,
                       value={"valueQuantity": {"value": value, "unit": "{ratio}", "system": "http://unitsofmeasure.org", "code": "{ratio}"}}, **kw)


def procedure(system: str, code: str, *, days: float = 30, status: str = "completed", patient: str = PATIENT,
              body_site: list | None = None) -> dict:
    resource = {"resourceType": "Procedure", "id": _id(), "status": status, "code": {"coding": [{"system": system, "code": code}]},
                "subject": {"reference": f"Patient/{patient}"}, "performedDateTime": days_ago(days)}
    if body_site is not None:
        resource["bodySite"] = body_site
    return resource


def service_request(system: str, code: str, *, status: str = "active", patient: str = PATIENT) -> dict:
    return {"resourceType": "ServiceRequest", "id": _id(), "status": status, "intent": "order",
            "code": {"coding": [{"system": system, "code": code}]}, "subject": {"reference": f"Patient/{patient}"}}


# The optional therapy and screening keys (issue 18) sent as null: the client has no such data, and
# nothing is fetched for them (tests that list every key add these).
THERAPY_KEYS_NULL = {k: None for k in ("medicationRequests", "medicationStatements", "smokingStatus", "patient")}


def bundle(resources: list[dict]) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


QUESTIONNAIRE = "https://claudication-cds.example.org/fhir/Questionnaire/leg-pain-on-walking"
ANSWER_SYSTEM = "https://claudication-cds.example.org/fhir/CodeSystem/leg-pain-answers"


def questionnaire_response(legs: dict[str, dict], *, days: float | None = 5, status: str = "completed",
                           patient: str = PATIENT, questionnaire: str = QUESTIONNAIRE, rid: str | None = None) -> dict:
    """Answers to the seed's questions. ``legs`` maps left/right to {item: answer}: True/False for
    boolean items, a project code, or (system, code) for a SNOMED CT answer."""
    groups = []
    for side, answers in legs.items():
        items = []
        for key, answer in answers.items():
            if isinstance(answer, bool):
                value = {"valueBoolean": answer}
            elif isinstance(answer, tuple):
                value = {"valueCoding": {"system": answer[0], "code": answer[1]}}
            else:
                value = {"valueCoding": {"system": ANSWER_SYSTEM, "code": answer}}
            items.append({"linkId": f"{side}-leg.{key}", "answer": [value]})
        groups.append({"linkId": f"{side}-leg", "item": items})
    r = {"resourceType": "QuestionnaireResponse", "id": rid or _id(), "questionnaire": questionnaire,
         "status": status, "subject": {"reference": f"Patient/{patient}"}, "item": groups}
    if days is not None:
        r["authored"] = days_ago(days)
    return r


def hook_request(resources: list[dict] | None = None, *, patient: str = PATIENT, prefetch: dict | None = None,
                 answers: list[dict] | None = None, **extra) -> dict:
    """A patient-view request; resources are split into the prefetch keys by type. ``answers``
    (QuestionnaireResponses, possibly none) fills the optional questionnaireResponses key; without
    it the key is absent, as from a client that does not prefetch it."""
    if prefetch is None:
        resources = resources or []
        by_type = {"conditions": "Condition", "observations": "Observation", "procedures": "Procedure",
                   "serviceRequests": "ServiceRequest"}
        prefetch = {key: bundle([r for r in resources if r["resourceType"] == t]) for key, t in by_type.items()}
        if answers is not None:
            prefetch["questionnaireResponses"] = bundle(answers)
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/dr-1", "patientId": patient}, "prefetch": prefetch}
    body.update(extra)
    return body
