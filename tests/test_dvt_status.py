"""Issue 14, venous: confirmed versus suspected DVT, per leg (cds_service/dvt_status.py)."""
from __future__ import annotations

import pytest

from builders import ICD, SCT, condition, hook_request
from cases import RULE_CASES
from helpers import by_topic

SUSPECTED = "same-day assessment: Wells, D-dimer or duplex"
CONFIRMED = "confirm anticoagulation is in place; watch for signs of PE"


def venous(evaluate, resources):
    return by_topic(evaluate(hook_request(resources))).get("venous-claudication")


def test_confirmed_dvt_asks_for_anticoagulation_not_wells(evaluate):
    card = venous(evaluate, RULE_CASES["dvt-confirmed"]())
    assert card["summary"].endswith(CONFIRMED) and "left leg" in card["summary"]
    assert "suggestions" not in card
    assert "Consider a Wells" not in card["detail"] and "same-day assessment" not in card["detail"]


def test_dvt_without_verification_status_is_confirmed(evaluate):
    card = venous(evaluate, [condition(ICD, "I82.402", onset_days=5, verification=None)])
    assert card["summary"].endswith(CONFIRMED)


def test_provisional_dvt_is_suspected(evaluate):
    card = venous(evaluate, RULE_CASES["dvt-provisional"]())
    assert card["summary"] == f"Suspected DVT (left leg): {SUSPECTED}"
    assert card["indicator"] == "warning"
    assert [s["label"] for s in card["suggestions"]] == ["Order a venous duplex ultrasound of the legs"]


def test_differential_dvt_alone_is_suspected(evaluate):
    card = venous(evaluate, [condition(ICD, "I82.402", onset_days=5, verification="differential")])
    assert card["summary"] == f"Suspected DVT (left leg): {SUSPECTED}"


def test_dvt_in_one_leg_new_swelling_in_the_other_is_judged_on_its_own(evaluate):
    card = venous(evaluate, RULE_CASES["dvt-left-new-swelling-right"]())
    assert "left leg); new swelling or pain in the right leg" in card["summary"] and card["summary"].endswith(SUSPECTED)
    reason = card["suggestions"][0]["actions"][0]["resource"]["reasonCode"][0]["text"]
    assert reason.startswith("New swelling or pain in the right leg with a DVT on record in the other leg")


def test_new_swelling_on_the_leg_with_the_confirmed_dvt_is_not_a_new_work_up(evaluate):
    card = venous(evaluate, [condition(ICD, "I82.402", onset_days=20), condition(ICD, "R22.42", onset_days=1)])
    assert card["summary"].endswith(CONFIRMED)


def test_chronic_dvt_is_history_and_a_new_swelling_is_suspected(evaluate):
    card = venous(evaluate, RULE_CASES["dvt-chronic-new-swelling"]())
    assert card["summary"] == f"Suspected DVT (left leg): {SUSPECTED}"
    assert "Chronic embolism and thrombosis" in card["detail"]
    assert "The previously documented DVT adds a Wells point" in card["detail"]


def test_chronic_dvt_alone_raises_nothing(evaluate):
    assert venous(evaluate, [condition(ICD, "I82.502", onset_days=700)]) is None


def test_active_dvt_older_than_the_window_is_history_not_dropped(evaluate):
    card = venous(evaluate, RULE_CASES["dvt-active-older-than-window"]())
    assert card["summary"] == f"Suspected DVT (left leg): {SUSPECTED}"
    assert "(history)" in card["detail"]


def test_previous_dvt_line_only_when_one_is_documented(evaluate):
    card = venous(evaluate, [condition(ICD, "I83.811"), condition(ICD, "R22.41", onset_days=10)])
    assert "Wells" in card["detail"] and "previously documented DVT" not in card["detail"]


def test_pulmonary_embolism_is_a_warning_not_critical(evaluate):
    card = venous(evaluate, RULE_CASES["pe-on-record"]())
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Pulmonary embolism on record (") and "confirm anticoagulation" in card["summary"]


def test_phlegmasia_stays_critical(evaluate):
    assert venous(evaluate, [condition(SCT, "66877004", onset_days=2)])["indicator"] == "critical"


def test_varicose_veins_with_swelling_of_both_legs_is_not_a_dvt_work_up(evaluate):
    card = venous(evaluate, RULE_CASES["varicose-veins-both-legs-swollen"]())
    assert "suggestions" not in card and "chronic venous disease" in card["summary"]
    assert "Wells score with a D-dimer or a venous duplex" not in card["detail"]


def test_history_does_not_set_the_side_current_findings_do(evaluate):
    card = venous(evaluate, RULE_CASES["history-left-current-right"]())
    assert card["summary"] == f"Suspected DVT (right leg): {SUSPECTED}"


def test_history_does_not_set_the_side_of_a_default_card(evaluate):
    resources = [condition(ICD, "I82.402", onset_days=400, clinical="resolved"), condition(ICD, "I83.811", onset_days=300),
                 condition(ICD, "R22.41", onset_days=50)]  # right leg swollen, not new: no suspected DVT
    card = venous(evaluate, resources)
    assert card["summary"] == "Right leg signs consistent with venous claudication: consider a venous assessment"
    assert "previously documented DVT adds a Wells point" in card["detail"]


def test_provisional_dvt_on_one_leg_new_swelling_on_the_other_without_history(evaluate):
    resources = [condition(ICD, "I82.402", onset_days=5, verification="provisional"), condition(ICD, "R22.41", onset_days=1)]
    card = venous(evaluate, resources)
    assert card["summary"] == f"Suspected DVT (left leg): {SUSPECTED}"  # the right leg has no DVT history of its own


@pytest.mark.parametrize("code,counts", [("I26.92", True), ("I26.93", True), ("I26.94", True), ("I26.02", True),
                                         ("I26.90", False), ("I26.96", False)],
                         ids=["saddle", "single-subsegmental", "multiple-subsegmental", "saddle-cor-pulmonale",
                              "septic", "fat-embolism"])
def test_pulmonary_embolism_family_in_thrombotic_out_septic_or_fat(knowledge, code, counts):
    from cds_service.terminology import ICD10CM
    concept = knowledge.terminology.lookup(ICD10CM, code)
    assert (concept is not None and concept.sign == "pulmonary-embolism") is counts


@pytest.mark.parametrize("system, code, leg", [
    (ICD, "I80.221", "right leg"),  # thrombophlebitis of right popliteal vein
    (ICD, "I80.12", "left leg"),  # thrombophlebitis of left femoral vein
    (SCT, "16011951000119104", "right leg"),  # thrombophlebitis of right popliteal vein (US Edition)
])
def test_deep_vein_thrombophlebitis_is_a_dvt_on_its_leg(evaluate, system, code, leg):
    """Vascular review of issue 17: a thrombosed deep vein is a DVT (VSAC VTE counts I80.1-I80.2); it was silent (each < 1 s)."""
    card = venous(evaluate, [condition(system, code, onset_days=3)])
    assert card["summary"].endswith(CONFIRMED) and leg in card["summary"]


def test_superficial_thrombophlebitis_is_not_a_confirmed_dvt(evaluate):
    card = venous(evaluate, [condition(ICD, "I80.01", onset_days=3)])
    assert card is None or not card["summary"].endswith(CONFIRMED)
