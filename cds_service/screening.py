"""Opt-in risk-based ABI screening: an `info` card for a patient at increased risk of PAD with no ABI.

Off by default (CDS_SCREENING_ENABLED); a site switches it on. The at-risk groups are G1 Table 2 /
G2 Table 5 (knowledge/therapy.yaml ``screening``): age 65 or over; 50-64 with a risk factor; under 50
with diabetes and one more; known atherosclerosis elsewhere at any age. The card is shown only when
no other card is, and at most once per CDS_SCREENING_REPEAT_DAYS per patient: the store remembers a
keyed hash (HMAC-SHA256 with CDS_SCREENING_KEY) of the FHIR server and patient id, never the id.
Of the Patient only ``birthDate`` is read.
"""
from __future__ import annotations

import calendar
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from . import cards as cards_mod, dates
from .findings import Finding
from .knowledge import Knowledge
from .rules import Rules
from .store import StoreError
from .templates import Variant

CARD_TOPIC = "pad-risk-screening"
# The card's one variant as governance sees it: not snoozable (it repeats at most once a
# CDS_SCREENING_REPEAT_DAYS anyway), capped and shadowed like any info card.
VARIANT = Variant(id="risk-group", when={}, indicator="info", summary="", lead="", consider=(), suggestions=())
_FACTORS = ("diabetes", "smoking", "hypertension", "dyslipidaemia", "chronic-kidney-disease", "family-history",
            "atherosclerosis-elsewhere")
_FACTOR_WORDS = {"diabetes": "diabetes", "smoking": "smoking", "hypertension": "hypertension",
                 "dyslipidaemia": "dyslipidaemia", "chronic-kidney-disease": "chronic kidney disease",
                 "family-history": "family history", "atherosclerosis-elsewhere": "atherosclerosis elsewhere"}


class ScreeningRulesError(ValueError):
    """The screening section of knowledge/therapy.yaml is broken; the service refuses to start."""


class Memory(Protocol):
    def claim_screening(self, key: str, now: float, period_s: float) -> bool: ...


@dataclass(frozen=True)
class Group:
    id: str
    label: str  # the detail's words, with the risk factors
    short: str  # the summary's words (a summary stays under 140 characters)
    min_age: int | None
    max_age: int | None
    all_of: tuple[str, ...]
    any_of: tuple[str, ...]
    any_age: bool


@dataclass(frozen=True)
class ScreeningRules:
    factors: dict[str, frozenset[str]]
    groups: tuple[Group, ...]
    card: dict


def parse(raw: dict, rules: Rules, knowledge_links: set[str]) -> ScreeningRules:
    problems: list[str] = []
    if not isinstance(raw, dict) or not raw.get("source"):
        raise ScreeningRulesError("screening must be a mapping with its source")
    factors = {name: frozenset((raw.get("risk_factors") or {}).get(name) or ()) for name in _FACTORS}
    for name, signs in factors.items():
        if not signs:
            problems.append(f"screening.risk_factors.{name} is empty")
        for sign in sorted(signs - set(rules.signs)):
            problems.append(f"screening.risk_factors.{name}: unknown sign {sign!r}")
    groups = []
    for g in raw.get("groups") or ():
        group = Group(id=g.get("id", ""), label=g.get("label", ""), short=g.get("short", ""), min_age=g.get("min_age"), max_age=g.get("max_age"),
                      all_of=tuple(g.get("all_of") or ()), any_of=tuple(g.get("any_of") or ()), any_age=bool(g.get("any_age")))
        for ref in group.all_of + group.any_of:
            if ref not in factors:
                problems.append(f"screening.groups.{group.id}: unknown risk factor {ref!r}")
        if not group.label or not group.short:
            problems.append(f"screening.groups.{group.id}: needs label and short")
        if not group.any_age and group.min_age is None and group.max_age is None:
            problems.append(f"screening.groups.{group.id}: needs an age bound or any_age")
        groups.append(group)
    card = raw.get("card") or {}
    for key in ("summary", "lead", "consider", "diabetes_line", "suggestion", "sources"):
        if not card.get(key):
            problems.append(f"screening.card.{key} is required")
    for ref in card.get("sources") or ():
        if ref not in knowledge_links:
            problems.append(f"screening.card.sources: {ref!r} is not a link of the arterial template")
    if card.get("indicator") != "info":
        problems.append("screening.card.indicator must be info (issue 18)")
    if not groups:
        problems.append("screening.groups is empty")
    if problems:
        raise ScreeningRulesError("broken screening rules:\n  " + "\n  ".join(problems))
    return ScreeningRules(factors=factors, groups=tuple(groups), card=card)


def age(patient: dict | None, patient_id: str, now: datetime) -> int | None:
    """Whole years from Patient.birthDate; a partial date gives the youngest age it allows."""
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        return None
    if patient.get("id") not in (None, patient_id):
        return None
    born = patient.get("birthDate")
    if not isinstance(born, str):
        return None
    parts = born.strip().split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 12
        day = int(parts[2]) if len(parts) > 2 else calendar.monthrange(year, month)[1]
        birth = date(year, month, day)
    except (ValueError, IndexError):
        return None
    today = now.date()
    years = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    return years if 0 <= years < 150 else None


