"""The order pipeline for one order-select or order-sign request, without a web framework.

request -> envelope (the shared request schema) and hook checks -> lenient draft reader ->
optional prefetch keys (present / null / OperationOutcome / absent, FHIR fallback for the
absent and failed ones, exactly as patient-view) -> patient facts -> order rules -> cards.
A key that cannot be had is never a 412 here: it removes only the rule parts that need it,
and the log line says which.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .. import prefetch as prefetch_mod
from ..engine import IntakeStats
from ..errors import BadRequest, PayloadTooLarge
from ..knowledge import Knowledge
from ..validation import require_valid
from . import cards as cards_mod, facts as facts_mod, reader, rules
from .knowledge import OrderKnowledge

if TYPE_CHECKING:
    from ..config import Settings
    from ..engine import Fetcher

ORDER_SELECT, ORDER_SIGN = "order-select", "order-sign"
SERVICE_SUFFIX = {ORDER_SELECT: "order-select", ORDER_SIGN: "order-sign"}


@dataclass(frozen=True)
class OrderRequest:
    """The parts of a validated order request later stages need. Field names match HookRequest
    where the FHIR fallback reads them (fhir_server, access_token, patient_id, user_id, encounter_id)."""

    hook: str
    hook_instance: str
    patient_id: str
    user_id: str
    encounter_id: str | None
    fhir_server: str | None
    access_token: str | None
    prefetch: dict
    draft_orders: dict
    selections: tuple[str, ...] | None


@dataclass
class OrderStats(IntakeStats):
    """What one order-select or order-sign request measured. unknown_codes stays 0: only the
    patient-view request line and metric report coding gaps."""

    drafts: int = 0
    drafts_judged: int = 0
    drafts_unreadable: int = 0
    draft_deviations: Counter = field(default_factory=Counter)
    rules_skipped: list[str] = field(default_factory=list)

    def log_fields(self) -> dict[str, Any]:
        """The request log line's order fields: counts and deviation names only, never content."""
        return {"drafts": self.drafts, "drafts_judged": self.drafts_judged, "drafts_unreadable": self.drafts_unreadable,
                "draft_deviations": dict(self.draft_deviations), "rules_skipped": self.rules_skipped}


@dataclass
class OrderResult:
    response: dict
    stats: OrderStats


