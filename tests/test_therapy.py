"""Guideline-directed therapy lines (issue 18): only with established PAD, only when not on record,
never on a critical card; a refused medication key removes only the lines that need it."""
from __future__ import annotations

import orjson
import pytest

from builders import ICD, NOW, SCT, abi, condition
from cases import LEFT_CALF as LEFT_CALF_SITE
from cds_service import prefetch, therapy
from cds_service.records import Probe
from therapy_builders import (APIXABAN_5, ASPIRIN_81, ATORVASTATIN, ATORVASTATIN_40, CILOSTAZOL_100, CLOPIDOGREL_75,
                              CURRENT_SMOKER, FORMER_SMOKER, NEVER_SMOKER, PRASUGREL_10, REFUSED, RIVAROXABAN_2_5,
                              RIVAROXABAN_20, TICAGRELOR_90, full_request, medication_request, medication_statement,
                              smoking)

ANTIPLATELET = "No antiplatelet on record"
REVIEW = "A full-dose anticoagulant is on record: review antithrombotic therapy"
STATIN = "No statin on record"
EXERCISE = "supervised exercise programme"
SMOKING = "Current smoker: advise and support smoking cessation"
DVT_ON_RECORD = "Anticoagulant on record:"
DVT_NONE = "No anticoagulant found among the active medications"
ALL = (ANTIPLATELET, REVIEW, STATIN, EXERCISE, SMOKING, DVT_ON_RECORD, DVT_NONE)


def claudication_with_pad():
    """Symptomatic, established PAD: claudication on the left calf and a PAD diagnosis."""
    return [condition(SCT, "63491006", body_site=LEFT_CALF_SITE), condition(ICD, "I73.9", onset_days=400)]


def card(cards, pattern):
    return next((c for c in cards if c["source"]["topic"]["code"] == pattern), None)


def lines_of(cards, pattern="arterial-claudication"):
    c = card(cards, pattern)
    assert c is not None, [x["summary"] for x in cards]
    return [line for line in ALL if line in c["detail"]]


def test_no_therapy_on_record_gives_every_line_with_its_class(evaluate):
    cards = evaluate(full_request(claudication_with_pad(), smoking_obs=[smoking(CURRENT_SMOKER)]))
    assert lines_of(cards) == [ANTIPLATELET, STATIN, EXERCISE, SMOKING]
    detail = card(cards, "arterial-claudication")["detail"]
    for line in detail.splitlines():
        if any(x in line for x in (ANTIPLATELET, STATIN, EXERCISE, SMOKING)):
            assert "Class I, A" in line and "G2 Class 1" in line
    assert "Therapy lines: G1 Tables 11-12" in detail  # each line's source is cited on the card


@pytest.mark.parametrize("code", [ASPIRIN_81, CLOPIDOGREL_75, PRASUGREL_10, TICAGRELOR_90, RIVAROXABAN_2_5])
def test_an_antiplatelet_p2y12_inhibitor_or_low_dose_rivaroxaban_counts_as_on_record(evaluate, code):
    cards = evaluate(full_request(claudication_with_pad(), meds=[medication_request(code)]))
    assert ANTIPLATELET not in lines_of(cards) and REVIEW not in lines_of(cards)
    assert STATIN in lines_of(cards)


@pytest.mark.parametrize("code", [RIVAROXABAN_20, APIXABAN_5])
def test_a_full_dose_anticoagulant_asks_to_review_antithrombotic_therapy(evaluate, code):
    cards = evaluate(full_request(claudication_with_pad(), meds=[medication_request(code), medication_request(ASPIRIN_81)]))
    assert REVIEW in lines_of(cards) and ANTIPLATELET not in lines_of(cards)


@pytest.mark.parametrize("code", [ATORVASTATIN_40, ATORVASTATIN])
def test_a_statin_on_record_clinical_drug_or_ingredient_removes_the_statin_line(evaluate, code):
    cards = evaluate(full_request(claudication_with_pad(), statements=[medication_statement(code)]))
    assert STATIN not in lines_of(cards) and ANTIPLATELET in lines_of(cards)


