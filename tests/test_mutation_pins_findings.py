"""Issue 24: what findings.extract makes of each resource, pinned field by field.

A finding carries its date, leg, site, certainty and the resource it came from into the card
(the dated lines a clinician checks) and into governance (the card log); a slip that drops
one of them changes what the card says. Each test names the rule it pins.
"""
from __future__ import annotations

from datetime import datetime

from cds_service import dates, findings, records
from builders import ICD, LNC, NOW, PATIENT, SCT, abi, condition, days_ago, observation, procedure, service_request

LEFT_CALF = [{"coding": [{"system": SCT, "code": "53840002:272741003=7771000"}]}]
LEFT_DVT, BYPASS, VENOUS_DUPLEX, ABI = "I82.402", "112828007", "39420-5", "77194-9"
DATA_ABSENT = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "not-performed"}]}


def extract(knowledge, resources):
    intake = records.select(resources, knowledge.terminology, PATIENT)
    return findings.extract(intake.records, knowledge.rules, knowledge.terminology, NOW)


def _at(days: float) -> datetime:
    parsed = dates.parse(days_ago(days))
    assert parsed is not None
    return parsed


# ---------------------------------------------------------------- history (findings._history)
def test_rule_a_resolved_dvt_is_history_dated_by_its_abatement_on_its_own_leg_and_site(knowledge):
    """A resolved DVT says 'history of DVT', dated when it resolved (not when it began), on the leg
    and site recorded, still marked unconfirmed when it was, and names the Condition it came from."""
    dvt = condition(ICD, LEFT_DVT, clinical="resolved", verification="provisional", onset_days=90, abated_days=20,
                    body_site=LEFT_CALF, rid="dvt-1")
    out = extract(knowledge, [dvt])
    (f,) = out.findings
    history = knowledge.rules.signs["deep-vein-thrombosis"].history_sign
    assert (f.sign, f.present, f.kind, f.resource_type, f.reference) == (history, True, "evidence", "Condition", "Condition/dvt-1")
    assert f.display.endswith(" (history)")
    assert (f.date, f.side, f.site, f.certainty) == (_at(20), "left", "calf", "unconfirmed")
    assert f.code == LEFT_DVT  # the code travels with the history (the arterial rules read codes that state no limb)
    assert not out.excluded


def test_rule_an_active_dvt_past_its_window_is_history_dated_by_its_onset(knowledge):
    """Same leg, stale: a DVT from last year is history of DVT, never dropped."""
    window = knowledge.rules.signs["deep-vein-thrombosis"].lookback_days
    out = extract(knowledge, [condition(ICD, LEFT_DVT, onset_days=window + 30, body_site=LEFT_CALF, rid="dvt-2")])
    (f,) = out.findings
    assert (f.sign, f.reference, f.resource_type) == ("history-of-dvt", "Condition/dvt-2", "Condition")
    assert (f.date, f.side, f.site, f.certainty) == (_at(window + 30), "left", "calf", None)


# ---------------------------------------------------------------- ABI readings (findings._measurement)
def test_rule_an_abi_reading_names_its_observation_leg_site_and_unit(knowledge):
    """The unit shown is the quantity's unit, else its UCUM code."""
    unit_only = abi(0.95, "right", days=12)
    unit_only["valueQuantity"] = {"value": 0.95, "unit": "ratio"}
    out = extract(knowledge, [abi(0.72, "left", days=12, rid="abi-1"), unit_only])
    f, right = out.findings
    assert (f.sign, f.present, f.kind, f.value, f.unit) == ("ankle-brachial-index", True, "evidence", 0.72, "{ratio}")
    assert (f.reference, f.resource_type, f.date, f.side, f.site) == ("Observation/abi-1", "Observation", _at(12), "left", "leg")
    assert (right.side, right.value, right.unit) == ("right", 0.95, "ratio")


def test_rule_an_abi_of_0_is_a_reading_and_10_or_more_an_entry_error(knowledge):
    """An ABI of 0.00 (no ankle pressure to be heard) is the most abnormal reading there is, never an
    error; 10 and above is a unit or entry error (a 0.72 typed as 72), boundary included."""
    out = extract(knowledge, [abi(0.0, "left"), abi(9.99, "right"), abi(10.0, "left"), abi(10.5, "right")])
    assert sorted((f.side, f.value) for f in out.findings) == [("left", 0.0), ("right", 9.99)]
    assert out.excluded == {"observation-implausible-value": 2}


def _components(*components: dict, text: str | None = None, body_site: dict | None = None) -> dict:
    return observation(LNC, ABI, text=text, body_site=body_site, component=list(components))


def _component(value: float | None = None, *, code: str = ABI, text: str | None = None, **extra) -> dict:
    c: dict = {"code": {"coding": [{"system": LNC, "code": code}]}, **extra}
    if text:
        c["code"]["text"] = text
    if value is not None:
        c["valueQuantity"] = {"value": value, "code": "{ratio}"}
    return c


