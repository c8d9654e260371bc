"""POST /cds-services/{id}/feedback: validate, store idempotently, start snoozes, answer 200."""
from __future__ import annotations

import logging

from flask import Blueprint, Response

from .. import feedback as feedback_mod, logs
from ..errors import DatabaseUnavailable
from ..http import json_response, note, read_json, require_service
from ..store import StoreError

bp = Blueprint("feedback", __name__)
audit = logging.getLogger(logs.AUDIT_LOGGER)


@bp.post("/cds-services/<service_id>/feedback")
def post_feedback(service_id: str) -> Response:
    svc = require_service(service_id)
    rows = feedback_mod.parse(read_json(), service_id)
    snooze = svc.engine.governance.snooze
    try:
        stored = svc.store.add_feedback(rows)
        snoozed = snooze.on_feedback(rows) if snooze is not None else 0
    except StoreError as exc:  # both steps are idempotent: the client's retry completes them
        raise DatabaseUnavailable(f"{exc}; try again shortly", "feedback") from None
    note(feedback_items=len(rows), feedback_new=stored, snoozes_started=snoozed)
    if svc.metrics:
        svc.metrics.observe_feedback(rows)
    if svc.settings.audit_log:
        for row in rows:
            audit.info("feedback", extra={"card": row.card_uuid, "outcome": row.outcome,
                                          "override": row.override_code, "at": row.outcome_timestamp})
    return json_response({"received": len(rows), "stored": stored})
