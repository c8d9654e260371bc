"""Issue 13: arterial red flags (knowledge/arterial-red-flags.yaml), as in/out/boundary pairs named after each rule.

Each card variant the rules drive has one test pinning its exact summary and suggestion.
"""
from __future__ import annotations

import pytest

from builders import ICD, SCT, abi, condition, hook_request, observation, procedure
from helpers import by_topic

LEFT_LEG = [{"coding": [{"system": SCT, "code": "32153003", "display": "Structure of left lower limb"}]}]
ABSENT = {"valueCodeableConcept": {"coding": [{"system": SCT, "code": "2667000", "display": "Absent"}]}}
CLTI_CRITICAL = "Left leg: rest pain, ulcer or gangrene with proven arterial disease: refer urgently to a vascular specialist"
CLTI_KNOWN = "Left leg: known chronic limb-threatening ischaemia: confirm vascular follow-up"
CLTI_POSSIBLE = "Left leg: ulcer or gangrene, perfusion unknown: toe pressure or TBI urgently"
ALI_CRITICAL = "Possible acute limb ischaemia ({}): emergent vascular evaluation; heparin unless contraindicated"
ALI_TREATED = "Recent acute limb ischaemia (leg): confirm anticoagulation and follow-up"
ALI_POSSIBLE = "Left leg: absent pulse with pallor or paresthesia: if this is new, treat as possible acute limb ischaemia"


def arterial(evaluate, resources) -> dict | None:
    return by_topic(evaluate(hook_request(resources))).get("arterial-claudication")


def left_ulcer(days=20):
    return condition(ICD, "L97.529", onset_days=days)  # non-pressure chronic ulcer, left foot: names no cause


def pad_diagnosis():
    return condition(ICD, "I73.9", onset_days=800)


def left_pulse_absent(days=1, **kw):
    return observation(SCT, "163121008", days=days, **kw)


def left_pallor(days=1):
    return observation(SCT, "398979000", days=days, text="left leg pallor")


def only_suggestion(card) -> tuple[str, dict]:
    (suggestion,) = card["suggestions"]
    return suggestion["label"], suggestion["actions"][0]["resource"]


# ---------------------------------------------------------------- CLTI: tissue loss with proven PAD
def test_clti_critical_card_wording_and_referral(evaluate):
    card = arterial(evaluate, [left_ulcer(), pad_diagnosis()])
    assert (card["indicator"], card["summary"]) == ("critical", CLTI_CRITICAL)
    label, resource = only_suggestion(card)
    assert label == "Refer urgently to a vascular specialist"
    assert resource["priority"] == "urgent" and resource["resourceType"] == "ServiceRequest"
    assert "coding" not in resource["code"]  # no verified referral code: ordered by text
    assert resource["reasonCode"] == [{"text": "Suspected chronic limb-threatening ischaemia (decision support)"}]
    assert "referred urgently to a vascular specialist (G7)" in card["detail"]


def test_clti_in_ulcer_with_abi_090_on_the_same_leg(evaluate):
    assert arterial(evaluate, [left_ulcer(), abi(0.90, "left")])["summary"] == CLTI_CRITICAL


def test_clti_in_ulcer_with_low_abi_whose_leg_is_not_recorded(evaluate):
    assert arterial(evaluate, [left_ulcer(), abi(0.70, None)])["summary"] == CLTI_CRITICAL


def test_clti_out_ulcer_with_low_abi_on_the_other_leg_only(evaluate):
    card = arterial(evaluate, [left_ulcer(), abi(0.80, "right")])
    assert card["indicator"] == "warning"  # the left ulcer's perfusion is unknown: the right leg's ABI says nothing of it
    assert card["summary"] == "Left leg: ulcer, perfusion unknown: check pulses and ABI or toe pressure"


def test_clti_out_ulcer_with_abi_091_is_not_proof(evaluate):
    card = arterial(evaluate, [left_ulcer(), abi(0.91, "left")])
    assert card is None or card["indicator"] != "critical"


def test_clti_possible_ulcer_with_absent_pulse_only(evaluate):
    card = arterial(evaluate, [left_ulcer(), left_pulse_absent(days=3)])
    assert (card["indicator"], card["summary"]) == ("warning", CLTI_POSSIBLE)
    label, resource = only_suggestion(card)
    assert label == "Order an urgent toe pressure or toe-brachial index"
    assert resource["priority"] == "urgent" and "toe pressure" in resource["code"]["text"]
    assert "G1 Class IIa" in card["detail"]


