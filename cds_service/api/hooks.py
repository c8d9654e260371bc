"""POST /cds-services/{id}: validate, gather data, evaluate, answer with cards."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, g, request as http_request

from .. import app_links, logs, prefetch
from ..engine import Result
from ..orders.engine import OrderResult, OrderStats
from ..http import json_response, note, read_json, require_service

bp = Blueprint("hooks", __name__)
audit = logging.getLogger(logs.AUDIT_LOGGER)


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    svc = require_service(service_id)
    order_engine = (svc.order_engines or {}).get(service_id)
    body = read_json() if order_engine else read_json(prefetch.decode)  # draft orders keep their own reader
    client = g.get("client")
    if order_engine:  # the order services (order-select, order-sign) share the order pipeline; never snoozed
        order_stats = OrderStats()
        order_request = order_engine.parse_request(body, order_stats)
        note(hookInstance=order_request.hook_instance, service=service_id)
        fetcher = svc.fetcher_factory(order_request, client=client) if svc.fetcher_factory else None
        result: Result | OrderResult = order_engine.evaluate(body, request=order_request, fetcher=fetcher, stats=order_stats)
        note(**order_stats.log_fields())
        hook_instance = order_request.hook_instance
    else:
        request = svc.engine.parse_request(body)
        note(hookInstance=request.hook_instance, service=service_id)
        fetcher = svc.fetcher_factory(request, client=client) if svc.fetcher_factory else None
        base_url = svc.settings.public_base_url or http_request.host_url.rstrip("/")  # for the link to the questions
        tenant = f"{client.iss}\x1f{client.tenant or ''}" if client is not None else None  # whose patient a snooze is
        result = svc.engine.evaluate_request(request, fetcher=fetcher, base_url=base_url, tenant=tenant)
        note(withheld=result.stats.withheld, snooze_failed=result.stats.snooze_failed)
        # the SMART app's links: patient-view cards only
        app_links.add(result.response["cards"], settings=svc.settings, base_url=base_url, fhir_server=request.fhir_server,
                      patient_id=request.patient_id, authorized=request.access_token is not None)
        hook_instance = request.hook_instance
    stats = result.stats
    note(cards=len(result.response["cards"]), knowledge_version=svc.engine.knowledge.version,
         timings_ms={k: round(v, 2) for k, v in stats.timings_ms.items()},
         resources=stats.resources_seen, used=stats.resources_used, malformed=stats.malformed,
         other_patient=stats.other_patient, duplicates=stats.duplicates, unknown_codes=stats.unknown_codes,
         fetched_keys=stats.fetched_keys, keys=stats.keys)
    if svc.metrics:
        svc.metrics.observe_cards(result.response["cards"], stats)
    if svc.settings.audit_log:
        for card in result.response["cards"]:
            audit.info("card issued", extra={"hookInstance": hook_instance, "card": card["uuid"],
                                             "topic": card["source"]["topic"]["code"], "indicator": card["indicator"],
                                             "suggestions": [s["uuid"] for s in card.get("suggestions", ())]})
    return json_response(result.response)