def test_rule_abi_components_of_another_measure_are_not_read_as_an_abi(knowledge):
    """A systolic pressure (8480-6, not an ABI code) inside an ABI panel is no ABI of 120."""
    out = extract(knowledge, [_components(_component(0.8, text="Left ABI"), _component(120, code="8480-6"))])
    assert [(f.side, f.value) for f in out.findings] == [("left", 0.8)]
    assert not out.excluded


def test_rule_an_abi_component_with_data_absent_reason_is_no_reading(knowledge):
    out = extract(knowledge, [_components(_component(text="Left ABI", dataAbsentReason=DATA_ABSENT))])
    assert out.findings == []
    assert out.excluded == {"observation-no-value": 1}


def test_rule_a_component_without_a_value_or_implausible_does_not_hide_the_next_one(knowledge):
    """One unusable leg of a panel is skipped, the other leg's reading is still read."""
    empty = _component(text="Left ABI", valueQuantity={"code": "{ratio}"})
    out = extract(knowledge, [_components(empty, _component(0.8, text="Right ABI"))])
    assert [(f.side, f.value) for f in out.findings] == [("right", 0.8)]
    assert out.excluded == {"observation-no-value": 1}
    out = extract(knowledge, [_components(_component(72, text="Left ABI"), _component(0.8, text="Right ABI"))])
    assert [(f.side, f.value) for f in out.findings] == [("right", 0.8)]
    assert out.excluded == {"observation-implausible-value": 1}


def test_rule_a_component_takes_its_leg_from_the_panel_site_or_the_panel_name(knowledge):
    """Components that do not name a leg: the panel's bodySite (same leg), else its code text, says which."""
    left_limb = {"coding": [{"system": SCT, "code": "32153003"}]}
    (f,) = extract(knowledge, [_components(_component(0.8), body_site=left_limb)]).findings
    assert (f.side, f.site) == ("left", "leg")
    (f,) = extract(knowledge, [_components(_component(0.8), text="Right ankle-brachial index")]).findings
    assert f.side == "right"


# ---------------------------------------------------------------- presence (findings._presence)
def test_rule_a_finding_recorded_true_or_positive_is_present(knowledge):
    """valueBoolean true and a POS interpretation both mean the sign was found (absent pulse: present)."""
    out = extract(knowledge, [observation(SCT, "102572006", value={"valueBoolean": True}),
                              observation(SCT, "102572006", interpretation="POS")])
    assert [f.present for f in out.findings] == [True, True]


# ---------------------------------------------------------------- procedures (findings.procedure)
def test_rule_a_revascularisation_is_work_done_on_its_own_leg_and_site(knowledge):
    p = procedure(SCT, BYPASS, days=20, body_site=LEFT_CALF)
    p["id"] = "bypass-1"
    (f,) = extract(knowledge, [p]).findings
    assert (f.sign, f.present, f.kind, f.reference, f.resource_type) == (
        "limb-revascularisation", True, "done", "Procedure/bypass-1", "Procedure")
    assert f.display == "Femoral-popliteal artery bypass graft"
    assert (f.date, f.side, f.site) == (_at(20), "left", "calf")


def test_rule_a_procedure_names_its_leg_in_its_text_and_is_dated_by_its_period(knowledge):
    """Other leg, same rule: a bypass whose code text says 'right' treats the right leg only; a
    procedure with a performed period (no performedDateTime) is dated by its start."""
    p = procedure(SCT, BYPASS)
    p["code"]["text"] = "Right femoral-popliteal bypass"
    del p["performedDateTime"]
    p["performedPeriod"] = {"start": days_ago(15), "end": days_ago(14)}
    (f,) = extract(knowledge, [p]).findings
    assert (f.side, f.date) == ("right", _at(15))


def test_rule_a_procedure_not_completed_stale_or_undated_is_counted_by_reason(knowledge):
    exam = "401191002"  # a diabetic foot examination: its lookback window applies
    window = knowledge.rules.signs["diabetic-foot-examination"].lookback_days
    undated = procedure(SCT, exam)
    del undated["performedDateTime"]
    out = extract(knowledge, [procedure(SCT, BYPASS, status="not-done"), procedure(SCT, exam, days=window + 1), undated])
    assert out.findings == []
    assert out.excluded == {"procedure-not-done": 1, "procedure-stale": 1, "procedure-undated": 1}