def test_clti_possible_ulcer_with_abi_141_and_normal_at_140(evaluate):
    assert arterial(evaluate, [left_ulcer(), abi(1.41, "left")])["summary"] == CLTI_POSSIBLE
    card = arterial(evaluate, [left_ulcer(), abi(1.40, "left")])
    assert card is None or card["indicator"] != "critical" and card["summary"] != CLTI_POSSIBLE


def test_clti_possible_out_absent_pulse_on_the_other_leg(evaluate):
    card = arterial(evaluate, [left_ulcer(), observation(SCT, "163109009", days=3)])  # right dorsalis pedis absent
    assert card["summary"] != CLTI_POSSIBLE and card["indicator"] != "critical"


def test_ulcer_naming_no_cause_without_pad_supports_the_neuropathic_picture(evaluate):
    cards = by_topic(evaluate(hook_request([left_ulcer(), condition(SCT, "368581000119106", onset_days=2000)])))
    assert cards["arterial-claudication"]["indicator"] == "warning"  # no perfusion data: check it (defect 11), never CLTI
    assert "perfusion unknown" in cards["arterial-claudication"]["summary"]
    assert "Non-pressure chronic ulcer" in cards["neurogenic-claudication"]["detail"]


@pytest.mark.parametrize("code", ["E11.621", "L97.101", "L97.919"])
def test_every_ulcer_code_naming_no_cause_counts_with_proven_pad(evaluate, code):
    card = arterial(evaluate, [condition(ICD, code, onset_days=20), pad_diagnosis()])
    assert card["indicator"] == "critical"


@pytest.mark.parametrize("days,critical", [(13, False), (14, True)])
def test_clti_ulcer_is_chronic_from_14_days(evaluate, days, critical):
    card = arterial(evaluate, [left_ulcer(days), pad_diagnosis()])
    assert (card["summary"] == CLTI_CRITICAL) is critical
    assert (card["indicator"] == "critical") is critical


@pytest.mark.parametrize("days,summary", [(30, CLTI_CRITICAL), (31, CLTI_KNOWN)])
def test_clti_critical_window_is_30_days_from_the_finding(evaluate, days, summary):
    assert arterial(evaluate, [condition(ICD, "I70.242", onset_days=days)])["summary"] == summary


def test_clti_known_card_wording(evaluate):
    card = arterial(evaluate, [condition(ICD, "I70.242", onset_days=400)])
    assert (card["indicator"], card["summary"]) == ("warning", CLTI_KNOWN)
    assert "suggestions" not in card
    assert "confirming that vascular follow-up is in place" in card["detail"]


@pytest.mark.parametrize("procedure_days,summary", [(5, CLTI_KNOWN), (25, CLTI_CRITICAL)])
def test_clti_vascular_procedure_after_vs_before_the_finding(evaluate, procedure_days, summary):
    resources = [left_ulcer(20), pad_diagnosis(), procedure(SCT, "112828007", days=procedure_days)]
    assert arterial(evaluate, resources)["summary"] == summary


@pytest.mark.parametrize("code,side", [("I70.234", "Right"), ("I70.238", "Right"), ("I70.249", "Left"), ("I70.261", "Right"),
                                       ("I70.263", "Bilateral"), ("I70.433", "Right"), ("I70.443", "Left"), ("I70.762", "Left"),
                                       ("I70.221", "Right"), ("E11.52", None)])
def test_clti_in_codes_that_name_the_arterial_cause_are_their_own_proof(evaluate, code, side):
    card = arterial(evaluate, [condition(ICD, code, onset_days=20)])
    assert card["indicator"] == "critical"
    assert card["summary"].startswith(f"{side} leg:" if side else "Leg:")


@pytest.mark.parametrize("code", ["I70.25", "I70.268", "I70.228", "I70.35", "I70.368"])
def test_clti_out_arm_codes(evaluate, code):
    assert evaluate(hook_request([condition(ICD, code, onset_days=20)])) == []


def test_gangrene_naming_no_cause_needs_proven_pad(evaluate):
    assert arterial(evaluate, [condition(SCT, "372070002", onset_days=10)]) is None
    assert arterial(evaluate, [condition(SCT, "372070002", onset_days=10), pad_diagnosis()])["indicator"] == "critical"
    assert arterial(evaluate, [condition(SCT, "372070002", onset_days=10), left_pulse_absent(3)])["indicator"] == "warning"


