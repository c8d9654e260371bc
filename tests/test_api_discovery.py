"""Conformance point 1: discovery lists the service with legal, narrow prefetch templates."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

LEGAL_TOKENS = {"context.patientId", "context.userId", "context.encounterId", "userPractitionerId",
                "userPractitionerRoleId", "userPatientId", "userRelatedPersonId"}


def test_discovery_lists_the_patient_view_service_first(client):
    response = client.get("/cds-services")
    assert response.status_code == 200
    service = response.get_json()["services"][0]
    assert service["hook"] == "patient-view"
    assert service["id"] == "leg-pain-claudication"
    for key in ("title", "description", "usageRequirements"):
        assert service[key]
    assert set(service["prefetch"]) == {"conditions", "observations", "procedures", "serviceRequests",
                                        "questionnaireResponses", "medicationRequests", "medicationStatements",
                                        "smokingStatus", "patient"}  # riskConditions retired: risk factors ride on conditions
    assert service["prefetch"]["conditions"] == "Condition?patient={{context.patientId}}&_count=200"
    assert "filtered by the service" in service["usageRequirements"]
    for scope in ("patient/MedicationRequest.read", "patient/MedicationStatement.read", "patient/Patient.read",
                  "patient/QuestionnaireResponse.read"):
        assert scope in service["usageRequirements"]


def test_discovery_lists_one_service_per_order_hook_with_optional_keys_and_scopes(client):
    services = {s["hook"]: s for s in client.get("/cds-services").get_json()["services"]}
    assert set(services) == {"patient-view", "order-select", "order-sign"}
    for hook in ("order-select", "order-sign"):
        service = services[hook]
        assert service["id"] == f"leg-pain-claudication-{hook}"
        assert service["title"] and service["description"]
        assert set(service["prefetch"]) == {"heartFailure", "arterialConditions", "abi", "procedures"}
        assert "patient/Condition.read" in service["usageRequirements"]
        assert "patient/Observation.read" in service["usageRequirements"]


def test_prefetch_templates_use_legal_tokens_and_narrow_searches(client, knowledge, order_knowledge):
    known_codes = {code for _, code in knowledge.terminology.concepts} | {code for _, code in order_knowledge.codes}
    templates = [(f"{s['id']}.{key}", t) for s in client.get("/cds-services").get_json()["services"]
                 for key, t in s["prefetch"].items()]
    assert len(templates) == 17  # patient-view 9; each order service 4 (one of them the patient-view procedures, reused)
    for name, template in templates:
        key = name.rsplit(".", 1)[1]
        assert set(re.findall(r"{{\s*([^}]+?)\s*}}", template)) <= LEGAL_TOKENS
        if key == "patient":  # the Patient itself, searched by id (the sandbox POSTs every template as _search)
            assert template == "Patient?_id={{context.patientId}}"
            continue
        parts = urlsplit(template)
        params = parse_qs(parts.query)
        assert params["patient"] == ["{{context.patientId}}"]
        assert int(params["_count"][0]) > 0
        if key == "questionnaireResponses":  # answers are narrowed to our Questionnaire, not by code
            assert len(template) < 2000  # some servers refuse longer URLs
            assert params["questionnaire"] == [knowledge.questions.canonical]
            assert params["status"] == ["completed,amended"]
            continue
        if key in ("medicationRequests", "medicationStatements"):  # narrowed by status, not by code
            assert params["status"] == ["active"] and "code" not in params
            continue
        if key in ("conditions", "arterialConditions", "heartFailure"):  # read by patient, filtered here (test_prefetch.py)
            assert "code" not in params and parts.path == "Condition"
            continue
        codes = params["code"][0].split(",")
        if key == "smokingStatus":
            assert codes == ["http://loinc.org|72166-2"]
            continue
        assert codes and set(codes) <= known_codes, name


def test_new_prefetch_templates_stay_under_2000_characters(client):
    prefetch = client.get("/cds-services").get_json()["services"][0]["prefetch"]
    for key in ("medicationRequests", "medicationStatements", "smokingStatus", "patient"):
        assert len(prefetch[key]) < 2000, key


def test_discovery_answers_cors(client):
    response = client.get("/cds-services", headers={"Origin": "https://sandbox.cds-hooks.org"})
    assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://sandbox.cds-hooks.org")
