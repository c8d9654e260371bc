"""Issue 3 acceptance: each pattern firing and not firing, as in/out/boundary pairs."""
from __future__ import annotations

import pytest

from builders import ICD, LNC, SCT, abi, condition, hook_request, observation, procedure, service_request
from helpers import by_topic

LEFT_CALF = [{"coding": [{"system": SCT, "code": "53840002:272741003=7771000"}]}]
ABSENT = {"valueCodeableConcept": {"coding": [{"system": SCT, "code": "2667000", "display": "Absent"}]}}


def claudication_left():
    return condition(SCT, "63491006", body_site=LEFT_CALF)


# ---------------------------------------------------------------- arterial
def test_arterial_in_unilateral_claudication_with_low_abi(evaluate):
    cards = by_topic(evaluate(hook_request([claudication_left(), abi(0.72, "left")])))
    card = cards["arterial-claudication"]
    assert card["summary"] == "Left leg claudication with ABI 0.72: check pedal pulses"
    assert card["indicator"] == "warning"
    assert "abnormal (<=0.90)" in card["detail"]
    assert "suggestions" not in card  # a recent ABI is shown, not ordered again
    assert "not suggested" not in card["detail"]


def test_arterial_out_calf_pain_alone_raises_no_card(evaluate):
    assert evaluate(hook_request([condition(SCT, "300954003", body_site=LEFT_CALF)])) == []


def test_arterial_in_claudication_without_abi_suggests_abi(evaluate):
    card = by_topic(evaluate(hook_request([claudication_left()])))["arterial-claudication"]
    assert "check pedal pulses and ABI" in card["summary"]
    (suggestion,) = card["suggestions"]
    resource = suggestion["actions"][0]["resource"]
    assert resource["resourceType"] == "ServiceRequest"
    assert resource["code"]["coding"][0] == {"system": LNC, "code": "77194-9", "display": "Ankle-brachial index"}
    assert resource["subject"] == {"reference": "Patient/pat-1"}
    assert card["selectionBehavior"] == "at-most-one"


def test_arterial_open_abi_order_is_not_suggested_twice(evaluate):
    card = by_topic(evaluate(hook_request([claudication_left(), service_request(LNC, "77194-9")])))["arterial-claudication"]
    assert "suggestions" not in card
    assert "not suggested" not in card["detail"]  # no "Order X: not suggested" lines


@pytest.mark.parametrize("value,band", [(0.90, "abnormal"), (0.91, "borderline")])
def test_abi_boundary_090_091(evaluate, value, band):
    card = by_topic(evaluate(hook_request([claudication_left(), abi(value, "left")])))["arterial-claudication"]
    assert f"{value:.2f}" in card["summary"]
    assert band in card["detail"]
    if band == "abnormal":
        assert card["indicator"] == "warning" and "check pedal pulses" in card["summary"]
    else:
        assert "exercise ABI" in card["summary"]
        assert card["suggestions"][0]["label"] == "Order an exercise treadmill ABI"


def test_abi_boundary_140_is_normal(evaluate):
    card = by_topic(evaluate(hook_request([claudication_left(), abi(1.40, "left")])))["arterial-claudication"]
    assert "normal (1.00-1.40)" in card["detail"]
    assert "exercise ABI" in card["summary"]


def test_abi_boundary_141_is_noncompressible_never_normal(evaluate):
    card = by_topic(evaluate(hook_request([claudication_left(), abi(1.41, "left")])))["arterial-claudication"]
    assert "non-diagnostic" in card["summary"] and "toe-brachial" in card["summary"]
    assert "normal (1.00-1.40)" not in card["detail"]
    assert card["suggestions"][0]["label"].startswith("Order a toe-brachial index")


def test_abi_normal_alone_raises_no_card(evaluate):
    assert evaluate(hook_request([abi(1.10, "left"), abi(1.12, "right")])) == []