def test_claudication_due_to_atherosclerosis_is_a_pad_diagnosis(evaluate):
    assert arterial(evaluate, [left_ulcer(), condition(ICD, "I70.212", onset_days=300)])["summary"] == CLTI_CRITICAL
    card = arterial(evaluate, [left_ulcer(), condition(SCT, "63491006", onset_days=300)])  # the symptom code is not proof
    assert card["indicator"] != "critical"


# ---------------------------------------------------------------- ALI: a current code within 14 days
@pytest.mark.parametrize("days,critical", [(14, True), (15, False)])
def test_ali_code_is_critical_within_14_days(evaluate, days, critical):
    card = arterial(evaluate, [condition(ICD, "I74.3", onset_days=days)])
    assert (card is not None and card["indicator"] == "critical") is critical


def test_ali_critical_card_wording_and_emergent_referral_not_imaging(evaluate):
    card = arterial(evaluate, [condition(ICD, "I74.3", onset_days=2)])
    assert (card["indicator"], card["summary"]) == ("critical", ALI_CRITICAL.format("leg"))
    label, resource = only_suggestion(card)
    assert label == "Refer emergently for vascular evaluation"
    assert resource["priority"] == "stat" and "coding" not in resource["code"]
    assert resource["reasonCode"] == [{"text": "Suspected acute limb ischaemia (decision support)"}]
    assert "does not require imaging" in card["detail"] and "heparin" in card["detail"]
    assert "handheld Doppler of arterial and venous signals" in card["detail"]
    assert "Doppler" not in label and "39421-3" not in str(card)


@pytest.mark.parametrize("procedure_days,summary", [(2, ALI_TREATED), (10, ALI_CRITICAL.format("leg"))])
def test_ali_revascularisation_after_vs_before_the_code(evaluate, procedure_days, summary):
    resources = [condition(ICD, "I74.3", onset_days=5), procedure(SCT, "112828007", days=procedure_days)]
    assert arterial(evaluate, resources)["summary"] == summary


RIGHT_LEG = [{"coding": [{"system": SCT, "code": "62175007", "display": "Structure of right lower limb"}]}]


@pytest.mark.parametrize("code", ["276861004", "371186005", "397117006"],
                         ids=["angioplasty-naming-no-artery", "toe-amputation", "major-amputation"])
def test_ali_treated_by_out_procedures_that_are_not_a_leg_revascularisation(evaluate, code):
    resources = [condition(ICD, "I74.3", onset_days=3), procedure(SCT, code, days=1)]
    assert arterial(evaluate, resources)["indicator"] == "critical"


def test_ali_treated_by_in_same_leg_or_unsided_out_other_leg(evaluate):
    left_ali = condition(ICD, "I74.3", onset_days=3, body_site=LEFT_LEG)
    same = arterial(evaluate, [left_ali, procedure(SCT, "112828007", days=1, body_site=LEFT_LEG)])
    unsided = arterial(evaluate, [left_ali, procedure(SCT, "112828007", days=1)])
    other = arterial(evaluate, [left_ali, procedure(SCT, "112828007", days=1, body_site=RIGHT_LEG)])
    assert same["indicator"] == unsided["indicator"] == "warning"
    assert other["indicator"] == "critical"


@pytest.mark.parametrize("code,critical", [("371186005", True), ("276861004", True), ("88312006", False), ("112828007", False)],
                         ids=["toe-amputation", "angioplasty-naming-no-artery", "below-knee-amputation", "bypass"])
def test_clti_follow_up_in_leg_revascularisation_or_major_amputation_out_toe_amputation(evaluate, code, critical):
    card = arterial(evaluate, [left_ulcer(20), pad_diagnosis(), procedure(SCT, code, days=5)])
    assert (card["indicator"] == "critical") is critical


def test_clti_follow_up_out_procedure_on_the_other_leg(evaluate):
    resources = [left_ulcer(20), pad_diagnosis(), procedure(SCT, "112828007", days=5, body_site=RIGHT_LEG)]
    assert arterial(evaluate, resources)["summary"] == CLTI_CRITICAL


def test_ali_treated_card_wording(evaluate):
    card = arterial(evaluate, [condition(SCT, "723870003", onset_days=5), procedure(SCT, "112828007", days=1)])
    assert (card["indicator"], card["summary"]) == ("warning", ALI_TREATED)
    assert "suggestions" not in card and "anticoagulation" in card["detail"]


@pytest.mark.parametrize("code", ["I74.3", "723870003"])  # I74.4 names no leg: see the issue 17 tests below
def test_ali_in_codes_that_name_a_limb(evaluate, code):
    system = SCT if code.isdigit() else ICD
    assert arterial(evaluate, [condition(system, code, onset_days=3)])["indicator"] == "critical"


