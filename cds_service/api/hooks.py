"""POST /cds-services/{id}: validate, gather data, evaluate, answer with cards."""
from __future__ import annotations

from flask import Blueprint, g

from ..errors import NotFound
from ..http import json_response, note, read_json, services

bp = Blueprint("hooks", __name__)


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str):
    svc = services()
    if service_id != svc.settings.service_id:
        raise NotFound("no CDS service with that id; see GET /cds-services")
    body = read_json()
    request = svc.engine.parse_request(body)
    note(hookInstance=request.hook_instance, service=service_id)
    fetcher = svc.fetcher_factory(request, client=g.get("client")) if svc.fetcher_factory else None
    result = svc.engine.evaluate(body, request=request, fetcher=fetcher)
    stats = result.stats
    note(cards=len(result.response["cards"]), timings_ms={k: round(v, 2) for k, v in stats.timings_ms.items()},
         resources=stats.resources_seen, used=stats.resources_used, malformed=stats.malformed,
         other_patient=stats.other_patient, keys=stats.keys)
    if svc.metrics:
        svc.metrics.observe_cards(result.response["cards"], stats)
    return json_response(result.response)