def test_abi_noncompressible_alone_raises_tbi_card(evaluate):
    card = by_topic(evaluate(hook_request([abi(1.52, "right")])))["arterial-claudication"]
    assert card["summary"].startswith("Right leg: ABI 1.52 is non-diagnostic")


def test_absent_pedal_pulse_in_and_pulse_recorded_present_out(evaluate):
    absent = observation(SCT, "163121008", days=3)  # left dorsalis pedis absent, no value: present finding
    cards = by_topic(evaluate(hook_request([absent])))
    assert "arterial-claudication" in cards and cards["arterial-claudication"]["summary"].startswith("Left leg")
    negated = observation(SCT, "163121008", days=3, value=ABSENT)  # "absent pulse" recorded absent
    assert evaluate(hook_request([negated])) == []


# ---------------------------------------------------------------- venous
def test_venous_in_swelling_with_dvt(evaluate):
    resources = [condition(ICD, "I82.402", onset_days=5), observation(SCT, "102572006", days=2, text="left leg swelling")]
    card = by_topic(evaluate(hook_request(resources)))["venous-claudication"]
    assert card["summary"].startswith("DVT on record (") and "left leg): confirm anticoagulation" in card["summary"]
    assert "suggestions" not in card  # a confirmed DVT: no Wells, no D-dimer, no diagnostic duplex


def test_venous_out_swelling_alone(evaluate):
    assert evaluate(hook_request([observation(SCT, "102572006", days=2)])) == []


def test_venous_out_varicose_veins_alone_below_threshold(evaluate):
    assert "venous-claudication" not in by_topic(evaluate(hook_request([condition(ICD, "I83.91")])))


def test_venous_in_varicose_veins_with_swelling(evaluate):
    cards = by_topic(evaluate(hook_request([condition(ICD, "I83.811"), condition(ICD, "R22.41", onset_days=10)])))
    assert cards["venous-claudication"]["summary"].startswith("Right leg")


def test_venous_red_flag_phlegmasia_is_critical(evaluate):
    card = by_topic(evaluate(hook_request([condition(SCT, "66877004", onset_days=1)])))["venous-claudication"]
    assert card["indicator"] == "critical"


# ---------------------------------------------------------------- neurogenic
def test_neurogenic_in_bilateral_with_stenosis(evaluate):
    resources = [condition(SCT, "18347007", onset_days=400),
                 condition(ICD, "M79.604", onset_days=20), condition(ICD, "M79.605", onset_days=20)]
    card = by_topic(evaluate(hook_request(resources)))["neurogenic-claudication"]
    assert card["summary"] == "Bilateral leg symptoms consistent with neurogenic (spinal) claudication"
    assert "both legs" in card["detail"]
    assert "arterial-claudication" not in by_topic(evaluate(hook_request(resources)))


def test_neurogenic_in_diabetic_neuropathy_suggests_foot_exam(evaluate):
    card = by_topic(evaluate(hook_request([condition(SCT, "368581000119106", onset_days=3000)])))["neurogenic-claudication"]
    assert "foot exam" in card["summary"]
    assert card["suggestions"][0]["actions"][0]["resource"]["code"]["coding"][0]["code"] == "401191002"


def test_neurogenic_out_recent_foot_exam_makes_neuropathy_card_redundant(evaluate):
    resources = [condition(SCT, "368581000119106", onset_days=3000), procedure(SCT, "401191002", days=60)]
    assert evaluate(hook_request(resources)) == []


def test_neurogenic_in_foot_exam_older_than_a_year(evaluate):
    resources = [condition(SCT, "368581000119106", onset_days=3000), procedure(SCT, "401191002", days=400)]
    assert "neurogenic-claudication" in by_topic(evaluate(hook_request(resources)))


def test_neurogenic_red_flag_cauda_equina_is_critical(evaluate):
    card = by_topic(evaluate(hook_request([condition(ICD, "G83.4", onset_days=2)])))["neurogenic-claudication"]
    assert card["indicator"] == "critical"