# ---------------------------------------------------------------- orders (findings.service_request)
def test_rule_an_open_order_is_an_order_finding_dated_when_it_was_placed(knowledge):
    order = service_request(LNC, VENOUS_DUPLEX)
    order.update(id="order-1", authoredOn=days_ago(3))
    out = extract(knowledge, [order, service_request(LNC, VENOUS_DUPLEX, status="revoked")])
    (f,) = out.findings
    assert (f.sign, f.present, f.kind, f.reference, f.resource_type, f.date) == (
        "order-venous-duplex", True, "order", "ServiceRequest/order-1", "ServiceRequest", _at(3))
    assert f.display == "US.doppler Lower extremity vein - bilateral"
    assert out.excluded == {"servicerequest-revoked": 1}


# ---------------------------------------------------------------- conditions (findings.condition)
def test_rule_any_kind_of_abatement_makes_a_condition_history(knowledge):
    """Abated is abated whatever the abatement[x] says: a date, an age, a period, a range or a text."""
    for abatement in ({"abatementDateTime": days_ago(20)}, {"abatementAge": {"value": 60, "unit": "a"}},
                      {"abatementPeriod": {"start": days_ago(25), "end": days_ago(20)}},
                      {"abatementRange": {"low": {"value": 59, "unit": "a"}}}, {"abatementString": "last spring"}):
        dvt = condition(ICD, LEFT_DVT, onset_days=60) | abatement
        (f,) = extract(knowledge, [dvt]).findings
        assert f.sign == "history-of-dvt", abatement


def test_rule_a_condition_is_dated_by_onset_then_onset_period_then_recorded_date(knowledge):
    window = knowledge.rules.signs["deep-vein-thrombosis"].lookback_days
    by_period = condition(ICD, LEFT_DVT, onset_days=None) | {"onsetPeriod": {"start": days_ago(window + 10)}}
    by_recorded = condition(ICD, LEFT_DVT, onset_days=None) | {"recordedDate": days_ago(window + 10)}
    for dvt in (by_period, by_recorded):
        (f,) = extract(knowledge, [dvt]).findings
        assert (f.sign, f.date) == ("history-of-dvt", _at(window + 10))  # stale by that date: history


def test_rule_a_current_condition_names_its_resource_site_and_the_leg_in_its_text(knowledge):
    (f,) = extract(knowledge, [condition(SCT, "63491006", body_site=LEFT_CALF, rid="ic-1")]).findings
    assert (f.reference, f.resource_type, f.side, f.site) == ("Condition/ic-1", "Condition", "left", "calf")
    (f,) = extract(knowledge, [condition(SCT, "63491006", text="Claudication, right leg")]).findings
    assert f.side == "right"
    text_site = [{"text": "left calf"}]
    (f,) = extract(knowledge, [condition(SCT, "63491006", body_site=text_site)]).findings
    assert f.side == "left"


# ---------------------------------------------------------------- plain Observations (findings._Extractor.observation)
PALLOR, FOOT_EXAM, PAIN_SCORE, SWELLING, LEFT_LEG = "398979000", "401191002", "72514-3", "102572006", "32153003"
LEFT_LIMB = {"coding": [{"system": SCT, "code": LEFT_LEG}]}


def test_rule_an_observation_finding_names_its_resource_leg_date_and_no_value(knowledge):
    out = extract(knowledge, [observation(SCT, PALLOR, days=12, body_site=LEFT_LIMB, rid="pal-1")])
    (f,) = out.findings
    assert (f.sign, f.present, f.kind, f.reference, f.resource_type) == ("pallor", True, "evidence", "Observation/pal-1",
                                                                          "Observation")
    assert (f.date, f.side, f.certainty, f.value, f.unit) == (_at(12), "left", None, None, None)


def test_rule_an_observation_is_dated_by_effective_then_instant_then_period_start_then_issued(knowledge):
    def dated(**when):
        (f,) = extract(knowledge, [observation(SCT, PALLOR, days=None, **when)]).findings
        return f.date
    assert dated(effectiveInstant=days_ago(5), issued=days_ago(1)) == _at(5)
    assert dated(effectivePeriod={"start": days_ago(7), "end": days_ago(6)}, issued=days_ago(1)) == _at(7)
    assert dated(effectivePeriod={"end": days_ago(6)}, issued=days_ago(2)) == _at(2)  # a period with no start
    assert dated(issued=days_ago(3)) == _at(3)
    assert dated(effectiveDateTime=days_ago(4), issued=days_ago(1)) == _at(4)


def test_rule_an_unusable_observation_is_excluded_under_its_own_status(knowledge):
    out = extract(knowledge, [observation(SCT, PALLOR, status="registered"), observation(SCT, PALLOR, status="cancelled"),
                              observation(SCT, PALLOR, status="preliminary")])
    assert out.findings == []
    assert out.excluded == {"observation-registered": 1, "observation-cancelled": 1, "observation-preliminary": 1}