def test_ali_out_thrombosis_naming_no_limb(evaluate):
    assert evaluate(hook_request([condition(SCT, "65198009", onset_days=3)])) == []


def test_generic_limb_ischaemia_codes_count_as_pad_not_ali(evaluate):
    card = arterial(evaluate, [condition(SCT, "233961000", onset_days=3)])  # lower limb ischemia
    assert card["indicator"] == "warning" and "acute" not in card["summary"]
    assert arterial(evaluate, [left_ulcer(), condition(SCT, "233961000", onset_days=300)])["summary"] == CLTI_CRITICAL


# ---------------------------------------------------------------- ALI from signs: same leg and new
def test_ali_signs_same_leg_and_pulse_recorded_present_before_is_critical(evaluate):
    resources = [left_pulse_absent(days=30, value=ABSENT), left_pulse_absent(days=1), left_pallor()]
    card = arterial(evaluate, resources)
    assert (card["indicator"], card["summary"]) == ("critical", ALI_CRITICAL.format("left leg"))
    assert only_suggestion(card)[0] == "Refer emergently for vascular evaluation"


def test_ali_signs_same_leg_vs_other_leg(evaluate):
    other = arterial(evaluate, [left_pulse_absent(days=30, value=ABSENT), observation(SCT, "163109009", days=1),
                                observation(SCT, "398979000", days=1, text="left leg pallor")])
    assert "acute limb ischaemia" not in other["summary"] and other["indicator"] != "critical"


@pytest.mark.parametrize("days,critical", [(14, True), (15, False)])
def test_ali_signs_pallor_counts_within_14_days(evaluate, days, critical):
    card = arterial(evaluate, [left_pulse_absent(days=30, value=ABSENT), left_pulse_absent(days=1), left_pallor(days)])
    assert (card["indicator"] == "critical") is critical


def test_ali_signs_not_shown_new_is_a_warning(evaluate):
    card = arterial(evaluate, [left_pulse_absent(days=1), left_pallor()])
    assert (card["indicator"], card["summary"]) == ("warning", ALI_POSSIBLE)
    assert "suggestions" not in card
    assert "If the pulse loss or the pallor is new" in card["detail"]


def test_ali_signs_pulse_present_earlier_on_the_other_leg_does_not_make_it_new(evaluate):
    resources = [observation(SCT, "163109009", days=30, value=ABSENT), left_pulse_absent(days=1), left_pallor()]
    assert arterial(evaluate, resources)["summary"] == ALI_POSSIBLE


@pytest.mark.parametrize("days,summary", [(14, ALI_CRITICAL.format("left leg")), (15, None)])
def test_ali_signs_pulse_onset_14_vs_15_days(evaluate, days, summary):
    card = arterial(evaluate, [condition(SCT, "163121008", onset_days=days), left_pallor()])
    if summary:
        assert card["summary"] == summary
    else:
        assert "acute limb ischaemia" not in card["summary"] and card["indicator"] == "warning"


@pytest.mark.parametrize("explanation", [condition(ICD, "G62.9", onset_days=900), pad_diagnosis(),
                                         condition(SCT, "247398009", onset_days=900)],
                         ids=["polyneuropathy", "chronic-pad", "neuropathic-pain"])
def test_ali_signs_newness_in_shown_new_stays_critical_with_a_chronic_diagnosis(evaluate, explanation):
    resources = [left_pulse_absent(days=30, value=ABSENT), left_pulse_absent(days=1), left_pallor(), explanation]
    card = arterial(evaluate, resources)
    assert (card["indicator"], card["summary"]) == ("critical", ALI_CRITICAL.format("left leg"))


@pytest.mark.parametrize("explanation", [condition(ICD, "G62.9", onset_days=900), pad_diagnosis()],
                         ids=["polyneuropathy", "chronic-pad"])
def test_ali_signs_newness_out_not_shown_new_with_a_chronic_diagnosis_is_a_warning(evaluate, explanation):
    card = arterial(evaluate, [left_pulse_absent(days=1), left_pallor(), explanation])
    assert (card["indicator"], card["summary"]) == ("warning", ALI_POSSIBLE)


