"""GET /cds-services: the discovery document, built once from the knowledge files."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from ..config import Settings
from ..engine import Engine
from ..orders.engine import OrderEngine

from ..http import json_response, services

bp = Blueprint("discovery", __name__)

DESCRIPTION = ("Reads the patient's Conditions and Observations and recognises the signs of the four kinds of "
               "leg pain on walking (arterial, venous, neurogenic, musculoskeletal). Answers with advisory cards "
               "that say which findings support and which argue against each pattern, and what to consider next "
               "(pedal pulses and ankle-brachial index, venous assessment, foot examination).")


# The FHIR read scopes the service needs for prefetch or for fetching what the EHR did not send.
SCOPES = ("patient/Condition.read", "patient/Observation.read", "patient/Procedure.read",
          "patient/ServiceRequest.read", "patient/MedicationRequest.read", "patient/MedicationStatement.read",
          "patient/Patient.read", "patient/QuestionnaireResponse.read")

ORDER_DESCRIPTION = {
    "order-select": ("Judges the orders just selected (context.selections) for two well-documented harms in leg pain "
                     "on walking: cilostazol with heart failure on record (contraindicated in heart failure of any "
                     "severity), and compression on a leg with severe arterial disease (ABI < 0.6 or CLTI), "
                     "reduced ABI, noncompressible ABI, no recent ABI, or severe heart failure."),
    "order-sign": ("Judges every draft order about to be signed (context.draftOrders) for cilostazol with heart "
                   "failure on record and for compression on a leg with severe arterial disease, a reduced or "
                   "noncompressible ABI, no recent ABI, or severe heart failure."),
}
ORDER_USAGE = ("Optional prefetch keys heartFailure, arterialConditions (every Condition of the patient, filtered by the "
               "service so the URL stays short), abi, and the patient-view key procedures (CLTI is decided by the same "
               "arterial red-flag rules); a key the client cannot send is "
               "fetched from fhirServer, and one that cannot be had only removes the rule that needs it. FHIR "
               "scopes: patient/Condition.read and patient/Observation.read (SMART v2: patient/Condition.rs, "
               "patient/Observation.rs). Send a signed client JWT when the service runs with CDS_AUTH=required.")


def _order_services(order_engines: dict[str, OrderEngine] | None) -> list[dict[str, Any]]:
    return [{
        "hook": engine.hook,
        "id": service_id,
        "title": f"Leg pain on walking: order-time safety ({engine.hook})",
        "description": ORDER_DESCRIPTION[engine.hook],
        "prefetch": dict(engine.prefetch_templates),
        "usageRequirements": ORDER_USAGE,
    } for service_id, engine in (order_engines or {}).items()]


def discovery_document(engine: Engine, settings: Settings,
                       order_engines: dict[str, OrderEngine] | None = None) -> dict[str, Any]:
    return {"services": [{
        "hook": "patient-view",
        "id": settings.service_id,
        "title": "Leg pain on walking (claudication) advisor",
        "description": DESCRIPTION,
        "prefetch": dict(engine.prefetch_templates),
        "usageRequirements": ("Prefetch or FHIR read access to the patient's Condition, Observation, Procedure, "
                              "ServiceRequest, QuestionnaireResponse, MedicationRequest, MedicationStatement and "
                              "Patient resources. FHIR scopes: " + " ".join(SCOPES) + ". Prefetch keys "
                              "conditions and observations are required; procedures (completed vascular procedures "
                              "turn a CLTI or ALI alert into a follow-up reminder), serviceRequests and "
                              "questionnaireResponses (answers to the leg-pain questions; without them the answers are "
                              "not read and the offer to ask the questions is not made) are optional, and so are "
                              "medicationRequests and medicationStatements (active medications: whether antiplatelet, "
                              "statin or anticoagulant therapy is on record), smokingStatus (LOINC 72166-2) and "
                              "patient (the birth date only: the screening card's age, and the under-50 line of the exercise-ABI "
                              "advice); a refused optional key "
                              "removes only the lines that need it. Conditions are searched by patient without a "
                              "code filter and filtered by the service (the screening card's risk factors among "
                              "them), so that every prefetch and fallback URL stays under 2,000 characters; "
                              "Observations, Procedures and orders are code-filtered, medications are searched by "
                              "status. Send a signed client JWT when the service runs with CDS_AUTH=required."),
    }, *_order_services(order_engines)]}


@bp.get("/cds-services")
@bp.get("/cds-services/")  # the sandbox's "Add CDS Services" asks with the slash
def discovery() -> Response:
    svc = services()
    return json_response(discovery_document(svc.engine, svc.settings, svc.order_engines))
