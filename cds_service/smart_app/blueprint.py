"""GET /app/ (the app), /app/launch (the EHR launch), /app/config.json and /app/static/*.

Every response under /app/ carries the Content-Security-Policy: scripts, styles and images
from this service only; connections to this service and to the allowlisted FHIR and
authorization servers only. A page opened for a FHIR server that is not on the allowlist is
refused with a 403 OperationOutcome before any script runs.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, request, send_from_directory

from ..errors import BadRequest, CDSError
from ..http import json_response
from . import allowlist

PATH_PREFIX = "/app/"
STATIC = Path(__file__).resolve().parent / "static"
# What the app reads and writes on the patient's FHIR server (SMART v1 scopes, which v2 servers accept).
SCOPE = ("launch openid fhirUser patient/Patient.read patient/Observation.read patient/Condition.read "
         "patient/QuestionnaireResponse.write")
QUESTIONNAIRE = "leg-pain-on-walking"

bp = Blueprint("smart_app", __name__)


class ServerNotAllowed(CDSError):
    status = 403
    issue_code = "security"


def _settings():
    return current_app.extensions["cds"].settings


def content_security_policy(settings) -> str:
    servers = " ".join(allowlist.csp_sources((*settings.app_fhir_servers, *settings.app_auth_servers)))
    connect = f"'self' {servers}".strip()
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src {connect}; form-action 'self'; base-uri 'none'; frame-ancestors {connect}")


@bp.after_request
def _csp(response):
    response.headers["Content-Security-Policy"] = content_security_policy(_settings())
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"  # the launch code is in the URL the app is opened with
    return response


def _require_allowed(server: str, name: str) -> None:
    if not allowlist.allowed(server, _settings().app_fhir_servers):
        raise ServerNotAllowed(f"{name} is not a FHIR server this app may be opened for (CDS_APP_FHIR_SERVERS)",
                               expression=name)


def _page(name: str):
    response = send_from_directory(STATIC, name, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/app/")
def app_page():
    """The app. Opened by the SMART redirect (``code``, ``state``) or, in development, by the
    open link (``fhirServer``, ``patient``)."""
    server = request.args.get("fhirServer")
    if server is not None or "patient" in request.args:
        if not _settings().app_open_link:
            raise ServerNotAllowed("the open development link is off (CDS_APP_OPEN_LINK); open the app by a SMART launch",
                                   expression="fhirServer")
        if not server or not request.args.get("patient"):
            raise BadRequest("the open link needs both fhirServer and patient", expression="fhirServer")
        _require_allowed(server, "fhirServer")
    return _page("index.html")


@bp.get("/app/launch")
def launch_page():
    """The EHR launch: the EHR opens this with ``iss`` and ``launch``; the page hands them to the SMART client."""
    iss = request.args.get("iss")
    if not iss or not request.args.get("launch"):
        raise BadRequest("an EHR launch needs iss and launch", expression="iss")
    _require_allowed(iss, "iss")
    return _page("launch.html")


@bp.get("/app/config.json")
def app_config():
    """What the page needs to know: the SMART client settings, the allowlist, where the Questionnaire
    is, and how to read side and ABI from codes (from the value sets, so the page holds no codes)."""
    svc = current_app.extensions["cds"]
    terminology = svc.engine.knowledge.terminology
    codes = {f"{c.system}|{c.code}": {"sign": c.sign, "side": c.side} for c in terminology.concepts.values()}
    sites = {f"{c.system}|{c.code}": c.side for c in terminology.body_sites.values() if c.side}
    titles = {name: vs.get("title", name) for name, vs in terminology.valuesets.items()}
    return json_response({
        "clientId": svc.settings.app_client_id,
        "scope": SCOPE,
        "fhirServers": list(svc.settings.app_fhir_servers),
        "openLink": svc.settings.app_open_link,
        "questionnaire": f"../questionnaires/{QUESTIONNAIRE}",
        "abiSign": "ankle-brachial-index",
        "codes": codes,
        "bodySites": sites,
        "titles": titles,
    }, headers={"Cache-Control": "no-store"})


@bp.get("/app/static/<path:name>")
def static_file(name: str):
    response = send_from_directory(STATIC, name)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
