"""The order pipeline end to end without HTTP: each rule in and out, at its boundaries."""
from __future__ import annotations

from datetime import timedelta

import pytest

from builders import ICD, NOW, SCT, abi, bundle, condition
from cds_service.orders.engine import build
from helpers import check_body
from order_builders import (LEFT_LEG, RIGHT_LEG, SELECT_ID, SIGN_ID, compression, heart_failure, medication,
                            order_request, sandbox_medication)

PAD = condition(ICD, "I70.212")  # atherosclerosis of native arteries of left leg with intermittent claudication


@pytest.fixture(scope="module")
def engines(knowledge):
    from cds_service.config import REPO_ROOT, Settings
    return build(knowledge, Settings(knowledge_dir=REPO_ROOT))


@pytest.fixture
def run(engines):
    def go(body, service=SIGN_ID, fetcher=None):
        result = engines[service].evaluate(body, now=NOW, fetcher=fetcher)
        check_body(result.response)
        return result.response["cards"], result.stats
    return go


def _one(cards):
    (card,) = cards
    return card


# --- cilostazol with heart failure ------------------------------------------------------------

@pytest.mark.parametrize("code,level", [("21107", "ingredient"), ("242461", "clinical drug 100 mg"),
                                        ("242462", "clinical drug 50 mg"), ("261116", "branded drug 100 mg"),
                                        ("284370", "branded drug 50 mg")])
def test_cilostazol_at_every_rxnorm_level_with_active_heart_failure_is_critical(run, code, level):
    card = _one(run(order_request([medication(code, level, rid="med-1")], [heart_failure()]))[0])
    assert card["indicator"] == "critical"
    assert card["source"]["topic"]["code"] == "cilostazol-heart-failure"
    (suggestion,) = card["suggestions"]
    assert suggestion["actions"] == [{"type": "delete", "description": suggestion["actions"][0]["description"],
                                      "resourceId": "MedicationRequest/med-1"}]
    assert "supervised exercise" in card["detail"].lower()
    assert "Class III: Harm" in card["detail"] and "boxed warning" in card["detail"]
    assert {r["code"] for r in card["overrideReasons"]} >= {"heart-failure-excluded"}


