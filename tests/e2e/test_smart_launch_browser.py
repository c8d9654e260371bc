"""The SMART EHR launch in a real browser, against a small fake EHR on 127.0.0.1 (FHIR server and
authorization server in one), since the end-to-end FHIR server has no OAuth.

What is checked is the wiring the vendored fhirclient library does for the app: discovery at
``{iss}/.well-known/smart-configuration``, the authorization request (response_type=code, our
client_id and scope, the launch, aud=iss, PKCE with S256), the token request with a code_verifier
whose hash is the challenge, then FHIR reads with the bearer token; the token never appears in any
URL the browser requested and is kept in sessionStorage; the card's appContext reaches the page.
Capped at CAP_S seconds (pytest-timeout); every wait in the browser at WAIT_MS.
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from bench.load import Server
from browser import chromium_context, require_chromium
from cds_service.config import REPO_ROOT

require_chromium()

CAP_S = 90
WAIT_MS = 30_000
TOKEN = "fake-ehr-access-token-1f3e"
CODE = "fake-ehr-code-77"
PATIENT = "launch-p1"
APP_CONTEXT = json.dumps({"cards": [{"uuid": "u-1", "topic": "leg-pain-questions",
                                     "summary": "Cause of leg pain not yet clear: ask the questions the article uses"}]})
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(CAP_S)]


class FakeEhr(BaseHTTPRequestHandler):
    """FHIR base /fhir, authorize /auth/authorize, token /auth/token; records what it was sent."""

    seen: dict = {}

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: dict | None = None, headers: dict | None = None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "authorization, content-type, accept")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_OPTIONS(self):
        self._send(204)

    def do_GET(self):
        base = f"http://127.0.0.1:{self.server.server_port}"
        parts = urlsplit(self.path)
        self.seen.setdefault("urls", []).append(self.path)
        if parts.path == "/fhir/.well-known/smart-configuration":
            return self._send(200, {"authorization_endpoint": f"{base}/auth/authorize", "token_endpoint": f"{base}/auth/token",
                                    "code_challenge_methods_supported": ["S256"],
                                    "capabilities": ["launch-ehr", "client-public", "context-ehr-patient"]})
        if parts.path == "/auth/authorize":
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            self.seen["authorize"] = query
            target = query["redirect_uri"] + "?" + urlencode({"code": CODE, "state": query["state"]})
            return self._send(302, None, {"Location": target})
        if parts.path.startswith("/fhir/"):
            self.seen.setdefault("fhir_auth", []).append(self.headers.get("Authorization"))
            if parts.path == f"/fhir/Patient/{PATIENT}":
                return self._send(200, {"resourceType": "Patient", "id": PATIENT, "name": [{"given": ["Sam"], "family": "Launch"}]})
            if parts.path in ("/fhir/Observation", "/fhir/Condition"):
                return self._send(200, {"resourceType": "Bundle", "type": "searchset", "entry": []})
        return self._send(404, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.seen.setdefault("urls", []).append(self.path)
        if self.path == "/auth/token":
            self.seen["token"] = form
            return self._send(200, {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300, "patient": PATIENT,
                                    "scope": form.get("scope", "launch patient/*.read"), "appContext": APP_CONTEXT})
        return self._send(404, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]})


@pytest.fixture
def fake_ehr():
    FakeEhr.seen = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeEhr)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/fhir"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def service():
    server = Server(workers=1, env={"CDS_KNOWLEDGE_DIR": str(REPO_ROOT), "CDS_APP_CLIENT_ID": "test-client-9"})
    try:
        yield server.url
    finally:
        server.stop()


def test_the_ehr_launch_goes_through_discovery_pkce_and_the_token_exchange(service, fake_ehr):
    with chromium_context() as browser:
        page = browser.new_page()
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(f"{service}/app/launch?" + urlencode({"iss": fake_ehr, "launch": "launch-42"}))
        # the patient's name is read from the FHIR server with the token (the questions come from the service)
        page.locator("#patient", has_text="Sam Launch").wait_for(timeout=WAIT_MS)
        assert "Opened from the cards: Cause of leg pain not yet clear" in page.text_content("#context")
        stored = page.evaluate("() => JSON.stringify(Object.assign({}, window.sessionStorage))")
        assert page.evaluate("() => window.localStorage.length") == 0

    authorize = FakeEhr.seen["authorize"]
    assert (authorize["response_type"], authorize["client_id"], authorize["launch"], authorize["aud"]) == (
        "code", "test-client-9", "launch-42", fake_ehr)
    assert authorize["redirect_uri"] == f"{service}/app/"
    assert "patient/QuestionnaireResponse.write" in authorize["scope"].split()
    assert authorize["code_challenge_method"] == "S256"
    token = FakeEhr.seen["token"]
    assert (token["grant_type"], token["code"], token["redirect_uri"]) == ("authorization_code", CODE, f"{service}/app/")
    verifier = token["code_verifier"].encode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
    assert challenge == authorize["code_challenge"]
    assert FakeEhr.seen["fhir_auth"] and set(FakeEhr.seen["fhir_auth"]) == {f"Bearer {TOKEN}"}
    assert TOKEN in stored  # the token lives in the browser session...
    assert not [u for u in requested + FakeEhr.seen["urls"] if TOKEN in u]  # ...and never in a URL