def test_routine_diabetic_foot_check_raises_no_critical(evaluate):
    resources = [condition(ICD, "E11.621", onset_days=60), condition(SCT, "368581000119106", onset_days=2000),
                 left_pulse_absent(days=3), observation(SCT, "309087008", days=3, text="left foot paresthesia")]
    cards = evaluate(hook_request(resources))
    assert all(c["indicator"] != "critical" for c in cards)
    card = by_topic(cards)["arterial-claudication"]
    assert card["summary"] == ALI_POSSIBLE  # the ulcer with an absent pulse still gets its toe pressure
    assert only_suggestion(card)[0] == "Order an urgent toe pressure or toe-brachial index"


# ---------------------------------------------------------------- other red-flag windows
@pytest.mark.parametrize("days,critical", [(7, True), (8, False)])
def test_cauda_equina_window_is_7_days(evaluate, days, critical):
    cards = evaluate(hook_request([condition(ICD, "G83.4", onset_days=days)]))
    assert any(c["indicator"] == "critical" for c in cards) is critical


@pytest.mark.parametrize("code", ["T79.A22A", "T79.A29A"])
@pytest.mark.parametrize("days,critical", [(7, True), (8, False)])
def test_compartment_syndrome_window_is_7_days(evaluate, code, days, critical):
    cards = evaluate(hook_request([condition(ICD, code, onset_days=days)]))
    assert any(c["indicator"] == "critical" for c in cards) is critical


# M79.A2- codes acute and chronic exertional compartment syndrome alike (reference 2.6 note; issue 17, item 2)
CS_BOTH = "nontraumatic compartment syndrome: if acute, emergency assessment; if chronic exertional, elective referral"


@pytest.mark.parametrize("code,where", [("M79.A21", "Right leg"), ("M79.A22", "Left leg"), ("M79.A29", "Leg")])
def test_nontraumatic_compartment_syndrome_alone_is_a_warning_naming_both_readings(evaluate, code, where):
    cards = evaluate(hook_request([condition(ICD, code, onset_days=2)]))
    assert not any(c["indicator"] == "critical" for c in cards)
    card = by_topic(cards)["musculoskeletal-leg-pain"]
    assert (card["indicator"], card["summary"]) == ("warning", f"{where} {CS_BOTH}")
    assert "fasciotomy" in card["detail"] and "chronic exertional" in card["detail"]


@pytest.mark.parametrize("days,raised", [(7, True), (8, False)])
def test_nontraumatic_compartment_syndrome_keeps_the_7_day_window(evaluate, days, raised):
    card = by_topic(evaluate(hook_request([condition(ICD, "M79.A22", onset_days=days)]))).get("musculoskeletal-leg-pain")
    assert (card is not None and CS_BOTH in card["summary"]) is raised


def test_traumatic_compartment_syndrome_beside_a_nontraumatic_code_stays_critical(evaluate):
    cards = evaluate(hook_request([condition(ICD, "M79.A22", onset_days=2), condition(ICD, "T79.A22A", onset_days=2)]))
    assert by_topic(cards)["musculoskeletal-leg-pain"]["indicator"] == "critical"


@pytest.mark.parametrize("code", ["T79.A22D", "T79.A22S", "T79.A21D"])
def test_compartment_syndrome_only_7th_character_a_is_acute(evaluate, code):
    assert evaluate(hook_request([condition(ICD, code, onset_days=2)])) == []


# ---------------------------------------------------------------- absent-pedal-pulse: abnormal is not absent
def test_absent_pedal_pulse_out_abnormal_pulse_is_not_absent(evaluate):
    resources = [observation(SCT, "407640009", days=30, value=ABSENT), observation(SCT, "407640009", days=1),
                 observation(SCT, "398979000", days=1, text="right leg pallor")]  # right dorsalis pedis pulse abnormal
    card = arterial(evaluate, resources)
    assert card is None or card["indicator"] != "critical"


def test_absent_pedal_pulse_in_absent_pulse_recorded_present_before(evaluate):
    resources = [left_pulse_absent(days=30, value=ABSENT), left_pulse_absent(days=1), left_pallor()]
    assert arterial(evaluate, resources)["indicator"] == "critical"


# ---------------------------------------------------------------- non-leg-site: arm and hand findings are not leg signs
FOREARM = [{"coding": [{"system": SCT, "code": "14975008", "display": "Forearm structure"}]}]
HAND = [{"coding": [{"system": SCT, "code": "85562004", "display": "Hand structure"}]}]


