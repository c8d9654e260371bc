"""Regenerate cds_service/openapi.json: the OpenAPI 3.1 document of every endpoint the service serves.

The request, response and feedback bodies are our JSON Schemas (cds_service/schemas/), copied in
with their ``$defs`` moved to ``components/schemas``, so the document cannot drift from what the
service validates: tests/test_openapi.py regenerates it and compares, and checks that its paths
are exactly the app's routes. Run ``.venv/bin/python tools/make_openapi.py`` after changing a
schema or a route.
"""
from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "cds_service" / "schemas"
TARGET = ROOT / "cds_service" / "openapi.json"
SERVICE_ID = "leg-pain-claudication"
QUESTIONNAIRE_ID = "leg-pain-on-walking"
ORDER_SERVICE_IDS = (f"{SERVICE_ID}-order-select", f"{SERVICE_ID}-order-sign")  # cds_service.orders.engine.service_id
APP_STATIC = ROOT / "cds_service" / "smart_app" / "static"
# Media types of the app's static files (Python's mimetypes names JavaScript either way by version).
STATIC_TYPES = ("text/javascript", "application/javascript", "text/css", "text/html", "text/plain")


def _schema(name: str, components: dict) -> dict:
    """One of our schema files, its $defs hoisted into components and its refs pointed there."""
    raw = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    for key in ("$schema", "$id"):
        raw.pop(key, None)
    for def_name, definition in raw.pop("$defs", {}).items():
        components[def_name] = definition
    text = json.dumps(raw).replace('"#/$defs/', '"#/components/schemas/')
    for def_name in list(components):
        components[def_name] = json.loads(json.dumps(components[def_name]).replace('"#/$defs/', '"#/components/schemas/'))
    return json.loads(text)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    words = {400: "Invalid request (OperationOutcome)", 401: "No valid client JWT (CDS_AUTH=required)",
             404: "No CDS service with that id", 408: "The request body did not arrive in time",
             412: "A required prefetch key could not be had", 413: "Request body or prefetch too large",
             415: "The body is not JSON", 503: "The database is needed to decide and is unreachable"}
    return {str(code): _json(_ref("OperationOutcome"), words[code]) for code in codes}


