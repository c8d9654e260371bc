"""Assessment -> CDS Hooks cards, worded by the templates in cards/.

One card per raised pattern at most, critical first. Each card explains itself: the
supporting and contrary findings with dates, what to consider next, and its sources.
Suggestions never repeat work already done (a recent result), an order already open, or a
suggestion this patient's clinician accepted recently (``snooze.py`` remembers those).
``render_all`` also hands governance what it needs about each card (``Rendered``).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

import orjson

from . import dates, laterality, pain_severity
from .assessment import Assessment, Evidence, PatternAssessment
from .findings import Finding
from .knowledge import Knowledge
from .templates import PLACEHOLDERS, CardTemplate, Suggestion, Variant

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
    # Guideline-directed therapy lines per pattern (therapy.py) and the sources they cite; never
    # shown on a critical card, where only the emergency belongs.
    extra_lines: Mapping[str, list[str]] = field(default_factory=dict)
    extra_sources: Mapping[str, list[str]] = field(default_factory=dict)
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


def _holds(when: dict, pa: PatternAssessment, assessment: Assessment) -> bool:
    """Whether a variant's (or a Consider line's) ``when`` holds for this pattern."""
    red = {f.sign for f in pa.red_flags}
    if "red_flags_any" in when and not red & set(when["red_flags_any"]):
        return False
    if "signs_any" in when and not assessment.signs_present & set(when["signs_any"]):
        return False
    if "exertional" in when and bool(when["exertional"]) != pa.exertional:
        return False
    if "situations_any" in when and not pa.situations & set(when["situations_any"]):
        return False
    if "situations_all" in when and not set(when["situations_all"]) <= pa.situations:
        return False
    if "situations_none" in when and pa.situations & set(when["situations_none"]):
        return False
    if "age_under" in when and (assessment.age is None or assessment.age >= when["age_under"]):
        return False  # an unknown age never holds: the line is left out
    if "sites_any" in when and not _sited(pa, frozenset(when["sites_any"])):
        return False
    return True


def _sited(pa: PatternAssessment, sites: frozenset[str]) -> bool:
    """A present finding listed for the pattern (a weight of 0 too: "pain in calf" is a shared symptom)
    names one of ``sites`` on the leg the card speaks of: the leg of its ABI when it has one, else its
    own side. A finding or card without a side, or on both legs, is on every leg."""
    leg = pa.abi.side if pa.abi is not None and pa.abi.side else pa.side
    return any(e.finding.present and e.finding.site in sites
               and (leg in (None, "bilateral") or e.finding.side in (None, "bilateral", leg))
               for e in pa.supporting)


def _variant(template: CardTemplate, pa: PatternAssessment, assessment: Assessment) -> Variant:
    for variant in template.variants:
        if _holds(variant.when, pa, assessment):
            return variant
    return template.variants[-1]


def _where(side: str | None) -> str:
    """A summary names the leg ("Right leg"), never a pulse site or body part ("Right femoral"):
    the site stays on the finding's own line in the detail (issue 17 clinical review, item 9)."""
    if side:
        return f"{_SIDE_WORD[side]} leg"
    return "Leg"


def _placeholders(pa: PatternAssessment, variant: Variant) -> dict[str, str]:
    abi = pa.abi
    where = _where(pa.side)
    reads_abi = any(s.startswith("abi-") for key in ("situations_any", "situations_all")
                    for s in variant.when.get(key, ()))
    if abi is not None and reads_abi and abi.side and pa.side != abi.side:
        where = _where(abi.side)  # an arterial ABI variant speaks of the leg the ABI was measured on
    flag = _flag_shown(pa, variant)
    flag_where = _where(flag.side) if flag is not None else where
    strongest = next((e.finding.display for e in pa.supporting if e.weight > 0 and e.finding.present), "Finding")
    return {k: "" for k in PLACEHOLDERS} | pa.values | {
        "where": where,
        "where_lower": where.lower(),
        "abi": f"{abi.value:.2f}" if abi is not None else "not on file",
        "abi_leg": f"{abi.side} leg" if abi is not None and abi.side else "leg",
        "red_flag": pa.red_flags[0].display if pa.red_flags else "Red flag",
        "finding": strongest[:1].upper() + strongest[1:],
        "flag_where": flag_where,
        "flag_where_lower": flag_where.lower(),
    }  # a pattern's own placeholders (dvt_status) come from pa.values


