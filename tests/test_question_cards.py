"""What the answers do to the cards (cds_service/question_cards.py, through the engine and the API)."""
from __future__ import annotations

import pytest

from tests.builders import ICD, NOW, SCT, abi, bundle, condition, hook_request, observation, questionnaire_response
from tests.helpers import by_topic, check_body

BASE = "http://cds.test"
LINK = f"{BASE}/questionnaires/leg-pain-on-walking"
OFFER = "Cause of leg pain not yet clear: ask the questions the article uses"
REPORTED = "Reported, not examined: "


def leg_pain(code=("http://snomed.info/sct", "10601006"), days=20):
    return condition(code[0], code[1], onset_days=days)


SPINAL = {side: {"pain-on-walking": True, "walking-distance": "on-standing", "relief": "sitting-leaning-forward",
                 "character": "shooting-numbness"} for side in ("left", "right")}
ARTERIAL = {"left": {"pain-on-walking": True, "walking-distance": "short-distance", "relief": "standing-still",
                     "character": "cramping-crushing"},
            "right": {"pain-on-walking": False}}
PAD = ("http://snomed.info/sct", "399957001")  # peripheral arterial occlusive disease (valuesets/peripheral-arterial-disease.json)


@pytest.fixture
def cards(engine):
    def run(resources, answers=None, **kw):
        response = engine.evaluate(hook_request(resources, answers=answers, **kw), now=NOW, base_url=BASE).response
        check_body(response)
        return response["cards"]
    return run


def links(card):
    return [link["url"] for link in card.get("links", ())]


@pytest.mark.parametrize(("legs", "pattern"), [(SPINAL, "neurogenic-claudication"), (ARTERIAL, "arterial-claudication")])
def test_no_pattern_card_before_answering_and_an_info_card_marked_reported_after(cards, legs, pattern):
    before = cards([leg_pain()], answers=[])
    assert [c["summary"] for c in before] == [OFFER]
    after = cards([leg_pain()], answers=[questionnaire_response(legs)])
    assert list(by_topic(after)) == [pattern]
    card = after[0]
    assert card["indicator"] == "info"
    assert card["summary"].startswith(REPORTED)
    assert "rests on the patient's answers alone" in card["detail"]
    assert "reported by the patient" in card["detail"]
    assert links(card)[-1] == LINK  # the offer, as a secondary link


def test_a_reported_pattern_is_never_more_than_info_however_strong(cards):
    legs = {side: {**SPINAL[side], "severity": "moderate"} for side in SPINAL}
    (card,) = cards([], answers=[questionnaire_response(legs)])
    assert card["indicator"] == "info"


def test_with_an_objective_finding_answers_count_like_any_other_evidence(cards):
    pulse = observation(SCT, "414617007", days=5)  # loss of distal pulse, examined and on the record
    (card,) = cards([leg_pain(), pulse], answers=[questionnaire_response(ARTERIAL)])
    assert card["source"]["topic"]["code"] == "arterial-claudication"
    assert card["indicator"] == "warning"
    assert not card["summary"].startswith(REPORTED)


def test_an_examined_answer_is_objective(cards):
    legs = {"left": {**ARTERIAL["left"], "pedal-pulses-absent": True}, "right": {"pain-on-walking": False}}
    (card,) = cards([], answers=[questionnaire_response(legs)])
    assert card["indicator"] == "warning" and not card["summary"].startswith(REPORTED)
    assert "examined by the clinician" in card["detail"]


def test_rest_pain_with_proven_pad_is_critical_and_carries_no_offer(cards):
    legs = {"left": {"pain-on-walking": True, "relief": "nothing-even-at-rest"}}
    (card,) = cards([leg_pain(), condition(*PAD, onset_days=400)], answers=[questionnaire_response(legs)])
    assert card["indicator"] == "critical"
    assert "rest pain" in card["summary"]
    assert LINK not in links(card)
    assert "Pain even at rest was reported" in card["detail"]


def test_rest_pain_with_an_abnormal_abi_is_critical(cards):
    legs = {"left": {"pain-on-walking": True, "relief": "nothing-even-at-rest"}}
    (card,) = cards([abi(0.6, "left")], answers=[questionnaire_response(legs)])
    assert card["indicator"] == "critical"


def test_rest_pain_with_an_abnormal_abi_on_the_other_leg_is_not_clti(cards):
    legs = {"left": {"pain-on-walking": True, "relief": "nothing-even-at-rest"}}
    result = cards([abi(0.6, "right")], answers=[questionnaire_response(legs)])
    assert result and all(c["indicator"] != "critical" for c in result)


def test_rest_pain_with_an_absent_pulse_is_not_possible_clti(cards):
    """Perfusion unknown makes an ulcer or gangrene possible CLTI, never reported pain."""
    legs = {"left": {"pain-on-walking": True, "relief": "nothing-even-at-rest", "pedal-pulses-absent": True}}
    (card,) = cards([], answers=[questionnaire_response(legs)])
    assert card["indicator"] == "warning" and "ulcer or gangrene" not in card["summary"]
    assert "Pain even at rest was reported" in card["detail"]


def test_rest_pain_without_proven_pad_is_the_seed_s_advice_not_a_red_flag(cards):
    legs = {"left": {"pain-on-walking": True, "relief": "nothing-even-at-rest"}}
    (card,) = cards([leg_pain()], answers=[questionnaire_response(legs)])
    assert card["indicator"] == "info"
    assert "Pain even at rest was reported" in card["detail"]
    assert links(card) == [LINK]


