"""Validated resources -> findings: sign, present or absent, side, site, date, value, source.

This is where the clinical status rules live (clinical reference 1.7 and 1.8): refuted and
entered-in-error Conditions and cancelled or empty Observations are never evidence;
resolved, inactive or abated Conditions are history; a value that says 'absent' is
evidence against; stale findings age out on the sign's lookback window.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Literal

from . import dates, laterality, pain_severity
from .records import Record
from .rules import Rules, Sign
from .terminology import SNOMED, Side, Terminology

CURRENT_CLINICAL = frozenset({"active", "recurrence", "relapse"})
HISTORY_CLINICAL = frozenset({"inactive", "remission", "resolved"})
EXCLUDED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
UNCONFIRMED_VERIFICATION = frozenset({"unconfirmed", "provisional", "differential"})
USABLE_OBSERVATION = frozenset({"final", "amended", "corrected"})
COMPLETED_PROCEDURE = frozenset({"completed"})
OPEN_ORDER = frozenset({"draft", "active", "on-hold"})
ABSENT_VALUE = (SNOMED, "2667000")
PRESENT_VALUE = (SNOMED, "52101004")
_NEGATIVE_INTERPRETATION = frozenset({"NEG", "N"})
_POSITIVE_INTERPRETATION = frozenset({"POS"})
_SEMANTIC_TAG = re.compile(r"\s*\((disorder|finding|procedure|observable entity|qualifier value)\)\s*$")
FUTURE_TOLERANCE = timedelta(days=1)


FindingKind = Literal["evidence", "done", "order"]  # a sign's evidence, work done (a recent exam), an open order


@dataclass(frozen=True, slots=True)
class Finding:
    sign: str
    present: bool
    display: str
    reference: str
    resource_type: str
    date: datetime | None = None
    side: Side | None = None
    site: str | None = None
    value: float | None = None
    unit: str | None = None
    kind: FindingKind = "evidence"
    certainty: str | None = None  # None, "unconfirmed" or "preliminary"
    note: str | None = None  # e.g. the ABI band label, added by the assessment
    origin: str | None = None  # None: from the record; "reported" or "examined": an answer (cds_service/answers.py)
    code: str | None = None  # a Condition's code: the arterial rules know codes that do not state the limb


@dataclass
class Extraction:
    findings: list[Finding] = field(default_factory=list)
    excluded: Counter = field(default_factory=Counter)


def clean_display(text: str) -> str:
    return _SEMANTIC_TAG.sub("", text)


def _code(concept: Any) -> str | None:
    """The first coding's code of a CodeableConcept model (status fields have one)."""
    if concept is None or not concept.coding:
        return None
    return concept.coding[0].code


def _codings(concepts: Iterable[Any] | None) -> list[tuple[str | None, str | None]]:
    out = []
    for concept in concepts or ():
        for coding in concept.coding or ():
            out.append((coding.system, coding.code))
    return out


def _side_site(record: Record, terminology: Terminology, body_sites: list[Any] | None,
               *texts: str | None) -> tuple[Side | None, str | None]:
    side = record.concept.side
    site_side, site = laterality.from_codings(_codings(body_sites), terminology)
    side = laterality.combine([side, site_side])
    # A code that names the leg (M79.A29 ... lower extremity) or a part of it: "pain in calf" with a
    # bodySite that gives only the limb and side (left lower limb) is still calf pain (issue 17, item 3).
    if record.concept.site_label and site in (None, "leg"):
        site = record.concept.site_label
    if side is None:
        for concept in body_sites or ():
            side = side or laterality.from_text(concept.text)
        for text in texts:
            side = side or laterality.from_text(text)
    return side, site


def _display(record: Record) -> str:
    return clean_display(record.concept.display)


def _reference(record: Record) -> str:
    return f"{record.resource_type}/{record.model.id}" if record.model.id else record.resource_type