def factors_present(rules: ScreeningRules, signs_present: frozenset[str], smoking: str | None) -> set[str]:
    out = {name for name, signs in rules.factors.items() if signs_present & signs}
    if smoking in ("current", "former"):
        out.add("smoking")
    return out


def at_risk_group(rules: ScreeningRules, years: int | None, factors: set[str]) -> tuple[Group, list[str]] | None:
    """The first at-risk group the patient is in, with the risk factors that put them there."""
    for g in rules.groups:
        if not g.any_age:
            if years is None or (g.min_age is not None and years < g.min_age) or \
                    (g.max_age is not None and years > g.max_age):
                continue
        if not set(g.all_of) <= factors:
            continue
        extra = [f for f in g.any_of if f in factors and f not in g.all_of]
        if g.any_of and not extra:
            continue
        return g, [*g.all_of, *extra]
    return None


def abi_recent(findings: list[Finding], rules: Rules, interval_days: int, now: datetime) -> bool:
    """An ABI measurement on record within the interval (an undated one cannot show it is recent)."""
    for f in findings:
        sign = rules.signs.get(f.sign)
        if sign is not None and sign.measurement and f.date is not None \
                and dates.days_between(f.date, now) <= interval_days:
            return True
    return False


def patient_key(secret: str, fhir_server: str | None, patient_id: str) -> str:
    """A keyed hash that names the patient in the store without the id ever being stored."""
    message = f"{fhir_server or ''}\x00{patient_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def card(rules: ScreeningRules, knowledge: Knowledge, ctx: cards_mod.CardContext, group: Group,
         factors: list[str], interval_days: int) -> dict:
    template = knowledge.templates["arterial-claudication"]
    spec = rules.card
    card_uuid = uuid.uuid5(cards_mod.CARD_NAMESPACE, f"{ctx.hook_instance}:{CARD_TOPIC}")
    label = group.label.format(factors=", ".join(_FACTOR_WORDS[f] for f in factors))
    consider = list(spec["consider"]) + ([spec["diabetes_line"]] if "diabetes" in factors else [])
    links = [link for ref in spec["sources"] for link in template.links if link["id"] == ref]
    common = knowledge.common
    suggestion = template.suggestions[spec["suggestion"]]
    detail = [spec["lead"].format(years=round(interval_days / 365.25)), "", f"**At-risk group**: {label}.", "",
              "**Consider**", *(f"- {c}" for c in consider), "", f"_{common.disclaimer}_", "",
              "Sources: " + "; ".join(link["label"] for link in links) + "."]
    return {
        "uuid": str(card_uuid),
        "summary": cards_mod._summary(spec["summary"].format(group=group.short)),
        "indicator": spec["indicator"],
        "detail": "\n".join(detail),
        "source": {"label": template.source["label"],
                   "topic": {"system": common.topic_system, "code": CARD_TOPIC, "display": "PAD risk-based ABI screening"}},
        "overrideReasons": [{"code": r["code"], "system": common.override_system, "display": r["display"]}
                            for r in common.override_reasons],
        "suggestions": [cards_mod._suggestion(suggestion, ctx, card_uuid, f"At increased risk of PAD ({label})")],
        "selectionBehavior": "at-most-one",
        "links": [{"label": link["label"], "url": link["url"], "type": "absolute"} for link in links],
    }


def offer(*, rules: ScreeningRules, knowledge: Knowledge, ctx: cards_mod.CardContext, signs_present: frozenset[str],
          findings: list[Finding], smoking: str | None, patient: dict | None, fhir_server: str | None,
          now: datetime, interval_days: int, repeat_days: int, secret: str, memory: Memory | None,
          ordered: frozenset[str]) -> cards_mod.Rendered | None:
    """The screening card, or None, ready for governance (its own topic, one unsnoozable variant).
    Claims the patient's once-per-period slot when it is offered."""
    if memory is None or "ankle-brachial-index" in ordered:
        return None
    group = at_risk_group(rules, age(patient, ctx.patient_id, now), factors_present(rules, signs_present, smoking))
    if group is None or abi_recent(findings, knowledge.rules, interval_days, now):
        return None
    try:
        if not memory.claim_screening(patient_key(secret, fhir_server, ctx.patient_id), now.timestamp(),
                                      repeat_days * 86400.0):
            return None
    except StoreError:
        return None  # no memory, no card: it must never repeat every visit
    shown = card(rules, knowledge, ctx, group[0], group[1], interval_days)
    shown["extension"] = {"knowledgeVersion": knowledge.version}
    return cards_mod.Rendered(card=shown, pattern=CARD_TOPIC, variant=VARIANT, listed=(), suggestions={})