def _flag_shown(pa: PatternAssessment, variant: Variant) -> Finding | None:
    """The red flag the variant is about: its leg is the one the summary names."""
    wanted = set(variant.when.get("red_flags_any", ()))
    return next((f for f in pa.red_flags if f.sign in wanted), None)


def _finding_line(f: Finding, weight: float | None = None) -> str:
    parts = [f"{dates.show(f.date)}: {f.display}"]
    if f.value is not None:
        unit = f" {f.unit}" if f.unit and f.unit not in ("1", "{ratio}", "{index}", "{score}") else ""
        parts.append(f"{f.value:.2f}{unit}")
    # Side and site as one phrase ("right buttock", "left femoral"), so that a buttock is never called
    # a leg ("Pain in buttock, right leg"); a display that names the side or site already is not repeated.
    named = f.site is not None and f.site != "leg" and f.site in f.display.lower()  # "Pain in buttock"
    site = f.site if f.site and f.site != "leg" and not named else None
    if f.side and laterality.from_text(f.display) is None:  # "... of left lower extremity" names it already
        if f.side == "bilateral":
            parts.append(f"{site}, both sides" if site else "both sides" if named else "both legs")
        else:
            parts.append(f"{f.side} {site}" if site else f"{f.side} side" if named else f"{f.side} leg")
    elif site:
        parts.append(site)
    if not f.present:
        parts.append("recorded as absent")
    if f.certainty:
        parts.append(f.certainty)
    if f.note:
        parts.append(f.note)
    return "- " + ", ".join(parts) + f" ({f.resource_type})"


def _lines(items: list[Evidence]) -> list[str]:
    shown = items  # a weight of 0 in the pattern table means "list it, do not score it" (shared symptoms, context)
    lines = [_finding_line(e.finding) for e in shown[:_MAX_LISTED]]
    if len(shown) > _MAX_LISTED:
        lines.append(f"- and {len(shown) - _MAX_LISTED} more")
    return lines or ["- None recorded."]


def _suggestions(template: CardTemplate, variant: Variant, assessment: Assessment,
                 ctx: CardContext, card_uuid: uuid.UUID, pa: PatternAssessment, reason: str) -> list[tuple[Suggestion, dict]]:
    """The variant's orders, less those already done recently (on this card's leg) or already open."""
    out = []
    for sid in variant.suggestions:
        s: Suggestion = template.suggestions[sid]
        if s.when_signs_any and not assessment.signs_present & set(s.when_signs_any):
            continue
        done = [pa.recent[x] if x in pa.recent else assessment.done.get(x) for x in s.skip_recent]
        if any(d is not None for d in done) or set(s.skip_ordered) & assessment.ordered:
            continue
        out.append((s, _suggestion(s, ctx, card_uuid, reason)))
    return out


def _suggestion(s: Suggestion, ctx: CardContext, card_uuid: uuid.UUID, reason: str) -> dict:
    resource = orjson.loads(s.resource_json)  # a fresh copy, several times cheaper than deepcopy
    resource["subject"] = {"reference": f"Patient/{ctx.patient_id}"}
    if ctx.user_id and ctx.user_id.split("/", 1)[0] in ("Practitioner", "PractitionerRole"):
        resource["requester"] = {"reference": ctx.user_id}
    # a suggestion's own reason (fixed text) wins over the variant's (the situation, with placeholders)
    resource["reasonCode"] = [{"text": s.reason or f"{reason} (decision support)"}]
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


