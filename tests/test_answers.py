"""QuestionnaireResponses -> findings (cds_service/answers.py): side, date, origin, latest wins."""
from __future__ import annotations

from datetime import timedelta

import pytest

from cds_service import answers
from tests.builders import NOW, PATIENT, QUESTIONNAIRE, SCT, questionnaire_response


@pytest.fixture(scope="module")
def questions(knowledge):
    return knowledge.questions


def read(questions, *responses):
    return answers.read(list(responses), questions, PATIENT, NOW)


def only(reading, sign):
    (finding,) = [f for f in reading.findings if f.sign == sign]
    return finding


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize(("item", "code", "sign"), [
    ("walking-distance", "few-steps", "reported-pain-after-few-steps"),
    ("walking-distance", "short-distance", "reported-pain-after-short-distance"),
    ("walking-distance", "from-start", "reported-pain-from-start-of-walking"),
    ("walking-distance", "on-standing", "reported-pain-on-standing"),
    ("relief", "standing-still", "reported-relief-standing-still"),
    ("relief", "sitting-leaning-forward", "reported-relief-sitting-leaning-forward"),
    ("relief", "elevating-legs", "reported-relief-elevating-legs"),
    ("relief", "nothing-even-at-rest", "reported-rest-pain"),
    ("character", "cramping-crushing", "reported-pain-cramping"),
    ("character", "burning-tightness", "reported-pain-burning-tightness"),
    ("character", "shooting-numbness", "reported-pain-shooting-numbness"),
    ("severity", "severe", "reported-severe-pain"),
])
def test_each_reported_answer_is_a_finding_on_its_leg(questions, side, item, code, sign):
    response = questionnaire_response({side: {item: code}}, days=5, rid="qr-1")
    finding = only(read(questions, response), sign)
    assert (finding.present, finding.side, finding.origin) == (True, side, "reported")
    assert finding.note == "reported by the patient"
    assert finding.reference == "QuestionnaireResponse/qr-1"
    assert finding.date == (NOW - timedelta(days=5))


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize(("item", "answer", "sign", "present"), [
    ("colour", (SCT, "398979000"), "pallor", True),
    ("colour", (SCT, "3415004"), "skin-discolouration", True),
    ("temperature", "cool-to-touch", "cool-leg", True),
    ("swelling", True, "leg-swelling", True),
    ("swelling", False, "leg-swelling", False),
    ("pedal-pulses-absent", True, "absent-pedal-pulse", True),
    ("pedal-pulses-absent", False, "absent-pedal-pulse", False),
])
def test_each_examined_answer_is_a_finding_on_its_leg(questions, side, item, answer, sign, present):
    finding = only(read(questions, questionnaire_response({side: {item: answer}})), sign)
    assert (finding.present, finding.side, finding.origin) == (present, side, "examined")
    assert finding.note == "examined by the clinician"


@pytest.mark.parametrize(("item", "answer"), [("colour", "colour-normal"), ("temperature", "temperature-normal"),
                                               ("severity", "mild"), ("severity", "moderate")])
def test_answers_that_say_nothing_discriminating_become_no_finding(questions, item, answer):
    reading = read(questions, questionnaire_response({"left": {item: answer}}))
    assert reading.recent and reading.findings == []


def test_the_same_answer_on_both_legs_is_one_finding_on_both(questions):
    response = questionnaire_response({"left": {"relief": "sitting-leaning-forward"},
                                       "right": {"relief": "sitting-leaning-forward"}})
    finding = only(read(questions, response), "reported-relief-sitting-leaning-forward")
    assert finding.side == "bilateral"


@pytest.mark.parametrize(("left", "right", "sign", "side"), [
    (True, True, "reported-pain-both-legs", "bilateral"),
    (True, False, "reported-pain-one-leg", "left"),
    (False, True, "reported-pain-one-leg", "right"),
])
def test_which_legs_hurt_is_the_distribution(questions, left, right, sign, side):
    response = questionnaire_response({"left": {"pain-on-walking": left}, "right": {"pain-on-walking": right}})
    reading = read(questions, response)
    finding = only(reading, sign)
    assert (finding.side, finding.origin) == (side, "reported")
    assert not [f for f in reading.findings if f.sign != sign]


def test_no_leg_hurting_gives_no_distribution(questions):
    response = questionnaire_response({"left": {"pain-on-walking": False}, "right": {"pain-on-walking": False}})
    assert read(questions, response).findings == []


def test_the_latest_response_wins_whole(questions):
    older = questionnaire_response({"left": {"relief": "standing-still", "pedal-pulses-absent": True}}, days=30)
    newer = questionnaire_response({"left": {"relief": "sitting-leaning-forward"}}, days=3, rid="new")
    reading = read(questions, older, newer)
    assert reading.used == "QuestionnaireResponse/new"
    assert {f.sign for f in reading.findings} == {"reported-relief-sitting-leaning-forward"}


def test_stale_answers_are_ignored(questions):
    lookback = questions.lookback_days
    inside = questionnaire_response({"left": {"relief": "standing-still"}}, days=lookback - 1)
    stale = questionnaire_response({"left": {"relief": "standing-still"}}, days=lookback + 1)
    assert read(questions, inside).findings
    reading = read(questions, stale)
    assert reading.findings == [] and not reading.recent
    assert reading.skipped["stale"] == 1


