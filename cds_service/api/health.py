"""GET /healthz (liveness) and GET /readyz (readiness). Open, no patient data.

Liveness says only that the process answers: an orchestrator restarts a container whose
liveness fails, and a database outage must not restart every instance. Readiness says the
instance can do its whole job (knowledge loaded, database reachable), so a load balancer may
send it traffic; it is 503 otherwise.
"""
from __future__ import annotations

from flask import Blueprint

from ..http import json_response, services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return json_response({"status": "ok"})


@bp.get("/readyz")
def readyz():
    svc = services()
    knowledge = svc.engine.knowledge
    database = svc.store.ping()
    if not database and svc.metrics:
        svc.metrics.database_unavailable.labels("readiness").inc()
    body = {
        "status": "ok" if database else "degraded",
        "valueSets": len(knowledge.terminology.valuesets),
        "cardTemplates": len(knowledge.templates),
        "database": "ok" if database else "unreachable",
    }
    return json_response(body, status=200 if database else 503)