def render_one(pa: PatternAssessment, assessment: Assessment, knowledge: Knowledge, ctx: CardContext) -> Rendered | None:
    template = knowledge.templates[pa.pattern]
    common = knowledge.common
    variant = _variant(template, pa, assessment)
    card_uuid = uuid.uuid5(CARD_NAMESPACE, f"{ctx.hook_instance}:{pa.pattern}")
    values = _placeholders(pa, variant)
    offered = _suggestions(template, variant, assessment, ctx, card_uuid, pa, variant.reason.format(**values))
    accepted = [(s, ctx.accepted[f"{template.pattern}/{s.id}"]) for s, _ in offered
                if f"{template.pattern}/{s.id}" in ctx.accepted]
    offered = [(s, c) for s, c in offered if f"{template.pattern}/{s.id}" not in ctx.accepted]
    suggestions = [card for _, card in offered]
    if variant.drop_when_no_suggestion and not suggestions and not pa.red_flags:
        return None
    refs = list(dict.fromkeys([*variant.sources, *(ref for s, _ in offered for ref in s.sources)]))
    links = [link for ref in refs for link in template.links if link["id"] == ref]
    consider = [c.text for c in variant.consider if _holds(c.when, pa, assessment)]
    indicator = variant.indicator_for(pa.strength)
    therapy_sources: list[str] = []
    if indicator != "critical":
        consider += ctx.extra_lines.get(pa.pattern, [])
        therapy_sources = list(dict.fromkeys(ctx.extra_sources.get(pa.pattern, [])))
    notice = [common.incomplete_record, ""] if ctx.incomplete else []
    # A weight of 0 against a pattern names a mimic (2024 guideline Table 7): listed, never counted.
    mimic = [e for e in pa.contrary if e.weight == 0 and e.finding.present]
    alternatives = [_finding_line(e.finding) for e in mimic[:_MAX_LISTED]]
    against = [e for e in pa.contrary if e not in mimic]
    detail = [variant.lead, "", *notice, "**Findings that support it**", *_lines(pa.supporting), "",
              "**Findings that argue against it**", *_lines(against), "",
              *(["**Alternative explanations on record** (they may coexist)", *alternatives, ""] if alternatives else []),
              "**Consider**",
              *([f"- {pain_severity.line(knowledge.rules.severe_pain, assessment.severe_pain, dates.show)}"]
                if assessment.severe_pain else []),
              *(f"- {c}" for c in consider),
              *(f"- {s.label}: accepted here on {dates.show(at)}, not suggested again." for s, at in accepted), "",
              f"_{common.disclaimer}_", "",
              "Sources: " + "; ".join([common.seed_citation, *(link["label"] for link in links)]) + ".",
              *([""] + [f"Therapy lines: {src}" for src in therapy_sources] if therapy_sources else [])]
    card: dict[str, Any] = {
        "uuid": str(card_uuid),
        "summary": _summary(variant.summary.format(**values)),
        "indicator": indicator,
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
    if links:
        card["links"] = [{"label": link["label"], "url": link["url"], "type": "absolute"} for link in links]
    listed = tuple(e.finding for e in [*pa.supporting, *pa.contrary])
    keys = {c["uuid"]: f"{template.pattern}/{s.id}" for s, c in offered}
    return Rendered(card=card, pattern=pa.pattern, variant=variant, listed=listed, suggestions=keys)


def indicator_rank(card: dict) -> int:
    return _INDICATOR_ORDER[card["indicator"]]


def render_all(assessment: Assessment, knowledge: Knowledge, ctx: CardContext) -> list[Rendered]:
    """Stage 6: every raised pattern's card from its template's first matching variant, critical
    first, then warning, then info."""
    rendered = [r for pa in assessment.raised() if (r := render_one(pa, assessment, knowledge, ctx)) is not None]
    return sorted(rendered, key=lambda r: indicator_rank(r.card))