def test_sandbox_shaped_draft_is_caught(run):
    cards, stats = run(order_request([sandbox_medication()], [heart_failure("42343007")]))
    card = _one(cards)
    assert card["indicator"] == "critical"
    assert card["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/request-123"
    assert stats.draft_deviations["Bundle.type-missing"] == 1
    assert stats.draft_deviations["MedicationRequest.intent-missing"] == 1
    assert stats.draft_deviations["MedicationRequest.category-not-a-list"] == 1


def test_provisional_heart_failure_is_critical(run):
    card = _one(run(order_request([sandbox_medication()], [heart_failure(verification="provisional")]))[0])
    assert card["indicator"] == "critical" and "suspected" in card["detail"]


@pytest.mark.parametrize("clinical", ["resolved", "inactive"])
def test_resolved_or_inactive_heart_failure_is_a_warning_to_confirm(run, clinical):
    card = _one(run(order_request([sandbox_medication()], [heart_failure(clinical=clinical)]))[0])
    assert card["indicator"] == "warning"
    assert card["summary"] == ("History of heart failure: cilostazol is contraindicated in heart failure of any "
                               "severity; confirm")


def test_abated_heart_failure_without_status_is_history(run):
    card = _one(run(order_request([sandbox_medication()], [heart_failure(clinical=None, abated_days=100)]))[0])
    assert card["indicator"] == "warning"


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_refuted_heart_failure_gives_no_card(run, verification):
    assert run(order_request([sandbox_medication()], [heart_failure(verification=verification)]))[0] == []


def test_no_heart_failure_gives_no_card(run):
    assert run(order_request([sandbox_medication()], [PAD]))[0] == []


def test_hypertensive_heart_disease_with_heart_failure_counts(run):
    for code in ("I11.0", "I13.0", "I13.2", "I50.9", "I50.814"):
        assert _one(run(order_request([sandbox_medication()], [heart_failure(code)]))[0])["indicator"] == "critical"


def test_icd_code_without_its_dot_still_counts(run):
    assert _one(run(order_request([sandbox_medication()], [heart_failure("I509")]))[0])["indicator"] == "critical"


def test_hypertension_without_heart_failure_does_not_count(run):
    assert run(order_request([sandbox_medication()], [heart_failure("I11.9")]))[0] == []


def test_other_drug_gives_no_card(run):
    assert run(order_request([medication("309362", "clopidogrel 75 MG Oral Tablet")], [heart_failure()]))[0] == []


def test_cilostazol_named_in_text_only_is_still_caught(run):
    draft = medication("99999999", "Pletal 100 mg tablet")
    card = _one(run(order_request([draft], [heart_failure()]))[0])
    assert card["indicator"] == "critical" and "Recognised by its name" in card["detail"]


def test_draft_without_id_is_warned_about_without_a_delete_suggestion(run):
    draft = sandbox_medication()
    del draft["id"]
    card = _one(run(order_request([draft], [heart_failure()]))[0])
    assert card["indicator"] == "critical" and "suggestions" not in card


# --- compression on an ischaemic leg ----------------------------------------------------------

def _compress(records, body_site=LEFT_LEG, **kw):
    return order_request([compression(body_site=body_site, rid="comp-1", **kw)], records)


@pytest.mark.parametrize("value,indicator,variant_word", [
    (0.59, "critical", "contraindicated"), (0.60, "warning", "Reduced compression"),
    (0.79, "warning", "Reduced compression"), (0.80, None, None), (1.40, None, None),
    (1.41, "warning", "noncompressible")])
def test_abi_bands_on_the_ordered_leg(run, value, indicator, variant_word):
    cards, _ = run(_compress([abi(value, "left")]))
    if indicator is None:
        assert cards == []
        return
    card = _one(cards)
    assert card["indicator"] == indicator and variant_word in card["summary"]
    assert "left leg" in card["summary"]
    if indicator == "critical":
        assert card["suggestions"][0]["actions"][0] == {
            "type": "delete", "description": card["suggestions"][0]["actions"][0]["description"],
            "resourceId": "ServiceRequest/comp-1"}
        assert "Rabe" in card["detail"]


def test_abi_older_than_the_window_counts_as_none(run):
    """An old ABI of 0.6 or more says nothing now (an old one < 0.6 is still evidence: tests below)."""
    cards, _ = run(_compress([abi(0.7, "left", days=400), PAD]))
    card = _one(cards)
    assert card["indicator"] == "warning" and "No recent ABI" in card["summary"]
    (suggestion,) = card["suggestions"]
    assert suggestion["actions"][0]["type"] == "create"
    assert suggestion["actions"][0]["resource"]["code"]["coding"][0]["code"] == "77194-9"


def test_no_abi_with_arterial_disease_asks_for_one(run):
    card = _one(run(_compress([PAD]))[0])
    assert card["indicator"] == "warning" and card["suggestions"][0]["label"] == "Order a resting ankle-brachial index"


def test_no_abi_with_pad_risk_asks_for_one(run):
    diabetes = condition(ICD, "E11.9")
    card = _one(run(_compress([diabetes]))[0])
    assert "No recent ABI" in card["summary"]


def test_no_abi_and_no_risk_gives_no_card(run):
    assert run(_compress([condition(SCT, "239873007")]))[0] == []  # an unrelated code


def test_order_for_the_other_leg_is_judged_on_that_leg_only(run):
    cards, _ = run(_compress([abi(0.45, "left"), abi(1.05, "right")], body_site=RIGHT_LEG))
    assert cards == []


def test_order_for_the_ischaemic_leg_is_critical_even_when_the_other_is_normal(run):
    card = _one(run(_compress([abi(0.45, "left"), abi(1.05, "right")], body_site=LEFT_LEG))[0])
    assert card["indicator"] == "critical" and "left leg" in card["summary"]


def test_order_with_no_side_is_judged_on_both_legs(run):
    card = _one(run(_compress([abi(0.45, "left"), abi(1.05, "right")], body_site=None))[0])
    assert card["indicator"] == "critical" and "left leg" in card["summary"]
    assert "Right leg" not in card["detail"]  # the normal leg raises nothing


def test_side_from_order_text_when_no_body_site(run):
    cards, _ = run(_compress([abi(0.45, "left")], body_site=None, text="Compression stockings, right leg"))
    assert cards == []


def test_clti_on_the_leg_is_critical_whatever_the_abi(run):
    rest_pain = condition(ICD, "I70.222")  # native arteries of left leg with rest pain
    card = _one(run(_compress([rest_pain, abi(0.95, "left")]))[0])
    assert card["indicator"] == "critical" and "limb-threatening" in card["detail"]


def test_clti_is_the_arterial_red_flag_rules_decision_on_that_leg(run):
    """An ulcer that names no cause is CLTI only with proven PAD (issue 13's rules, reused): an abnormal
    ABI on the same leg proves it; on the other leg it does not."""
    ulcer = condition(ICD, "L97.329", onset_days=40)  # non-pressure chronic ulcer of left ankle
    proven = _one(run(_compress([ulcer, abi(0.85, "left")]))[0])
    assert proven["indicator"] == "critical" and "limb-threatening" in proven["detail"]
    assert run(_compress([ulcer, abi(0.85, "right"), abi(1.1, "left")]))[0] == []


def test_clti_on_the_other_leg_leaves_the_ordered_leg_to_its_abi(run):
    rest_pain = condition(ICD, "I70.222")  # left leg
    assert run(_compress([rest_pain, abi(1.0, "right"), abi(0.95, "left")], body_site=RIGHT_LEG))[0] == []


def test_newest_abi_on_the_leg_counts(run):
    cards, _ = run(_compress([abi(0.5, "left", days=200), abi(0.95, "left", days=5)]))
    assert cards == []


def test_abi_without_side_applies_to_both_legs(run):
    card = _one(run(_compress([abi(0.5, None)], body_site=RIGHT_LEG))[0])
    assert card["indicator"] == "critical"


@pytest.mark.parametrize("resource_type,code", [("DeviceRequest", "442111003"), ("DeviceRequest", "348681001"),
                                                ("ServiceRequest", "312647006")])
def test_every_kind_of_compression_is_judged(run, resource_type, code):
    cards, _ = run(order_request([compression(code, "c", resource_type=resource_type, body_site=None)], [abi(0.4, "left")]))
    assert _one(cards)["indicator"] == "critical"


def test_severe_heart_failure_with_compression_is_a_warning(run):
    cards, _ = run(_compress([abi(1.0, "left"), heart_failure("I50.84")]))
    card = _one(cards)
    assert card["source"]["topic"]["code"] == "compression-heart-failure" and card["indicator"] == "warning"


def test_mild_heart_failure_with_compression_gives_no_card(run):
    assert run(_compress([abi(1.0, "left"), heart_failure("I50.22")]))[0] == []


# --- hooks, selections and keys ---------------------------------------------------------------

def test_order_select_judges_only_the_selected_orders(run):
    cilostazol, clopidogrel = sandbox_medication(), medication("309362", "clopidogrel", rid="med-2")
    body = order_request([cilostazol, clopidogrel], [heart_failure()], hook="order-select",
                         selections=["MedicationRequest/med-2"])
    assert run(body, SELECT_ID)[0] == []
    body["context"]["selections"] = ["MedicationRequest/request-123"]
    assert _one(run(body, SELECT_ID)[0])["indicator"] == "critical"


def test_order_select_with_an_empty_selection_judges_nothing(run):
    body = order_request([sandbox_medication()], [heart_failure()], hook="order-select", selections=[])
    cards, stats = run(body, SELECT_ID)
    assert cards == [] and stats.drafts == 1 and stats.drafts_judged == 0


def test_order_sign_judges_every_draft(run):
    cards, stats = run(order_request([sandbox_medication(), compression(rid="c", body_site=LEFT_LEG)],
                                     [heart_failure("I50.84"), abi(0.4, "left")]))
    assert sorted(c["source"]["topic"]["code"] for c in cards) == [
        "cilostazol-heart-failure", "compression-heart-failure", "compression-ischaemia"]
    assert [c["indicator"] for c in cards][:2] == ["critical", "critical"]
    assert stats.drafts_judged == 2 and stats.resources_used == 2


def test_a_missing_key_removes_only_the_rules_that_need_it(run):
    body = order_request([sandbox_medication(), compression(rid="c", body_site=LEFT_LEG)], [])
    body["prefetch"] = {"heartFailure": bundle([heart_failure()])}  # abi and arterialConditions not sent
    cards, stats = run(body)
    assert [c["source"]["topic"]["code"] for c in cards] == ["cilostazol-heart-failure"]
    assert stats.keys == {"heartFailure": "present", "arterialConditions": "absent-skipped", "abi": "absent-skipped",
                          "procedures": "absent-skipped"}
    assert stats.rules_skipped == ["compression-ischaemia.abi-bands", "compression-ischaemia.clti",
                                   "compression-ischaemia.no-abi"]


def test_a_failed_heart_failure_key_skips_the_cilostazol_rule_without_412(run):
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "forbidden"}]}
    body = order_request([sandbox_medication()], prefetch={"heartFailure": outcome, "arterialConditions": None, "abi": None})
    cards, stats = run(body)
    assert cards == [] and "cilostazol-heart-failure.heart-failure" in stats.rules_skipped