# ---------------------------------------------------------------- musculoskeletal
def test_musculoskeletal_in_recent_strain(evaluate):
    card = by_topic(evaluate(hook_request([condition(ICD, "S86.112A", onset_days=7)])))["musculoskeletal-leg-pain"]
    assert card["summary"] == "Left leg pain consistent with a muscle or tendon strain"
    assert card["indicator"] == "info"


def test_musculoskeletal_out_strain_long_ago(evaluate):
    assert evaluate(hook_request([condition(ICD, "S86.112A", onset_days=400)])) == []


def test_musculoskeletal_out_cramp_alone(evaluate):
    assert evaluate(hook_request([condition(ICD, "R25.2", onset_days=3)])) == []


# ---------------------------------------------------------------- exclusions
@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_excluded_condition_verification(evaluate, verification):
    assert evaluate(hook_request([condition(ICD, "I82.402", onset_days=5, verification=verification)])) == []


def test_entered_in_error_without_clinical_status_is_excluded(evaluate):
    assert evaluate(hook_request([condition(ICD, "I82.402", onset_days=5, clinical=None, verification="entered-in-error")])) == []


def test_resolved_long_ago_is_history_not_current(evaluate):
    resolved = condition(SCT, "63491006", clinical="resolved", onset_days=3000, abated_days=2500)
    assert evaluate(hook_request([resolved])) == []


def test_abated_condition_with_wrong_active_status_is_history(evaluate):
    abated = condition(ICD, "S86.112A", clinical="active", onset_days=20, abated_days=10)
    assert evaluate(hook_request([abated])) == []


def test_resolved_dvt_counts_as_previous_dvt_in_the_venous_card(evaluate):
    resources = [condition(ICD, "I82.402", clinical="resolved", onset_days=900, abated_days=800),
                 condition(SCT, "95443002", onset_days=20)]
    card = by_topic(evaluate(hook_request(resources)))["venous-claudication"]
    assert "(history)" in card["detail"]


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled", "registered"])
def test_excluded_observation_status(evaluate, status):
    (card,) = evaluate(hook_request([claudication_left(), abi(0.6, "left", status=status)]))
    assert card["summary"] == "Left leg signs consistent with arterial claudication: check pedal pulses and ABI"
    assert "0.60" not in card["detail"]


def test_observation_with_data_absent_reason_is_not_evidence(evaluate):
    obs = abi(0.6, "left")
    obs.pop("valueQuantity")
    obs["dataAbsentReason"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "not-performed"}]}
    card = by_topic(evaluate(hook_request([claudication_left(), obs])))["arterial-claudication"]
    assert "ABI 0.60" not in card["summary"]


def test_negated_swelling_argues_against_venous(evaluate):
    resources = [condition(ICD, "I83.811"), condition(ICD, "R22.41", onset_days=10)]
    assert "venous-claudication" in by_topic(evaluate(hook_request(resources)))
    resources.append(observation(SCT, "102572006", days=1, value={"valueBoolean": False}))
    resources.append(observation(SCT, "449707004", days=1, interpretation="NEG"))
    assert "venous-claudication" not in by_topic(evaluate(hook_request(resources)))


def test_old_abnormal_abi_stays_evidence_and_is_ordered_again(evaluate):
    card = by_topic(evaluate(hook_request([claudication_left(), abi(0.7, "left", days=500)])))["arterial-claudication"]
    assert card["summary"] == "Left leg claudication with ABI 0.70: check pedal pulses"
    assert card["suggestions"][0]["label"] == "Order a resting ankle-brachial index"


def test_stale_symptom_observation_ages_out(evaluate):
    assert evaluate(hook_request([observation(SCT, "63491006", days=800)])) == []


