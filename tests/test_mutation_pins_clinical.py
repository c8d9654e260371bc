"""Issue 24: clinical windows and order, pinned through the engine so that a one-line slip fails a test.

Each test names the rule it pins. Windows, bands and combinations are read from the loaded
knowledge (not copied here), so the tests follow the pattern table when its numbers change and
still fail when the code stops honouring them. Each was checked by making the one-line change
by hand in the module named in its docstring and seeing it fail.
"""
from __future__ import annotations

import pytest

from builders import ICD, NOW, SCT, abi, condition, hook_request, observation
from helpers import by_topic

LEFT_CALF = [{"coding": [{"system": SCT, "code": "53840002:272741003=7771000"}]}]
DATA_ABSENT = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "not-performed"}]}
ABSENT_PULSE, PALLOR = "163109009", "398979000"
SPINAL_STENOSIS, CAUDA_EQUINA = "18347007", "192970008"


def _claudication_left():
    return condition(SCT, "63491006", body_site=LEFT_CALF)


def _run(engine, resources):
    """Cards and the intake counters of one evaluation at the tests' 'now'."""
    result = engine.evaluate(hook_request(resources), now=NOW)
    return by_topic(result.response["cards"]), result.stats


def _acute_red_flags(knowledge):
    """Every acute red-flag sign that raises its pattern on its own, with one of its Condition codes."""
    out = []
    for sign in knowledge.rules.signs.values():
        if sign.red_flag and sign.acute and sign.lookback_days and not sign.red_flag_requires_any \
                and "Condition" in sign.read_from:
            critical = [c for c in knowledge.terminology.codes_for(frozenset({sign.id}))
                        if not sign.red_flag_warning_codes or c.code not in sign.red_flag_warning_codes.codes]  # M79.A2-: a warning by design (issue 17)
            concept = min(critical, key=lambda c: (c.system, c.code))
            out.append((sign, concept))
    assert out, "the pattern table has no acute red flag to test"
    return out


# ---------------------------------------------------------------- lookback windows (findings.stale)
def test_rule_a_finding_exactly_at_the_edge_of_its_lookback_window_is_kept(engine, knowledge):
    """`days > lookback` must not become `days >= lookback`."""
    for sign, concept in _acute_red_flags(knowledge):
        cards, _ = _run(engine, [condition(concept.system, concept.code, onset_days=sign.lookback_days)])
        assert sign.red_flag in cards, sign.id
        assert cards[sign.red_flag]["indicator"] == "critical", sign.id


def test_rule_red_flag_conditions_age_out_one_day_past_their_window(engine, knowledge):
    """An acute red flag one day older than its window raises nothing, and is counted as stale."""
    for sign, concept in _acute_red_flags(knowledge):
        cards, stats = _run(engine, [condition(concept.system, concept.code, onset_days=sign.lookback_days + 1)])
        assert sign.red_flag not in cards, sign.id
        assert stats.excluded == {"condition-stale": 1}, sign.id


def test_rule_an_observation_at_the_edge_of_its_window_is_kept_and_one_day_later_dropped(engine, knowledge):
    lookback = knowledge.rules.signs["absent-pedal-pulse"].lookback_days
    cards, stats = _run(engine, [observation(SCT, ABSENT_PULSE, days=lookback)])
    assert "arterial-claudication" in cards and not stats.excluded
    cards, stats = _run(engine, [observation(SCT, ABSENT_PULSE, days=lookback + 1)])
    assert cards == {} and stats.excluded == {"observation-stale": 1}


# ---------------------------------------------------------------- latest per leg (assessment._abi_bands)
@pytest.mark.parametrize("old,new", [(0.70, 1.10), (1.10, 0.70)])
def test_rule_the_latest_abi_per_leg_wins_not_the_oldest(engine, old, new):
    """Two readings on the left leg, in either order in the record: the newer one is the one shown."""
    resources = [_claudication_left(), abi(new, "left", days=10), abi(old, "left", days=300)]
    card = _run(engine, resources)[0]["arterial-claudication"]
    assert f"ABI {new:.2f}" in card["summary"]
    assert f"ABI {old:.2f}" not in card["summary"]


