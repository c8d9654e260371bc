"""The OpenAPI document: kept in the package, regenerated from our schemas without drift, naming
exactly the routes the app serves, served at /openapi.json; and Schemathesis (pinned) against a
real `cds-service serve` for a bounded time: no 5xx, every status documented, every body matching.

The Schemathesis run is capped at MAX_TIME_S seconds of generation (--max-time), and the whole
command at RUN_CAP_S by the subprocess timeout; the instance refuses every fhirServer
(CDS_FHIR_ALLOW_ANY_SERVER=false), so generated requests never leave 127.0.0.1.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from bench.load import Server
from cds_service.config import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
import make_openapi  # noqa: E402

MAX_TIME_S = 40
RUN_CAP_S = 90
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def _document() -> dict:
    return json.loads(resources.files("cds_service").joinpath("openapi.json").read_text(encoding="utf-8"))


def test_the_packaged_document_is_what_the_generator_writes():
    assert resources.files("cds_service").joinpath("openapi.json").read_text(encoding="utf-8") == make_openapi.render()


def test_the_document_names_exactly_the_routes_served(app):
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in _document()["paths"].items() for method in item}
    assert served == documented


def test_the_document_is_served(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200 and response.get_json() == _document()


def test_the_bodies_are_our_schemas():
    schemas = _document()["components"]["schemas"]
    request = json.loads((REPO_ROOT / "cds_service" / "schemas" / "request.schema.json").read_text())
    assert schemas["HookRequest"]["required"] == request["required"]
    assert schemas["HookRequest"]["properties"] == request["properties"]


@pytest.mark.timeout(RUN_CAP_S + 30)
def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(tmp_path):
    st = Path(sys.executable).with_name("st")
    server = Server(workers=1, env={"CDS_KNOWLEDGE_DIR": str(REPO_ROOT), "CDS_FHIR_ALLOW_ANY_SERVER": "false",
                                    "CDS_LOG_LEVEL": "WARNING"})
    try:
        run = subprocess.run([str(st), "run", server.url + "/openapi.json", "--checks", CHECKS,
                              "--max-time", str(MAX_TIME_S), "--seed", "1", "--workers", "1", "--request-timeout", "10"],
                             capture_output=True, text=True, timeout=RUN_CAP_S, cwd=tmp_path,
                             env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NO_COLOR": "1"})
    finally:
        server.stop()
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