def test_rule_a_preliminary_red_flag_observation_is_kept_and_marked_preliminary(knowledge):
    """Only a red-flag sign may act on a preliminary result, and its line then says so. No sign read
    from Observations is a red flag in today's knowledge, so the rule is pinned on pallor made one."""
    from dataclasses import replace
    signs = dict(knowledge.rules.signs)
    signs["pallor"] = replace(signs["pallor"], red_flag="arterial-claudication")
    rules = replace(knowledge.rules, signs=signs)
    intake = records.select([observation(SCT, PALLOR, status="preliminary", rid="p-1"), observation(SCT, PALLOR, rid="p-2")],
                            knowledge.terminology, PATIENT)
    out = findings.extract(intake.records, rules, knowledge.terminology, NOW)
    assert [(f.reference, f.certainty) for f in out.findings] == [("Observation/p-1", "preliminary"), ("Observation/p-2", None)]


def test_rule_a_done_marker_observation_is_a_dated_done_finding(knowledge):
    out = extract(knowledge, [observation(SCT, FOOT_EXAM, days=40, rid="exam-1")])
    (f,) = out.findings
    assert (f.sign, f.present, f.kind, f.reference, f.resource_type, f.date) == (
        "diabetic-foot-examination", True, "done", "Observation/exam-1", "Observation", _at(40))
    assert f.display and f.display == knowledge.terminology.lookup(SCT, FOOT_EXAM).display.split(" (")[0]


def test_rule_a_finding_named_by_the_value_is_present_whatever_the_interpretation(knowledge):
    """The value names the finding ("exam finding: swelling of left leg"); a normal/negative flag on such
    a result describes the result against a range, and the finding recorded is still the swelling."""
    as_value = observation(LNC, "8716-3", value={"valueCodeableConcept": {"coding": [{"system": SCT, "code": SWELLING}]}},
                           interpretation="N")
    as_code = observation(SCT, SWELLING, interpretation="N")
    out = extract(knowledge, [as_value, as_code])
    assert [(f.sign, f.present) for f in out.findings] == [("leg-swelling", True), ("leg-swelling", False)]


def test_rule_a_pain_score_keeps_its_value_and_unit_and_needs_a_plausible_value(knowledge):
    def score(value):
        return observation(LNC, PAIN_SCORE, value={"valueQuantity": value} if value is not None else None, days=1)
    out = extract(knowledge, [score({"value": 8, "unit": "score"}), score({"value": 6, "code": "{score}"})])
    assert [(f.value, f.unit, f.resource_type) for f in out.findings] == [(8.0, "score", "Observation"),
                                                                           (6.0, "{score}", "Observation")]
    assert isinstance(out.findings[0].value, float)
    out = extract(knowledge, [score(None), score({"unit": "score"}), score({"value": 11}), score({"value": -1})])
    assert out.findings == []
    assert out.excluded == {"observation-no-value": 2, "observation-implausible-value": 2}


def test_rule_a_resource_without_an_id_is_named_by_its_type_alone(knowledge):
    no_id = condition(SCT, "63491006")
    del no_id["id"]
    (f,) = extract(knowledge, [no_id]).findings
    assert f.reference == "Condition"


def test_rule_a_stale_unconfirmed_dvt_is_history_still_marked_unconfirmed(knowledge):
    window = knowledge.rules.signs["deep-vein-thrombosis"].lookback_days
    (f,) = extract(knowledge, [condition(ICD, LEFT_DVT, verification="provisional", onset_days=window + 30)]).findings
    assert (f.sign, f.certainty) == ("history-of-dvt", "unconfirmed")


def test_rule_a_condition_with_a_clinical_status_the_service_does_not_know_is_excluded_saying_so(knowledge):
    bogus = condition(SCT, "63491006", clinical="bogus", rid="bogus")
    out = extract(knowledge, [bogus, condition(SCT, "63491006", clinical=None, rid="no-status")])
    assert [f.reference for f in out.findings] == ["Condition/no-status"]  # no status at all: current (an encounter diagnosis)
    assert out.excluded == {"condition-status-unknown": 1}


def test_rule_a_date_up_to_one_day_ahead_is_kept_beyond_it_is_future_dated(knowledge):
    from datetime import timedelta
    at_edge = observation(SCT, PALLOR, days=None, effectiveDateTime=(NOW + timedelta(days=1)).isoformat())
    beyond = observation(SCT, PALLOR, days=None, effectiveDateTime=(NOW + timedelta(days=1, seconds=1)).isoformat())
    out = extract(knowledge, [at_edge, beyond])
    assert len(out.findings) == 1 and out.excluded == {"observation-future-dated": 1}


def test_rule_a_code_in_a_resource_its_sign_is_not_read_from_is_excluded_saying_so(knowledge):
    """Peripheral arterial disease is a diagnosis: an Observation coded with it is not read as one."""
    out = extract(knowledge, [observation(SCT, "840580004"), observation(SCT, "399957001")])
    assert out.findings == [] and out.excluded == {"observation-not-read-for-sign": 2}
