"""Issue 14, ABI and the leg: in/out/boundary cases named after each rule (cds_service/abi_reading.py)."""
from __future__ import annotations

import pytest

from builders import ICD, SCT, abi, condition, hook_request, observation
from cases import LEFT_CALF, RULE_CASES
from helpers import by_topic


def arterial(evaluate, resources):
    return by_topic(evaluate(hook_request(resources))).get("arterial-claudication")


def claudication():
    return condition(SCT, "63491006", body_site=LEFT_CALF)


# ---------------------------------------------------------------- only the symptomatic leg's ABI speaks
@pytest.mark.parametrize("value,summary", [
    (0.90, "Left leg claudication with ABI 0.90: check pedal pulses"),
    (0.91, "Left leg exertional leg pain with ABI 0.91: consider an exercise ABI"),
    (1.40, "Left leg exertional leg pain with ABI 1.40: consider an exercise ABI"),
    (1.41, "Left leg: ABI 1.41 is non-diagnostic (noncompressible): consider a toe-brachial index"),
])
def test_symptomatic_leg_abi_boundaries(evaluate, value, summary):
    assert arterial(evaluate, [claudication(), abi(value, "left")])["summary"] == summary


def test_normal_abi_in_both_legs_never_silences_claudication(evaluate):
    card = arterial(evaluate, RULE_CASES["normal-abi-both-legs-with-claudication"]())
    assert card["summary"] == "Left leg exertional leg pain with ABI 1.05: consider an exercise ABI"
    assert "1.10" not in card["detail"]  # the right leg's normal ABI is not evidence against


def test_normal_abi_on_the_other_leg_only_is_not_evidence_against(evaluate):
    card = arterial(evaluate, RULE_CASES["normal-abi-other-leg-only"]())
    assert card["summary"] == "Left leg signs consistent with arterial claudication: check pedal pulses and ABI"
    assert [s["label"] for s in card["suggestions"]] == ["Order a resting ankle-brachial index"]  # none on the left yet
    assert "None recorded." in card["detail"].split("**Findings that argue against it**")[1]


def test_normal_abi_without_arterial_signs_still_argues_against(evaluate):
    assert arterial(evaluate, [abi(1.10, "left"), abi(1.12, "right")]) is None


# ---------------------------------------------------------------- diabetes or CKD: a normal ABI is not reassuring
def test_diabetes_with_exertional_symptoms_asks_for_toe_pressure(evaluate):
    card = arterial(evaluate, RULE_CASES["diabetes-exertional-normal-abi"]())
    assert card["indicator"] == "warning" and "toe pressure or TBI" in card["summary"]
    assert [s["label"] for s in card["suggestions"]] == ["Order a toe-brachial index (toe pressure)",
                                                         "Order an exercise treadmill ABI"]
    assert "Type 2 diabetes mellitus without complications" in card["detail"]


def test_diabetes_without_exertional_symptoms_or_wound_raises_nothing(evaluate):
    assert evaluate(hook_request(RULE_CASES["diabetes-no-exertional-normal-abi"]())) == []


def test_diabetes_with_a_foot_wound_on_that_leg_asks_for_toe_pressure(evaluate):
    card = arterial(evaluate, RULE_CASES["diabetes-foot-wound-normal-abi"]())
    assert card["summary"] == "Left leg: foot wound with ABI 1.10 in diabetes or kidney disease: consider toe pressure or TBI"


def test_diabetes_with_a_foot_wound_on_the_other_leg_is_not_this_rule(evaluate):
    resources = [condition(ICD, "E11.9", onset_days=2000), condition(ICD, "L97.519", onset_days=20), abi(1.10, "left")]
    card = arterial(evaluate, resources)
    assert card is None or "foot wound with ABI" not in card["summary"]


def test_chronic_kidney_disease_counts_like_diabetes(evaluate):
    card = arterial(evaluate, RULE_CASES["ckd-exertional-normal-abi"]())
    assert "with diabetes or kidney disease" in card["summary"]
    assert "Chronic kidney disease, stage 3a" in card["detail"]


def test_diabetic_complication_code_counts_as_diabetes(evaluate):
    resources = [claudication(), condition(SCT, "368581000119106", onset_days=2000), abi(1.10, "left")]
    assert "toe pressure or TBI" in arterial(evaluate, resources)["summary"]


def test_diabetes_with_a_low_abi_keeps_the_abnormal_card(evaluate):
    resources = [claudication(), condition(ICD, "E11.9", onset_days=2000), abi(0.80, "left")]
    assert arterial(evaluate, resources)["summary"] == "Left leg claudication with ABI 0.80: check pedal pulses"