def test_non_leg_site_out_forearm_compartment_syndrome_and_hand_gangrene(evaluate):
    assert evaluate(hook_request([condition(SCT, "111245009", onset_days=2, body_site=FOREARM)])) == []
    card = arterial(evaluate, [condition(ICD, "I96", onset_days=20, body_site=HAND), pad_diagnosis()])
    assert card is None or card["indicator"] != "critical"
    card = arterial(evaluate, [left_ulcer(), condition(SCT, "233961000", onset_days=300, body_site=HAND)])
    assert card is None or card["indicator"] != "critical"


def test_non_leg_site_in_leg_site_wins_and_leg_findings_stay(evaluate):
    both = FOREARM + LEFT_LEG  # a leg site next to an arm site: still a leg finding
    assert arterial(evaluate, [condition(ICD, "I96", onset_days=20, body_site=both), pad_diagnosis()])["indicator"] == "critical"
    assert arterial(evaluate, [condition(ICD, "I96", onset_days=20, body_site=LEFT_LEG), pad_diagnosis()])["indicator"] == "critical"
    cards = by_topic(evaluate(hook_request([condition(ICD, "T79.A22A", onset_days=2)])))
    assert cards["musculoskeletal-leg-pain"]["indicator"] == "critical"



@pytest.mark.parametrize("body_site,text,critical", [(None, None, False), (LEFT_LEG, None, True), (None, "left calf", True)],
                         ids=["unsided-no-site", "leg-site", "side-in-text"])
def test_red_flag_needs_leg_generic_compartment_syndrome(evaluate, body_site, text, critical):
    cards = evaluate(hook_request([condition(SCT, "111245009", onset_days=2, body_site=body_site, text=text)]))
    assert any(c["indicator"] == "critical" for c in cards) is critical


# ---------------------------------------------------------------- phlegmasia: a limb-threatening emergency for 14 days
@pytest.mark.parametrize("days,critical", [(14, True), (15, False)])
def test_phlegmasia_window_is_14_days(evaluate, days, critical):
    cards = evaluate(hook_request([condition(SCT, "66877004", onset_days=days)]))
    assert any(c["indicator"] == "critical" for c in cards) is critical


def test_phlegmasia_card_advises_heparin_elevation_and_thrombus_removal_not_only_nice(evaluate):
    card = by_topic(evaluate(hook_request([condition(SCT, "66877004", onset_days=2)])))["venous-claudication"]
    assert "heparin unless contraindicated" in card["detail"] and "elevating the leg" in card["detail"]
    assert "thrombus removal" in card["detail"]
    label, resource = only_suggestion(card)
    assert resource["priority"] == "stat" and "thrombus removal" in label
    assert {link["url"] for link in card["links"]} >= {"https://doi.org/10.1016/j.ejvs.2020.09.023"}


# ---------------------------------------------------------------- cauda equina and compartment syndrome: emergencies
def test_cauda_equina_card_is_an_emergency_with_immediate_referral_and_no_leg_claim(evaluate):
    card = by_topic(evaluate(hook_request([condition(ICD, "G83.4", onset_days=2)])))["neurogenic-claudication"]
    assert "emergency" in card["summary"] and "leg symptoms" not in card["summary"]
    assert "emergency MRI" in card["detail"]
    label, resource = only_suggestion(card)
    assert resource["priority"] == "stat" and "spinal" in label


def test_compartment_syndrome_card_cites_an_acute_compartment_source_not_table_7(evaluate):
    card = by_topic(evaluate(hook_request([condition(ICD, "T79.A22A", onset_days=2)])))["musculoskeletal-leg-pain"]
    assert "fasciotomy" in card["summary"] and "BOAST" in card["detail"]
    assert "Table 7" not in card["detail"]


# ---------------------------------------------------------------- ulcers that fall through: perfusion unknown, new in PAD
ULCER_UNKNOWN = "Left leg: ulcer, perfusion unknown: check pulses and ABI or toe pressure"
ULCER_NEW_PAD = "Left leg: new ulcer with known arterial disease: check perfusion; CLTI if not healed in 2 weeks"


@pytest.mark.parametrize("days", [5, 40])
def test_perfusion_data_in_ulcer_with_no_pulse_abi_or_pad_asks_for_abi(evaluate, days):
    card = arterial(evaluate, [left_ulcer(days)])
    assert (card["indicator"], card["summary"]) == ("warning", ULCER_UNKNOWN)
    assert only_suggestion(card)[0] == "Order a resting ankle-brachial index"


