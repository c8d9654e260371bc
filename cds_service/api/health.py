"""GET /healthz: liveness and readiness (knowledge loaded, database reachable). Open, no patient data."""
from __future__ import annotations

from flask import Blueprint, Response

from ..http import json_response, services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    svc = services()
    knowledge = svc.engine.knowledge
    database = svc.store.ping()
    body = {
        "status": "ok" if database else "degraded",
        "valueSets": len(knowledge.terminology.valuesets),
        "cardTemplates": len(knowledge.templates),
        "database": "ok" if database else "unreachable",
    }
    return json_response(body, status=200 if database else 503)