def test_null_keys_mean_no_data(run):
    body = order_request([compression(body_site=LEFT_LEG)], prefetch={"heartFailure": None, "arterialConditions": None,
                                                                      "abi": None})
    cards, stats = run(body)
    assert cards == [] and stats.rules_skipped == []


def test_absent_keys_go_to_the_fetcher(run):
    asked = []

    def fetcher(jobs):
        from cds_service.prefetch import KeyResult
        asked.extend(k.key for k, _ in jobs)
        return [KeyResult("present", resources=[heart_failure()] if k.key == "heartFailure" else []) for k, _ in jobs]

    cards, stats = run(order_request([sandbox_medication()], prefetch={}), fetcher=fetcher)
    assert sorted(asked) == ["abi", "arterialConditions", "heartFailure", "procedures"]
    assert _one(cards)["indicator"] == "critical" and stats.fetched_keys == 4


def test_nothing_to_judge_fetches_nothing(run):
    def fetcher(jobs):
        raise AssertionError("the record is not needed when no draft is judged")

    empty = {"resourceType": "MedicationRequest", "id": "x", "status": "draft"}
    cards, stats = run(order_request([empty], prefetch={}), fetcher=fetcher)
    assert cards == [] and stats.drafts_unreadable == 1


def test_draft_for_another_patient_is_judged_and_counted(run):
    cards, stats = run(order_request([sandbox_medication(patient="someone-else")], [heart_failure()]))
    assert _one(cards)["indicator"] == "critical"
    assert stats.draft_deviations["subject-not-the-context-patient"] == 1


