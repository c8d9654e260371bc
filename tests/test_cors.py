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


def _preflight(client, origin):
    return client.options("/cds-services/leg-pain-claudication", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})


@pytest.mark.parametrize("origin", ["https://sandbox.cds-hooks.org", "http://localhost:3000", "http://localhost",
                                    "http://127.0.0.1:8080", "HTTP://LOCALHOST:5173"])
def test_the_default_allows_the_sandbox_and_local_tools_on_any_port(client, origin):
    response = _preflight(client, origin)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://sandbox.cds-hooks.org",
                                    "https://sandbox.cds-hooks.org.evil.example", "https://evil.example/https://sandbox.cds-hooks.org",
                                    "http://localhost.evil.example", "http://localhost:3000.evil.example",
                                    "https://localhost:3000", "http://127.0.0.2:3000",
                                    "https://legacy-sandbox.cds-hooks.org"])
def test_the_default_allows_no_other_origin(client, origin):
    """Preflight answered (it needs no token) but without an allow-origin, so the browser refuses."""
    response = _preflight(client, origin)
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Origin" not in client.post(
        "/cds-services/leg-pain-claudication", json=hook_request([]), headers={"Origin": origin}).headers


def test_cors_headers_are_on_401_for_an_allowed_origin(settings, knowledge, tmp_path):
    from cds_service.app import create_app
    clients = tmp_path / "clients.json"
    clients.write_text('{"clients": [{"iss": "https://ehr.example.org", "jwks_url": "https://ehr.example.org/jwks",'
                       ' "algorithms": ["ES384"]}]}')
    app = create_app(settings.with_overrides(auth="required", trusted_clients=clients), knowledge=knowledge)
    c = app.test_client()
    unauthorized = c.post("/cds-services/leg-pain-claudication", json=hook_request([]), headers=ORIGIN)
    assert unauthorized.status_code == 401 and unauthorized.headers["WWW-Authenticate"].startswith("Bearer")
    assert unauthorized.headers["Access-Control-Allow-Origin"] == ORIGIN["Origin"]
    assert "www-authenticate" in unauthorized.headers["Access-Control-Expose-Headers"].lower()


def test_cors_headers_are_on_415_for_an_allowed_origin(client):
    unsupported = client.post("/cds-services/leg-pain-claudication", data=b"{}", content_type="text/plain", headers=ORIGIN)
    assert unsupported.status_code == 415 and unsupported.headers["Access-Control-Allow-Origin"] == ORIGIN["Origin"]


def test_no_origin_is_allowed_when_none_is_configured(settings, knowledge):
    from cds_service.app import create_app
    app = create_app(settings.with_overrides(cors_origins=()), knowledge=knowledge)
    assert "Access-Control-Allow-Origin" not in _preflight(app.test_client(), ORIGIN["Origin"]).headers