class OrderEngine:
    """One instance per hook (order-select or order-sign); both share the loaded order rules."""

    def __init__(self, hook: str, knowledge: Knowledge, order_knowledge: OrderKnowledge, settings: Settings):
        if hook not in SERVICE_SUFFIX:
            raise ValueError(f"unknown order hook {hook!r}")
        self.hook = hook
        self.knowledge = knowledge
        self.order_knowledge = order_knowledge
        self.settings = settings
        self.prefetch_keys = order_knowledge.prefetch_keys
        self.prefetch_templates = order_knowledge.templates()

    def parse_request(self, body: Any, stats: OrderStats | None = None) -> OrderRequest:
        started = time.perf_counter()
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object")
        require_valid("request", body)
        if body["hook"] != self.hook:
            raise BadRequest(f"this service answers the {self.hook} hook only", expression="hook")
        context = body["context"]
        draft_orders = context.get("draftOrders")
        if not isinstance(draft_orders, dict):
            raise BadRequest("context.draftOrders must be a FHIR Bundle of draft orders", expression="context.draftOrders")
        selections = None
        if self.hook == ORDER_SELECT:
            raw = context.get("selections")
            if not isinstance(raw, list):  # an empty list is a session with nothing newly selected: no card
                raise BadRequest("context.selections must list the selected orders (e.g. MedicationRequest/123)",
                                 expression="context.selections")
            selections = tuple(s for s in raw if isinstance(s, str))
            if stats is not None and len(selections) != len(raw):
                stats.draft_deviations["selections-entry-not-a-string"] += len(raw) - len(selections)
        auth = body.get("fhirAuthorization") or {}
        request = OrderRequest(hook=self.hook, hook_instance=body["hookInstance"], patient_id=context["patientId"],
                               user_id=context["userId"], encounter_id=context.get("encounterId"),
                               fhir_server=body.get("fhirServer"), access_token=auth.get("access_token"),
                               prefetch=body.get("prefetch") or {}, draft_orders=draft_orders, selections=selections)
        if stats is not None:
            stats.timings_ms["request"] = (time.perf_counter() - started) * 1e3
        return request

    def _judged(self, request: OrderRequest, stats: OrderStats) -> list[reader.DraftOrder]:
        intake = reader.read(request.draft_orders)
        stats.drafts, stats.drafts_unreadable = intake.seen, intake.unreadable
        stats.draft_deviations.update(intake.deviations)
        orders = intake.orders
        for order in orders:
            if order.subject is not None and order.subject.rsplit("/", 1)[-1] != request.patient_id:
                stats.draft_deviations["subject-not-the-context-patient"] += 1  # judged still: it is in this session
        if request.selections is not None:
            by_ref = {o.reference: o for o in orders if o.reference}
            missing = [s for s in request.selections if s not in by_ref]
            if missing:
                stats.draft_deviations["selection-not-in-draftOrders"] += len(missing)
            orders = [by_ref[s] for s in dict.fromkeys(request.selections) if s in by_ref]
        stats.drafts_judged = len(orders)
        return orders

    def gather(self, request: OrderRequest, fetcher: Fetcher | None, stats: OrderStats) -> tuple[list[Any], set[str]]:
        """Resources of every key that could be had, and the names of those keys."""
        results = {k.key: prefetch_mod.classify(k.key, request.prefetch.get(k.key), k.key in request.prefetch)
                   for k in self.prefetch_keys}
        if fetcher is not None:
            jobs = [(k, results[k.key]) for k in self.prefetch_keys
                    if results[k.key].state in ("absent", "failed") or results[k.key].next_url]
            if jobs:
                stats.fetched_keys += len(jobs)
                started = time.perf_counter()
                for (k, _), fetched in zip(jobs, fetcher(jobs), strict=True):
                    results[k.key] = fetched
                stats.timings_ms["fetch"] = (time.perf_counter() - started) * 1e3
        resources: list[Any] = []
        available: set[str] = set()
        seen: set[tuple[str, str]] = set()
        for key in self.prefetch_keys:
            result = results[key.key]
            if result.state in ("absent", "failed"):
                stats.keys[key.key] = f"{result.state}-skipped"
                continue
            if result.state == "present" and result.next_url:
                result.state = "partial"  # the client sent a first page and nothing can fetch the rest
            stats.keys[key.key] = result.state
            available.add(key.key)
            for resource in result.resources:
                rtype, rid = (resource.get("resourceType"), resource.get("id")) if isinstance(resource, dict) else (None, None)
                if isinstance(rtype, str) and isinstance(rid, str):
                    ident = (rtype, rid)
                    if ident in seen:  # a Condition may answer two keys' searches
                        stats.duplicates += 1
                        continue
                    seen.add(ident)
                resources.append(resource)
        if len(resources) > self.settings.max_prefetch_resources:
            raise PayloadTooLarge(f"prefetch holds {len(resources)} resources; the limit is "
                                  f"{self.settings.max_prefetch_resources}")
        return resources, available

    def evaluate(self, body: Any, *, now: datetime | None = None, fetcher: Fetcher | None = None, request: OrderRequest | None = None,
                 stats: OrderStats | None = None) -> OrderResult:
        stats = stats or OrderStats()
        now = now or datetime.now(timezone.utc)
        if request is None:
            request = self.parse_request(body, stats)
        t1 = time.perf_counter()
        orders = self._judged(request, stats)
        if not orders:  # nothing to judge: no need to fetch the patient's record at all
            stats.timings_ms["evaluation"] = (time.perf_counter() - t1) * 1e3
            return OrderResult(response={"cards": []}, stats=stats)
        resources, available = self.gather(request, fetcher, stats)
        t2 = time.perf_counter()
        patient = facts_mod.read(resources, self.order_knowledge, self.knowledge, request.patient_id, now)
        alerts, skipped = rules.judge(orders, patient, self.order_knowledge, self.knowledge.terminology, available)
        cards = cards_mod.render(alerts, self.order_knowledge, self.knowledge.common, request.hook_instance,
                                 request.patient_id, request.user_id, incomplete=stats.incomplete,
                                 knowledge_version=self.knowledge.version)
        t3 = time.perf_counter()
        stats.timings_ms.update(prefetch=(t2 - t1) * 1e3, evaluation=(t3 - t2) * 1e3)
        stats.resources_seen += len(resources)
        used = [*patient.heart_failure, *patient.heart_failure_history, *patient.clti, *patient.ali, *patient.arterial_disease,
                *patient.pad_risk, *patient.abi, *patient.abi_too_old]
        stats.resources_used = len({f.reference for f in used})
        stats.other_patient += patient.skipped.get("other-patient", 0)
        stats.malformed += patient.skipped.get("malformed", 0)
        stats.rules_skipped = sorted(skipped)
        return OrderResult(response={"cards": cards}, stats=stats)


def build(knowledge: Knowledge, settings: Settings) -> dict[str, OrderEngine]:
    """The two order services, keyed by service id, sharing one loaded rule set."""
    from .knowledge import load
    order_knowledge = load(settings.knowledge_dir, knowledge)
    return {service_id(settings, hook): OrderEngine(hook, knowledge, order_knowledge, settings)
            for hook in (ORDER_SELECT, ORDER_SIGN)}


def service_id(settings: Settings, hook: str) -> str:
    return f"{settings.service_id}-{SERVICE_SUFFIX[hook]}"