def build() -> dict:
    components: dict = {}
    request = _schema("request", components)
    response = _schema("response", components)
    feedback = _schema("feedback", components)
    questionnaire = _schema("questionnaire", components)
    components.update({
        "HookRequest": request,
        "HookResponse": response,
        "Feedback": feedback,
        "Questionnaire": questionnaire,
        "FeedbackReceipt": {"type": "object", "required": ["received", "stored"], "additionalProperties": False,
                            "properties": {"received": {"type": "integer", "minimum": 0},
                                           "stored": {"type": "integer", "minimum": 0}}},
        "OperationOutcome": {
            "type": "object", "required": ["resourceType", "issue"],
            "properties": {
                "resourceType": {"const": "OperationOutcome"},
                "issue": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["severity", "code", "diagnostics"],
                    "properties": {"severity": {"enum": ["fatal", "error", "warning", "information"]},
                                   "code": {"type": "string", "minLength": 1},
                                   "diagnostics": {"type": "string", "minLength": 1},
                                   "expression": {"type": "array", "items": {"type": "string"}}}}},
            },
        },
        "Discovery": {
            "type": "object", "required": ["services"],
            "properties": {"services": {"type": "array", "items": {
                "type": "object", "required": ["hook", "id", "description"],
                "properties": {"hook": {"type": "string"}, "id": {"type": "string"}, "title": {"type": "string"},
                               "description": {"type": "string"},
                               "prefetch": {"type": "object", "additionalProperties": {"type": "string"}},
                               "usageRequirements": {"type": "string"}}}}},
        },
        "Liveness": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}},
        "Readiness": {
            "type": "object", "required": ["status", "valueSets", "cardTemplates", "database"],
            "properties": {"status": {"enum": ["ok", "degraded"]}, "valueSets": {"type": "integer"},
                           "cardTemplates": {"type": "integer"}, "database": {"enum": ["ok", "unreachable"]}},
        },
    })
    service_id = {"name": "service_id", "in": "path", "required": True,
                  "schema": {"type": "string", "enum": [SERVICE_ID, *ORDER_SERVICE_IDS]}}
    discovery = {"summary": "CDS Hooks discovery",
                 "responses": {"200": _json(_ref("Discovery"), "The service this server offers"), **_errors(401)}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Leg pain on walking (claudication) CDS service", "version": "0.1.0",
                 "description": "CDS Hooks 2.0.1 patient-view, order-select and order-sign services. Cards are advisory: findings are "
                                "'consistent with' a pattern, never a diagnosis."},
        "paths": {
            "/cds-services": {"get": {**discovery, "operationId": "discovery"}},
            "/cds-services/": {"get": {**discovery, "operationId": "discoveryTrailingSlash"}},
            "/cds-services/{service_id}": {"post": {
                "summary": "Call a service (patient-view, order-select or order-sign hook)", "operationId": "callService",
                "parameters": [service_id],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("HookRequest")}}},
                "responses": {"200": _json(_ref("HookResponse"), "Advisory cards (possibly none)"),
                              **_errors(400, 401, 404, 408, 412, 413, 415, 503)},
            }},
            "/cds-services/{service_id}/feedback": {"post": {
                "summary": "Feedback on cards", "operationId": "feedback", "parameters": [service_id],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Feedback")}}},
                "responses": {"200": _json(_ref("FeedbackReceipt"), "Items received and newly stored"),
                              **_errors(400, 401, 404, 408, 413, 415, 503)},
            }},
            "/healthz": {"get": {"summary": "Liveness: the process answers", "operationId": "liveness",
                                 "responses": {"200": _json(_ref("Liveness"), "Alive")}}},
            "/readyz": {"get": {"summary": "Readiness: knowledge loaded, database reachable", "operationId": "readiness",
                                "responses": {"200": _json(_ref("Readiness"), "Ready"),
                                              "503": _json(_ref("Readiness"), "Not ready (database unreachable)")}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "operationId": "metrics",
                                 "responses": {"200": {"description": "Prometheus text format",
                                                       "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/questionnaires/{questionnaire_id}": {"get": {
                "summary": "The seed's questions as a FHIR R4 Questionnaire (the link cards offer)",
                "operationId": "questionnaire",
                "parameters": [{"name": "questionnaire_id", "in": "path", "required": True,
                                "schema": {"type": "string", "enum": [QUESTIONNAIRE_ID]}}],
                "responses": {"200": {"description": "FHIR R4 Questionnaire",
                                      "content": {"application/fhir+json": {"schema": _ref("Questionnaire")}}},
                              **_errors(404)}}},
            **_app_paths(),
            "/openapi.json": {"get": {"summary": "This document", "operationId": "openapi",
                                      "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1 document")}}},
        },
        "components": {"schemas": components},
    }


def _html(description: str) -> dict:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _app_paths() -> dict:
    """The SMART app (cds_service/smart_app): pages, its settings for the browser, its static files."""
    forbidden = {"403": _json(_ref("OperationOutcome"), "The FHIR server is not on CDS_APP_FHIR_SERVERS, or the open "
                                                        "development link is off")}
    query = [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in ("fhirServer", "patient")]
    files = sorted(str(p.relative_to(APP_STATIC)) for p in APP_STATIC.rglob("*") if p.is_file())
    return {
        "/app/": {"get": {"summary": "The SMART app (after the SMART redirect, or in development the open link)",
                          "operationId": "smartApp", "parameters": query,
                          "responses": {"200": _html("The app's page"), **_errors(400), **forbidden}}},
        "/app/launch": {"get": {"summary": "SMART EHR launch (iss and launch)", "operationId": "smartAppLaunch",
                                "parameters": [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                                               for name in ("iss", "launch")],
                                "responses": {"200": _html("The launch page (fhirclient redirects to the authorization server)"),
                                              **_errors(400), **forbidden}}},
        "/app/config.json": {"get": {"summary": "The app's settings for the browser", "operationId": "smartAppConfig",
                                     "responses": {"200": _json({"type": "object"}, "Client id, scope, allowlist, codes")}}},
        "/app/static/{name}": {"get": {
            "summary": "The app's static files (the vendored SMART client library pinned, no CDN)",
            "operationId": "smartAppStatic",
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string", "enum": files}}],
            "responses": {"200": {"description": "The file", "content": {t: {"schema": {"type": "string"}} for t in STATIC_TYPES}},
                          **_errors(404)}}},
    }


def render() -> str:
    return json.dumps(build(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
