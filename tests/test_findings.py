"""Status rules, negation, side, values and lookback windows, finding by finding."""
from __future__ import annotations

from cds_service import findings, records
from builders import ICD, LNC, NOW, PATIENT, SCT, abi, condition, observation, procedure, service_request


def extract(knowledge, resources):
    intake = records.select(resources, knowledge.terminology, PATIENT)
    return findings.extract(intake.records, knowledge.rules, knowledge.terminology, NOW)


def test_condition_becomes_a_dated_sided_finding(knowledge):
    (f,) = extract(knowledge, [condition(ICD, "I70.212", onset_days=40)]).findings
    assert (f.sign, f.present, f.side, f.resource_type) == ("atherosclerotic-claudication", True, "left", "Condition")
    assert abs((NOW - f.date).days - 40) <= 1


def test_exclusions_are_counted_by_reason(knowledge):
    out = extract(knowledge, [condition(ICD, "I82.402", verification="refuted", onset_days=3),
                              condition(ICD, "I70.212", clinical="resolved"),
                              abi(0.7, "left", status="entered-in-error"),
                              observation(SCT, "102572006", days=200)])
    assert out.findings == []
    assert out.excluded == {"condition-refuted": 1, "condition-history": 1, "observation-entered-in-error": 1,
                            "observation-stale": 1}


def test_preliminary_observation_counts_only_for_red_flags(knowledge):
    assert extract(knowledge, [abi(0.7, "left", status="preliminary")]).findings == []


def test_negation_by_value_boolean_code_and_interpretation(knowledge):
    absent_code = {"valueCodeableConcept": {"coding": [{"system": SCT, "code": "2667000"}]}}
    present_code = {"valueCodeableConcept": {"coding": [{"system": SCT, "code": "52101004"}]}}
    out = extract(knowledge, [observation(SCT, "102572006", value={"valueBoolean": False}),
                              observation(SCT, "102572006", value=absent_code),
                              observation(SCT, "102572006", interpretation="NEG"),
                              observation(SCT, "102572006", value=present_code),
                              observation(SCT, "102572006")])
    assert [f.present for f in out.findings] == [False, False, False, True, True]


def test_abi_value_side_and_implausible_values(knowledge):
    out = extract(knowledge, [abi(0.72, "left"), abi(72, "right")])
    (f,) = out.findings
    assert (f.value, f.side) == (0.72, "left")
    assert out.excluded["observation-implausible-value"] == 1


def test_abi_components_read_side_from_text(knowledge):
    obs = observation(LNC, "77194-9", component=[
        {"code": {"coding": [{"system": LNC, "code": "77194-9"}], "text": "Left ankle-brachial index"}, "valueQuantity": {"value": 0.8}},
        {"code": {"coding": [{"system": LNC, "code": "77194-9"}], "text": "Right ankle-brachial index"}, "valueQuantity": {"value": 1.1}}])
    out = extract(knowledge, [obs])
    assert sorted((f.side, f.value) for f in out.findings) == [("left", 0.8), ("right", 1.1)]


def test_chronic_active_condition_never_ages_out_but_acute_does(knowledge):
    out = extract(knowledge, [condition(SCT, "368581000119106", onset_days=9000), condition(ICD, "S86.112A", onset_days=200)])
    assert [f.sign for f in out.findings] == ["diabetic-neuropathy"]
    assert out.excluded["condition-stale"] == 1


def test_future_dated_observation_is_not_evidence(knowledge):
    assert extract(knowledge, [observation(SCT, "102572006", days=-30)]).excluded["observation-future-dated"] == 1


def test_undated_observation_with_a_lookback_is_not_evidence(knowledge):
    assert extract(knowledge, [observation(SCT, "102572006", days=None)]).excluded["observation-undated"] == 1


def test_procedures_and_orders(knowledge):
    out = extract(knowledge, [procedure(SCT, "401191002", days=10), procedure(SCT, "401191002", status="not-done"),
                              service_request(LNC, "77194-9"), service_request(LNC, "77194-9", status="completed")])
    assert sorted((f.kind, f.sign) for f in out.findings) == [("done", "diabetic-foot-examination"),
                                                             ("order", "ankle-brachial-index")]


def test_semantic_tags_are_dropped_from_displays():
    assert findings.clean_display("Neuropathy due to type 2 diabetes mellitus (disorder)") == \
        "Neuropathy due to type 2 diabetes mellitus"


def test_undated_active_red_flag_condition_is_kept(knowledge):
    (f,) = extract(knowledge, [condition(ICD, "G83.4", onset_days=None)]).findings
    assert f.sign == "cauda-equina" and f.date is None


def test_active_dvt_older_than_its_window_is_history_not_dropped(knowledge):
    (f,) = extract(knowledge, [condition(ICD, "I82.402", onset_days=300)]).findings
    assert (f.sign, f.side) == ("history-of-dvt", "left") and f.display.endswith("(history)")


def test_active_dvt_within_its_window_stays_current(knowledge):
    (f,) = extract(knowledge, [condition(ICD, "I82.402", onset_days=100)]).findings
    assert f.sign == "deep-vein-thrombosis" and f.certainty is None


def test_provisional_dvt_is_unconfirmed(knowledge):
    (f,) = extract(knowledge, [condition(ICD, "I82.402", onset_days=5, verification="provisional")]).findings
    assert f.certainty == "unconfirmed"


def test_old_abi_is_read_whatever_its_age(knowledge):
    (f,) = extract(knowledge, [abi(0.7, "left", days=900)]).findings
    assert f.sign == "ankle-brachial-index" and f.value == 0.7  # the assessment decides what an old reading says


FOREARM = [{"coding": [{"system": SCT, "code": "14975008", "display": "Forearm structure"}]}]
HAND_LEFT = {"coding": [{"system": SCT, "code": "85562004:272741003=7771000", "display": "Left hand"}]}


def test_non_leg_site_excluded_and_counted_for_conditions_observations_and_procedures(knowledge):
    pallor = observation(SCT, "398979000", days=1)
    pallor["bodySite"] = HAND_LEFT  # post-coordinated: judged by its focus, the hand
    out = extract(knowledge, [condition(SCT, "111245009", onset_days=2, body_site=FOREARM), pallor,
                              procedure(SCT, "112828007", days=1, body_site=FOREARM)])
    assert out.findings == [] and out.excluded["non-leg-site"] == 3


def test_non_leg_site_in_a_leg_site_beside_it_keeps_the_finding(knowledge):
    leg = [{"coding": [{"system": SCT, "code": "14975008"}, {"system": SCT, "code": "62175007"}]}]
    (f,) = extract(knowledge, [condition(SCT, "111245009", onset_days=2, body_site=leg)]).findings
    assert f.side == "right" and "non-leg-site" not in extract(knowledge, [condition(ICD, "I96", onset_days=2)]).excluded