def test_stopped_or_proposed_medications_are_not_on_record(evaluate):
    meds = [medication_request(ASPIRIN_81, status="stopped"), medication_request(ATORVASTATIN_40, intent="proposal")]
    statements = [medication_statement(CLOPIDOGREL_75, status="completed")]
    cards = evaluate(full_request(claudication_with_pad(), meds=meds, statements=statements))
    assert ANTIPLATELET in lines_of(cards) and STATIN in lines_of(cards)


def test_another_patients_medication_is_not_on_record(evaluate):
    cards = evaluate(full_request(claudication_with_pad(), meds=[medication_request(ATORVASTATIN_40, patient="other")]))
    assert STATIN in lines_of(cards)


def test_cilostazol_is_not_an_antiplatelet_for_the_line(evaluate):
    cards = evaluate(full_request(claudication_with_pad(), meds=[medication_request(CILOSTAZOL_100)]))
    assert ANTIPLATELET in lines_of(cards)


def test_an_abnormal_abi_establishes_pad(evaluate):
    cards = evaluate(full_request([condition(SCT, "63491006", body_site=LEFT_CALF_SITE), abi(0.72, "left")]))
    assert lines_of(cards) == [ANTIPLATELET, STATIN, EXERCISE]


def test_no_therapy_lines_without_established_pad(evaluate):
    """Claudication with a borderline ABI raises the arterial card, but PAD is not established."""
    cards = evaluate(full_request([condition(SCT, "63491006", body_site=LEFT_CALF_SITE), abi(0.95, "left")],
                                  smoking_obs=[smoking(CURRENT_SMOKER)]))
    assert card(cards, "arterial-claudication") is not None
    assert lines_of(cards) == []


def test_no_therapy_lines_on_a_critical_card(evaluate):
    """Critical limb-threatening ischaemia with proven PAD: the card stays about the emergency."""
    cards = evaluate(full_request([condition(ICD, "L97.529", onset_days=20), condition(ICD, "I73.9", onset_days=800)],
                                  smoking_obs=[smoking(CURRENT_SMOKER)]))
    arterial = card(cards, "arterial-claudication")
    assert arterial["indicator"] == "critical"
    assert lines_of(cards) == [] and "Therapy lines" not in arterial["detail"]


def test_asymptomatic_pad_gets_the_statin_but_not_the_antiplatelet_or_exercise_line(evaluate):
    cards = evaluate(full_request([abi(0.72, "left")]))
    assert lines_of(cards) == [STATIN]


def test_exercise_only_with_claudication_not_with_limb_threat(evaluate):
    known_clti = [condition(ICD, "I70.242", onset_days=400)]  # CLTI known for a year: a warning, not critical
    cards = evaluate(full_request(known_clti))
    assert card(cards, "arterial-claudication")["indicator"] != "critical"
    assert EXERCISE not in lines_of(cards) and ANTIPLATELET in lines_of(cards)


@pytest.mark.parametrize("status, shown", [(CURRENT_SMOKER, True), (FORMER_SMOKER, False), (NEVER_SMOKER, False)])
def test_smoking_cessation_only_for_a_current_smoker(evaluate, status, shown):
    cards = evaluate(full_request(claudication_with_pad(), smoking_obs=[smoking(status)]))
    assert (SMOKING in lines_of(cards)) is shown


@pytest.mark.parametrize("status, shown", [(CURRENT_SMOKER, True), (FORMER_SMOKER, False)])
def test_the_smoking_status_is_read_from_a_body_decoded_as_served(engine, status, shown):
    body = orjson.dumps(full_request(claudication_with_pad(), smoking_obs=[smoking(status)]))
    decoded = prefetch.decode(body)
    assert any(type(r) is Probe for v in decoded["prefetch"].values() if isinstance(v, prefetch.Searchset)
               for r in v.resources)  # the typed pass took it: the smoking Observation is a probe until read
    cards = engine.evaluate(decoded, now=NOW).response["cards"]
    assert (SMOKING in lines_of(cards)) is shown


