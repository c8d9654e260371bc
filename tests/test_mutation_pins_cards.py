"""Issue 24: how a card shows its findings, pinned line by line (cards.py).

Each listed finding is a dated line a clinician reads to check the card against the record:
its value and unit, its leg, its site, 'recorded as absent', its certainty and its note, and the
resource it came from. A slip that drops any of them changes what the clinician is told.
"""
from __future__ import annotations

from datetime import timedelta

from cds_service import cards, dates
from cds_service.assessment import Evidence
from cds_service.findings import Finding
from builders import NOW


def _f(display: str = "Claudication", **kw) -> Finding:
    base = dict(sign="s", present=True, display=display, reference="Condition/1", resource_type="Condition",
                date=NOW - timedelta(days=3))
    return Finding(**(base | kw))


def test_rule_a_finding_line_names_date_leg_site_absence_certainty_note_and_source():
    line = cards._finding_line(_f(side="left", site="calf", present=False, certainty="unconfirmed", note="a note"))
    assert line == f"- {dates.show(NOW - timedelta(days=3))}: Claudication, left calf, recorded as absent, " \
                   "unconfirmed, a note (Condition)"


def test_rule_a_finding_line_says_both_legs_and_leaves_out_what_is_not_there():
    assert cards._finding_line(_f(side="bilateral", site="leg")) == \
        f"- {dates.show(NOW - timedelta(days=3))}: Claudication, both legs (Condition)"
    assert cards._finding_line(_f(date=None, side="right")).startswith(f"- {dates.show(None)}: Claudication, right leg")


def test_rule_a_finding_that_names_its_leg_is_not_told_the_leg_twice():
    line = cards._finding_line(_f("Ulcer of left lower extremity", side="left"))
    assert "left leg" not in line and line.endswith("Ulcer of left lower extremity (Condition)")


def test_rule_a_measured_value_shows_two_decimals_and_a_real_unit_only():
    """An ABI is a ratio: '{ratio}', '1', '{index}' and '{score}' are not shown; mm[Hg] is."""
    for unit in ("1", "{ratio}", "{index}", "{score}", None):
        assert cards._finding_line(_f("ABI", value=0.7, unit=unit, resource_type="Observation")).endswith(
            "ABI, 0.70 (Observation)"), unit
    assert cards._finding_line(_f("Ankle pressure", value=52, unit="mm[Hg]")).endswith("Ankle pressure, 52.00 mm[Hg] (Condition)")
    assert cards._finding_line(_f("ABI", value=0.0, unit="{ratio}")).endswith("ABI, 0.00 (Condition)")


def test_rule_a_card_lists_eight_findings_and_counts_the_rest():
    items = [Evidence(_f(f"Finding {i}"), 1.0) for i in range(10)]
    lines = cards._lines(items)
    assert len(lines) == 9 and lines[-1] == "- and 2 more"
    assert [line.split(": ")[1].split(" (")[0] for line in lines[:8]] == [f"Finding {i}" for i in range(8)]
    assert len(cards._lines(items[:8])) == 8
    assert cards._lines([]) == ["- None recorded."]


def test_rule_the_card_says_where_with_a_capital_first_word():
    """The summary names the leg, never the site (issue 17 vascular review, item 9)."""
    assert cards._where("left", "calf") == "Left leg"
    assert cards._where("right", None) == "Right leg"
    assert cards._where("bilateral", None) == "Bilateral leg"
    assert cards._where(None, "calf") == "Leg"
    assert cards._where(None, None) == "Leg"


def test_rule_a_summary_of_139_characters_is_kept_whole_140_is_cut():
    assert cards._summary("x" * 139) == "x" * 139
    cut = cards._summary("word " * 28)  # 140 characters
    assert len(cut) < cards.SUMMARY_LIMIT and cut.endswith("…") and not cut[:-1].endswith(" ")


# ---------------------------------------------------------------- suggested orders (cards._suggestion)
def _order(**kw):
    import orjson

    from cds_service.templates import Suggestion
    resource = {"resourceType": "ServiceRequest", "status": "draft", "intent": "proposal"}
    return Suggestion(id="abi", label="Order an ABI", resource=resource, resource_json=orjson.dumps(resource), **kw)


def _ctx(user: str | None):
    return cards.CardContext(hook_instance="hook-1", patient_id="pat-9", user_id=user)