# ---------------------------------------------------------------- ABI bands (rules.Band)
def test_rule_abi_1_00_is_normal_not_borderline(engine, knowledge):
    bands = {b.sign: b for b in knowledge.rules.measurements["ankle-brachial-index"].bands}
    card = _run(engine, [_claudication_left(), abi(1.00, "left")])[0]["arterial-claudication"]
    assert "ABI 1.00" in card["summary"]
    assert bands["abi-normal"].label in card["detail"]
    assert bands["abi-borderline"].label not in card["detail"]


# ---------------------------------------------------------------- combinations (assessment._combinations)
def test_rule_the_ali_combination_counts_recent_findings_only(engine, knowledge):
    """Absent pulse with pallor on the same leg within the window reads as possible acute limb ischaemia;
    the same findings months old (still current evidence) do not (arterial_red_flags.py)."""
    window = knowledge.rules.arterial.signs_window_days
    recent = [condition(SCT, ABSENT_PULSE, onset_days=window - 1), condition(SCT, PALLOR, onset_days=window - 1)]
    assert "acute limb ischaemia" in _run(engine, recent)[0]["arterial-claudication"]["summary"]
    old = 170  # both still current findings (inside their lookback windows), but not recent
    assert old < min(knowledge.rules.signs[s].lookback_days for s in ("absent-pedal-pulse", "pallor"))
    stale = [condition(SCT, ABSENT_PULSE, onset_days=old), condition(SCT, PALLOR, onset_days=old)]
    card = _run(engine, stale)[0]["arterial-claudication"]
    assert card["indicator"] != "critical"
    assert "acute limb ischaemia" not in card["summary"].lower()


# ---------------------------------------------------------------- data absent (findings.observation)
def test_rule_an_observation_with_data_absent_reason_is_not_present(engine):
    cards, stats = _run(engine, [observation(SCT, ABSENT_PULSE, days=5)])
    assert "arterial-claudication" in cards
    cards, stats = _run(engine, [observation(SCT, ABSENT_PULSE, days=5, dataAbsentReason=DATA_ABSENT)])
    assert cards == {}
    assert stats.excluded == {"observation-data-absent": 1}


# ---------------------------------------------------------------- contrary evidence (assessment.assess)
def test_rule_contrary_evidence_can_suppress_a_card(engine):
    """Spinal stenosis alone raises the neurogenic card. Pallor and right-leg swelling argue against it
    (and together with the one-sided finding they imply, bring its score to exactly 0): no card. With
    one finding fewer against it, the card is back, so the score's 'greater than 0' boundary is pinned."""
    stenosis, pallor, right_swelling = (condition(SCT, SPINAL_STENOSIS), condition(SCT, PALLOR),
                                        condition(ICD, "R22.41", onset_days=10))
    assert "neurogenic-claudication" in _run(engine, [stenosis])[0]
    assert "neurogenic-claudication" in _run(engine, [stenosis, pallor])[0]
    assert "neurogenic-claudication" not in _run(engine, [stenosis, pallor, right_swelling])[0]


# ---------------------------------------------------------------- card order (cards.render_all)
def test_rule_cards_are_ordered_critical_then_warning_then_info(engine):
    """The pattern order is arterial, venous, neurogenic; here the critical card is the neurogenic one."""
    resources = [condition(SCT, CAUDA_EQUINA, onset_days=1),                      # neurogenic: critical
                 _claudication_left(), abi(0.72, "left"),                          # arterial: warning
                 condition(ICD, "I83.811"), condition(ICD, "R22.41", onset_days=10)]  # venous: info
    cards = engine.evaluate(hook_request(resources), now=NOW).response["cards"]
    assert [(c["source"]["topic"]["code"], c["indicator"]) for c in cards] == [
        ("neurogenic-claudication", "critical"), ("arterial-claudication", "warning"), ("venous-claudication", "info")]