def test_record_of_another_patient_is_ignored(run):
    cards, stats = run(order_request([sandbox_medication()], [heart_failure(patient="someone-else")]))
    assert cards == [] and stats.other_patient == 1


def test_cards_are_stable_for_the_same_hook_instance(run):
    body = order_request([sandbox_medication()], [heart_failure()])
    assert run(body)[0] == run(body)[0]


# --- acute limb ischaemia (the arterial red-flag rules' ALI, reused) ----------------------------

ALI = "I74.3"  # embolism and thrombosis of arteries of the lower extremities (no side: both legs)


def test_compression_ischaemia_acute_limb_ischaemia_in_window_is_critical_whatever_the_abi(run):
    card = _one(run(_compress([condition(ICD, ALI, onset_days=2), abi(1.0, "left")]))[0])
    assert card["indicator"] == "critical"
    assert card["summary"] == ("Compression contraindicated on the left leg: acute limb ischaemia on record; "
                               "urgent vascular referral")
    assert "- Urgent vascular referral for the leg's perfusion." in card["detail"]
    assert card["suggestions"][0]["actions"][0] == {
        "type": "delete", "description": card["suggestions"][0]["actions"][0]["description"],
        "resourceId": "ServiceRequest/comp-1"}


def test_compression_ischaemia_acute_limb_ischaemia_on_the_other_leg_is_out(run):
    ali_right = condition(ICD, ALI, onset_days=2, body_site=[RIGHT_LEG])
    assert run(_compress([ali_right, abi(1.0, "left")]))[0] == []


def test_compression_ischaemia_acute_limb_ischaemia_past_its_window_is_out(run):
    """Older than the 14-day acute window (knowledge/arterial-red-flags.yaml): history, judged by its ABI."""
    assert run(_compress([condition(ICD, ALI, onset_days=20), abi(1.0, "left")]))[0] == []


