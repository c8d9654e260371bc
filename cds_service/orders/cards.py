"""Order alerts -> CDS Hooks cards, worded by cards/orders/*.yaml.

Each card names the order it judges, the facts on record with dates and references, what
to consider instead, and its sources. A critical card carries a suggestion that deletes
the draft (``type: delete``, ``resourceId: MedicationRequest/<id>``) when the draft has an
id to delete; a missing ABI brings a suggestion to order one. Order-time cards are never
snoozed: they judge an order that is about to be signed.
"""
from __future__ import annotations

import copy
import uuid
from typing import Any

from .. import dates
from ..cards import CARD_NAMESPACE, SUMMARY_LIMIT
from ..templates import Common
from .knowledge import OrderCard, OrderKnowledge
from .rules import Alert

_ORDER = {"critical": 0, "warning": 1, "info": 2}
_LEG_WORDS = {("left",): "the left leg", ("right",): "the right leg", ("left", "right"): "both legs"}


def _summary(text: str) -> str:
    return text if len(text) < SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 2].rstrip() + "…"


def _values(alert: Alert) -> dict[str, str]:
    worst_judged = [j for j in alert.per_leg if j.variant == alert.variant]
    worst = [f for j in worst_judged for f in j.facts]
    abi = next((f for f in [*worst, *alert.facts] if f.value is not None), None)
    legs = tuple(j.leg for j in worst_judged) or alert.legs
    leg = _LEG_WORDS.get(tuple(sorted(legs)), "the leg")
    trigger = " and ".join(dict.fromkeys(j.note for j in worst_judged))
    if len(alert.legs) == 1:
        ordered = f"ordered for {leg}, which has {trigger}" if trigger else f"ordered for {leg}"
    elif len(worst_judged) > 1 and len({j.note for j in worst_judged}) == 1:
        ordered = f"ordered for both legs, which both have {trigger}"
    else:  # both legs (or none named): say so, then which leg carries the finding
        ordered = "ordered for both legs; " + "; ".join(f"the {j.leg} leg has {j.note}" for j in worst_judged)
    other = tuple(x for x in alert.legs if x not in legs)
    values = {
        "order": alert.order.label,
        "condition": alert.facts[0].display if alert.facts else "",
        "leg": leg,
        "leg_any": "either leg" if len(legs) > 1 else leg,
        "abi": f"{abi.value:.2f}" if abi is not None else "not on file",
        "abi_date": dates.show(abi.date) if abi is not None else "",
        "kind": alert.kind or "compression",
        "trigger": trigger,
        "ordered": ordered.rstrip("; "),
        "other": _LEG_WORDS.get(other, ""),
    }
    return values


def _suggestion(sid: str, spec: dict, alert: Alert, card_uuid: uuid.UUID, patient_id: str, user_id: str | None) -> dict | None:
    if sid == "delete":
        if alert.order.reference is None:
            return None  # a draft without an id cannot be named for deletion; the card still warns
        action = {"type": "delete", "description": spec["description"], "resourceId": alert.order.reference}
    else:
        resource = copy.deepcopy(spec["resource"])
        resource["subject"] = {"reference": f"Patient/{patient_id}"}
        if user_id and user_id.split("/", 1)[0] in ("Practitioner", "PractitionerRole"):
            resource["requester"] = {"reference": user_id}
        resource["reasonCode"] = [{"text": "Before compression therapy (decision support)"}]
        action = {"type": "create", "description": spec["description"], "resource": resource}
    return {"label": spec["label"], "uuid": str(uuid.uuid5(card_uuid, sid)), "isRecommended": True, "actions": [action]}


def _detail(template: OrderCard, alert: Alert, values: dict[str, str], disclaimer: str) -> str:
    variant = template.variants[alert.variant]
    lines = [variant.lead.format(**values), "", f"**Order:** {alert.order.label}"
             + (f" ({alert.order.reference})" if alert.order.reference else "")]
    if alert.matched_by_text:
        lines.append("_Recognised by its name: the order carries no cilostazol code this service knows._")
    if alert.per_leg:
        lines += ["", "**Per leg**", *(f"- {j.leg.capitalize()} leg: {j.note}" for j in alert.per_leg)]
    lines += ["", "**On record**", *(f.line() for f in alert.facts[:8])]
    if len(alert.facts) > 8:
        lines.append(f"- and {len(alert.facts) - 8} more")
    consider = [c.format(**values) for c in variant.consider]
    both_legs = template.suggestions.get("delete", {}).get("both_legs")
    if "delete" in variant.suggest and both_legs and values["other"]:
        consider.append(both_legs.format(**values))  # deleting a both-legs order stops it on the other leg too
    if consider:
        lines += ["", "**Consider**", *(f"- {c}" for c in consider)]
    lines += ["", f"_{disclaimer}_", "", "Sources: " + "; ".join(template.sources) + "."]
    return "\n".join(lines)


def render(alerts: list[Alert], knowledge: OrderKnowledge, common: Common, hook_instance: str, patient_id: str,
           user_id: str | None, incomplete: bool = False, knowledge_version: str = "unversioned") -> list[dict]:
    cards = []
    # "card is wrong" (issue #19) on every card, order cards too, beside each template's own reasons
    wrong = [r for r in common.override_reasons if r["code"] == "incorrect"]
    for index, alert in enumerate(alerts):
        template = knowledge.cards[alert.topic]
        variant = template.variants[alert.variant]
        values = _values(alert)
        card_uuid = uuid.uuid5(CARD_NAMESPACE, f"{hook_instance}:{alert.topic}:{alert.order.reference or index}")
        card: dict[str, Any] = {
            "uuid": str(card_uuid),
            "summary": _summary(variant.summary.format(**values)),
            "indicator": variant.indicator,
            "detail": ((common.incomplete_record + "\n\n") if incomplete else "")
                      + _detail(template, alert, values, knowledge.disclaimer),
            "source": {"label": template.source["label"],
                       "topic": {"system": common.topic_system, "code": alert.topic, "display": template.title}},
            "overrideReasons": [{"system": common.override_system, "code": r["code"], "display": r["display"]}
                                for r in [*template.override_reasons, *wrong]],
            "extension": {"knowledgeVersion": knowledge_version},
        }
        if template.source.get("url"):
            card["source"]["url"] = template.source["url"]
        suggestions = [s for sid in variant.suggest
                       if (s := _suggestion(sid, template.suggestions[sid], alert, card_uuid, patient_id, user_id))]
        if suggestions:
            card["suggestions"] = suggestions
            card["selectionBehavior"] = "at-most-one"
        if template.links:
            card["links"] = [{"label": link["label"], "url": link["url"], "type": "absolute"} for link in template.links]
        cards.append(card)
    return sorted(cards, key=lambda c: _ORDER[c["indicator"]])
