"""Prometheus metrics: requests and latency by endpoint and status, cards by topic and
indicator, FHIR fallback calls and failures, skipped malformed resources, Condition codes no value set
knows in leg-relevant blocks, feedback outcomes, cards withheld (snoozed, switched off, capped, shadow)
and snooze storage failures.

Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR (``cds-service serve``
does) and /metrics aggregates every worker.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess

if TYPE_CHECKING:
    from .engine import Stats
    from .orders.engine import OrderStats
    from .store import FeedbackRow

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.requests = Counter("cds_http_requests", "HTTP requests answered", ["endpoint", "method", "status"], registry=r)
        self.latency = Histogram("cds_http_request_duration_seconds", "Time to answer a request", ["endpoint"],
                                 buckets=_BUCKETS, registry=r)
        self.cards = Counter("cds_cards", "Cards returned", ["topic", "indicator"], registry=r)
        self.fhir_calls = Counter("cds_fhir_fallback_calls", "FHIR fallback calls by outcome", ["outcome"], registry=r)
        self.malformed = Counter("cds_malformed_resources", "Malformed prefetch resources skipped", registry=r)
        self.feedback = Counter("cds_feedback_items", "Feedback items received by outcome", ["outcome"], registry=r)
        self.partial_keys = Counter("cds_partial_prefetch_keys", "Prefetch keys read only in part (paging cut short)",
                                    ["key"], registry=r)
        self.database_unavailable = Counter(
            "cds_database_unavailable", "Database calls that failed while serving, by use (replay-check and feedback "
            "answer 503; readiness reports it)", ["use"], registry=r)
        self.unknown_codes = Counter(
            "cds_unknown_condition_codes", "Conditions coded in a leg-relevant ICD-10-CM block that no value set lists, or "
            "with a listed leg-relevant SNOMED CT code no value set takes (knowledge/icd10cm-families.yaml "
            "unknown_code_blocks, unknown_snomed_codes): a site's coding gaps", registry=r)
        self.auth_failures = Counter("cds_auth_failures", "Requests refused with 401", registry=r)
        self.snooze_failures = Counter(
            "cds_snooze_failures", "Snooze storage calls that failed while serving a hook (the cards were shown "
            "regardless), by use: lookup, record, feedback", ["use"], registry=r)
        self.cards_withheld = Counter("cds_cards_withheld", "Cards evaluated but not returned, by topic and reason "
                                      "(snoozed, off, capped, shadow)", ["topic", "reason"], registry=r)

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """Once per request: the labelled children are looked up once per (endpoint, method, status)
        and kept (a bounded set: endpoints are route rules, never paths), not built per call."""
        children = self._request_children.get((endpoint, method, status))
        if children is None:
            children = self._request_children[(endpoint, method, status)] = (
                self.requests.labels(endpoint, method, str(status)), self.latency.labels(endpoint))
        children[0].inc()
        children[1].observe(seconds)

    def observe_cards(self, cards: list[dict[str, Any]], stats: Stats | OrderStats) -> None:
        for card in cards:
            self.cards.labels(card["source"]["topic"]["code"], card["indicator"]).inc()
        if stats.malformed:
            self.malformed.inc(stats.malformed)
        if stats.unknown_codes:
            self.unknown_codes.inc(stats.unknown_codes)
        for key, state in stats.keys.items():
            if state == "partial":
                self.partial_keys.labels(key).inc()

    def observe_feedback(self, rows: Iterable[FeedbackRow]) -> None:
        for row in rows:
            self.feedback.labels(row.outcome).inc()

    def observe_fhir(self, outcome: str) -> None:
        self.fhir_calls.labels(outcome).inc()

    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