@pytest.mark.parametrize(("change", "reason"), [
    ({"status": "in-progress"}, "status-in-progress"),
    ({"status": "entered-in-error"}, "status-entered-in-error"),
    ({"questionnaire": "https://example.org/Questionnaire/other"}, "other-questionnaire"),
    ({"questionnaire": QUESTIONNAIRE + "|2.0.0"}, "other-questionnaire"),
    ({"subject": {"reference": "Patient/someone-else"}}, "other-patient"),
    ({"authored": None}, "undated"),
    ({"authored": (NOW + timedelta(days=3)).isoformat()}, "future-dated"),
    ({"item": "not a list"}, "malformed"),
])
def test_responses_that_cannot_be_read_are_skipped_and_counted(questions, change, reason):
    response = questionnaire_response({"left": {"relief": "standing-still"}})
    response.update(change)
    if response.get("authored") is None:
        response.pop("authored", None)
    reading = read(questions, response)
    assert reading.findings == [] and not reading.recent
    assert reading.skipped[reason] == 1


def test_a_versioned_reference_to_this_questionnaire_is_read(questions):
    response = questionnaire_response({"left": {"relief": "standing-still"}},
                                      questionnaire=f"{QUESTIONNAIRE}|{questions.version}")
    assert only(read(questions, response), "reported-relief-standing-still")


def test_an_answer_that_is_not_one_of_the_question_s_answers_is_ignored(questions):
    response = questionnaire_response({"left": {"relief": "few-steps", "colour": (SCT, "10601006")}})
    reading = read(questions, response)
    assert reading.recent and reading.findings == []


def _first_answer(response: dict) -> dict:
    return response["item"][0]["item"][0]["answer"][0]


# What answers.py reads of a response, each broken as an EHR might send it (issue 23: the records-style
# reader replaced a fhir.resources model). Each is refused by fhir.resources too: the reader is never
# more lenient than the model on a field a finding is built from.
READ_FIELD_BREAKAGES = {
    "authored-not-a-datetime": lambda r: r.update(authored="27/11/2026"),
    "id-with-a-space": lambda r: r.update(id="qr 1"),
    "subject-not-a-reference": lambda r: r.update(subject="Patient/p"),
    "items-not-a-list": lambda r: r.update(item={"linkId": "left"}),
    "group-without-linkid": lambda r: r["item"][0].pop("linkId"),
    "answered-item-without-linkid": lambda r: r["item"][0]["item"][0].pop("linkId"),
    "null-in-the-answers": lambda r: r["item"][0]["item"][0].update(answer=[None]),
    "two-values-in-one-answer": lambda r: _first_answer(r).update(valueBoolean=True),
    "a-coding-and-an-integer-in-one-answer": lambda r: _first_answer(r).update(valueInteger=3),
    "coding-code-with-two-spaces": lambda r: _first_answer(r)["valueCoding"].update(code="standing  still"),
    "boolean-that-is-not-one": lambda r: r["item"][0]["item"][0].update(answer=[{"valueBoolean": "maybe"}]),
}


@pytest.mark.parametrize("name", sorted(READ_FIELD_BREAKAGES))
def test_a_response_broken_where_it_is_read_is_skipped_as_malformed_as_fhir_resources_would(questions, name):
    """Cap 2 s. The same breakage refused by the fhir.resources model and by the reader; the response
    is skipped and counted as malformed, never read in part."""
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
    from pydantic import ValidationError
    response = questionnaire_response({"left": {"relief": "standing-still"}})
    READ_FIELD_BREAKAGES[name](response)
    with pytest.raises((ValidationError, ValueError)):
        QuestionnaireResponse.model_validate(response)
    reading = read(questions, response)
    assert (reading.findings, reading.recent, reading.skipped["malformed"]) == ([], False, 1)


def test_a_field_no_finding_is_built_from_is_not_checked(questions):
    """Cap 1 s. Design choice (issue 23): only what answers.py reads is checked, as for chart
    resources (records.READERS); a broken field elsewhere (an item's text) does not hide the answers."""
    response = questionnaire_response({"left": {"relief": "standing-still"}})
    response["item"][0]["text"] = 5
    assert only(read(questions, response), "reported-relief-standing-still").side == "left"


def test_lax_booleans_are_read_as_fhir_resources_reads_them(questions):
    """Cap 1 s. "true"/"false" strings in valueBoolean are accepted by fhir.resources (pydantic's lax mode):
    the reader reads them the same way, so a swelling answered "false" stays an absent finding."""
    response = questionnaire_response({"left": {"swelling": True}})
    _first_answer(response)["valueBoolean"] = "false"
    finding = only(read(questions, response), "leg-swelling")
    assert (finding.present, finding.side) == (False, "left")


@pytest.mark.parametrize("value", [200, 200.0, "200", True])
def test_an_answer_to_a_question_we_do_not_ask_is_not_checked(questions, value):
    """Cap 1 s. An integer item the EHR added (written 200.0, "200" or true, which fhir.resources's lax
    integer accepts) does not hide the answers we read: only the answers' valueBoolean and valueCoding
    are read, so only they are checked (found by review: the whole response was dropped as malformed)."""
    response = questionnaire_response({"left": {"relief": "standing-still"}})
    response["item"][0]["item"].append({"linkId": "left-leg.walking-metres", "answer": [{"valueInteger": value}]})
    assert only(read(questions, response), "reported-relief-standing-still").side == "left"