# --- an ABI < 0.6 older than the window is still arterial evidence -------------------------------

def test_compression_ischaemia_old_severe_abi_on_the_leg_is_a_warning_naming_it(run):
    old = abi(0.45, "left", days=400)
    card = _one(run(_compress([old]))[0])
    when = (NOW - timedelta(days=400)).date().isoformat()
    assert card["indicator"] == "warning"
    assert card["summary"] == f"ABI 0.45 on {when}: remeasure before compression (the left leg)"
    assert card["suggestions"][0]["label"] == "Order a resting ankle-brachial index"


def test_compression_ischaemia_old_severe_abi_the_last_old_one_counts(run):
    """The last ABI on the leg is the one named: an old 0.45 followed by an old 0.95 is not severe."""
    assert run(_compress([abi(0.45, "left", days=500), abi(0.95, "left", days=400)]))[0] == []


def test_compression_ischaemia_old_severe_abi_superseded_by_a_recent_normal_one_is_out(run):
    assert run(_compress([abi(0.45, "left", days=400), abi(0.95, "left", days=5)]))[0] == []


def test_compression_ischaemia_old_moderate_abi_alone_is_out(run):
    assert run(_compress([abi(0.7, "left", days=400)]))[0] == []


def test_compression_ischaemia_old_severe_abi_on_the_other_leg_counts_as_arterial_disease(run):
    """No other arterial disease or PAD risk on record: the old 0.45 on the left asks for an ABI on the right."""
    card = _one(run(_compress([abi(0.45, "left", days=400)], body_site=RIGHT_LEG))[0])
    assert card["indicator"] == "warning" and card["summary"].startswith("No recent ABI")


# --- heart failure coded outside I50 ---------------------------------------------------------------

@pytest.mark.parametrize("code", ["I09.81", "I97.13", "I97.130", "I97.131"])
def test_cilostazol_heart_failure_rheumatic_and_postprocedural_codes_are_critical(run, code):
    card = _one(run(order_request([sandbox_medication()], [heart_failure(code)]))[0])
    assert card["indicator"] == "critical" and card["source"]["topic"]["code"] == "cilostazol-heart-failure"


@pytest.mark.parametrize("code", ["I09.8", "I97.1", "I97.19"])  # other rheumatic / postprocedural cardiac codes
def test_cilostazol_heart_failure_neighbouring_codes_are_out(run, code):
    assert run(order_request([sandbox_medication()], [heart_failure(code)]))[0] == []


# --- card facts: the trigger, the legs ordered, an ABI without a side ------------------------------

BANDAGE = "Four layer compression bandaging for skin ulcer"


def _day(days: float) -> str:
    return (NOW - timedelta(days=days)).date().isoformat()


def test_compression_ischaemia_critical_abi_card_text(run):
    card = _one(run(_compress([abi(0.45, "left", days=10)]))[0])
    assert card["summary"] == ("Compression contraindicated on the left leg: ABI 0.45 (below 0.60); vascular review "
                               "before compression")
    assert card["detail"].startswith(
        f"{BANDAGE} is being ordered for the left leg, which has ABI 0.45 (below 0.60), measured {_day(10)}. An ABI "
        "below 0.6 is severe PAD, a contraindication to compression (Rabe 2020): it can cause pressure necrosis.")
    assert "urgent" not in (card["summary"] + card["detail"]).lower()
    assert "both legs" not in card["detail"]


def test_compression_ischaemia_both_legs_order_names_the_leg_and_the_other_legs_need(run):
    card = _one(run(_compress([abi(0.45, "left", days=10), abi(1.0, "right")], body_site=None))[0])
    assert card["summary"] == ("Compression contraindicated on the left leg: ABI 0.45 (below 0.60); vascular review "
                               "before compression")
    assert card["detail"].startswith(f"{BANDAGE} is being ordered for both legs; the left leg has ABI 0.45 "
                                     f"(below 0.60), measured {_day(10)}.")
    assert ("- This order covers both legs: the right leg may still need compression; place a new order for the "
            "right leg alone.") in card["detail"]
    assert card["suggestions"][0]["actions"][0]["type"] == "delete"  # the issue asks for it


