"""The patient's Conditions and Observations -> the few facts the order rules weigh.

The status rules are the patient-view ones (findings.py, clinical reference 1.7): refuted
and entered-in-error Conditions never count; resolved, inactive, remission or abated ones
are history; provisional, unconfirmed and differential ones count as current here, because
at order time a suspected contraindication must still stop the order. Only final, amended
and corrected ABIs count, and only within the window in order-rules.yaml. Resources are read
as plain JSON; one that is broken where a rule must read it is skipped and counted.

CLTI is not decided here: the patient-view stages (records, findings, assessment) run on the
same resources and the arterial red-flag rules (arterial_red_flags.py) say which leg has
CLTI, so that both pipelines mean the same thing by it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import assessment as assessment_mod, dates, findings as findings_mod, laterality, records
from ..findings import (CURRENT_CLINICAL, EXCLUDED_VERIFICATION, HISTORY_CLINICAL, USABLE_OBSERVATION,
                        UNCONFIRMED_VERIFICATION, clean_display)
from ..knowledge import Knowledge
from ..terminology import Terminology
from .knowledge import OrderKnowledge

LEGS = ("left", "right")


@dataclass(frozen=True)
class Fact:
    display: str
    reference: str
    date: datetime | None = None
    side: str | None = None  # left | right | bilateral | None (not recorded)
    certainty: str | None = None  # None or "suspected"
    value: float | None = None

    def line(self) -> str:
        parts = [f"{dates.show(self.date)}: {self.display}"]
        if self.value is not None:
            parts.append(f"{self.value:.2f}")
        side = {"bilateral": "both legs"}.get(self.side or "", f"{self.side} leg")
        if self.side and side not in self.display.lower():  # the code's own words may name the side already
            parts.append(side)
        elif not self.side and self.value is not None:
            parts.append("side not recorded")  # an ABI with no side counts for both legs; never name one
        if self.certainty:
            parts.append(self.certainty)
        return "- " + ", ".join(parts) + f" ({self.reference})"

    def legs(self) -> tuple[str, ...]:
        """The legs a fact applies to; one with no side recorded applies to both (the safe reading)."""
        return LEGS if self.side in (None, "bilateral") else (self.side,)


@dataclass
class PatientFacts:
    heart_failure: list[Fact] = field(default_factory=list)
    heart_failure_history: list[Fact] = field(default_factory=list)
    severe_heart_failure: list[Fact] = field(default_factory=list)
    clti: list[Fact] = field(default_factory=list)
    ali: list[Fact] = field(default_factory=list)  # acute limb ischaemia now (the arterial red-flag rules)
    arterial_disease: list[Fact] = field(default_factory=list)
    pad_risk: list[Fact] = field(default_factory=list)
    abi: list[Fact] = field(default_factory=list)  # within the window, newest first
    abi_too_old: list[Fact] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    now: datetime | None = None


def _code(concept: Any) -> str | None:
    if not isinstance(concept, dict):
        return None
    codings = concept.get("coding")
    if not isinstance(codings, list) or not codings or not isinstance(codings[0], dict):
        return None
    code = codings[0].get("code")
    return code if isinstance(code, str) else None


def _codings(concept: Any) -> list[tuple[str | None, str | None]]:
    if not isinstance(concept, dict) or not isinstance(concept.get("coding"), list):
        return []
    return [(c.get("system") if isinstance(c.get("system"), str) else None, c["code"]) for c in concept["coding"]
            if isinstance(c, dict) and isinstance(c.get("code"), str)]


def _side(resource: dict, code_side: str | None, terminology: Terminology) -> str | None:
    sites = resource.get("bodySite")
    sites = sites if isinstance(sites, list) else [sites] if isinstance(sites, dict) else []
    site_side, _ = laterality.from_codings([c for s in sites for c in _codings(s)], terminology)
    side = laterality.combine([code_side, site_side])
    for site in sites:
        side = side or laterality.from_text(site.get("text") if isinstance(site, dict) else None)
    return side


class _Reader:
    def __init__(self, knowledge: OrderKnowledge, terminology: Terminology, patient_id: str, now: datetime):
        self.k, self.t, self.patient_id, self.now = knowledge, terminology, patient_id, now
        self.facts = PatientFacts(now=now)

    def _subject_ok(self, resource: dict) -> bool:
        ref = (resource.get("subject") or {}).get("reference") if isinstance(resource.get("subject"), dict) else None
        if ref is None:
            return True  # a search by patient answered it; absence is not another patient
        return isinstance(ref, str) and ref.rsplit("/", 1)[-1] == self.patient_id

    def _recent_acute(self, onset: datetime | None, recorded: datetime | None) -> bool:
        """An acute or decompensated heart failure counts as severe only while recent: the later of its onset
        and its recorded date (either shows the episode was current then) within the window. An undated or
        future-dated one cannot show it is recent (the same reading as an ABI's window)."""
        known = [d for d in (onset, recorded) if d is not None and d <= self.now]
        return bool(known) and dates.days_between(max(known), self.now) <= self.k.acute_heart_failure_days

    def condition(self, resource: dict) -> None:
        verification = _code(resource.get("verificationStatus"))
        if verification in EXCLUDED_VERIFICATION:
            self.facts.skipped["refuted-or-entered-in-error"] += 1
            return
        clinical = _code(resource.get("clinicalStatus"))
        abated = any(k.startswith("abatement") for k in resource)
        history = clinical in HISTORY_CLINICAL or abated
        if not history and clinical is not None and clinical not in CURRENT_CLINICAL:
            self.facts.skipped["unknown-clinical-status"] += 1
            return
        certainty = "suspected" if verification in UNCONFIRMED_VERIFICATION else None
        date = dates.parse(resource.get("onsetDateTime") or resource.get("recordedDate"))
        ref = f"Condition/{resource.get('id')}" if isinstance(resource.get("id"), str) else "Condition"
        for system, code in _codings(resource.get("code")):
            for entry in self.k.code_sets_of(system, code):
                fact = Fact(clean_display(entry.display), ref, date, None, certainty)
                if entry.code_set == "heart-failure":
                    (self.facts.heart_failure_history if history else self.facts.heart_failure).append(fact)
                elif entry.code_set == "severe-heart-failure" and not history:
                    self.facts.severe_heart_failure.append(fact)
                elif entry.code_set == "acute-heart-failure" and not history and self._recent_acute(
                        date, dates.parse(resource.get("recordedDate"))):
                    self.facts.severe_heart_failure.append(
                        Fact(f"{clean_display(entry.display)} (acute, within "
                             f"{self.k.acute_heart_failure_days} days)", ref, date, None, certainty))
                elif entry.code_set == "diabetes" and not history:
                    self.facts.pad_risk.append(fact)
            concept = self.t.lookup(system, code)
            if concept is None:
                continue
            fact = Fact(clean_display(concept.display), ref, date, _side(resource, concept.side, self.t), certainty)
            if concept.sign in self.k.signs["arterial_disease"]:
                self.facts.arterial_disease.append(fact)  # history of arterial disease still asks for an ABI
            elif concept.sign in self.k.signs["pad_risk"] and not history:
                self.facts.pad_risk.append(fact)

    def observation(self, resource: dict) -> None:
        if resource.get("status") not in USABLE_OBSERVATION:
            self.facts.skipped["observation-status"] += 1
            return
        concept = next((c for s, code in _codings(resource.get("code"))
                        if (c := self.t.lookup(s, code)) is not None and c.sign in self.k.signs["abi"]), None)
        if concept is None:
            return
        quantity = resource.get("valueQuantity")
        value = quantity.get("value") if isinstance(quantity, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.facts.skipped["abi-without-value"] += 1
            return
        date = dates.parse(resource.get("effectiveDateTime") or resource.get("issued"))
        ref = f"Observation/{resource.get('id')}" if isinstance(resource.get("id"), str) else "Observation"
        fact = Fact("Ankle-brachial index", ref, date, _side(resource, concept.side, self.t), None, float(value))
        if date is None or dates.days_between(date, self.now) > self.k.abi["window_days"] or date > self.now:
            self.facts.abi_too_old.append(fact)  # undated or future-dated cannot show it is current
        else:
            self.facts.abi.append(fact)

    def read(self, resources: list) -> PatientFacts:
        for resource in resources:
            if not isinstance(resource, dict):
                self.facts.skipped["not-a-resource"] += 1
                continue
            if not self._subject_ok(resource):
                self.facts.skipped["other-patient"] += 1
                continue
            try:
                if resource.get("resourceType") == "Condition":
                    self.condition(resource)
                elif resource.get("resourceType") == "Observation":
                    self.observation(resource)
            except (AttributeError, TypeError, ValueError):
                self.facts.skipped["malformed"] += 1
        self.facts.abi.sort(key=lambda f: f.date, reverse=True)
        return self.facts


def _limb_threat(resources: list, knowledge: Knowledge, patient_id: str,
                 now: datetime) -> tuple[list[Fact], list[Fact], list[Fact]]:
    """(CLTI, possible CLTI, acute limb ischaemia now) per the arterial red-flag rules, run through the
    patient-view stages: an ALI code within its acute window and not revascularised since, or new signs of
    ALI, is the same determination the patient-view card makes (never a second one here)."""
    arterial = knowledge.rules.arterial
    if arterial is None:
        return [], [], []
    intake = records.select(resources, knowledge.terminology, patient_id)
    extraction = findings_mod.extract(intake.records, knowledge.rules, knowledge.terminology, now)
    flags = assessment_mod.assess(extraction.findings, knowledge.rules, now).patterns["arterial-claudication"].red_flags

    def fact(f) -> Fact:
        return Fact(f.display, f.reference, f.date, f.side, "suspected" if f.certainty == "unconfirmed" else None)
    proven = {arterial.clti["critical"], arterial.clti["known"]}
    acute = {arterial.ali["critical_code"], arterial.ali["critical_signs"]}
    return ([fact(f) for f in flags if f.sign in proven],
            [fact(f) for f in flags if f.sign == arterial.clti["possible"]],
            [fact(f) for f in flags if f.sign in acute])


def read(resources: list, knowledge: OrderKnowledge, patient_view: Knowledge, patient_id: str,
         now: datetime) -> PatientFacts:
    facts = _Reader(knowledge, patient_view.terminology, patient_id, now).read(resources)
    facts.clti, possible, facts.ali = _limb_threat(resources, patient_view, patient_id, now)
    facts.arterial_disease.extend(possible)  # perfusion unknown: an ABI (or toe pressure) before compression
    return facts
