"""POST /cds-services/{id}: validate, gather data, evaluate, answer with cards."""
from __future__ import annotations

import logging

from flask import Blueprint, g, request as http_request

from .. import app_links, logs
from ..engine import Stats
from ..orders.engine import OrderStats
from ..http import json_response, note, read_json, require_service

bp = Blueprint("hooks", __name__)
audit = logging.getLogger(logs.AUDIT_LOGGER)


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str):
    svc = require_service(service_id)
    body = read_json()
    order_engine = (svc.order_engines or {}).get(service_id)
    engine = order_engine or svc.engine  # one pipeline per hook: the order services share the order pipeline
    stats = OrderStats() if order_engine else Stats()
    request = engine.parse_request(body, stats)
    note(hookInstance=request.hook_instance, service=service_id)
    client = g.get("client")
    fetcher = svc.fetcher_factory(request, client=client) if svc.fetcher_factory else None
    if order_engine:  # order-time cards are never snoozed (governance.SNOOZING_HOOKS)
        result = engine.evaluate(body, request=request, fetcher=fetcher, stats=stats)
        note(**stats.log_fields())
    else:
        base_url = svc.settings.public_base_url or http_request.host_url.rstrip("/")  # for the link to the questions
        tenant = f"{client.iss}\x1f{client.tenant or ''}" if client is not None else None  # whose patient a snooze is
        result = engine.evaluate(body, request=request, fetcher=fetcher, stats=stats, base_url=base_url, tenant=tenant)
        note(withheld=stats.withheld, snooze_failed=stats.snooze_failed)
        # the SMART app's links: patient-view cards only
        app_links.add(result.response["cards"], settings=svc.settings, base_url=base_url, fhir_server=request.fhir_server,
                      patient_id=request.patient_id, authorized=request.access_token is not None)
    note(cards=len(result.response["cards"]), knowledge_version=svc.engine.knowledge.version,
         timings_ms={k: round(v, 2) for k, v in stats.timings_ms.items()},
         resources=stats.resources_seen, used=stats.resources_used, malformed=stats.malformed,
         other_patient=stats.other_patient, duplicates=stats.duplicates, unknown_codes=stats.unknown_codes,
         fetched_keys=stats.fetched_keys, keys=stats.keys)
    if svc.metrics:
        svc.metrics.observe_cards(result.response["cards"], stats)
    if svc.settings.audit_log:
        for card in result.response["cards"]:
            audit.info("card issued", extra={"hookInstance": request.hook_instance, "card": card["uuid"],
                                             "topic": card["source"]["topic"]["code"], "indicator": card["indicator"],
                                             "suggestions": [s["uuid"] for s in card.get("suggestions", ())]})
    return json_response(result.response)