def test_perfusion_data_out_any_pulse_abi_or_pad_on_that_leg(evaluate):
    for other in ([abi(1.10, "left")], [left_pulse_absent(days=3, value=ABSENT)], [pad_diagnosis()]):
        card = arterial(evaluate, [left_ulcer(20), *other])
        assert card is None or card["summary"] != ULCER_UNKNOWN
    card = arterial(evaluate, [left_ulcer(20), abi(1.10, "right")])  # the other leg's ABI says nothing of this leg
    assert card["summary"] == ULCER_UNKNOWN


@pytest.mark.parametrize("days,summary", [(5, ULCER_NEW_PAD), (13, ULCER_NEW_PAD), (14, CLTI_CRITICAL)])
def test_ulcer_new_in_pad_is_named_until_it_is_chronic(evaluate, days, summary):
    card = arterial(evaluate, [left_ulcer(days), pad_diagnosis()])
    assert card["summary"] == summary
    assert card["indicator"] == ("critical" if summary == CLTI_CRITICAL else "warning")


def test_a_diminished_pulse_never_feeds_the_ali_or_clti_rules(evaluate):
    right_pallor = observation(SCT, "398979000", days=1, text="right leg pallor")
    diminished = observation(SCT, "407640009", days=1)  # right dorsalis pedis pulse abnormal: not absent
    card = arterial(evaluate, [diminished, right_pallor, condition(ICD, "L97.519", onset_days=20)])  # right foot ulcer
    assert card is None or (card["indicator"] != "critical" and "acute limb ischaemia" not in card["summary"]
                            and "CLTI" not in card["summary"])
    absent = observation(SCT, "163109009", days=1)  # right dorsalis pedis absent
    assert "acute limb ischaemia" in arterial(evaluate, [absent, right_pallor])["summary"]


# ---------------------------------------------------------------- an ulcer code that names its arterial cause (issue 17, item 1)
# I70.24- / I70.74- / SNOMED "ischemic ulcer ... due to atherosclerotic disease" state arterial tissue
# loss themselves: never plain claudication, whatever their age; the new-ulcer card under 14 days.
@pytest.mark.parametrize("code", ["I70.245", "I70.249", "I70.745"])  # native left leg; bypass graft of the left leg
@pytest.mark.parametrize("days,summary", [(1, ULCER_NEW_PAD), (13, ULCER_NEW_PAD), (14, CLTI_CRITICAL), (30, CLTI_CRITICAL),
                                          (31, CLTI_KNOWN)])
def test_atherosclerotic_ulcer_code_alone_reaches_the_tissue_loss_path(evaluate, code, days, summary):
    card = arterial(evaluate, [condition(ICD, code, onset_days=days)])
    assert card["summary"] == summary
    assert card["indicator"] == ("critical" if summary == CLTI_CRITICAL else "warning")


@pytest.mark.parametrize("system,code", [(ICD, "I70.235"), (SCT, "10655671000119105")])  # right leg; right foot
def test_recent_ischaemic_ulcer_code_names_its_own_leg(evaluate, system, code):
    card = arterial(evaluate, [condition(system, code, onset_days=10)])
    assert card["summary"] == ULCER_NEW_PAD.replace("Left", "Right")
    assert "Right leg signs consistent with arterial claudication" not in card["summary"]


def test_recent_ischaemic_ulcer_with_left_calf_pain_still_names_the_ulcer(evaluate):
    calf_pain = observation(SCT, "300954003", days=2, body_site=LEFT_LEG[0])
    card = arterial(evaluate, [condition(ICD, "I70.245", onset_days=10), calf_pain])
    assert card["summary"] == ULCER_NEW_PAD


# ---------------------------------------------------------------- codes that do not state the leg (issue 17, item 2)
LIMB_NOT_STATED = "Limb ischaemia code, limb not stated: if it is a leg, assess for acute or chronic limb-threatening ischaemia"


def test_limb_not_stated_ali_code_alone_is_a_warning_not_a_leg_emergency(evaluate):
    card = arterial(evaluate, [condition(ICD, "I74.4", onset_days=5)])
    assert (card["indicator"], card["summary"]) == ("warning", LIMB_NOT_STATED)
    assert "(leg)" not in card["summary"]


def test_limb_not_stated_ali_code_with_a_leg_site_or_a_same_side_leg_sign_is_critical(evaluate):
    sited = arterial(evaluate, [condition(ICD, "I74.4", onset_days=5, body_site=LEFT_LEG)])
    assert (sited["indicator"], sited["summary"]) == ("critical", ALI_CRITICAL.format("left leg"))
    same_side = arterial(evaluate, [condition(ICD, "I74.4", onset_days=5, text="left"), left_pallor()])
    assert same_side["indicator"] == "critical"
    other_side = arterial(evaluate, [condition(ICD, "I74.4", onset_days=5, text="right"), left_pallor()])
    assert other_side["summary"] == LIMB_NOT_STATED