class _Extractor:
    def __init__(self, rules: Rules, terminology: Terminology, now: datetime):
        self.rules, self.terminology, self.now = rules, terminology, now
        self.out = Extraction()

    def exclude(self, reason: str) -> None:
        self.out.excluded[reason] += 1

    def stale(self, sign: Sign, when: datetime | None, applies: bool, undated_ok: bool = False) -> str | None:
        """Reason to drop for recency, or None when the finding is current enough.

        An undated Observation cannot show it is recent and is dropped; an undated but active
        Condition is kept (its status is the evidence, and dropping a red flag is the worse error)."""
        if when is not None and when - self.now > FUTURE_TOLERANCE:
            return "future-dated"
        if not applies or sign.lookback_days is None:
            return None
        if when is None:
            return None if undated_ok else "undated"
        if dates.days_between(when, self.now) > sign.lookback_days:
            return "stale"
        return None

    # -- Condition ---------------------------------------------------------------------
    def condition(self, record: Record) -> None:
        m = record.model
        sign = self.rules.signs[record.concept.sign]
        verification = _code(m.verificationStatus)
        if verification in EXCLUDED_VERIFICATION:
            return self.exclude(f"condition-{verification}")
        clinical = _code(m.clinicalStatus)
        abated = any(getattr(m, f, None) is not None for f in
                     ("abatementDateTime", "abatementAge", "abatementPeriod", "abatementRange", "abatementString"))
        if laterality.off_leg(_codings(m.bodySite), self.terminology):
            return self.exclude("non-leg-site")
        onset = dates.parse(m.onsetDateTime) or (dates.parse(m.onsetPeriod.start) if m.onsetPeriod else None) \
            or dates.parse(m.recordedDate)
        side, site = _side_site(record, self.terminology, m.bodySite, m.code.text)  # records matched a Condition by its code
        certainty = "unconfirmed" if verification in UNCONFIRMED_VERIFICATION else None
        if abated or clinical in HISTORY_CLINICAL:
            if not sign.history_sign:
                return self.exclude("condition-history")
            return self._history(record, sign, dates.parse(m.abatementDateTime) or onset, side, site, certainty)
        if clinical is not None and clinical not in CURRENT_CLINICAL:
            return self.exclude("condition-status-unknown")
        reason = self.stale(sign, onset, applies=sign.acute, undated_ok=True)
        if reason == "stale" and sign.history_sign:
            # An active acute Condition older than its window (a DVT from last year) is history, never dropped.
            return self._history(record, sign, onset, side, site, certainty)
        if reason:
            return self.exclude(f"condition-{reason}")
        self.out.findings.append(Finding(
            sign=sign.id, present=True, display=_display(record), reference=_reference(record), resource_type="Condition",
            date=onset, side=side, site=site, certainty=certainty, code=record.concept.code))
        return None

    def _history(self, record: Record, sign: Sign, when: datetime | None, side: Side | None, site: str | None,
                 certainty: str | None) -> None:
        history = self.rules.signs[sign.history_sign or ""]  # callers check history_sign first
        self.out.findings.append(Finding(
            sign=history.id, present=True, display=f"{_display(record)} (history)", reference=_reference(record),
            resource_type="Condition", date=when, side=side, site=site, certainty=certainty, code=record.concept.code))

    # -- Observation -------------------------------------------------------------------
    def observation(self, record: Record) -> None:
        m = record.model
        sign = self.rules.signs[record.concept.sign]
        status = m.status
        if status == "preliminary" and not sign.red_flag:
            return self.exclude("observation-preliminary")
        if status not in USABLE_OBSERVATION and status != "preliminary":
            return self.exclude(f"observation-{status or 'no-status'}")
        if m.dataAbsentReason is not None:
            return self.exclude("observation-data-absent")
        when = dates.parse(m.effectiveDateTime) or dates.parse(m.effectiveInstant) \
            or (dates.parse(m.effectivePeriod.start) if m.effectivePeriod else None) or dates.parse(m.issued)
        reason = self.stale(sign, when, applies=True)
        if reason:
            return self.exclude(f"observation-{reason}")
        certainty = "preliminary" if status == "preliminary" else None
        code_text = m.code.text  # code is required: records' reader refuses an Observation without one
        if sign.done_marker:
            self.out.findings.append(Finding(
                sign=sign.id, present=True, display=_display(record), reference=_reference(record),
                resource_type="Observation", date=when, kind="done"))
            return None
        if sign.measurement:
            return self._measurement(record, sign, when, code_text)
        if m.bodySite is not None and laterality.off_leg(_codings([m.bodySite]), self.terminology):
            return self.exclude("non-leg-site")
        side, site = _side_site(record, self.terminology, [m.bodySite] if m.bodySite else None, code_text)
        present = True if record.via == "value" else self._presence(m)
        value = unit = None
        if self.rules.severe_pain is not None and sign.id == self.rules.severe_pain.sign:  # a score, kept for its line
            quantity = m.valueQuantity
            if quantity is None or quantity.value is None:
                return self.exclude("observation-no-value")
            value, unit = float(quantity.value), quantity.unit or quantity.code
            if not pain_severity.plausible(value):
                return self.exclude("observation-implausible-value")
        self.out.findings.append(Finding(
            sign=sign.id, present=present, display=_display(record), reference=_reference(record),
            resource_type="Observation", date=when, side=side, site=site, certainty=certainty, value=value, unit=unit))
        return None

    def _presence(self, m: Any) -> bool:
        interpretation = {c for concept in m.interpretation or () for c in [_code(concept)] if c}
        if interpretation & _NEGATIVE_INTERPRETATION:
            return False
        if m.valueBoolean is not None:
            return bool(m.valueBoolean)
        if m.valueCodeableConcept is not None:
            codings = set(_codings([m.valueCodeableConcept]))
            if ABSENT_VALUE in codings:
                return False
            if PRESENT_VALUE in codings:
                return True
        if interpretation & _POSITIVE_INTERPRETATION:
            return True
        # A finding code with no value (or any other value) records the finding as present.
        return True

    def _measurement(self, record: Record, sign: Sign, when: datetime | None, code_text: str | None) -> None:
        m = record.model
        values: list[tuple[Any, Any, str | None]] = []  # (quantity, bodySite list, text)
        if record.via == "code" and m.valueQuantity is not None:
            values.append((m.valueQuantity, [m.bodySite] if m.bodySite else None, code_text))
        for component in m.component or ():
            known = any((concept := self.terminology.lookup(c.system, c.code)) is not None and concept.sign == sign.id
                        for c in (component.code.coding or ()))
            if known and component.valueQuantity is not None and component.dataAbsentReason is None:
                values.append((component.valueQuantity, [m.bodySite] if m.bodySite else None, component.code.text))
        if not values:
            return self.exclude("observation-no-value")
        for quantity, body_sites, text in values:
            if quantity.value is None:
                self.exclude("observation-no-value")
                continue
            value = float(quantity.value)
            if not (0.0 <= value < 10.0):  # an ABI outside this is a unit or entry error, not a reading
                self.exclude("observation-implausible-value")
                continue
            side, site = _side_site(record, self.terminology, body_sites, text, code_text)
            self.out.findings.append(Finding(
                sign=sign.id, present=True, display=_display(record), reference=_reference(record),
                resource_type="Observation", date=when, side=side, site=site, value=value,
                unit=quantity.unit or quantity.code))
        return None

    # -- Procedure and ServiceRequest ------------------------------------------------------
    def procedure(self, record: Record) -> None:
        m = record.model
        sign = self.rules.signs[record.concept.sign]
        if m.status not in COMPLETED_PROCEDURE:
            return self.exclude(f"procedure-{m.status}")
        when = dates.parse(m.performedDateTime) or (dates.parse(m.performedPeriod.start) if m.performedPeriod else None)
        reason = self.stale(sign, when, applies=True)
        if reason:
            return self.exclude(f"procedure-{reason}")
        if laterality.off_leg(_codings(m.bodySite), self.terminology):
            return self.exclude("non-leg-site")
        # The side matters: a revascularisation treats only the leg it was done on.
        side, site = _side_site(record, self.terminology, m.bodySite, m.code.text)  # records matched a Condition by its code
        self.out.findings.append(Finding(
            sign=sign.id, present=True, display=_display(record), reference=_reference(record),
            resource_type="Procedure", date=when, side=side, site=site, kind="done"))
        return None

    def service_request(self, record: Record) -> None:
        m = record.model
        if m.status not in OPEN_ORDER:
            return self.exclude(f"servicerequest-{m.status}")
        self.out.findings.append(Finding(
            sign=record.concept.sign, present=True, display=_display(record), reference=_reference(record),
            resource_type="ServiceRequest", date=dates.parse(m.authoredOn), kind="order"))
        return None


def extract(records: Iterable[Record], rules: Rules, terminology: Terminology, now: datetime) -> Extraction:
    """Stage 4: each record -> dated findings (present, absent, history, done, ordered), with the
    lookback windows of the pattern table applied; returns them with the count excluded per reason."""
    extractor = _Extractor(rules, terminology, now)
    handlers = {"Condition": extractor.condition, "Observation": extractor.observation,
                "Procedure": extractor.procedure, "ServiceRequest": extractor.service_request}
    for record in records:
        sign = rules.signs[record.concept.sign]
        if record.resource_type not in sign.read_from:
            extractor.exclude(f"{record.resource_type.lower()}-not-read-for-sign")
            continue
        handlers[record.resource_type](record)
    return extractor.out