# ---------------------------------------------------------------- old abnormal ABI
def test_old_abnormal_abi_is_still_evidence_but_not_recent(evaluate):
    card = arterial(evaluate, RULE_CASES["old-abnormal-abi"]())
    assert card["summary"] == "Left leg claudication with ABI 0.70: check pedal pulses"
    assert "older than 365 days, still evidence" in card["detail"]
    assert [s["label"] for s in card["suggestions"]] == ["Order a resting ankle-brachial index"]


def test_old_abnormal_abi_alone_still_raises_the_card(evaluate):
    card = arterial(evaluate, [abi(0.70, "left", days=500)])
    assert card["summary"] == "Left leg: ABI 0.70 consistent with arterial disease: check pedal pulses"


def test_old_abnormal_abi_with_a_later_normal_one_is_superseded(evaluate):
    card = arterial(evaluate, RULE_CASES["old-abnormal-abi-later-normal"]())
    assert card["summary"] == "Left leg exertional leg pain with ABI 1.02: consider an exercise ABI"
    assert "0.70" not in card["detail"]


def test_old_normal_abi_says_nothing(evaluate):
    card = arterial(evaluate, [claudication(), abi(1.05, "left", days=500)])
    assert card["summary"] == "Left leg signs consistent with arterial claudication: check pedal pulses and ABI"


def test_recent_abi_is_not_ordered_again(evaluate):
    card = arterial(evaluate, [claudication(), abi(0.70, "left", days=300)])
    assert "suggestions" not in card and "need not be repeated" in card["detail"]


# ---------------------------------------------------------------- whose leg the summary names
def test_abi_leg_naming_is_for_arterial_abi_variants_only(evaluate):
    cards = by_topic(evaluate(hook_request(RULE_CASES["stenosis-with-normal-right-abi"]())))
    assert cards["neurogenic-claudication"]["summary"] == "Bilateral leg symptoms consistent with neurogenic (spinal) claudication"
    assert "arterial-claudication" not in cards


def test_absent_pulse_on_the_other_leg_keeps_its_own_leg(evaluate):
    resources = [observation(SCT, "163109009", days=20), abi(1.05, "left")]  # right dorsalis pedis absent
    card = arterial(evaluate, resources)
    assert card["summary"] == "Right leg signs consistent with arterial claudication: check pedal pulses and ABI"


# ---------------------------------------------------------------- not_reassuring context: E08-E13, CKD 3-5, dialysis
@pytest.mark.parametrize("code", ["E11.69", "E11.8", "E13.9", "E08.65", "E10.3591", "N18.3", "N18.4", "N18.6", "Z99.2"])
def test_not_reassuring_context_in_diabetes_and_ckd_families(evaluate, code):
    resources = [claudication(), condition(ICD, code, onset_days=2000), abi(1.10, "left")]
    assert "toe pressure or TBI" in arterial(evaluate, resources)["summary"]


@pytest.mark.parametrize("code", ["N18.2", "N18.1", "E16.2"], ids=["ckd-2", "ckd-1", "hypoglycaemia-not-diabetes"])
def test_not_reassuring_context_out_ckd_1_2_and_non_diabetic_codes(evaluate, code):
    resources = [claudication(), condition(ICD, code, onset_days=2000), abi(1.10, "left")]
    card = arterial(evaluate, resources)
    assert card is None or "toe pressure" not in card["summary"]


def test_not_reassuring_diabetic_foot_ulcer_with_normal_abi_asks_for_toe_pressure(evaluate):
    resources = [condition(ICD, "E11.621", onset_days=30), condition(ICD, "L97.512", onset_days=30), abi(1.10, "right")]
    card = arterial(evaluate, resources)
    assert card["summary"] == "Right leg: foot wound with ABI 1.10 in diabetes or kidney disease: consider toe pressure or TBI"


def test_diabetes_value_set_leaves_owned_codes_to_their_own_sign(knowledge):
    from cds_service.terminology import ICD10CM
    signs = {code: knowledge.terminology.lookup(ICD10CM, code).sign for code in ("E11.621", "E11.42", "E11.51", "E11.69")}
    assert signs == {"E11.621": "diabetic-foot-ulcer", "E11.42": "diabetic-neuropathy",
                     "E11.51": "diabetic-peripheral-angiopathy", "E11.69": "diabetes"}
