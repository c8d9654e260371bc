"""The naive peer of the benchmarks: a small Flask + fhir.resources CDS service, kept as a reference.

What a first version of such a service would do: decode the body with Flask, build a
fhir.resources R4B model for every resource of every prefetch Bundle, then apply one rule with
our value sets: the pattern whose signs weigh most among current Conditions and recent
Observations gets a card. On the typical body (the largest synthetic patient) it gives the same
card topic as the service; it has none of the service's checks (no schema, no pre-filter, no
governance, no log line, no metrics), so it is a floor for "served the same way", not a rival.

Served under gunicorn with the settings `cds-service serve` uses (bench/load.py starts both):

    python -m bench.naive --port 8090 --workers 2 --threads 4
"""
from __future__ import annotations

import argparse
import uuid
from collections import Counter
from datetime import datetime, timezone
from typing import Any

from flask import Flask, jsonify, request
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.servicerequest import ServiceRequest

from cds_service import dates, knowledge as knowledge_mod
from cds_service.config import REPO_ROOT

MODELS: dict[str, Any] = {m.__name__: m for m in (Condition, Observation, Procedure, ServiceRequest, MedicationRequest,
                                                   MedicationStatement, Patient, QuestionnaireResponse)}
SERVICE_ID = "leg-pain-claudication"


def models(body: dict) -> list[Any]:
    """A model for every resource of every prefetch key (a Bundle's entries, or the resource itself)."""
    out = []
    for value in (body.get("prefetch") or {}).values():
        if not isinstance(value, dict):
            continue
        if value.get("resourceType") == "Bundle":
            bundle = Bundle.model_validate(value)  # validates every entry's resource as its own model
            out.extend(e.resource for e in bundle.entry or () if e.resource is not None)
        elif value.get("resourceType") in MODELS:
            out.append(MODELS[value["resourceType"]].model_validate(value))
    return out


def cards(resources: list[Any], knowledge: knowledge_mod.Knowledge, now: datetime) -> list[dict]:
    """One rule: sum the pattern weights of the signs of current Conditions and recent final
    Observations; the heaviest pattern with a positive score gets an info card."""
    score: Counter = Counter()
    for r in resources:
        if not isinstance(r, (Condition, Observation)) or r.code is None:
            continue
        if isinstance(r, Condition):
            status = r.clinicalStatus.coding[0].code if r.clinicalStatus and r.clinicalStatus.coding else "active"
            if status != "active":
                continue
        for coding in r.code.coding or ():
            concept = knowledge.terminology.lookup(coding.system, coding.code)
            if concept is None:
                continue
            sign = knowledge.rules.signs[concept.sign]
            if isinstance(r, Observation):
                when = dates.parse(r.effectiveDateTime)
                if r.status not in ("final", "amended") or when is None or (
                        sign.lookback_days is not None and dates.days_between(when, now) > sign.lookback_days):
                    continue
            score.update(sign.present.supports)
            break
    if not score:
        return []
    pattern, weight = score.most_common(1)[0]
    if weight <= 0:
        return []
    return [{"uuid": str(uuid.uuid4()), "summary": f"Consistent with {pattern}", "indicator": "info",
             "source": {"label": "naive peer", "topic": {"code": pattern}}}]


def create_app() -> Flask:
    knowledge = knowledge_mod.load(REPO_ROOT)
    app = Flask(__name__)

    @app.post(f"/cds-services/{SERVICE_ID}")
    def hook() -> Any:
        body = request.get_json()
        return jsonify({"cards": cards(models(body), knowledge, datetime.now(timezone.utc))})

    @app.get("/readyz")
    def ready() -> Any:
        return jsonify({"status": "ok"})

    return app


def main() -> None:
    """Serve the naive peer with the gunicorn settings of `cds-service serve` (cds_service/cli.py)."""
    from gunicorn.app.base import BaseApplication

    parser = argparse.ArgumentParser(prog="python -m bench.naive")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--reuse-port", action="store_true")
    args = parser.parse_args()

    class App(BaseApplication):
        def load_config(self) -> None:
            for name, value in (("bind", f"{args.host}:{args.port}"), ("workers", args.workers),
                                ("worker_class", "gthread"), ("threads", args.threads), ("timeout", 30),
                                ("graceful_timeout", 20), ("keepalive", 5), ("reuse_port", args.reuse_port),
                                ("accesslog", None), ("control_socket_disable", True)):
                self.cfg.set(name, value)

        def load(self) -> Flask:
            return create_app()

    App().run()


if __name__ == "__main__":
    main()
