"""What the seed's questions change on the cards: marks, advisory lines, the offer to ask them.

Applied after the pattern cards are rendered, so the pattern templates stay as they are:

- a card whose pattern rests only on what the patient reported is ``info`` and says "reported,
  not examined" (an answer alone never makes a warning or a critical card);
- some answers (pain after only a few steps, pain even at rest, severe pain) add the seed's
  advisory line to every card, or to one ``info`` card when no pattern card is raised;
- every non-critical card carries a secondary link to the questions; critical cards never do
  (nothing should stand between a clinician and an urgent referral);
- a recent leg-pain finding with nothing that tells its kind apart and no recent answers gets one
  ``info`` card offering the questions. It needs to know that there are no recent answers: when
  the QuestionnaireResponse key was refused or could not be read, the offer is not made.

Wording: cards/_questionnaire.yaml; triggers and windows: knowledge/questionnaire.yaml.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from . import dates
from .answers import Reading
from .assessment import Assessment, PatternAssessment
from .cards import CARD_NAMESPACE, SUMMARY_LIMIT, CardContext
from .findings import Finding
from .knowledge import Knowledge
from .questionnaire import Questions

TOPIC = "leg-pain-questions"
_INDICATOR_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Situation:
    """What the request showed about the questions, beyond the assessment."""

    reading: Reading
    answers_known: bool  # the QuestionnaireResponse key was read (present, partial or null)
    triggers: list[Finding]  # recent chart findings with a trigger code
    base_url: str | None  # where this service is reached; None: no link can be given


def questionnaire_url(base_url: str | None, questions: Questions) -> str | None:
    return f"{base_url.rstrip('/')}/questionnaires/{questions.id}" if base_url else None


def trigger_findings(findings: list[Finding], trigger_references: set[str], questions: Questions,
                     now: datetime) -> list[Finding]:
    """Present chart findings read from a resource with a trigger code, recent enough."""
    return [f for f in findings if f.present and f.origin is None and f.reference in trigger_references
            and f.date is not None and dates.days_between(f.date, now) <= questions.trigger_recent_days]


def reported_only(pa: PatternAssessment) -> bool:
    """Every finding that lends the pattern weight (and every red flag) was reported by the patient."""
    weighted = [e.finding for e in pa.supporting if e.weight > 0 and e.finding.present] + list(pa.red_flags)
    return bool(weighted) and all(f.origin == "reported" for f in weighted)


def _summary(text: str) -> str:
    return text if len(text) < SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 2].rstrip() + "…"


def _advice(reading: Reading, questions: Questions) -> list[str]:
    signs = {f.sign for f in reading.findings if f.present}
    return [line for sign, line in questions.wording.advice.items() if sign in signs]


def _insert_before_disclaimer(detail: str, knowledge: Knowledge, lines: list[str]) -> str:
    marker = f"_{knowledge.common.disclaimer}_"
    block = "\n".join(["**From the patient's answers**", *(f"- {line}" for line in lines), "", ""])
    at = detail.find(marker)
    return detail[:at] + block + detail[at:] if at >= 0 else detail + "\n\n" + block


def _link(questions: Questions, url: str) -> dict:
    return {"label": questions.wording.link_label, "url": url, "type": "absolute"}


def _own_card(ctx: CardContext, knowledge: Knowledge, section: dict, lines: list[str], name: str) -> dict:
    common = knowledge.common
    detail = [section["lead"].strip(), "", *lines, "", f"_{common.disclaimer}_", "", f"Sources: {common.seed_citation}."]
    return {
        "uuid": str(uuid.uuid5(CARD_NAMESPACE, f"{ctx.hook_instance}:{name}")),
        "summary": _summary(section["summary"]),
        "indicator": section["indicator"],
        "detail": "\n".join(detail),
        "source": {"label": "Seed article: the questions that tell leg pain on walking apart",
                   "topic": {"system": common.topic_system, "code": TOPIC,
                             "display": "Leg pain on walking: the questions"}},
        "overrideReasons": [{"code": r["code"], "system": common.override_system, "display": r["display"]}
                            for r in common.override_reasons],
    }


def apply(cards: list[dict], assessment: Assessment, knowledge: Knowledge, ctx: CardContext,
          situation: Situation) -> list[dict]:
    questions = knowledge.questions
    if questions is None:
        return cards
    wording = questions.wording
    url = questionnaire_url(situation.base_url, questions)
    advice = _advice(situation.reading, questions)
    for card in cards:
        pa = assessment.patterns.get(card["source"]["topic"]["code"])
        if pa is not None and reported_only(pa):
            card["indicator"] = "info"
            card["summary"] = _summary(wording.reported_only["summary_prefix"] + card["summary"])
            lead, _, rest = card["detail"].partition("\n")
            card["detail"] = "\n".join([lead, "", wording.reported_only["lead"].strip(), rest])
        if advice:
            card["detail"] = _insert_before_disclaimer(card["detail"], knowledge, advice)
        if url and card["indicator"] != "critical":
            card["links"] = [*card.get("links", ()), _link(questions, url)]
    if not cards and advice:
        card = _own_card(ctx, knowledge, wording.answers_card, [f"- {line}" for line in advice], "answers")
        if url:
            card["links"] = [_link(questions, url)]
        cards = [card]
    elif not cards and _offer_due(assessment, situation):
        offer = wording.offer
        seen = [f"- {dates.show(f.date)}: {f.display} ({f.resource_type})" for f in situation.triggers[:3]]
        lines = ["**Leg pain on file**", *seen, "", "**Consider**", *(f"- {c}" for c in offer["consider"])]
        card = _own_card(ctx, knowledge, offer, lines, "questions")
        if url:
            card["links"] = [_link(questions, url)]
        cards = [card]
    return sorted(cards, key=lambda c: _INDICATOR_ORDER[c["indicator"]])


def _offer_due(assessment: Assessment, situation: Situation) -> bool:
    if not situation.triggers or not situation.answers_known or situation.reading.recent:
        return False
    return not any(pa.discriminating or pa.red_flags for pa in assessment.patterns.values())
