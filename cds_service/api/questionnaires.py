"""GET /questionnaires/{id}: the seed's questions as a FHIR R4 Questionnaire.

The link that cards offer ("ask the questions the article uses") points here until the SMART app
(/app/) asks them itself. Open, like /openapi.json: the Questionnaire holds no patient data, and an
app or a person following a card's link has no client JWT.
"""
from __future__ import annotations

from flask import Blueprint, Response

from ..errors import NotFound
from ..http import services

bp = Blueprint("questionnaires", __name__)
PATH_PREFIX = "/questionnaires/"


@bp.get("/questionnaires/<questionnaire_id>")
def questionnaire(questionnaire_id: str):
    questions = services().engine.knowledge.questions
    if questions is None or questionnaire_id != questions.id:
        raise NotFound("no such questionnaire")
    return Response(questions.resource_json, mimetype="application/fhir+json")
