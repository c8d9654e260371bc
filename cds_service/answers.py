"""QuestionnaireResponses to the seed's questions -> findings with side, date and origin.

Why a module of its own: a chart finding is a coded resource, an answer is a pair (question,
answer) whose meaning comes from knowledge/questionnaire.yaml. Once read, an answer is an ordinary
``Finding`` (same signs, same weights, same superseding by date) with two differences the cards
need: ``origin`` says whether the patient reported it or the clinician examined it, and its
``note`` says so on the card.

Rules (documented in knowledge/questionnaire.yaml): responses to our Questionnaire only, status
completed or amended, for the patient in context, authored within ``lookback_days``; the latest
of those wins whole. A response that is malformed, undated, for another patient or future-dated
is skipped and counted, never fatal.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from . import dates, laterality
from .records import QUESTIONNAIRE_RESPONSE, Malformed
from .findings import FUTURE_TOLERANCE, Finding
from .questionnaire import Questions
from .terminology import Side

USABLE_STATUS = frozenset({"completed", "amended"})
RESOURCE_TYPE = "QuestionnaireResponse"
ORIGIN_NOTE = {"reported": "reported by the patient", "examined": "examined by the clinician"}


@dataclass
class Reading:
    findings: list[Finding] = field(default_factory=list)
    used: str | None = None  # reference of the response read
    date: datetime | None = None
    skipped: Counter = field(default_factory=Counter)

    @property
    def recent(self) -> bool:
        """A usable response within the lookback window was found (it may have had no answers)."""
        return self.used is not None


def _candidate(raw: Any, questions: Questions, patient_id: str, now: datetime,
               skipped: Counter[str]) -> tuple[Any, datetime] | None:
    """The response's model and date when it may be read, else None (and why, counted)."""
    if not isinstance(raw, dict) or raw.get("resourceType") != RESOURCE_TYPE:
        skipped["not-a-questionnaireresponse"] += 1
        return None
    if not questions.matches(raw.get("questionnaire")):
        skipped["other-questionnaire"] += 1
        return None
    if raw.get("status") not in USABLE_STATUS:
        skipped[f"status-{raw.get('status') or 'missing'}"] += 1
        return None
    try:
        model = QUESTIONNAIRE_RESPONSE(raw)  # the fields read below, checked as fhir.resources checks them
    except Malformed:
        skipped["malformed"] += 1
        return None
    subject = model.subject.reference if model.subject else None
    if subject not in (f"Patient/{patient_id}", patient_id):
        skipped["other-patient"] += 1
        return None
    when = dates.parse(model.authored)
    if when is None:
        skipped["undated"] += 1
        return None
    if when - now > FUTURE_TOLERANCE:
        skipped["future-dated"] += 1
        return None
    if dates.days_between(when, now) > questions.lookback_days:
        skipped["stale"] += 1
        return None
    return model, when


def _answer_findings(model: Any, when: datetime, questions: Questions) -> list[Finding]:
    reference = f"{RESOURCE_TYPE}/{model.id}" if model.id else RESOURCE_TYPE
    raw: list[Finding] = []
    walking: dict[Side, bool] = {}
    for group in model.item or ():
        side = cast("Side | None", questions.sides.get(group.linkId))  # left or right: the loader checks it
        if side is None:
            continue
        for entry in group.item or ():
            key = entry.linkId.partition(".")[2]
            item = questions.items.get(key)
            answer = (entry.answer or [None])[0]
            if item is None or answer is None:
                continue
            base = Finding(sign="", present=True, display=item.text, reference=reference, resource_type=RESOURCE_TYPE,
                           date=when, side=side, origin=item.origin, note=ORIGIN_NOTE[item.origin])
            if item.type == "boolean" and answer.valueBoolean is not None:
                if key == questions.distribution["item"]:
                    walking[side] = bool(answer.valueBoolean)
                elif key in questions.booleans:
                    raw.append(replace(base, sign=questions.booleans[key], present=bool(answer.valueBoolean)))
            elif item.type == "choice" and answer.valueCoding is not None:
                coding = answer.valueCoding
                if (coding.system, coding.code) not in item.options:
                    continue  # not one of this question's answers: nothing can be read from it
                sign = questions.answers.get(key, {}).get(coding.code)
                if sign:
                    display = f"{item.text.rstrip('?')}: {item.options[(coding.system, coding.code)]}"
                    raw.append(replace(base, sign=sign, display=display))
    painful = [side for side, yes in walking.items() if yes]
    if painful:
        both = len(painful) == 2
        sign = questions.distribution["both" if both else "one"]
        display = "Pain on walking in both legs" if both else f"Pain on walking in the {painful[0]} leg only"
        raw.append(Finding(sign=sign, present=True, display=display, reference=reference, resource_type=RESOURCE_TYPE,
                           date=when, side=laterality.combine(painful), origin="reported", note=ORIGIN_NOTE["reported"]))
    return _merge_sides(raw)


def _merge_sides(findings: list[Finding]) -> list[Finding]:
    """The same answer on both legs is one finding on both legs (it must not count twice)."""
    merged: dict[tuple[str, bool], Finding] = {}
    sides: dict[tuple[str, bool], list[Side | None]] = {}
    for f in findings:
        key = (f.sign, f.present)
        merged.setdefault(key, f)
        sides.setdefault(key, []).append(f.side)
    out = []
    for key, f in merged.items():
        side = laterality.combine(sides[key])
        display = f.display if len(sides[key]) == 1 else f"{f.display} (both legs)"
        out.append(Finding(sign=f.sign, present=f.present, display=display, reference=f.reference,
                           resource_type=f.resource_type, date=f.date, side=side, origin=f.origin, note=f.note))
    return out


def read(resources: list, questions: Questions, patient_id: str, now: datetime) -> Reading:
    """Findings from the latest usable QuestionnaireResponse among ``resources``."""
    reading = Reading()
    best = None
    for raw in resources:
        candidate = _candidate(raw, questions, patient_id, now, reading.skipped)
        if candidate is not None and (best is None or candidate[1] > best[1]):
            best = candidate
    if best is None:
        return reading
    model, when = best
    reading.used = f"{RESOURCE_TYPE}/{model.id}" if model.id else RESOURCE_TYPE
    reading.date = when
    reading.findings = _answer_findings(model, when, questions)
    return reading
