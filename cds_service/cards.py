"""Assessment -> CDS Hooks cards, worded by the templates in cards/.

One card per raised pattern at most, critical first. Each card explains itself: the
supporting and contrary findings with dates, what to consider next, and its sources.
Suggestions never repeat work already done (a recent result) or an order already open.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping

import orjson

from . import dates
from .assessment import Assessment, Evidence, PatternAssessment
from .findings import Finding
from .knowledge import Knowledge
from .templates import CardTemplate, Suggestion, Variant

CARD_NAMESPACE = uuid.UUID("6f1d2c1e-7a0b-4c55-9d0e-3b1f6f1c9a10")
SUMMARY_LIMIT = 140
_INDICATOR_ORDER = {"critical": 0, "warning": 1, "info": 2}
_SIDE_WORD = {"left": "Left", "right": "Right", "bilateral": "Bilateral"}
_MAX_LISTED = 8


@dataclass(frozen=True)
class CardContext:
    hook_instance: str
    patient_id: str
    user_id: str | None = None
    incomplete: bool = False  # a prefetch key was read only in part
    # suggestion key ("pattern/suggestion id") -> when this patient's clinician accepted it (snooze.py)
    accepted: Mapping[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class Rendered:
    """A card and what governance needs to know about it (never sent to the client)."""

    card: dict
    pattern: str
    variant: Variant
    listed: tuple[Finding, ...]  # every finding the card lists (or would, past the list's cap)
    suggestions: Mapping[str, str]  # suggestion uuid -> suggestion key

    @property
    def key(self) -> str:
        return f"{self.pattern}/{self.variant.id}"


def _variant(template: CardTemplate, pa: PatternAssessment, assessment: Assessment) -> Variant:
    red = {f.sign for f in pa.red_flags}
    for variant in template.variants:
        when = variant.when
        if "red_flags_any" in when and not red & set(when["red_flags_any"]):
            continue
        if "signs_any" in when and not assessment.signs_present & set(when["signs_any"]):
            continue
        if "exertional" in when and bool(when["exertional"]) != assessment.exertional:
            continue
        return variant
    return template.variants[-1]


def _where(side: str | None, site: str | None) -> str:
    site = site or "leg"
    if side:
        return f"{_SIDE_WORD[side]} {site}"
    return site[:1].upper() + site[1:]


def _abi_shown(assessment: Assessment, variant: Variant) -> Finding | None:
    if not assessment.abi:
        return None
    wanted = set(variant.when.get("signs_any", ()))
    matching = [f for f in assessment.abi if f.sign in wanted] or assessment.abi
    if any(f.sign == "abi-noncompressible" for f in matching) and "abi-noncompressible" in wanted:
        return max(matching, key=lambda f: f.value or 0.0)
    return min(matching, key=lambda f: f.value or 0.0)


def _placeholders(pa: PatternAssessment, assessment: Assessment, variant: Variant) -> dict[str, str]:
    abi = _abi_shown(assessment, variant)
    where = _where(pa.side, pa.site)
    if abi is not None and "signs_any" in variant.when and abi.side and abi.side != pa.side:
        where = _where(abi.side, "leg")  # the summary names the leg the ABI was measured on
    flag = _flag_shown(pa, variant)
    flag_where = _where(flag.side, flag.site) if flag is not None else where
    strongest = next((e.finding.display for e in pa.supporting if e.weight > 0 and e.finding.present), "Finding")
    return {
        "where": where,
        "where_lower": where.lower(),
        "abi": f"{abi.value:.2f}" if abi is not None else "not on file",
        "abi_leg": f"{abi.side} leg" if abi is not None and abi.side else "leg",
        "red_flag": pa.red_flags[0].display if pa.red_flags else "Red flag",
        "finding": strongest[:1].upper() + strongest[1:],
        "flag_where": flag_where,
        "flag_where_lower": flag_where.lower(),
    }


def _flag_shown(pa: PatternAssessment, variant: Variant) -> Finding | None:
    """The red flag the variant is about: its leg is the one the summary names."""
    wanted = set(variant.when.get("red_flags_any", ()))
    return next((f for f in pa.red_flags if f.sign in wanted), None)


def _finding_line(f: Finding, weight: float | None = None) -> str:
    parts = [f"{dates.show(f.date)}: {f.display}"]
    if f.value is not None:
        unit = f" {f.unit}" if f.unit and f.unit not in ("1", "{ratio}", "{index}") else ""
        parts.append(f"{f.value:.2f}{unit}")
    side_words = {"left": "left leg", "right": "right leg", "bilateral": "both legs"}
    if f.side and side_words[f.side] not in f.display.lower():
        parts.append(side_words[f.side])
    if f.site and f.site != "leg":
        parts.append(f.site)
    if not f.present:
        parts.append("recorded as absent")
    if f.certainty:
        parts.append(f.certainty)
    if f.note:
        parts.append(f.note)
    return "- " + ", ".join(parts) + f" ({f.resource_type})"


def _listable(items: list[Evidence]) -> list[Evidence]:
    return [e for e in items if e.weight > 0 or e.finding.sign == "leg-pain"]


def _lines(items: list[Evidence]) -> list[str]:
    shown = _listable(items)
    lines = [_finding_line(e.finding) for e in shown[:_MAX_LISTED]]
    if len(shown) > _MAX_LISTED:
        lines.append(f"- and {len(shown) - _MAX_LISTED} more")
    return lines or ["- None recorded."]


def _suggestions(template: CardTemplate, variant: Variant, assessment: Assessment,
                 ctx: CardContext, card_uuid: uuid.UUID, pa: PatternAssessment) -> tuple[list[dict], list[str]]:
    out, already = [], []
    for sid in variant.suggestions:
        s: Suggestion = template.suggestions[sid]
        if s.when_signs_any and not assessment.signs_present & set(s.when_signs_any):
            continue
        done = next((assessment.done[x] for x in s.skip_recent if x in assessment.done), None)
        if done is not None:
            already.append(f"{s.label}: not suggested, {done.display} on {dates.show(done.date)} is recent.")
            continue
        if set(s.skip_ordered) & assessment.ordered:
            already.append(f"{s.label}: not suggested, an order is already open.")
            continue
        accepted = ctx.accepted.get(f"{template.pattern}/{s.id}")
        if accepted is not None:
            already.append(f"{s.label}: not suggested, accepted here on {dates.show(accepted)}.")
            continue
        out.append(_suggestion(s, ctx, card_uuid, pa))
    return out, already


def _suggestion(s: Suggestion, ctx: CardContext, card_uuid: uuid.UUID, pa: PatternAssessment) -> dict:
    resource = orjson.loads(s.resource_json)  # a fresh copy, several times cheaper than deepcopy
    resource["subject"] = {"reference": f"Patient/{ctx.patient_id}"}
    if ctx.user_id and ctx.user_id.split("/", 1)[0] in ("Practitioner", "PractitionerRole"):
        resource["requester"] = {"reference": ctx.user_id}
    reason = s.reason or f"Findings consistent with {pa.pattern.replace('-', ' ')} (decision support)"
    resource["reasonCode"] = [{"text": reason}]
    return {
        "label": s.label,
        "uuid": str(uuid.uuid5(card_uuid, s.id)),
        "isRecommended": True,
        "actions": [{"type": "create", "description": s.label, "resource": resource}],
    }


def _summary(text: str) -> str:
    if len(text) < SUMMARY_LIMIT:
        return text
    return text[: SUMMARY_LIMIT - 2].rstrip() + "…"


def render_card(pa: PatternAssessment, assessment: Assessment, knowledge: Knowledge, ctx: CardContext) -> dict | None:
    rendered = render_one(pa, assessment, knowledge, ctx)
    return rendered.card if rendered is not None else None


def render_one(pa: PatternAssessment, assessment: Assessment, knowledge: Knowledge, ctx: CardContext) -> Rendered | None:
    template = knowledge.templates[pa.pattern]
    common = knowledge.common
    variant = _variant(template, pa, assessment)
    card_uuid = uuid.uuid5(CARD_NAMESPACE, f"{ctx.hook_instance}:{pa.pattern}")
    suggestions, already = _suggestions(template, variant, assessment, ctx, card_uuid, pa)
    if variant.drop_when_no_suggestion and not suggestions and not pa.red_flags:
        return None
    values = _placeholders(pa, assessment, variant)
    notice = [common.incomplete_record, ""] if ctx.incomplete else []
    detail = [variant.lead, "", *notice, "**Findings that support it**", *_lines(pa.supporting), "",
              "**Findings that argue against it**", *_lines(pa.contrary), "", "**Consider**",
              *(f"- {c}" for c in variant.consider), *(f"- {a}" for a in already), "",
              f"_{common.disclaimer}_", "",
              "Sources: " + "; ".join([common.seed_citation, *(link["label"] for link in template.links)]) + "."]
    card = {
        "uuid": str(card_uuid),
        "summary": _summary(variant.summary.format(**values)),
        "indicator": variant.indicator_for(pa.strength),
        "detail": "\n".join(detail),
        "source": {
            "label": template.source["label"],
            "topic": {"system": common.topic_system, "code": pa.pattern, "display": template.title},
        },
        "overrideReasons": [
            {"code": r["code"], "system": common.override_system, "display": r["display"]} for r in common.override_reasons
        ],
        "extension": {"knowledgeVersion": knowledge.version},
    }
    if template.source.get("url"):
        card["source"]["url"] = template.source["url"]
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    if template.links:
        card["links"] = [{"label": link["label"], "url": link["url"], "type": "absolute"} for link in template.links]
    listed = tuple(e.finding for e in _listable(pa.supporting) + _listable(pa.contrary))
    offered = {s["uuid"] for s in suggestions}
    keys = {u: f"{template.pattern}/{sid}" for sid in variant.suggestions if (u := str(uuid.uuid5(card_uuid, sid))) in offered}
    return Rendered(card=card, pattern=pa.pattern, variant=variant, listed=listed, suggestions=keys)


def indicator_rank(card: dict) -> int:
    return _INDICATOR_ORDER[card["indicator"]]


def render_all(assessment: Assessment, knowledge: Knowledge, ctx: CardContext) -> list[Rendered]:
    """Every raised pattern's card, critical first, then warning, then info."""
    rendered = [r for pa in assessment.raised() if (r := render_one(pa, assessment, knowledge, ctx)) is not None]
    return sorted(rendered, key=lambda r: indicator_rank(r.card))


def render(assessment: Assessment, knowledge: Knowledge, ctx: CardContext) -> list[dict]:
    return [r.card for r in render_all(assessment, knowledge, ctx)]