def test_rule_a_suggested_order_is_for_this_patient_requested_by_the_clinician_only():
    """A Practitioner or PractitionerRole user becomes the order's requester; a patient or a related
    person using the app never does, nor does no user."""
    import uuid
    card_uuid = uuid.uuid5(cards.CARD_NAMESPACE, "hook-1:arterial-claudication")
    for user in ("Practitioner/dr-1", "PractitionerRole/role-1"):
        s = cards._suggestion(_order(), _ctx(user), card_uuid, "Claudication")
        assert s["actions"][0]["resource"]["requester"] == {"reference": user}
    for user in ("Patient/pat-9", "RelatedPerson/rp-1", None):
        s = cards._suggestion(_order(), _ctx(user), card_uuid, "Claudication")
        assert "requester" not in s["actions"][0]["resource"], user
    s = cards._suggestion(_order(), _ctx(None), card_uuid, "Claudication")
    assert s == {"label": "Order an ABI", "uuid": str(uuid.uuid5(card_uuid, "abi")), "isRecommended": True,
                 "actions": [{"type": "create", "description": "Order an ABI", "resource": {
                     "resourceType": "ServiceRequest", "status": "draft", "intent": "proposal",
                     "subject": {"reference": "Patient/pat-9"},
                     "reasonCode": [{"text": "Claudication (decision support)"}]}}]}
    own = cards._suggestion(_order(reason="Fixed reason"), _ctx(None), card_uuid, "Claudication")
    assert own["actions"][0]["resource"]["reasonCode"] == [{"text": "Fixed reason"}]


# ---------------------------------------------------------------- variant conditions (cards._holds)
def test_rule_a_variant_condition_on_situations_all_none_and_any(knowledge):
    from cds_service.assessment import Assessment, PatternAssessment
    pa = PatternAssessment(pattern="arterial-claudication", situations=frozenset({"a", "b"}))
    whole = Assessment(patterns={}, signs_present=frozenset({"x"}), exertional=False, done={}, ordered=frozenset())
    holds = [({"situations_all": ["a", "b"]}, True), ({"situations_all": ["a", "c"]}, False),
             ({"situations_none": ["c"]}, True), ({"situations_none": ["b", "c"]}, False),
             ({"situations_any": ["c", "b"]}, True), ({"situations_any": ["c"]}, False),
             ({"signs_any": ["x"]}, True), ({"signs_any": ["y"]}, False),
             ({"exertional": False}, True), ({"exertional": True}, False),
             ({"red_flags_any": ["cauda-equina"]}, False), ({}, True)]
    for when, expected in holds:
        assert cards._holds(when, pa, whole) is expected, when


def _pa_with(finding_side, card_side=None, abi_side=None, site="calf", present=True):
    from cds_service.assessment import PatternAssessment
    abi = _f("ABI", side=abi_side, resource_type="Observation") if abi_side is not False else None
    return PatternAssessment(pattern="p", side=card_side, abi=abi,
                             supporting=[Evidence(_f(side=finding_side, site=site, present=present), 0.0)])


def test_rule_a_sited_variant_reads_the_site_on_the_cards_leg_only():
    """A calf finding picks the calf wording only on the leg the card speaks of: the ABI's leg when it
    has one, else the card's own; a finding or card on both legs or on no leg is on every leg."""
    calf = frozenset({"calf"})
    assert cards._sited(_pa_with("left", card_side="left", abi_side=False), calf)
    assert not cards._sited(_pa_with("right", card_side="left", abi_side=False), calf)
    assert cards._sited(_pa_with("bilateral", card_side="left", abi_side=False), calf)  # both legs include the left
    assert cards._sited(_pa_with(None, card_side="left", abi_side=False), calf)
    assert cards._sited(_pa_with("right", card_side="bilateral", abi_side=False), calf)  # a card on both legs
    assert cards._sited(_pa_with("right", card_side=None, abi_side=False), calf)
    assert not cards._sited(_pa_with("left", card_side="left", abi_side=False, site="thigh"), calf)
    assert not cards._sited(_pa_with("left", card_side="left", abi_side=False, present=False), calf)


def test_rule_the_abis_leg_decides_a_sited_variant_and_an_abi_without_a_leg_leaves_the_cards():
    calf = frozenset({"calf"})
    assert cards._sited(_pa_with("right", card_side="left", abi_side="right"), calf)  # the ABI's leg wins
    assert not cards._sited(_pa_with("left", card_side="left", abi_side="right"), calf)
    assert not cards._sited(_pa_with("right", card_side="left", abi_side=None), calf)  # ABI with no leg: the card's
    assert cards._sited(_pa_with("left", card_side="left", abi_side=None), calf)