def test_compression_ischaemia_abi_without_side_says_side_not_recorded(run):
    card = _one(run(_compress([abi(0.45, None, days=10)]))[0])
    assert card["summary"] == ("Compression contraindicated on the left leg: ABI 0.45 (below 0.60, side not "
                               "recorded); vascular review before compression")
    assert f"- {_day(10)}: Ankle-brachial index, 0.45, side not recorded (" in card["detail"]
    assert "- Left leg: ABI 0.45 (below 0.60, side not recorded)" in card["detail"]


def test_compression_ischaemia_clti_card_names_clti_and_never_abi_not_on_file(run):
    rest_pain = condition(ICD, "I70.222")  # native arteries of left leg with rest pain
    card = _one(run(_compress([rest_pain, abi(0.9, "left")]))[0])
    assert card["summary"] == ("Compression contraindicated on the left leg: chronic limb-threatening ischaemia on "
                               "record; urgent vascular referral")
    assert "not on file" not in card["summary"] + card["detail"]
    assert "this service's rule, extrapolated from the severe PAD" in card["detail"]


def test_compression_ischaemia_no_abi_on_either_leg(run):
    card = _one(run(_compress([PAD], body_site=None))[0])
    assert card["summary"] == "No recent ABI on either leg before bandaging: measure one first"
    assert card["detail"].startswith(f"{BANDAGE} is being ordered for both legs, which both have no ABI within 365 "
                                     "days.")
    assert "other leg" not in card["detail"] and "may still need" not in card["detail"]


def test_compression_ischaemia_side_named_by_the_code_is_not_repeated(run):
    card = _one(run(_compress([PAD], body_site=RIGHT_LEG))[0])
    assert "left leg, left leg" not in card["detail"]
    assert card["summary"] == "No recent ABI on the right leg before bandaging: measure one first"


# --- acute or decompensated heart failure, recent: severe for compression --------------------------

@pytest.mark.parametrize("code", ["I50.21", "I50.23", "I50.31", "I50.33", "I50.41", "I50.43", "424404003"])
def test_compression_heart_failure_recent_acute_is_severe(run, code):
    cards, _ = run(_compress([heart_failure(code, onset_days=10), abi(1.0, "left")]))
    card = _one(cards)
    assert card["source"]["topic"]["code"] == "compression-heart-failure" and card["indicator"] == "warning"
    assert "(acute, within 30 days)" in card["summary"] + card["detail"]


@pytest.mark.parametrize("code,days", [("I50.43", 31), ("424404003", 45), ("I50.22", 5), ("I50.9", 5)])
def test_compression_heart_failure_old_acute_or_chronic_is_out(run, code, days):
    assert run(_compress([heart_failure(code, onset_days=days), abi(1.0, "left")]))[0] == []


def test_compression_heart_failure_recent_acute_but_resolved_is_out(run):
    assert run(_compress([heart_failure("I50.21", onset_days=10, clinical="resolved"), abi(1.0, "left")]))[0] == []


def test_compression_heart_failure_undated_acute_is_out(run):
    assert run(_compress([heart_failure("I50.21", onset_days=None), abi(1.0, "left")]))[0] == []


def test_compression_heart_failure_acute_recorded_recently_with_an_old_onset_is_severe(run):
    """The later of onset and recorded date: an acute-on-chronic code recorded last week counts."""
    hf = heart_failure("I50.43", onset_days=700)
    hf["recordedDate"] = (NOW - timedelta(days=7)).isoformat()
    card = _one(run(_compress([hf, abi(1.0, "left")]))[0])
    assert card["source"]["topic"]["code"] == "compression-heart-failure"


@pytest.mark.parametrize("code", ["82523003", "233924009", "703275009", "153941000119100"])
def test_cilostazol_heart_failure_vsac_snomed_codes_added_after_comparison_are_critical(run, code):
    """Codes of the VSAC Heart Failure value set (2.16.840.1.113883.3.526.3.376) that were missing before."""
    card = _one(run(order_request([sandbox_medication()], [heart_failure(code)]))[0])
    assert card["indicator"] == "critical"


@pytest.mark.parametrize("code", ["153951000119103", "195114002", "74960003"])
def test_compression_heart_failure_recent_acute_snomed_is_severe(run, code):
    card = _one(run(_compress([heart_failure(code, onset_days=3), abi(1.0, "left")]))[0])
    assert card["source"]["topic"]["code"] == "compression-heart-failure"
