"""The SMART app's HTTP side (cds_service/smart_app/blueprint.py): the allowlist at the door, the
development-only open link, the Content-Security-Policy, the settings for the page, and the
vendored SMART client library pinned by its hash (no CDN)."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from cds_service.app import create_app
from cds_service.smart_app.blueprint import STATIC

VENDOR = json.loads((STATIC.parent / "vendor.json").read_text())["fhirclient"]
OPEN = "/app/?fhirServer=http%3A%2F%2F127.0.0.1%3A9999%2Ffhir&patient=p1"


def _csp(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.fixture
def production_like(settings, knowledge):
    """The production preset's app settings (the rest of production needs trusted clients)."""
    s = settings.with_overrides(app_open_link=False, app_fhir_servers=("https://ehr.example.org/fhir",),
                                app_auth_servers=("https://auth.example.org",))
    return create_app(s, knowledge=knowledge).test_client()


def test_the_app_page_and_its_csp(client):
    response = client.get("/app/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    csp = _csp(response)
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'", "http://127.0.0.1:*", "http://localhost:*", "https://launch.smarthealthit.org:443"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_csp_names_only_the_configured_servers(production_like):
    csp = _csp(production_like.get("/app/"))
    assert csp["connect-src"] == ["'self'", "https://ehr.example.org:443", "https://auth.example.org:443"]
    assert csp["frame-ancestors"] == csp["connect-src"]


def test_every_app_response_carries_the_csp_even_an_error(client):
    for path in ("/app/launch", "/app/static/app.js", "/app/config.json", "/app/static/missing.js"):
        assert "connect-src" in client.get(path).headers["Content-Security-Policy"], path


def test_the_open_link_opens_for_an_allowlisted_server(client):
    assert client.get(OPEN).status_code == 200


@pytest.mark.parametrize("query", ["fhirServer=http%3A%2F%2Fevil.example.org%2Ffhir&patient=p1",
                                   "fhirServer=https%3A%2F%2F127.0.0.1%3A9999%2Ffhir&patient=p1"])
def test_the_open_link_refuses_a_server_off_the_list(client, query):
    response = client.get("/app/?" + query)
    assert response.status_code == 403
    assert response.get_json()["issue"][0]["code"] == "security"


@pytest.mark.parametrize("query", ["fhirServer=http%3A%2F%2F127.0.0.1%3A9999%2Ffhir", "patient=p1",
                                   "fhirServer=&patient=p1"])
def test_the_open_link_needs_server_and_patient(client, query):
    assert client.get("/app/?" + query).status_code == 400


def test_the_open_link_is_off_in_production(production_like):
    response = production_like.get("/app/?fhirServer=https%3A%2F%2Fehr.example.org%2Ffhir&patient=p1")
    assert response.status_code == 403
    assert "CDS_APP_OPEN_LINK" in response.get_json()["issue"][0]["diagnostics"]
    assert production_like.get("/app/").status_code == 200  # the SMART redirect lands here


def test_the_launch_checks_iss(production_like):
    ok = production_like.get("/app/launch?iss=https%3A%2F%2Fehr.example.org%2Ffhir&launch=abc")
    assert ok.status_code == 200 and b"static/launch.js" in ok.data
    assert production_like.get("/app/launch?iss=http%3A%2F%2F127.0.0.1%3A1%2Ffhir&launch=abc").status_code == 403
    assert production_like.get("/app/launch?launch=abc").status_code == 400
    assert production_like.get("/app/launch?iss=https%3A%2F%2Fehr.example.org%2Ffhir").status_code == 400


def test_the_app_is_open_under_auth_required(tmp_path, knowledge):
    from cds_service.config import Settings, REPO_ROOT
    s = Settings(database_url=f"sqlite:///{tmp_path}/a.db", knowledge_dir=REPO_ROOT, auth="required", allow_sandbox=True)
    client = create_app(s, knowledge=knowledge).test_client()
    assert client.get("/app/").status_code == 200
    assert client.get("/app/config.json").status_code == 200
    assert client.get("/cds-services").status_code == 401


def test_config_for_the_page(client):
    config = client.get("/app/config.json").get_json()
    assert config["openLink"] is True and config["clientId"] == "leg-pain-claudication-app"
    assert "patient/QuestionnaireResponse.write" in config["scope"].split()
    assert config["codes"]["http://loinc.org|77194-9"]["sign"] == config["abiSign"]
    assert config["bodySites"]["http://snomed.info/sct|32153003"] == "left"
    assert config["titles"][config["abiSign"]] == "Ankle-brachial index"


def test_the_vendored_library_is_the_pinned_file():
    data = (STATIC.parent / VENDOR["file"]).read_bytes()
    assert VENDOR["file_integrity"] == "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
    assert VENDOR["version"] in VENDOR["file"]
    assert (STATIC / "vendor" / f"fhir-client-{VENDOR['version']}.LICENSE.txt").read_text().startswith("Copyright")
    for page in ("index.html", "launch.html"):
        html = (STATIC / page).read_text()
        assert f'integrity="{VENDOR["file_integrity"]}"' in html, page


def test_no_asset_comes_from_elsewhere():
    for path in STATIC.rglob("*"):
        if path.suffix in (".html", ".css") or (path.suffix == ".js" and "vendor" not in path.parts):
            text = path.read_text()
            assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), path
            assert "url(" not in text, path


def test_every_static_file_is_served(client):
    for path in STATIC.rglob("*"):
        if path.is_file():
            name = path.relative_to(STATIC).as_posix()
            response = client.get(f"/app/static/{name}")
            assert response.status_code == 200 and response.data == path.read_bytes(), name


def test_a_missing_file_is_a_404_outcome(client):
    response = client.get("/app/static/../blueprint.py")
    assert response.status_code == 404


def test_access_log_line_has_no_query_string(client, caplog):
    caplog.set_level("INFO")
    client.get(OPEN)
    lines = [r for r in caplog.records if r.getMessage() == "request"]
    assert lines and all("fhirServer" not in str(r.__dict__) and "p1" not in str(r.__dict__) for r in lines)


def test_static_files_are_packaged():
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert '"smart_app/static/*"' in pyproject and '"smart_app/static/vendor/*"' in pyproject