# ---------------------------------------------------------------- code systems
def test_icd10cm_only_patient(evaluate):
    cards = by_topic(evaluate(hook_request([condition(ICD, "I70.212"), condition(ICD, "M48.062")])))
    assert cards["arterial-claudication"]["summary"].startswith("Left leg")
    assert "neurogenic-claudication" in cards


def test_snomed_only_patient(evaluate):
    cards = by_topic(evaluate(hook_request([condition(SCT, "12237071000119100"), condition(SCT, "303081002")])))
    assert cards["arterial-claudication"]["summary"].startswith("Left leg")
    assert "neurogenic-claudication" in cards


def test_nothing_relevant_gives_no_cards(client):
    from builders import hook_request as hr
    body = hr([condition(SCT, "444814009"), observation(LNC, "8302-2", value={"valueQuantity": {"value": 170}})])
    response = client.post("/cds-services/leg-pain-claudication", json=body)
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


# ---------------------------------------------------------------- red flags, certainty
def test_gangrene_without_arterial_evidence_is_not_a_clti_card(evaluate):
    assert evaluate(hook_request([condition(SCT, "372070002", onset_days=10)])) == []
    cards = by_topic(evaluate(hook_request([condition(SCT, "372070002", onset_days=10), condition(ICD, "I73.9")])))
    assert cards["arterial-claudication"]["indicator"] == "critical"


def test_unconfirmed_condition_is_labelled(evaluate):
    card = by_topic(evaluate(hook_request([condition(ICD, "I82.402", onset_days=5, verification="provisional")])))
    assert "unconfirmed" in card["venous-claudication"]["detail"]


def test_cards_order_critical_first(evaluate):
    cards = evaluate(hook_request([condition(ICD, "S86.112A", onset_days=7), condition(ICD, "G83.4", onset_days=2)]))
    assert [c["indicator"] for c in cards] == ["critical", "info"]


def test_summary_names_the_symptomatic_leg_not_the_low_abi_of_the_other(evaluate):
    right_calf = [{"coding": [{"system": SCT, "code": "53840002:272741003=24028007"}]}]
    card = by_topic(evaluate(hook_request([condition(SCT, "63491006", body_site=right_calf), abi(0.70, "left"),
                                           abi(1.05, "right")])))["arterial-claudication"]
    assert card["summary"] == "Right leg exertional leg pain with ABI 1.05: consider an exercise ABI"


# ---------------------------------------------------------------- issue 14: neurogenic and musculoskeletal
def test_stenosis_without_neurogenic_claudication_alone_raises_no_card(evaluate):
    from cases import RULE_CASES
    assert evaluate(hook_request(RULE_CASES["stenosis-without-claudication-alone"]())) == []


def test_stenosis_at_an_unstated_level_alone_raises_no_card(evaluate):
    resources = [condition(SCT, "76107001", onset_days=400), condition(ICD, "M79.604", onset_days=20),
                 condition(ICD, "M79.605", onset_days=20)]
    assert "neurogenic-claudication" not in by_topic(evaluate(hook_request(resources)))


def test_disc_degeneration_with_leg_pain_alone_raises_no_card(evaluate):
    from cases import RULE_CASES
    assert evaluate(hook_request(RULE_CASES["disc-degeneration-with-leg-pain"]())) == []


def test_disc_degeneration_supports_a_card_raised_by_a_discriminating_sign(evaluate):
    resources = [condition(ICD, "M51.369", onset_days=400), condition(ICD, "M54.16", onset_days=60)]
    card = by_topic(evaluate(hook_request(resources)))["neurogenic-claudication"]
    assert "Other intervertebral disc degeneration" in card["detail"]


def test_achilles_rupture_is_its_own_warning_not_a_strain(evaluate):
    from cases import RULE_CASES
    card = by_topic(evaluate(hook_request(RULE_CASES["achilles-rupture"]())))["musculoskeletal-leg-pain"]
    assert card["indicator"] == "warning"
    assert card["summary"] == "Rupture of Achilles tendon (left leg): consider prompt orthopaedic review"
    assert "strain" not in card["summary"]


