"""Issue 24: assessment's derived findings and its per-leg bookkeeping, pinned rule by rule.

The latest word on a sign per leg, the ABI band per leg with its age, the side of the symptoms
and the combinations of the pattern table are each computed here from findings; a one-line slip
in any of them changes which card is raised and what it says. Findings are built directly so
each test shows the dates and legs it is about.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from cds_service import assessment, laterality
from cds_service.findings import Finding
from cds_service.rules import Combination, Sign, Weights
from builders import NOW


def _f(sign: str, days: float | None, *, present: bool = True, side=None, site=None, display: str | None = None,
       value: float | None = None, ref: str | None = None, resource_type: str = "Condition") -> Finding:
    return Finding(sign=sign, present=present, display=display or sign, reference=ref or f"{resource_type}/{sign}-{days}",
                   resource_type=resource_type, date=None if days is None else NOW - timedelta(days=days),
                   side=side, site=site, value=value)


# ---------------------------------------------------------------- latest word per leg (assessment._supersede)
def _kept(findings: list[Finding]) -> set[tuple]:
    return {(f.present, f.side, f.date) for f in assessment._supersede(findings)}


def test_rule_a_later_absent_replaces_an_earlier_present_on_the_same_leg_only():
    """Pulse absent on the left 20 days ago, present on the left 5 days ago: only the later word
    stands. The same later finding on the other leg leaves the left one alone."""
    old_left, new_left = _f("absent-pedal-pulse", 20, side="left"), _f("absent-pedal-pulse", 5, present=False, side="left")
    assert _kept([new_left, old_left]) == {(False, "left", new_left.date)}
    new_right = replace(new_left, side="right")
    assert _kept([old_left, new_right]) == {(True, "left", old_left.date), (False, "right", new_right.date)}


def test_rule_a_later_finding_without_a_side_speaks_for_both_legs_but_not_the_reverse():
    left, both = _f("absent-pedal-pulse", 20, side="left"), _f("absent-pedal-pulse", 5, present=False)
    assert _kept([left, both]) == {(False, None, both.date)}
    # an earlier finding with no side is not replaced by a later one on one leg: the other leg is unknown
    unsided, later_left = _f("absent-pedal-pulse", 20), _f("absent-pedal-pulse", 5, present=False, side="left")
    assert _kept([unsided, later_left]) == {(True, None, unsided.date), (False, "left", later_left.date)}


def test_rule_an_undated_finding_never_replaces_a_dated_one_and_a_dated_one_replaces_it():
    dated, undated = _f("absent-pedal-pulse", 20, side="left"), _f("absent-pedal-pulse", None, present=False, side="left")
    assert _kept([dated, undated]) == {(True, "left", dated.date)}
    later = _f("absent-pedal-pulse", 5, present=False, side="left")
    assert _kept([undated, later, dated]) == {(False, "left", later.date)}


def test_rule_repeated_findings_that_agree_are_all_kept():
    a, b = _f("absent-pedal-pulse", 20, side="left"), _f("absent-pedal-pulse", 5, side="left")
    assert _kept([a, b]) == {(True, "left", a.date), (True, "left", b.date)}


# ---------------------------------------------------------------- ABI per leg (assessment._abi_bands)
def _abi(value: float, days: float | None, side: str | None) -> Finding:
    return _f("ankle-brachial-index", days, side=side, value=value, resource_type="Observation")


def test_rule_each_leg_gets_its_latest_abi_band_lowest_first(knowledge):
    rules = knowledge.rules
    recent = rules.measurements["ankle-brachial-index"].recent_days
    out = assessment._abi_bands([_abi(1.10, 10, "right"), _abi(0.70, 30, "right"), _abi(0.95, 20, "left"),
                                 _abi(1.50, recent // 2, None)], rules, NOW)
    assert [(f.sign, f.side, f.value) for f in out] == [
        ("abi-borderline", "left", 0.95), ("abi-normal", "right", 1.10), ("abi-noncompressible", None, 1.50)]
    bands = {b.sign: b.label for b in rules.measurements["ankle-brachial-index"].bands}
    assert [f.note for f in out] == [bands["abi-borderline"], bands["abi-normal"], bands["abi-noncompressible"]]


def test_rule_an_old_abnormal_abi_stays_evidence_and_says_so_an_old_normal_one_says_nothing(knowledge):
    """Recent/stale: an abnormal ABI older than recent_days (or undated) is kept, labelled with its age;
    a normal one of the same age is dropped. At exactly recent_days it is still recent."""
    rules = knowledge.rules
    recent = rules.measurements["ankle-brachial-index"].recent_days
    label = {b.sign: b.label for b in rules.measurements["ankle-brachial-index"].bands}
    out = assessment._abi_bands([_abi(0.70, recent + 1, "left"), _abi(1.10, recent + 1, "right"), _abi(0.60, None, None)],
                                rules, NOW)
    assert [(f.sign, f.side, f.note) for f in out] == [
        ("abi-abnormal", None, f"{label['abi-abnormal']}; undated, still evidence"),
        ("abi-abnormal", "left", f"{label['abi-abnormal']}; older than {recent} days, still evidence")]
    (edge,) = assessment._abi_bands([_abi(1.10, recent, "right")], rules, NOW)
    assert (edge.sign, edge.note) == ("abi-normal", label["abi-normal"])


# ---------------------------------------------------------------- side of the symptoms (assessment._laterality)
def test_rule_symptoms_on_one_leg_or_both_are_a_derived_finding_dated_by_the_latest(knowledge):
    sign = next(iter(sorted(knowledge.rules.laterality_signs)))
    older, newer = _f(sign, 20, side="left", ref="Condition/old"), _f(sign, 5, side="left", ref="Condition/new")
    (one,) = assessment._laterality([older, newer, _f(sign, 1, present=False, side="right"), _f(sign, 2)], knowledge.rules)
    assert (one.sign, one.side, one.date, one.reference, one.present) == (
        laterality.UNILATERAL_SIGN, "left", newer.date, "Condition/new", True)
    assert one.display == "Symptoms or signs in the left leg only"
    assert one.resource_type == assessment.DERIVED
    (both,) = assessment._laterality([older, _f(sign, 3, side="right", ref="Condition/right")], knowledge.rules)
    assert (both.sign, both.side, both.date, both.reference) == (
        laterality.BILATERAL_SIGN, "bilateral", NOW - timedelta(days=3), "Condition/right")
    assert both.display == "Symptoms or signs in both legs"
    assert assessment._laterality([_f(sign, 2), _f("not-a-laterality-sign", 2, side="left")], knowledge.rules) == []


# ---------------------------------------------------------------- combinations (assessment._combinations)
@pytest.fixture
def combo_rules(knowledge):
    """The pattern table has no combination at present; the rule is pinned on one made for the test."""
    combo = Combination(id="combo", all_of=("anchor",), any_of=("partner", "other-partner"), within_days=14, recent_days=30)
    return replace(knowledge.rules, combinations={"combo": combo})


def _combined(findings, rules):
    return assessment._combinations(findings, rules, NOW)


def test_rule_a_combination_needs_its_anchor_and_a_partner_close_together_and_recent(combo_rules):
    anchor = _f("anchor", 10, side="left", site="calf", display="Absent pulse", ref="Condition/a")
    partner = _f("partner", 24, side="right", display="Pallor")
    (c,) = _combined([anchor, partner], combo_rules)
    assert (c.sign, c.present, c.reference, c.resource_type, c.date, c.site) == (
        "combo", True, "Condition/a", "Condition", anchor.date, "calf")
    assert c.side == "bilateral"  # the anchor's leg and the partner's
    assert c.display == "Absent pulse with Pallor within 14 days"


@pytest.mark.parametrize("anchor_days,partner_days,raised", [
    (30, 30, True),    # both exactly at the edge of recent_days: in
    (31, 30, False),   # anchor one day stale
    (30, 31, False),   # partner one day stale
    (1, 15, True),     # exactly within_days apart
    (1, 16, False),    # one day more apart
    (16, 1, False),    # the partner after the anchor, as far apart
])
def test_rule_a_combination_boundaries_recent_days_and_within_days(combo_rules, anchor_days, partner_days, raised):
    found = _combined([_f("anchor", anchor_days), _f("partner", partner_days)], combo_rules)
    assert bool(found) is raised


def test_rule_a_combination_ignores_absent_and_undated_findings_and_needs_every_anchor(combo_rules):
    assert _combined([_f("anchor", 5, present=False), _f("partner", 5)], combo_rules) == []
    assert _combined([_f("anchor", 5), _f("partner", 5, present=False)], combo_rules) == []
    assert _combined([_f("anchor", None), _f("partner", 5)], combo_rules) == []
    assert _combined([_f("anchor", 5), _f("partner", None)], combo_rules) == []
    two = replace(combo_rules, combinations={"combo": replace(combo_rules.combinations["combo"], all_of=("anchor", "second"))})
    assert _combined([_f("anchor", 5), _f("partner", 5)], two) == []
    assert len(_combined([_f("anchor", 5), _f("second", 6), _f("partner", 5)], two)) == 1


def test_rule_a_combination_names_each_partner_once_and_speaks_from_the_latest_anchor(combo_rules):
    anchors = [_f("anchor", 12, display="Old anchor", ref="Condition/old"), _f("anchor", 4, display="New anchor", ref="Condition/new")]
    partners = [_f("partner", 6, display="Pallor"), _f("partner", 7, display="Pallor"), _f("other-partner", 5, display="Cold foot")]
    (c,) = _combined(anchors + partners, combo_rules)
    assert c.display == "New anchor with Cold foot, Pallor within 14 days"
    assert (c.reference, c.date) == ("Condition/new", anchors[1].date)


# ---------------------------------------------------------------- scoring (assessment.assess)
def _assess(knowledge, findings):
    return assessment.assess(findings, knowledge.rules, NOW)


def test_rule_a_pattern_is_raised_at_min_score_with_a_discriminating_finding_and_strong_at_strong_score(knowledge):
    """Venous: varicose veins (2, discriminating) alone is short of min_score 3; with skin discolouration (1)
    it is exactly 3: raised, moderate. Venous claudication (3) on top reaches strong_score 6: strong."""
    rules = knowledge.rules
    assert (rules.min_score, rules.strong_score) == (3.0, 6.0)  # the numbers this test is built on
    varicose, skin, venous = _f("varicose-veins", 10), _f("skin-discolouration", 10), _f("venous-claudication", 10)
    pa = _assess(knowledge, [varicose]).patterns["venous-claudication"]
    assert (pa.support, pa.raised) == (2.0, False)
    pa = _assess(knowledge, [varicose, skin]).patterns["venous-claudication"]
    assert (pa.support, pa.score, pa.raised, pa.strength) == (3.0, 3.0, True, "moderate")
    pa = _assess(knowledge, [varicose, skin, venous]).patterns["venous-claudication"]
    assert (pa.score, pa.raised, pa.strength) == (6.0, True, "strong")
    pa = _assess(knowledge, [varicose, venous]).patterns["venous-claudication"]
    assert (pa.score, pa.strength) == (5.0, "moderate")


def test_rule_shared_signs_alone_never_raise_a_pattern(knowledge):
    """Leg swelling (2) and skin discolouration (1) reach min_score for venous but neither discriminates."""
    pa = _assess(knowledge, [_f("leg-swelling", 10), _f("skin-discolouration", 10)]).patterns["venous-claudication"]
    assert (pa.support, pa.discriminating, pa.raised, pa.strength) == (3.0, False, False, "none")


def test_rule_a_preliminary_finding_counts_only_when_it_is_a_red_flag(knowledge):
    prelim = replace(_f("venous-claudication", 5), certainty="preliminary")
    out = _assess(knowledge, [prelim, _f("varicose-veins", 5)])
    assert "venous-claudication" not in out.signs_present
    assert out.patterns["venous-claudication"].support == 2.0
    flag = replace(_f("cauda-equina", 1), certainty="preliminary")
    pa = _assess(knowledge, [flag]).patterns["neurogenic-claudication"]
    assert (pa.raised, pa.strength, pa.red_flags) == (True, "strong", [flag])


def test_rule_a_red_flag_that_needs_a_leg_is_one_only_with_a_side_or_a_leg_site(knowledge):
    """Compartment syndrome of an unnamed limb is evidence, not the critical red flag; on the left leg it is."""
    unsided = _f("compartment-syndrome", 1)
    pa = _assess(knowledge, [unsided]).patterns["musculoskeletal-leg-pain"]
    assert pa.red_flags == [] and pa.support == 4.0
    for leg in (replace(unsided, side="left"), replace(unsided, site="calf")):
        pa = _assess(knowledge, [leg]).patterns["musculoskeletal-leg-pain"]
        assert pa.red_flags == [leg] and (pa.raised, pa.strength) == (True, "strong")


def test_rule_work_done_keeps_the_latest_per_sign_and_only_a_recent_measurement(knowledge):
    recent = knowledge.rules.measurements["ankle-brachial-index"].recent_days
    old_bypass = replace(_f("limb-revascularisation", 200, resource_type="Procedure"), kind="done")
    new_bypass = replace(_f("limb-revascularisation", 20, resource_type="Procedure"), kind="done")
    order = replace(_f("order-venous-duplex", 2, resource_type="ServiceRequest"), kind="order")
    out = _assess(knowledge, [new_bypass, old_bypass, order, _abi(1.1, recent + 1, "left")])
    assert out.done == {"limb-revascularisation": new_bypass}
    assert out.ordered == frozenset({"order-venous-duplex"})
    out = _assess(knowledge, [old_bypass, new_bypass, _abi(1.1, recent, "left")])
    assert out.done["limb-revascularisation"] is new_bypass
    assert out.done["ankle-brachial-index"].value == 1.1


def test_rule_the_card_side_is_its_own_current_findings_never_history_and_a_red_flag_names_its_own(knowledge):
    """Other leg: claudication on the left, an old DVT (history) on the right: the venous card speaks of
    the left leg. A red flag on the right makes its card speak of the right leg."""
    venous = _f("venous-claudication", 10, side="left")
    history = _f("history-of-dvt", 300, side="right")
    pa = _assess(knowledge, [venous, history]).patterns["venous-claudication"]
    assert pa.side == "left"
    stenosis, cauda = _f("lumbar-spinal-stenosis", 10, side="left"), _f("cauda-equina", 1, side="right")
    assert _assess(knowledge, [stenosis, cauda]).patterns["neurogenic-claudication"].side == "right"
    assert _assess(knowledge, [_f("lumbar-spinal-stenosis", 10)]).patterns["neurogenic-claudication"].side is None


def test_rule_the_card_site_is_the_latest_specific_one_before_plain_leg(knowledge):
    findings = [_f("varicose-veins", 30, site="calf"), _f("venous-claudication", 20, site="thigh"),
                _f("skin-discolouration", 5, site="leg")]
    assert _assess(knowledge, findings).patterns["venous-claudication"].site == "thigh"
    assert _assess(knowledge, [_f("varicose-veins", 30, site="leg")]).patterns["venous-claudication"].site == "leg"
    assert _assess(knowledge, [_f("varicose-veins", 30)]).patterns["venous-claudication"].site is None


def test_rule_supporting_findings_are_listed_heaviest_first_then_newest_first(knowledge):
    findings = [_f("skin-discolouration", 2), _f("varicose-veins", 30), _f("venous-claudication", 40),
                _f("venous-ulcer", 10), _f("leg-swelling", 5, present=False)]
    pa = _assess(knowledge, findings).patterns["venous-claudication"]
    assert [e.finding.sign for e in pa.supporting] == ["venous-ulcer", "venous-claudication", "varicose-veins",
                                                       "skin-discolouration"]
    assert [e.finding.sign for e in _assess(knowledge, findings).patterns["arterial-claudication"].contrary] == []


def test_rule_a_card_is_exertional_only_through_a_present_exertional_finding_that_counts_for_it(knowledge):
    out = _assess(knowledge, [_f("venous-claudication", 10), _f("lumbar-spinal-stenosis", 10)])
    assert out.exertional is True
    assert out.patterns["venous-claudication"].exertional is True
    assert out.patterns["neurogenic-claudication"].exertional is False
    assert _assess(knowledge, [_f("varicose-veins", 10)]).exertional is False


# ---------------------------------------------------------------- survivors of the mutation run (issue 24, round 3)
def test_rule_without_an_abi_reading_rule_no_old_abi_band_lasts(knowledge):
    """A table with no abi_reading keeps no band past recent_days: an old abnormal ABI then says nothing."""
    rules = replace(knowledge.rules, abi_reading=None)
    recent = rules.measurements["ankle-brachial-index"].recent_days
    assert assessment._abi_bands([_abi(0.70, recent + 1, "left")], rules, NOW) == []
    (fresh,) = assessment._abi_bands([_abi(0.70, recent, "left")], rules, NOW)
    assert (fresh.sign, fresh.side) == ("abi-abnormal", "left")


def test_rule_an_abi_of_zero_is_the_lowest_reading_and_listed_first(knowledge):
    """An ABI of 0 (no ankle signal, an occluded artery) is the worst reading: it comes before 0.50."""
    out = assessment._abi_bands([_abi(0.50, 10, "right"), _abi(0.0, 10, "left")], knowledge.rules, NOW)
    assert [(f.sign, f.side, f.value) for f in out] == [("abi-abnormal", "left", 0.0), ("abi-abnormal", "right", 0.50)]


def test_rule_a_later_pain_score_does_not_hide_the_abi(knowledge):
    """Only ABI readings compete for the latest ABI: a pain score of 8/10 recorded after an abnormal ABI
    (both without a side) leaves the abnormal ABI as arterial evidence."""
    abi = _abi(0.70, 30, None)
    pain = _f("pain-severity", 1, value=8.0, resource_type="Observation")
    out = _assess(knowledge, [abi, pain])
    assert "abi-abnormal" in out.signs_present
    assert [e.finding.sign for e in out.patterns["arterial-claudication"].supporting] == ["abi-abnormal"]


def test_rule_each_combination_is_judged_on_its_own(combo_rules):
    """A combination whose anchor is missing does not stop the next combination from being found."""
    first = Combination(id="first", all_of=("missing-anchor",), any_of=("partner",), within_days=14, recent_days=30)
    rules = replace(combo_rules, combinations={"first": first, **combo_rules.combinations})
    found = _combined([_f("anchor", 5), _f("partner", 5)], rules)
    assert [c.sign for c in found] == ["combo"]


def test_rule_symptoms_in_both_legs_are_shown_as_derived_not_as_a_record(knowledge):
    """The bilateral-symptoms finding is computed: the card shows it as derived from the findings above."""
    sign = next(iter(sorted(knowledge.rules.laterality_signs)))
    (both,) = assessment._laterality([_f(sign, 5, side="left"), _f(sign, 3, side="right")], knowledge.rules)
    assert (both.sign, both.resource_type) == (laterality.BILATERAL_SIGN, assessment.DERIVED)


def test_rule_a_borderline_abi_discriminates_only_with_exertional_symptoms(knowledge):
    """Borderline ABI (1), pallor (1), cramp (1) and symptoms in the left leg only (1) reach min_score but,
    with no exertional symptom, a borderline ABI is not a discriminating finding: no arterial card."""
    findings = [_abi(0.95, 10, "left"), _f("pallor", 10, side="left"), _f("cramp-spasm", 10, side="left")]
    pa = _assess(knowledge, findings).patterns["arterial-claudication"]
    assert (pa.support, pa.discriminating, pa.raised, pa.strength) == (4.0, False, False, "none")


def test_rule_an_exertional_symptom_does_not_make_shared_signs_discriminating(knowledge):
    """Swelling (2) and skin discolouration (1) with pain after a few steps (exertional, no weight) still
    have no venous diagnosis, pulse finding or venous code: no venous card."""
    findings = [_f("leg-swelling", 10), _f("skin-discolouration", 10),
                _f("reported-pain-after-few-steps", 2, resource_type="QuestionnaireResponse")]
    out = _assess(knowledge, findings)
    assert out.exertional is True
    pa = out.patterns["venous-claudication"]
    assert (pa.support, pa.discriminating, pa.raised) == (3.0, False, False)


def test_rule_a_discriminating_finding_of_weight_one_still_discriminates(knowledge):
    """Pain in one leg (reported; discriminating, venous 1) with leg swelling (2) reaches min_score 3:
    the venous card is raised, moderate."""
    findings = [_f("reported-pain-one-leg", 2, resource_type="QuestionnaireResponse"), _f("leg-swelling", 10)]
    pa = _assess(knowledge, findings).patterns["venous-claudication"]
    assert (pa.support, pa.score, pa.discriminating, pa.raised, pa.strength) == (3.0, 3.0, True, True, "moderate")


def test_rule_a_finding_listed_with_weight_zero_does_not_discriminate_for_that_card(knowledge):
    """A mimic listed on a card with weight 0 (a muscle strain shown on the arterial card) never makes that
    card discriminating: pallor, cramp and cool leg (3 points, none discriminating) raise no arterial card."""
    rules = knowledge.rules
    strain = rules.signs["muscle-strain"]
    weights = replace(strain.present, supports={**strain.present.supports, "arterial-claudication": 0})
    rules = replace(rules, signs={**rules.signs, "muscle-strain": replace(strain, present=weights)})
    findings = [_f("muscle-strain", 5), _f("pallor", 5), _f("cramp-spasm", 5),
                _f("cool-leg", 2, resource_type="QuestionnaireResponse")]
    out = assessment.assess(findings, rules, NOW)
    pa = out.patterns["arterial-claudication"]
    assert (pa.support, pa.discriminating, pa.raised) == (3.0, False, False)


@pytest.fixture
def pallor_flag_rules(knowledge):
    """No sign uses red_flag_requires_any at present: pallor made a red flag only with diabetes, for the test."""
    pallor = replace(knowledge.rules.signs["pallor"], red_flag="arterial-claudication",
                     red_flag_requires_any=("diabetes",))
    return replace(knowledge.rules, signs={**knowledge.rules.signs, "pallor": pallor})


def test_rule_a_red_flag_that_requires_a_companion_sign_is_one_only_with_it(pallor_flag_rules):
    """Pallor alone is evidence; pallor with its companion sign (diabetes) is the red flag that raises the card."""
    pallor = _f("pallor", 2, side="left")
    pa = assessment.assess([pallor], pallor_flag_rules, NOW).patterns["arterial-claudication"]
    assert (pa.red_flags, pa.raised) == ([], False)
    pa = assessment.assess([pallor, _f("diabetes", 400)], pallor_flag_rules, NOW) \
        .patterns["arterial-claudication"]
    assert (pa.red_flags, pa.raised, pa.strength) == ([pallor], True, "strong")


def test_rule_a_pattern_is_raised_when_its_support_outweighs_the_evidence_against_by_one(knowledge):
    """Varicose veins (2) and skin discolouration (1) against swelling recorded absent (2): score 1 > 0,
    the venous card is raised, moderate."""
    findings = [_f("varicose-veins", 10), _f("skin-discolouration", 10), _f("leg-swelling", 10, present=False)]
    pa = _assess(knowledge, findings).patterns["venous-claudication"]
    assert (pa.support, pa.score, pa.raised, pa.strength) == (3.0, 1.0, True, "moderate")


def test_rule_a_finding_that_adds_nothing_to_a_card_does_not_name_its_leg(knowledge):
    """Venous claudication in the left leg and leg pain (weight 0) in the right: the venous card speaks
    of the left leg, not both."""
    findings = [_f("venous-claudication", 10, side="left"), _f("leg-pain", 5, side="right")]
    pa = _assess(knowledge, findings).patterns["venous-claudication"]
    assert (pa.raised, pa.side) == (True, "left")


def test_rule_a_finding_worth_one_point_names_the_cards_leg_and_exertion(knowledge):
    """Varicose veins on the left (2) and skin discolouration on the right (1): the venous card speaks of
    both legs. Pain from the start of walking (reported, venous 1) makes the card exertional."""
    findings = [_f("varicose-veins", 10, side="left"), _f("skin-discolouration", 10, side="right")]
    assert _assess(knowledge, findings).patterns["venous-claudication"].side == "bilateral"
    walking = _f("reported-pain-from-start-of-walking", 2, resource_type="QuestionnaireResponse")
    pa = _assess(knowledge, [_f("varicose-veins", 10), walking]).patterns["venous-claudication"]
    assert pa.exertional is True


def test_rule_undated_findings_are_listed_after_dated_ones_of_the_same_weight(knowledge):
    """Skin discolouration with no date and burning pain (reported, 30 days ago), both worth 1 on the
    venous card: the dated one is listed first; varicose veins (2) stays on top."""
    findings = [_f("skin-discolouration", None), _f("varicose-veins", 40),
                _f("reported-pain-burning-tightness", 30, resource_type="QuestionnaireResponse")]
    pa = _assess(knowledge, findings).patterns["venous-claudication"]
    assert [e.finding.sign for e in pa.supporting] == ["varicose-veins", "reported-pain-burning-tightness",
                                                       "skin-discolouration"]


def test_rule_a_combination_becomes_evidence_for_its_card(knowledge):
    """A combination (made for the test: varicose veins with skin discolouration within 14 days) is derived by
    the assessment from the current findings and counts on the venous card."""
    combo = Combination(id="veins-and-skin", all_of=("varicose-veins",), any_of=("skin-discolouration",),
                        within_days=14, recent_days=30)
    sign = Sign(id="veins-and-skin", derived=True, present=Weights(supports={"venous-claudication": 2}))
    rules = replace(knowledge.rules, combinations={combo.id: combo}, signs={**knowledge.rules.signs, sign.id: sign})
    out = assessment.assess([_f("varicose-veins", 5), _f("skin-discolouration", 3)], rules, NOW)
    assert "veins-and-skin" in out.signs_present
    pa = out.patterns["venous-claudication"]
    assert {(e.finding.sign, e.weight) for e in pa.supporting} == {
        ("veins-and-skin", 2), ("varicose-veins", 2), ("skin-discolouration", 1)}
    assert (pa.support, pa.raised, pa.strength) == (5.0, True, "moderate")
