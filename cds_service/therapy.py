"""Guideline-directed therapy lines for the arterial and venous cards (knowledge/therapy.yaml).

A PAD card that cannot say whether the guideline-directed therapy is in place misses what a
clinician most needs. The lines appear only when PAD is established (a PAD diagnosis or an ABI
<=0.90, read with the arterial red-flag rules' own lists), each only when its therapy is not on
record, and never on a critical card (cards.py drops them there: an emergency card stays short).
A line that needs a prefetch key the EHR refused is left out, never guessed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from typing import Any

import yaml

from . import dates, dvt_status
from .assessment import Assessment
from .medications import Medications
from .records import Probe
from .rules import Rules

ARTERIAL = "arterial-claudication"
VENOUS = "venous-claudication"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
USABLE_OBSERVATION = frozenset({"final", "amended", "corrected"})
LINES = ("antiplatelet", "review-antithrombotic", "statin", "supervised-exercise", "smoking-cessation",
         "dvt-anticoagulant-on-record", "dvt-no-anticoagulant")
CLASSES = ("antiplatelet", "anticoagulant", "statin")


class TherapyRulesError(ValueError):
    """knowledge/therapy.yaml is broken; the service refuses to start with it."""


@dataclass(frozen=True)
class Line:
    text: str
    source: str


@dataclass(frozen=True)
class Smoking:
    loinc: str
    current: frozenset[str]
    former: frozenset[str]
    never: frozenset[str]


@dataclass(frozen=True)
class TherapyRules:
    claudication_signs: frozenset[str]
    limb_threat_signs: frozenset[str]
    lines: dict[str, Line]
    classes: dict[str, frozenset[str]]
    smoking: Smoking
    raw_screening: dict


@dataclass
class TherapyLines:
    """Extra Consider lines per pattern, with the sources they cite."""

    lines: dict[str, list[str]] = field(default_factory=dict)
    sources: dict[str, list[str]] = field(default_factory=dict)

    def add(self, pattern: str, line: Line, **values: str) -> None:
        self.lines.setdefault(pattern, []).append(line.text.format(**values))
        self.sources.setdefault(pattern, []).append(line.source)


def parse(data: dict, rules: Rules, medication_classes: set[str]) -> TherapyRules:
    problems: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("therapy"), dict):
        raise TherapyRulesError("therapy file must hold the mapping therapy")
    raw = data["therapy"]
    lines = {}
    for name in LINES:
        spec = (raw.get("lines") or {}).get(name)
        if not isinstance(spec, dict) or not spec.get("text") or not spec.get("source"):
            problems.append(f"therapy.lines.{name} needs text and source")
            continue
        lines[name] = Line(text=spec["text"], source=spec["source"])
    classes = {}
    for name in CLASSES:
        members = frozenset((raw.get("classes") or {}).get(name) or ())
        if not members:
            problems.append(f"therapy.classes.{name} is empty")
        for member in sorted(members - medication_classes):
            problems.append(f"therapy.classes.{name}: no medication value set {member!r}")
        classes[name] = members
    smoking_raw = raw.get("smoking") or {}
    smoking = Smoking(loinc=str(smoking_raw.get("loinc", "")), current=frozenset(smoking_raw.get("current") or ()),
                      former=frozenset(smoking_raw.get("former") or ()), never=frozenset(smoking_raw.get("never") or ()))
    if not smoking.loinc or not smoking.current or not smoking_raw.get("source"):
        problems.append("therapy.smoking needs loinc, current codes and source")
    result = TherapyRules(claudication_signs=frozenset(raw.get("claudication_signs") or ()),
                          limb_threat_signs=frozenset(raw.get("limb_threat_signs") or ()),
                          lines=lines, classes=classes, smoking=smoking, raw_screening=data.get("screening") or {})
    for ref in sorted(result.claudication_signs | result.limb_threat_signs):
        if ref not in rules.signs:
            problems.append(f"therapy: unknown sign {ref!r}")
    if not result.claudication_signs:
        problems.append("therapy.claudication_signs is empty")
    if problems:
        raise TherapyRulesError("broken therapy rules:\n  " + "\n  ".join(problems))
    return result


def load(path: Path, rules: Rules, medication_classes: set[str]) -> TherapyRules:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TherapyRulesError(f"therapy file {path} is not readable YAML: {exc}") from None
    return parse(data, rules, medication_classes)


# ------------------------------------------------------------------------------------ smoking
def _codes(concept: Any) -> set[tuple[str, str]]:
    codings = concept.get("coding") if isinstance(concept, dict) else None
    if not isinstance(codings, list):
        return set()
    return {(str(c.get("system")), str(c.get("code"))) for c in codings if isinstance(c, dict)}


def smoking_status(resources: list, smoking: Smoking, patient_id: str) -> str | None:
    """current | former | never | None: the latest usable smoking-status Observation (LOINC 72166-2)."""
    latest: tuple[float, str] | None = None
    for r in resources:
        if type(r) is Probe:  # prefetch.decode left it unread: read whole only a smoking-status Observation
            if r.resourceType != "Observation" or not r.has_coding(LOINC, smoking.loinc):
                continue
            r = r.whole()
        if not isinstance(r, dict) or r.get("resourceType") != "Observation" or r.get("status") not in USABLE_OBSERVATION:
            continue
        if (LOINC, smoking.loinc) not in _codes(r.get("code")):
            continue
        subject = r.get("subject")
        ref = subject.get("reference") if isinstance(subject, dict) else None
        if isinstance(ref, str) and not (ref == f"Patient/{patient_id}" or ref.endswith(f"/Patient/{patient_id}")):
            continue
        values = {code for system, code in _codes(r.get("valueCodeableConcept")) if system == SNOMED}
        status = "current" if values & smoking.current else "former" if values & smoking.former \
            else "never" if values & smoking.never else None
        if status is None:
            continue
        when = dates.parse(r.get("effectiveDateTime") or r.get("issued")) if isinstance(
            r.get("effectiveDateTime") or r.get("issued"), str) else None
        stamp = when.timestamp() if when else float("-inf")
        if latest is None or stamp >= latest[0]:
            latest = (stamp, status)
    return latest[1] if latest else None


# ------------------------------------------------------------------------------------- lines
def pad_established(assessment: Assessment, rules: Rules) -> bool:
    """A PAD diagnosis (or a tissue-loss code that proves PAD) or an ABI <=0.90 on either leg."""
    arterial = rules.arterial
    proven = set(arterial.pad_diagnosis) | set(arterial.pad_measurement_same_leg) \
        | {t.sign for t in arterial.tissue_loss if t.proves_pad}
    return bool(assessment.signs_present & proven)


def lines(assessment: Assessment, rules: Rules, therapy: TherapyRules, meds: Medications,
          smoking: str | None) -> TherapyLines:
    out = TherapyLines()
    present = assessment.signs_present
    arterial = assessment.patterns.get(ARTERIAL)
    if arterial is not None and arterial.raised and pad_established(assessment, rules):
        limb_threat = bool(present & therapy.limb_threat_signs)
        claudication = bool(present & therapy.claudication_signs)
        symptomatic = claudication or limb_threat or arterial.exertional
        anticoagulant = meds.has(therapy.classes["anticoagulant"])
        if symptomatic and anticoagulant is not None:
            out.add(ARTERIAL, therapy.lines["review-antithrombotic"])
        elif symptomatic and meds.complete and meds.has(therapy.classes["antiplatelet"]) is None:
            out.add(ARTERIAL, therapy.lines["antiplatelet"])
        if meds.complete and meds.has(therapy.classes["statin"]) is None:
            out.add(ARTERIAL, therapy.lines["statin"])
        if claudication and not limb_threat:
            out.add(ARTERIAL, therapy.lines["supervised-exercise"])
        if smoking == "current":
            out.add(ARTERIAL, therapy.lines["smoking-cessation"])
    venous = assessment.patterns.get(VENOUS)
    if venous is not None and venous.raised and venous.situations & {dvt_status.CONFIRMED, dvt_status.PE}:
        anticoagulant = meds.has(therapy.classes["anticoagulant"])
        if anticoagulant is not None:
            out.add(VENOUS, therapy.lines["dvt-anticoagulant-on-record"],
                    drug=f"{anticoagulant.display} ({anticoagulant.resource_type})")
        elif meds.complete:
            out.add(VENOUS, therapy.lines["dvt-no-anticoagulant"])
    return out