def test_achilles_tendinitis_is_still_the_strain_card(evaluate):
    card = by_topic(evaluate(hook_request([condition(ICD, "M76.62", onset_days=30)])))["musculoskeletal-leg-pain"]
    assert card["summary"] == "Left leg pain consistent with a muscle or tendon strain"


# ---------------------------------------------------------------- issue 14: wording
def test_derived_signs_are_shown_as_derived_not_as_a_condition(evaluate):
    card = by_topic(evaluate(hook_request([claudication_left()])))["arterial-claudication"]
    line = next(line for line in card["detail"].splitlines() if "left leg only" in line)
    assert line.endswith("(derived from the findings above)")
    assert card["detail"].count("Intermittent claudication") == 1


def test_a_side_is_never_repeated_after_a_display_that_names_it(evaluate):
    card = by_topic(evaluate(hook_request([condition(ICD, "I82.402", onset_days=5)])))["venous-claudication"]
    assert "left lower extremity (Condition)" in card["detail"]
    assert "left lower extremity, left leg" not in card["detail"]


def test_a_critical_card_takes_the_side_of_its_red_flag(evaluate):
    resources = [condition(ICD, "T79.A22A", onset_days=2), condition(ICD, "S86.111A", onset_days=3)]  # left CS, right strain
    card = by_topic(evaluate(hook_request(resources)))["musculoskeletal-leg-pain"]
    assert card["indicator"] == "critical" and card["summary"].startswith("Left leg compartment syndrome")


def test_disease_in_both_legs_says_both_legs(evaluate):
    resources = [claudication_left(), condition(ICD, "I70.211", onset_days=60)]
    card = by_topic(evaluate(hook_request(resources)))["arterial-claudication"]
    assert card["summary"].startswith("Bilateral")



# ---------------------------------------------------------------- mimics and alternatives (2024 Table 7)
def _section(card: dict, heading: str) -> str:
    detail = card["detail"]
    if heading not in detail:
        return ""
    return detail.split(heading, 1)[1].split("\n\n**", 1)[0]


@pytest.mark.parametrize("mimic,display", [("M17.12", "osteoarthritis, left knee"), ("M16.12", "osteoarthritis, left hip")])
def test_knee_and_hip_arthritis_are_alternatives_on_the_arterial_card_and_never_silence_it(evaluate, mimic, display):
    alone = by_topic(evaluate(hook_request([claudication_left(), abi(0.72, "left")])))["arterial-claudication"]
    card = by_topic(evaluate(hook_request([claudication_left(), abi(0.72, "left"), condition(ICD, mimic)])))
    arterial = card["arterial-claudication"]
    assert arterial["indicator"] == alone["indicator"] and arterial["summary"] == alone["summary"]
    assert display in _section(arterial, "**Alternative explanations on record**")
    assert display not in _section(arterial, "**Findings that argue against it**")


def test_arthritis_alone_raises_no_card(evaluate):
    assert evaluate(hook_request([condition(ICD, "M17.11"), condition(ICD, "M16.0")])) == []


def test_hip_arthritis_is_an_alternative_on_the_neurogenic_card(evaluate):
    card = by_topic(evaluate(hook_request([condition(ICD, "M48.062"), condition(ICD, "M16.11")])))
    assert "osteoarthritis, right hip" in _section(card["neurogenic-claudication"], "**Alternative explanations on record**")


@pytest.mark.parametrize("mimic,display", [("M71.21", "Baker"), ("I80.02", "left"), ("I82.812", "superficial veins of left lower")])
def test_bakers_cyst_and_superficial_thrombophlebitis_are_alternatives_on_the_venous_card(evaluate, mimic, display):
    cards = by_topic(evaluate(hook_request([condition(ICD, "I82.402"), condition(ICD, mimic)])))
    alternatives = _section(cards["venous-claudication"], "**Alternative explanations on record**")
    assert display in alternatives and "(Condition)" in alternatives


