"""Which evaluated cards a response carries, and the record kept of every decision.

After the cards are rendered, in this order: a variant switched off by the site
(``CDS_CARDS_OFF``) is withheld; a snoozed variant is withheld (``snooze.py``); at most one
``info`` card is kept (cards come critical, warning, info); in shadow mode (``CDS_SHADOW_MODE``)
nothing is returned at all, yet everything is evaluated and recorded. Each decision goes to the
non-identifying card log that ``cds-service report`` reads.

Storage failures never cost the clinician the cards: a failed snooze lookup shows them all and a
failed record is dropped; both are counted (``cds_snooze_failures``) and noted on the log line.
After a failure the store is left alone for ``BACKOFF_S`` (each skipped call counted too), so a
database that does not answer costs one hook call its connect timeout, not every call two.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import logs
from .cards import Rendered
from .config import ConfigError, Settings
from .knowledge import Knowledge
from .snooze import Lookup, SnoozePolicy, load_key
from .store import Store, StoreError

log = logging.getLogger(logs.REQUEST_LOGGER)

SHOWN, SNOOZED, OFF, CAPPED, SHADOW = "shown", "snoozed", "off", "capped", "shadow"
BACKOFF_S = 10.0
# Only chart-opening cards snooze; a card at order time (order-select, order-sign) is never snoozed.
SNOOZING_HOOKS = frozenset({"patient-view"})


def switched_off(settings: Settings, knowledge: Knowledge) -> frozenset[str]:
    """``CDS_CARDS_OFF`` as "pattern/variant" keys; a bare pattern means all its variants.
    A name that matches nothing stops the start (a typo must not leave a card on)."""
    keys: set[str] = set()
    for item in settings.cards_off:
        pattern, _, variant = item.partition("/")
        template = knowledge.templates.get(pattern)
        if template is None or (variant and variant not in {v.id for v in template.variants}):
            raise ConfigError(f"CDS_CARDS_OFF: {item!r} names no card variant (see `cds-service catalogue`)")
        keys |= {f"{pattern}/{v.id}" for v in template.variants if not variant or v.id == variant}
    return frozenset(keys)


@dataclass(frozen=True)
class Decision:
    rendered: Rendered
    status: str


class Governance:
    def __init__(self, settings: Settings, knowledge: Knowledge, store: Store | None = None, metrics: Any = None):
        self.settings = settings
        self.knowledge = knowledge
        self.off = switched_off(settings, knowledge)
        self.store = store
        self.metrics = metrics
        key = load_key(settings) if store is not None else None
        self.snooze = SnoozePolicy(store, settings, key, knowledge.common.override_system) if store is not None else None
        self._down_until = 0.0  # monotonic time before which the store is not asked

    def _failed(self, use: str, exc: StoreError | None) -> None:
        if exc is not None:
            self._down_until = time.monotonic() + BACKOFF_S
            log.warning("snooze storage failed; cards shown", extra={"use": use, "error": str(exc)})
        if self.metrics is not None:
            self.metrics.snooze_failures.labels(use).inc()

    def _backing_off(self) -> bool:
        return time.monotonic() < self._down_until

    def prepare(self, tenant: str | None, fhir_server: str | None, patient_id: str,
                now: datetime) -> tuple[str | None, Lookup]:
        """The subject's hash and its snoozes; an empty lookup (fail open) when storage fails."""
        if self.snooze is None:
            return None, Lookup()
        subject = self.snooze.subject(tenant, fhir_server, patient_id)
        if subject is None:  # snooze is off: no key, so no subject to look up
            return None, Lookup()
        if self._backing_off():
            self._failed("lookup", None)
            return subject, Lookup(failed=True)
        try:
            return subject, self.snooze.lookup(subject, now)
        except StoreError as exc:
            self._failed("lookup", exc)
            return subject, Lookup(failed=True)

    def decide(self, rendered: list[Rendered], lookup: Lookup, hook: str = "patient-view") -> list[Decision]:
        decisions, info_kept = [], False
        snoozing = self.snooze is not None and hook in SNOOZING_HOOKS
        for r in rendered:
            if r.key in self.off:
                status = OFF
            elif snoozing and self.snooze is not None and self.snooze.is_snoozed(r, lookup):
                status = SNOOZED
            elif r.card["indicator"] == "info" and info_kept:
                status = CAPPED
            else:
                info_kept = info_kept or r.card["indicator"] == "info"
                status = SHADOW if self.settings.shadow_mode else SHOWN
            decisions.append(Decision(r, status))
        if self.metrics is not None:
            for d in decisions:
                if d.status != SHOWN:
                    self.metrics.cards_withheld.labels(d.rendered.pattern, d.status).inc()
        return decisions

    def record(self, subject: str | None, decisions: list[Decision], now: datetime) -> bool:
        """Log the decisions (and, for shown cards, the snooze memory). False when storage failed."""
        if self.store is None:
            return True
        at = now.timestamp()
        log_rows = [{"card_uuid": d.rendered.card["uuid"], "at": at, "topic": d.rendered.pattern,
                     "variant": d.rendered.variant.id, "indicator": d.rendered.card["indicator"], "status": d.status,
                     "knowledge_version": self.knowledge.version} for d in decisions]
        shown = [d.rendered for d in decisions if d.status == SHOWN]
        if self._backing_off():
            self._failed("record", None)
            return False
        try:
            memory = self.snooze.memory_rows(subject, shown, now) if self.snooze is not None else []
            self.store.record_cards(at, self.settings.shadow_mode, log_rows, memory)
            if self.snooze is not None and self.snooze.enabled:
                self.snooze.purge_now_and_then(now)
        except StoreError as exc:
            self._failed("record", exc)
            return False
        return True