def test_the_latest_smoking_status_wins(evaluate):
    obs = [smoking(CURRENT_SMOKER, days=400), smoking(FORMER_SMOKER, days=10)]
    assert SMOKING not in lines_of(evaluate(full_request(claudication_with_pad(), smoking_obs=obs)))
    obs = [smoking(FORMER_SMOKER, days=400), smoking(CURRENT_SMOKER, days=10)]
    assert SMOKING in lines_of(evaluate(full_request(claudication_with_pad(), smoking_obs=obs)))


def test_an_entered_in_error_smoking_status_is_ignored(evaluate):
    obs = [smoking(CURRENT_SMOKER, status="entered-in-error")]
    assert SMOKING not in lines_of(evaluate(full_request(claudication_with_pad(), smoking_obs=obs)))


def test_a_refused_medication_key_removes_only_the_lines_that_need_it(evaluate):
    body = full_request(claudication_with_pad(), smoking_obs=[smoking(CURRENT_SMOKER)], medicationRequests=REFUSED)
    assert lines_of(evaluate(body)) == [EXERCISE, SMOKING]  # no 412, and no "not on record" it cannot know


def test_a_refused_key_still_lets_a_drug_found_in_the_other_key_count(evaluate):
    body = full_request(claudication_with_pad(), statements=[medication_statement(RIVAROXABAN_20)],
                        medicationRequests=REFUSED)
    assert REVIEW in lines_of(evaluate(body))


def test_medication_keys_not_sent_and_no_fhir_server_remove_the_medication_lines(evaluate):
    body = full_request(claudication_with_pad())
    for key in ("medicationRequests", "medicationStatements", "smokingStatus", "patient"):
        del body["prefetch"][key]
    assert lines_of(evaluate(body)) == [EXERCISE]


def test_a_refused_smoking_key_removes_only_the_smoking_line(evaluate):
    body = full_request(claudication_with_pad(), smokingStatus=REFUSED)
    assert lines_of(evaluate(body)) == [ANTIPLATELET, STATIN, EXERCISE]


def test_confirmed_dvt_says_whether_an_anticoagulant_is_on_record(evaluate):
    dvt = [condition(ICD, "I82.402", onset_days=20)]
    cards = evaluate(full_request(dvt))
    assert lines_of(cards, "venous-claudication") == [DVT_NONE]
    cards = evaluate(full_request(dvt, meds=[medication_request(APIXABAN_5)]))
    assert lines_of(cards, "venous-claudication") == [DVT_ON_RECORD]
    assert "apixaban 5 MG Oral Tablet (MedicationRequest)" in card(cards, "venous-claudication")["detail"]


def test_suspected_dvt_gets_no_anticoagulant_line(evaluate):
    cards = evaluate(full_request([condition(ICD, "I82.402", onset_days=3, verification="provisional")]))
    venous = card(cards, "venous-claudication")
    assert venous is not None and DVT_NONE not in venous["detail"] and DVT_ON_RECORD not in venous["detail"]


def test_a_refused_medication_key_removes_the_dvt_line(evaluate):
    body = full_request([condition(ICD, "I82.402", onset_days=20)], medicationStatements=REFUSED)
    assert lines_of(evaluate(body), "venous-claudication") == []


def test_therapy_rules_refuse_an_unknown_sign_or_medication_class(knowledge):
    import yaml
    from cds_service.config import REPO_ROOT
    data = yaml.safe_load((REPO_ROOT / "knowledge" / "therapy.yaml").read_text())
    data["therapy"]["claudication_signs"].append("no-such-sign")
    data["therapy"]["classes"]["statin"] = ["no-such-class"]
    with pytest.raises(therapy.TherapyRulesError) as err:
        therapy.parse(data, knowledge.rules, knowledge.medications.names)
    assert "no-such-sign" in str(err.value) and "no-such-class" in str(err.value)


def test_therapy_rules_need_each_line_with_its_source(knowledge):
    import yaml
    from cds_service.config import REPO_ROOT
    data = yaml.safe_load((REPO_ROOT / "knowledge" / "therapy.yaml").read_text())
    del data["therapy"]["lines"]["statin"]["source"]
    with pytest.raises(therapy.TherapyRulesError, match="statin needs text and source"):
        therapy.parse(data, knowledge.rules, knowledge.medications.names)