def test_pain_after_a_few_steps_adds_the_seed_s_line_to_the_pattern_card(cards):
    legs = {"left": {**ARTERIAL["left"], "walking-distance": "few-steps"}, "right": {"pain-on-walking": False}}
    (card,) = cards([], answers=[questionnaire_response(legs)])
    assert card["source"]["topic"]["code"] == "arterial-claudication"
    assert "leg pain after walking even a few steps generally indicates a more severe condition" in card["detail"]
    assert card["detail"].index("From the patient's answers") < card["detail"].index("_Decision support only")


@pytest.mark.parametrize(("code", "offered"), [
    ((SCT, "10601006"), True),    # pain in lower limb
    ((SCT, "300954003"), True),   # pain in calf
    ((ICD, "M79.605"), True),     # pain in left leg
    ((SCT, "279043006"), False),  # pain in buttock: in the leg-pain value set, not a trigger
])
def test_the_trigger_list_in_and_out(cards, code, offered):
    result = cards([leg_pain(code)], answers=[])
    assert ([c["summary"] for c in result] == [OFFER]) is offered
    if offered:
        assert result[0]["indicator"] == "info" and links(result[0]) == [LINK]
    else:
        assert result == []


def test_a_trigger_older_than_its_window_offers_nothing(cards, knowledge):
    days = knowledge.questions.trigger_recent_days
    assert cards([leg_pain(days=days - 1)], answers=[])
    assert cards([leg_pain(days=days + 1)], answers=[]) == []


def test_no_offer_with_a_discriminating_finding(cards):
    stenosis = condition(SCT, "18347007", onset_days=400)  # lumbar spinal stenosis
    result = cards([leg_pain(), stenosis], answers=[])
    assert OFFER not in [c["summary"] for c in result]


def test_no_offer_with_a_recent_response_even_one_that_says_nothing_discriminating(cards):
    response = questionnaire_response({"left": {"colour": "colour-normal"}})
    assert cards([leg_pain()], answers=[response]) == []


def test_a_stale_response_does_not_stop_the_offer(cards, knowledge):
    stale = questionnaire_response(SPINAL, days=knowledge.questions.lookback_days + 1)
    assert [c["summary"] for c in cards([leg_pain()], answers=[stale])] == [OFFER]


def test_no_offer_when_the_answers_were_not_read(cards):
    """Absent key (a client that does not prefetch it, and no FHIR server): nothing known, no offer."""
    assert cards([leg_pain()]) == []


def test_critical_cards_never_carry_the_offer(cards):
    ali = condition(ICD, "I74.3", onset_days=2)  # embolism and thrombosis of arteries of the lower extremities
    result = cards([ali, leg_pain()], answers=[])
    assert result and all(LINK not in links(c) for c in result if c["indicator"] == "critical")


def test_non_critical_pattern_cards_carry_the_offer(cards):
    (card,) = cards([abi(0.7, "left")], answers=[])
    assert card["indicator"] != "critical" and links(card)[-1] == LINK


def test_without_a_base_url_no_link_is_given(engine):
    response = engine.evaluate(hook_request([leg_pain()], answers=[]), now=NOW).response
    (card,) = response["cards"]
    assert card["summary"] == OFFER and "links" not in card


# -- through the API -------------------------------------------------------------------------

def test_a_refused_questionnaire_response_key_removes_only_what_needs_it(client):
    outcome = {"resourceType": "OperationOutcome",
               "issue": [{"severity": "error", "code": "forbidden", "diagnostics": "scope missing"}]}
    pad = condition(*PAD, onset_days=400)
    body = hook_request([leg_pain(), pad])
    body["prefetch"]["questionnaireResponses"] = outcome
    refused = client.post("/cds-services/leg-pain-claudication", json=body)
    assert refused.status_code == 200
    body["prefetch"]["questionnaireResponses"] = bundle([])
    read = client.post("/cds-services/leg-pain-claudication", json=body)
    strip = [(c["summary"], c["indicator"]) for c in refused.get_json()["cards"]]
    assert strip == [(c["summary"], c["indicator"]) for c in read.get_json()["cards"]]
    assert strip  # the arterial card from the record stands

    alone = hook_request([leg_pain()])
    alone["prefetch"]["questionnaireResponses"] = outcome
    response = client.post("/cds-services/leg-pain-claudication", json=alone)
    assert response.status_code == 200 and response.get_json()["cards"] == []  # the offer needs the answers


def test_the_link_points_at_the_served_questionnaire(client, knowledge):
    body = hook_request([leg_pain()], answers=[])
    (card,) = client.post("/cds-services/leg-pain-claudication", json=body).get_json()["cards"]
    url = card["links"][0]["url"]
    assert url == "http://localhost/questionnaires/leg-pain-on-walking"
    served = client.get(url.removeprefix("http://localhost"))
    assert served.status_code == 200 and served.mimetype == "application/fhir+json"
    assert served.get_json() == knowledge.questions.resource


def test_an_unknown_questionnaire_is_404(client):
    response = client.get("/questionnaires/something-else")
    assert response.status_code == 404
    assert response.get_json()["resourceType"] == "OperationOutcome"
