"""Severe pain on the day of a leg-pain finding adds an advisory line (cds_service/pain_severity.py)."""
from __future__ import annotations

import copy

import pytest
import yaml

from builders import ICD, LNC, SCT, condition, hook_request, observation
from cds_service import rules
from cds_service.config import REPO_ROOT
from helpers import by_topic

LINE = "a more serious cause is more likely"


def _score(value, days=10):
    return observation(LNC, "72514-3", days=days, value={"valueQuantity": {
        "value": value, "unit": "{score}", "system": "http://unitsofmeasure.org", "code": "{score}"}})


def _claudication(days=10):
    return condition(SCT, "63491006", onset_days=days)


def _card(evaluate, resources):
    return by_topic(evaluate(hook_request(resources)))["arterial-claudication"]


def test_seven_on_the_day_of_leg_pain_adds_the_line(evaluate):
    card = _card(evaluate, [_claudication(), _score(7)])
    assert "Severe pain (7/10 on " in card["detail"] and LINE in card["detail"]


def test_six_on_the_same_day_does_not(evaluate):
    assert LINE not in _card(evaluate, [_claudication(), _score(6)])["detail"]


def test_seven_on_another_day_does_not(evaluate):
    assert LINE not in _card(evaluate, [_claudication(days=12), _score(9, days=10)])["detail"]


def test_the_line_goes_on_every_card_and_raises_none_alone(evaluate):
    cards = evaluate(hook_request([_claudication(), condition(SCT, "300954003", onset_days=10), _score(8),
                                   condition(ICD, "M48.062", onset_days=10)]))
    assert len(cards) == 2 and all(LINE in c["detail"] for c in cards)
    assert evaluate(hook_request([condition(SCT, "300954003", onset_days=10), _score(10)])) == []


def test_a_score_outside_0_to_10_is_not_read(evaluate):
    assert LINE not in _card(evaluate, [_claudication(), _score(70)])["detail"]


PATTERNS = yaml.safe_load((REPO_ROOT / "knowledge" / "patterns.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("change,message", [
    (lambda d: d["severe_pain"].update(at_least=0), "at_least must be a number above 0"),
    (lambda d: d["severe_pain"].update(at_least=11), "at_least must be a number above 0"),
    (lambda d: d["severe_pain"].update(sign="leg-swelling-x"), "is not a sign read from Observation"),
    (lambda d: d["severe_pain"].update(same_day_as=["nope"]), "same_day_as must list known signs"),
    (lambda d: d["severe_pain"].update(line="no placeholders"), "must be text with {value} and {date}"),
    (lambda d: d["severe_pain"].pop("reason"), "severe_pain.reason is required"),
    (lambda d: d["severe_pain"].update(extra=1), "unknown keys"),
    (lambda d: d.update(severe_pain=[1]), "severe_pain must be a mapping"),
])
def test_a_broken_severe_pain_rule_is_refused(change, message):
    data = copy.deepcopy(PATTERNS)
    change(data)
    with pytest.raises(rules.RulesError) as err:
        rules.parse(data)
    assert message in str(err.value)
