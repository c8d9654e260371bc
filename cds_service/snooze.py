"""Snooze on override: what may be snoozed, for whom, for how long, and what brings a card back.

A policy over the store (``store.py`` keeps and purges rows; this module decides what they
mean). When a clinician overrides a snoozable card with ``already-assessed`` or
``patient-declined``, the same variant is not shown again for the same patient within its
period, unless new evidence appears: a finding the card would list, dated after the override.
A snooze belongs to the patient, not to the clinician: whoever opens the chart next.

Patient-linked rows hold only a keyed hash (HMAC-SHA256 with ``CDS_SNOOZE_KEY``) of the client
(the JWT issuer, or none without auth), the FHIR server and the patient id; the ids and dates of
the findings the card listed; and times. They live only for the snooze period.
``CDS_SNOOZE_DAYS=0`` turns all of it off: nothing patient-linked is stored or read.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

import orjson

from .config import ConfigError, Settings
from .findings import Finding
from .store import FeedbackRow, Store

SNOOZE_REASONS = frozenset({"already-assessed", "patient-declined"})
DAY_S = 86_400.0
MIN_KEY_LENGTH = 32
# Development only: a published key makes the hashes pseudonyms, not secrets. Production refuses it.
DEVELOPMENT_KEY = "development-only snooze key; production needs CDS_SNOOZE_KEY"


def load_key(settings: Settings) -> bytes | None:
    """The HMAC key, or None when snoozing is off. Production needs a real secret (the variable or a
    mounted secret file); development falls back to a published key so `make run` works as is."""
    if settings.snooze_days == 0:
        return None
    if settings.snooze_key:
        key = settings.snooze_key
    elif settings.snooze_key_file is not None:
        try:
            key = settings.snooze_key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"CDS_SNOOZE_KEY_FILE {settings.snooze_key_file} is not readable ({exc.strerror})") from None
    elif settings.production:
        raise ConfigError("CDS_ENV=production needs CDS_SNOOZE_KEY or CDS_SNOOZE_KEY_FILE (a secret of at least "
                          f"{MIN_KEY_LENGTH} characters), or CDS_SNOOZE_DAYS=0 to store nothing patient-linked")
    else:
        return DEVELOPMENT_KEY.encode()
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(f"the snooze key must be at least {MIN_KEY_LENGTH} characters")
    if settings.production and key == DEVELOPMENT_KEY:
        raise ConfigError("the published development snooze key is refused when CDS_ENV=production")
    return key.encode()


def subject_hash(key: bytes, tenant: str | None, fhir_server: str | None, patient_id: str) -> str:
    """The only patient link stored: the same patient id on another FHIR server or for another
    client is another subject."""
    message = "\x1f".join((tenant or "", (fhir_server or "").rstrip("/"), patient_id))
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def new_evidence(listed: Iterable[Finding], memory: dict) -> bool:
    """A finding the card lists dated after the override; or one not listed when the card was
    shown, dated on the override's day or later (a date without a time cannot be ordered within it)."""
    overridden = datetime.fromtimestamp(memory["overridden_at"], tz=timezone.utc)
    before = {ref for ref, _ in json.loads(memory["findings"])}
    for finding in listed:
        if finding.date is None:
            continue
        when = _utc(finding.date)
        if when > overridden or (finding.reference not in before and when.date() >= overridden.date()):
            return True
    return False


@dataclass
class Lookup:
    """What the store says about one subject at the start of a hook call."""

    snoozed: dict[str, dict] = field(default_factory=dict)  # "pattern/variant" -> the latest override's row
    accepted: dict[str, datetime] = field(default_factory=dict)  # "pattern/suggestion" -> when accepted
    failed: bool = False


class SnoozePolicy:
    def __init__(self, store: Store, settings: Settings, key: bytes | None, override_system: str):
        self.store = store
        self.settings = settings
        self.key = key
        self.override_system = override_system
        self._last_purge = 0.0

    @property
    def enabled(self) -> bool:
        return self.key is not None

    def period_days(self, variant: Any) -> int | None:
        if not self.enabled or not variant.snoozable:
            return None
        return variant.snooze_days or self.settings.snooze_days

    def subject(self, tenant: str | None, fhir_server: str | None, patient_id: str) -> str | None:
        return subject_hash(self.key, tenant, fhir_server, patient_id) if self.key is not None else None

    def lookup(self, subject: str, now: datetime) -> Lookup:
        """Raises StoreError; the caller fails open."""
        memory, accepted = self.store.snooze_rows(subject, now.timestamp())
        result = Lookup()
        for row in sorted(memory, key=lambda r: r["overridden_at"]):
            result.snoozed[f"{row['topic']}/{row['variant']}"] = row
        for row in accepted:
            result.accepted[row["suggestion"]] = datetime.fromtimestamp(row["accepted_at"], tz=timezone.utc)
        return result

    def is_snoozed(self, rendered: Any, lookup: Lookup) -> bool:
        memory = lookup.snoozed.get(rendered.key)
        if memory is None or self.period_days(rendered.variant) is None:
            return False
        return not new_evidence(rendered.listed, memory)

    def memory_rows(self, subject: str | None, shown: list, now: datetime) -> list[dict]:
        """One row per shown card an override or an acceptance could refer to."""
        if subject is None:
            return []
        rows = []
        for r in shown:
            days = self.period_days(r.variant)
            if days is None and not r.suggestions:
                continue  # nothing feedback could do with it: not stored
            keep = days or self.settings.snooze_days
            rows.append({
                "card_uuid": r.card["uuid"], "subject": subject, "topic": r.pattern, "variant": r.variant.id,
                "findings": orjson.dumps([[f.reference, _utc(f.date).isoformat() if f.date else None]
                                          for f in r.listed]).decode(),
                "suggestions": orjson.dumps(dict(r.suggestions)).decode(), "snooze_days": days,
                "shown_at": now.timestamp(), "expires_at": now.timestamp() + keep * DAY_S,
                "overridden_at": None, "override_reason": None,
            })
        return rows

    def on_feedback(self, rows: list[FeedbackRow]) -> int:
        """Start snoozes and remember accepted suggestions; return how many snoozes started.
        Raises StoreError (the feedback endpoint answers 503 and the client retries: all idempotent)."""
        if not self.enabled:
            return 0
        memory = self.store.memory_for(sorted({row.card_uuid for row in rows}))
        started, accepted = 0, []
        for row in rows:
            shown = memory.get(row.card_uuid)
            if shown is None:
                continue
            at = datetime.fromisoformat(row.outcome_timestamp).timestamp()
            if (row.outcome == "overridden" and row.override_code in SNOOZE_REASONS
                    and row.override_system == self.override_system and shown["snooze_days"]):
                self.store.mark_overridden(row.card_uuid, at, row.override_code, at + shown["snooze_days"] * DAY_S)
                started += 1
            if row.outcome == "accepted" and row.accepted_suggestions:
                keys = json.loads(shown["suggestions"])
                accepted += [{"subject": shown["subject"], "suggestion": keys[u], "accepted_at": at,
                              "expires_at": at + self.settings.snooze_days * DAY_S}
                             for u in json.loads(row.accepted_suggestions) if u in keys]
        self.store.remember_accepted(accepted)
        return started

    def purge_now_and_then(self, now: datetime, every_s: float = 60.0) -> None:
        """Purge expired rows at most once a minute per process (raises StoreError)."""
        if time.monotonic() - self._last_purge < every_s:
            return
        self._last_purge = time.monotonic()
        self.store.purge(now.timestamp())