def test_bakers_cyst_supports_the_musculoskeletal_card(evaluate):
    card = by_topic(evaluate(hook_request([condition(ICD, "S86.112A"), condition(ICD, "M71.22")])))["musculoskeletal-leg-pain"]
    assert "Baker" in _section(card, "**Findings that support it**")


@pytest.mark.parametrize("code,where", [("S76.311A", "posterior muscle group at thigh level, right thigh"),
                                        ("S76.312D", "left thigh"),
                                        ("S86.112A", "posterior muscle group at lower leg level, left leg"),
                                        ("S86.111D", "right leg")])
def test_hamstring_and_gastrocnemius_tears_raise_the_musculoskeletal_card(evaluate, code, where):
    card = by_topic(evaluate(hook_request([condition(ICD, code, onset_days=10)])))["musculoskeletal-leg-pain"]
    assert where in _section(card, "**Findings that support it**")


def test_a_tear_at_sequela_or_a_laceration_raises_nothing(evaluate):
    assert evaluate(hook_request([condition(ICD, "S76.311S", onset_days=10), condition(ICD, "S86.122A", onset_days=10)])) == []


def test_aorto_iliac_disease_supports_buttock_claudication_but_alone_raises_nothing(evaluate):
    buttock = [{"coding": [{"system": SCT, "code": "46862004"}]}]
    assert evaluate(hook_request([condition(ICD, "I70.0")])) == []
    assert evaluate(hook_request([condition(ICD, "I70.0"), condition(SCT, "279043006")])) == []  # buttock pain: 0 weight
    card = by_topic(evaluate(hook_request([condition(ICD, "I70.0"), condition(SCT, "63491006", body_site=buttock)])))
    assert "Atherosclerosis of aorta" in _section(card["arterial-claudication"], "**Findings that support it**")


# ---------------------------------------------------------------- pulses at each site, both sides
SITES = {"femoral": ("7657000", {"right": "69833005", "left": "113270003"}),
         "popliteal": ("43899006", {}),
         "dorsalis pedis": ("86547008", {}),
         "posterior tibial": ("13363002", {"right": "214811007", "left": "214912001"})}
SIDE_QUALIFIER = {"left": "7771000", "right": "24028007"}


PULSE_CASES = [(site, side, form) for site, (_, specific) in sorted(SITES.items()) for side in ("left", "right")
               for form in ("post-coordinated", *(["side-specific"] if side in specific else []))]  # no verified
# side-specific structure code for the popliteal and dorsalis pedis arteries: post-coordinated only


@pytest.mark.parametrize("site,side,form", PULSE_CASES)
def test_an_absent_pulse_at_each_site_and_side_supports_the_arterial_card(evaluate, site, side, form):
    generic, specific = SITES[site]
    code = specific[side] if form == "side-specific" else f"{generic}:272741003={SIDE_QUALIFIER[side]}"
    pulse = condition(SCT, "414617007", onset_days=5, body_site=[{"coding": [{"system": SCT, "code": code}]}])
    card = by_topic(evaluate(hook_request([pulse])))["arterial-claudication"]
    supporting = card["detail"].split("**Findings that support it**", 1)[1].split("**", 1)[0]
    assert "Loss of distal pulse" in supporting and f"{side} leg" in supporting and site in supporting


def test_a_diminished_pulse_is_its_own_sign_and_supports_the_arterial_card(evaluate):
    card = by_topic(evaluate(hook_request([claudication_left(), observation(SCT, "407640009", days=3)])))
    assert "right dorsalis pedis pulse abnormal" in card["arterial-claudication"]["detail"]
    (alone,) = evaluate(hook_request([observation(SCT, "407640009", days=3)]))  # one-sided: weight 2 + one leg only
    assert alone["indicator"] != "critical" and "check pedal pulses and ABI" in alone["summary"]