def test_leg_specific_ali_code_stays_critical(evaluate):  # I74.3 names the lower extremities
    assert arterial(evaluate, [condition(ICD, "I74.3", onset_days=5)])["indicator"] == "critical"


@pytest.mark.parametrize("days", [5, 20])
def test_ischemic_ulcer_without_a_leg_site_is_never_critical(evaluate, days):
    card = arterial(evaluate, [condition(SCT, "13954005", onset_days=days)])
    assert (card["indicator"], card["summary"]) == ("warning", LIMB_NOT_STATED)


def test_ischemic_ulcer_on_a_leg_site_keeps_the_clti_path(evaluate):
    assert arterial(evaluate, [condition(SCT, "13954005", onset_days=20, body_site=LEFT_LEG)])["summary"] == CLTI_CRITICAL
    assert arterial(evaluate, [condition(SCT, "13954005", onset_days=5, body_site=LEFT_LEG)])["summary"] == ULCER_NEW_PAD


@pytest.mark.parametrize("code", ["21631000119105", "442439008", "442735001"])
def test_limb_ischemia_code_is_no_proof_of_leg_pad(evaluate, code):
    foot_ulcer = condition(SCT, "95345008", onset_days=20)
    card = arterial(evaluate, [condition(SCT, code, onset_days=400), foot_ulcer])
    assert card["indicator"] == "warning"
    assert card["summary"] != CLTI_CRITICAL.replace("Left leg", "Leg")
    sited = arterial(evaluate, [condition(SCT, code, onset_days=400, body_site=RIGHT_LEG), foot_ulcer])
    assert sited["indicator"] == "critical"


def test_gangrene_of_limb_without_a_leg_site_is_a_warning(evaluate):
    card = arterial(evaluate, [condition(SCT, "792843009", onset_days=20)])
    assert (card["indicator"], card["summary"]) == ("warning", LIMB_NOT_STATED)


def test_unsided_limb_code_with_a_sided_leg_sign_is_critical(evaluate):
    """Re-review of issue 17: I74.4 names no limb and no side; pallor and a lost pulse on the left leg
    show it is a leg: possible ALI, emergent evaluation (G1/G2). It was a 'limb not stated' warning (each < 1 s)."""
    card = arterial(evaluate, [condition(ICD, "I74.4", onset_days=5), left_pallor(), left_pulse_absent()])
    assert (card["indicator"], card["summary"]) == ("critical", ALI_CRITICAL.format("left leg"))
    unsided_ulcer = arterial(evaluate, [condition(SCT, "13954005", onset_days=20), left_pallor()])
    assert unsided_ulcer["summary"] != LIMB_NOT_STATED


def test_unsided_limb_code_with_an_unsided_sign_stays_a_warning(evaluate):
    """Pallor with no leg site may be the arm: the limb is still not stated."""
    pallor = observation(SCT, "398979000", days=1)
    card = arterial(evaluate, [condition(ICD, "I74.4", onset_days=5), pallor])
    assert (card["indicator"], card["summary"]) == ("warning", LIMB_NOT_STATED)


def test_unsided_limb_code_with_signs_on_both_legs_names_no_one_leg(evaluate):
    right_pallor = observation(SCT, "398979000", days=1, body_site={"coding": [{"system": SCT, "code": "62175007"}]})
    card = arterial(evaluate, [condition(ICD, "I74.4", onset_days=5), left_pallor(), right_pallor])
    assert (card["indicator"], card["summary"]) == ("critical", ALI_CRITICAL.format("leg"))


def test_unsided_ali_code_is_not_placed_on_a_leg_by_an_old_leg_sign(evaluate):
    """An embolism code naming no limb beside leg pallor from a month ago (chronic PAD) may be the arm:
    only leg signs within the ALI signs window (14 days) place it on a leg (each < 1 s)."""
    old = arterial(evaluate, [condition(ICD, "I74.4", onset_days=5), left_pallor(days=30)])
    assert (old["indicator"], old["summary"]) == ("warning", LIMB_NOT_STATED)
    edge = arterial(evaluate, [condition(ICD, "I74.4", onset_days=5), left_pallor(days=14)])
    assert (edge["indicator"], edge["summary"]) == ("critical", ALI_CRITICAL.format("left leg"))
