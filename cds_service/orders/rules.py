"""Draft orders x patient facts -> alerts, by the rules in knowledge/order-rules.yaml.

Three rules, each in parts that run only when the prefetch keys they need could be had
(a refused key removes the part, never the request):
- cilostazol with heart failure on record: current (active or suspected) is critical,
  history (resolved, inactive) a warning to confirm;
- compression on an ischaemic leg, judged per leg (the ordered leg, both when the order
  names none): acute limb ischaemia now or CLTI (the arterial red-flag rules' decisions) critical with
  an urgent vascular referral, ABI < 0.6 critical; 0.6 to < 0.8 reduced compression; > 1.40 toe
  pressure first; no ABI within the window but an older one < 0.6 on that leg (severe PAD does not
  recover without revascularisation), remeasure before compression; no ABI within the window with
  arterial disease (an old ABI < 0.6 on either leg included) or PAD risk, measure one;
- compression with severe heart failure (NYHA IV, Rabe 2020): a warning.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .. import dates, laterality
from ..terminology import Terminology
from .facts import LEGS, Fact, PatientFacts
from .knowledge import OrderKnowledge
from .reader import DraftOrder

_CILOSTAZOL_TEXT = re.compile(r"\b(cilostazol|pletal)\b", re.I)
_SEVERITY = {"limb-threat": 0, "critical": 1, "reduced": 2, "old-severe": 3, "noncompressible": 4, "no-abi": 5}


@dataclass
class LegJudgement:
    leg: str
    variant: str
    facts: list[Fact] = field(default_factory=list)
    note: str = ""


@dataclass
class Alert:
    topic: str
    variant: str
    order: DraftOrder
    facts: list[Fact]
    legs: tuple[str, ...] = ()
    per_leg: list[LegJudgement] = field(default_factory=list)
    kind: str | None = None
    matched_by_text: bool = False


def _matches(order: DraftOrder, knowledge: OrderKnowledge, code_set: str) -> tuple[bool, str | None]:
    for coding in order.codings:
        systems = [coding.system] if coding.system else list(knowledge.systems.values())
        for system in systems:
            entry = knowledge.in_set(code_set, system, coding.code)
            if entry is not None:
                return True, entry.kind
    return False, None


def classify(order: DraftOrder, knowledge: OrderKnowledge) -> tuple[str | None, str | None, bool]:
    """('cilostazol' | 'compression' | None, compression kind, matched by text only)."""
    if order.resource_type == "MedicationRequest":
        found, _ = _matches(order, knowledge, "cilostazol")
        if found:
            return "cilostazol", None, False
        words = " ".join([order.text or "", *(c.display or "" for c in order.codings)])
        if _CILOSTAZOL_TEXT.search(words):
            return "cilostazol", None, True  # no known code, but the name: a safety check must not miss it
        return None, None, False
    found, kind = _matches(order, knowledge, "compression")
    return ("compression", kind, False) if found else (None, None, False)


def ordered_legs(order: DraftOrder, terminology: Terminology) -> tuple[tuple[str, ...], bool]:
    """The legs an order is for, and whether the order named them (else both are judged)."""
    side, _ = laterality.from_codings(order.site_codings, terminology)
    for text in (*order.site_texts, order.text):
        side = side or laterality.from_text(text)
    if side in ("left", "right"):
        return (side,), True
    return LEGS, side == "bilateral"


def _old_severe(facts: PatientFacts, leg: str, knowledge: OrderKnowledge) -> Fact | None:
    """The last ABI on the leg older than the window, when it is below the critical band: severe PAD does not
    recover without revascularisation, so an old ABI < 0.6 is still arterial evidence (never 'no evidence')."""
    old = sorted((f for f in facts.abi_too_old if leg in f.legs() and f.date is not None and f.date <= facts.now),
                 key=lambda f: f.date, reverse=True)
    return old[0] if old and old[0].value < knowledge.abi["critical_below"] else None


def _leg(facts: PatientFacts, leg: str, knowledge: OrderKnowledge, parts: set[str]) -> LegJudgement | None:
    bands = knowledge.abi
    if "clti" in parts:
        ali = [f for f in facts.ali if leg in f.legs()]
        if ali:
            return LegJudgement(leg, "limb-threat", ali, "acute limb ischaemia on record")
        clti = [f for f in facts.clti if leg in f.legs()]
        if clti:
            return LegJudgement(leg, "limb-threat", clti, "chronic limb-threatening ischaemia on record")
    abi = next((f for f in facts.abi if leg in f.legs()), None) if "abi-bands" in parts else None
    if abi is not None:
        unsided = ", side not recorded" if abi.side is None else ""
        if abi.value < bands["critical_below"]:
            return LegJudgement(leg, "critical", [abi], f"ABI {abi.value:.2f} (below {bands['critical_below']:.2f}"
                                                        f"{unsided})")
        if abi.value < bands["reduced_below"]:
            return LegJudgement(leg, "reduced", [abi], f"ABI {abi.value:.2f} ({bands['critical_below']:.2f} to below "
                                                       f"{bands['reduced_below']:.2f}{unsided})")
        if abi.value > bands["noncompressible_above"]:
            return LegJudgement(leg, "noncompressible", [abi], f"ABI {abi.value:.2f} (above "
                                                               f"{bands['noncompressible_above']:.2f}, noncompressible"
                                                               f"{unsided})")
        return None
    old_severe = _old_severe(facts, leg, knowledge) if "abi-bands" in parts else None
    if old_severe is not None:
        return LegJudgement(leg, "old-severe", [old_severe],
                            f"last ABI {old_severe.value:.2f} on {dates.show(old_severe.date)} (below "
                            f"{bands['critical_below']:.2f}{', side not recorded' if old_severe.side is None else ''}"
                            f"), older than {int(bands['window_days'])} days")
    any_old_severe = any(_old_severe(facts, other, knowledge) for other in LEGS)
    if "no-abi" in parts and (facts.arterial_disease or facts.pad_risk or any_old_severe):
        old = [f for f in facts.abi_too_old if leg in f.legs()]
        return LegJudgement(leg, "no-abi", [*facts.arterial_disease, *facts.pad_risk, *old],
                            f"no ABI within {int(bands['window_days'])} days")
    return None


def judge(orders: list[DraftOrder], facts: PatientFacts, knowledge: OrderKnowledge, terminology: Terminology,
          available: set[str]) -> tuple[list[Alert], set[str]]:
    """Alerts for the given orders, and the rule parts skipped because a prefetch key was missing."""
    parts = {rule: {p for p, needs in spec.items() if set(needs) <= available}
             for rule, spec in knowledge.rule_needs.items()}
    skipped = {f"{rule}.{p}" for rule, spec in knowledge.rule_needs.items() for p in spec if p not in parts[rule]}
    alerts: list[Alert] = []
    for order in orders:
        kind, device_kind, by_text = classify(order, knowledge)
        if kind == "cilostazol" and "heart-failure" in parts["cilostazol-heart-failure"]:
            if facts.heart_failure:
                alerts.append(Alert("cilostazol-heart-failure", "current", order, facts.heart_failure,
                                    matched_by_text=by_text))
            elif facts.heart_failure_history:
                alerts.append(Alert("cilostazol-heart-failure", "history", order, facts.heart_failure_history,
                                    matched_by_text=by_text))
        if kind != "compression":
            continue
        legs, _ = ordered_legs(order, terminology)
        judged = [j for leg in legs if (j := _leg(facts, leg, knowledge, parts["compression-ischaemia"]))]
        if judged:
            worst = min(judged, key=lambda j: _SEVERITY[j.variant])
            shown = list(dict.fromkeys(f for j in judged for f in j.facts))
            alerts.append(Alert("compression-ischaemia", worst.variant, order, shown, legs, judged, device_kind))
        if "severe-heart-failure" in parts["compression-heart-failure"] and facts.severe_heart_failure:
            alerts.append(Alert("compression-heart-failure", "severe", order, facts.severe_heart_failure, legs,
                                kind=device_kind))
    return alerts, skipped
