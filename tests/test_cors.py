"""Conformance point 9: preflight without a token, CORS headers on every response, errors included."""
from __future__ import annotations

import pytest

from builders import hook_request

ORIGIN = {"Origin": "https://sandbox.cds-hooks.org"}


@pytest.mark.parametrize("path", ["/cds-services", "/cds-services/leg-pain-claudication",
                                  "/cds-services/leg-pain-claudication/feedback"])
def test_preflight_is_answered(client, path):
    response = client.options(path, headers={**ORIGIN, "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "authorization,content-type"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"]
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()


@pytest.mark.parametrize("method,path,body,status", [
    ("post", "/cds-services/leg-pain-claudication", {"hook": "patient-view"}, 400),
    ("post", "/cds-services/unknown", hook_request([]), 404),
    ("get", "/cds-services/leg-pain-claudication", None, 405),
    ("post", "/cds-services/leg-pain-claudication", hook_request([]), 200),
])
def test_cors_headers_on_every_response_errors_included(client, method, path, body, status):
    response = getattr(client, method)(path, json=body, headers=ORIGIN)
    assert response.status_code == status
    assert response.headers.get("Access-Control-Allow-Origin")


def test_allowed_origins_are_configurable(settings, knowledge):
    from cds_service.app import create_app
    app = create_app(settings.with_overrides(cors_origins=("https://ehr.example.org",)), knowledge=knowledge)
    c = app.test_client()
    assert c.get("/cds-services", headers={"Origin": "https://ehr.example.org"}).headers[
        "Access-Control-Allow-Origin"] == "https://ehr.example.org"
    assert "Access-Control-Allow-Origin" not in c.get("/cds-services", headers={"Origin": "https://evil.example"}).headers
