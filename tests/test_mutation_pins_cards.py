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
    assert cards._where("left") == "Left leg"
    assert cards._where("right") == "Right leg"
    assert cards._where("bilateral") == "Bilateral leg"
    assert cards._where(None) == "Leg"


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


# ---------------------------------------------------------------- placeholders (cards._placeholders)
def test_rule_the_abi_leg_and_red_flag_placeholders_fall_back_to_plain_words(knowledge):
    from cds_service.assessment import PatternAssessment
    variant = knowledge.templates["arterial-claudication"].variants[-1]
    abi_left = _f("ABI", side="left", resource_type="Observation", value=0.8)
    assert cards._placeholders(PatternAssessment(pattern="p", abi=abi_left), variant)["abi_leg"] == "left leg"
    assert cards._placeholders(PatternAssessment(pattern="p", abi=_f("ABI", resource_type="Observation", value=0.8)),
                               variant)["abi_leg"] == "leg"
    assert cards._placeholders(PatternAssessment(pattern="p"), variant)["abi_leg"] == "leg"
    assert cards._placeholders(PatternAssessment(pattern="p"), variant)["red_flag"] == "Red flag"
    flagged = PatternAssessment(pattern="p", red_flags=[_f("Cauda equina syndrome"), _f("Other")])
    assert cards._placeholders(flagged, variant)["red_flag"] == "Cauda equina syndrome"


# ---------------------------------------------------------------- suggestions (cards._suggestions)
def _two_orders(knowledge, **first):
    """The arterial variant that offers two orders (toe-brachial index, then exercise ABI), the first made conditional."""
    from dataclasses import replace
    template = knowledge.templates["arterial-claudication"]
    variant = next(v for v in template.variants if len(v.suggestions) == 2)
    one, two = variant.suggestions
    return replace(template, suggestions={**template.suggestions, one: replace(template.suggestions[one], **first)}), variant, two


def _offered(knowledge, template, variant, signs=frozenset(), done=None, ordered=frozenset(), recent=None):
    import uuid
    from cds_service.assessment import Assessment, PatternAssessment
    whole = Assessment(patterns={}, signs_present=signs, exertional=True, done=done or {}, ordered=ordered)
    pa = PatternAssessment(pattern="arterial-claudication", recent=recent or {})
    offered = cards._suggestions(template, variant, whole, _ctx(None), uuid.uuid4(), pa, "reason")
    return [s.id for s, _ in offered]


def test_rule_an_order_skipped_for_its_condition_never_hides_the_next_one(knowledge):
    template, variant, second = _two_orders(knowledge, when_signs_any=("diabetes",))
    assert _offered(knowledge, template, variant) == [second]
    assert _offered(knowledge, template, variant, signs=frozenset({"diabetes"})) == list(variant.suggestions)


def test_rule_an_order_done_recently_or_open_never_hides_the_next_one(knowledge):
    template, variant, second = _two_orders(knowledge, skip_recent=("ankle-brachial-index",),
                                            skip_ordered=("ankle-brachial-index",))
    assert _offered(knowledge, template, variant, done={"ankle-brachial-index": _f("ABI")}) == [second]
    assert _offered(knowledge, template, variant, recent={"ankle-brachial-index": _f("ABI")}) == [second]
    assert _offered(knowledge, template, variant, ordered=frozenset({"ankle-brachial-index"})) == [second]
    assert _offered(knowledge, template, variant) == list(variant.suggestions)


# ---------------------------------------------------------------- the detail's layout (cards.render_one)
def _venous(knowledge, **ctx):
    from cds_service.assessment import Assessment, PatternAssessment
    pa = PatternAssessment(
        pattern="venous-claudication", raised=True, strength="moderate", side="left",
        supporting=[Evidence(_f("Varicose veins", side="left"), 2.0)],
        contrary=[Evidence(_f("Absent pedal pulse", side="left"), 1.0),
                  Evidence(_f("Baker's cyst", side="left"), 0.0),  # a mimic: listed, never counted
                  Evidence(_f("Lumbar stenosis", present=False), 0.0)])  # recorded as absent: against, not a mimic
    whole = Assessment(patterns={"venous-claudication": pa}, signs_present=frozenset(), exertional=True, done={},
                       ordered=frozenset(), severe_pain=_f("Pain severity", value=8.0, unit="score", resource_type="Observation"))
    return cards.render_one(pa, whole, knowledge, cards.CardContext(hook_instance="h", patient_id="p", **ctx)), pa, whole


def test_rule_the_detail_reads_lead_notice_support_against_alternatives_consider_disclaimer_sources_therapy(knowledge):
    """Every heading, in order, each block followed by one blank line: what the clinician reads."""
    rendered, pa, whole = _venous(knowledge, incomplete=True, extra_lines={"venous-claudication": ["Compression, if arterial disease is excluded"]},
                                  extra_sources={"venous-claudication": ["G5", "G5", "G6"]})
    common, variant = knowledge.common, rendered.variant
    consider = [f"- {c.text}" for c in variant.consider if cards._holds(c.when, pa, whole)]
    severe = f"- {cards.pain_severity.line(knowledge.rules.severe_pain, whole.severe_pain, dates.show)}"
    sources = "Sources: " + "; ".join([common.seed_citation, *(link["label"] for link in rendered.card.get("links", []))]) + "."
    assert rendered.card["detail"].split("\n") == [
        variant.lead, "", common.incomplete_record, "",
        "**Findings that support it**", cards._finding_line(pa.supporting[0].finding), "",
        "**Findings that argue against it**", cards._finding_line(pa.contrary[0].finding),
        cards._finding_line(pa.contrary[2].finding), "",
        "**Alternative explanations on record** (they may coexist)", cards._finding_line(pa.contrary[1].finding), "",
        "**Consider**", severe, *consider, "- Compression, if arterial disease is excluded", "",
        f"_{common.disclaimer}_", "", sources, "", "Therapy lines: G5", "Therapy lines: G6"]


def test_rule_without_a_gap_a_mimic_or_therapy_the_detail_has_no_notice_alternatives_or_therapy(knowledge):
    from dataclasses import replace
    rendered, pa, whole = _venous(knowledge)
    pa = replace(pa, contrary=pa.contrary[:1])
    rendered = cards.render_one(pa, whole, knowledge, cards.CardContext(hook_instance="h", patient_id="p"))
    lines = rendered.card["detail"].split("\n")
    assert lines[:3] == [rendered.variant.lead, "", "**Findings that support it**"]
    assert knowledge.common.incomplete_record not in lines
    assert not any(line.startswith("**Alternative explanations") for line in lines)
    assert lines[lines.index("**Findings that argue against it**") + 3] == "**Consider**"
    assert lines[-1].startswith("Sources: ") and not any(line.startswith("Therapy lines") for line in lines)


def test_rule_an_order_accepted_here_is_not_suggested_again_and_says_when_it_was_accepted(knowledge):
    rendered, pa, whole = _venous(knowledge)
    (key,) = rendered.suggestions.values()  # the venous card offers one order
    at = NOW - timedelta(days=3)
    again = cards.render_one(pa, whole, knowledge, cards.CardContext(hook_instance="h", patient_id="p", accepted={key: at}))
    label = knowledge.templates["venous-claudication"].suggestions[key.split("/", 1)[1]].label
    assert "suggestions" not in again.card and again.suggestions == {}
    assert f"- {label}: accepted here on {dates.show(at)}, not suggested again." in again.card["detail"].split("\n")


def test_rule_a_card_names_its_source_with_the_templates_link_and_its_topic(knowledge):
    from dataclasses import replace
    rendered, pa, whole = _venous(knowledge)
    template = knowledge.templates["venous-claudication"]
    assert rendered.card["source"] == {
        "label": template.source["label"], "url": "https://doi.org/10.1056/NEJMoa023153",
        "topic": {"system": knowledge.common.topic_system, "code": "venous-claudication", "display": template.title}}
    no_url = replace(knowledge, templates={**knowledge.templates,
                                           "venous-claudication": replace(template, source={"label": "Seed"})})
    bare = cards.render_one(pa, whole, no_url, cards.CardContext(hook_instance="h", patient_id="p"))
    assert bare.card["source"]["label"] == "Seed" and "url" not in bare.card["source"]


def test_rule_a_finding_on_the_leg_says_which_leg_and_a_named_site_says_which_side():
    """'Leg pain' on the left is 'left leg' (the word leg in it names no site); 'Pain in calf' on both
    legs is 'both sides'; a calf claudication on both legs names the calf once."""
    assert ", left leg (Condition)" in cards._finding_line(_f("Leg pain", side="left", site="leg"))
    assert cards._finding_line(_f("Pain in calf", side="bilateral", site="calf")).endswith("Pain in calf, both sides (Condition)")
    assert cards._finding_line(_f("Claudication", side="bilateral", site="calf")).endswith("Claudication, calf, both sides (Condition)")
    assert cards._finding_line(_f("Claudication", side="bilateral")).endswith("Claudication, both legs (Condition)")


def _arterial_variant(knowledge, when):
    from dataclasses import replace
    return replace(knowledge.templates["arterial-claudication"].variants[-1], when=when)


def test_rule_an_abi_variant_speaks_of_the_leg_the_abi_was_measured_on(knowledge):
    from cds_service.assessment import PatternAssessment
    right_abi = _f("ABI", side="right", resource_type="Observation", value=0.7)
    for key in ("situations_any", "situations_all"):
        variant = _arterial_variant(knowledge, {key: ["abi-low"]})
        assert cards._placeholders(PatternAssessment(pattern="p", side="left", abi=right_abi), variant)["where"] == "Right leg"
        assert cards._placeholders(PatternAssessment(pattern="p", side="left"), variant)["where"] == "Left leg"  # no ABI
    plain = _arterial_variant(knowledge, {})
    assert cards._placeholders(PatternAssessment(pattern="p", side="left", abi=right_abi), plain)["where"] == "Left leg"


def test_rule_the_finding_placeholder_is_the_first_present_weighted_finding_capitalised(knowledge):
    from cds_service.assessment import PatternAssessment
    variant = _arterial_variant(knowledge, {})
    pa = PatternAssessment(pattern="p", supporting=[Evidence(_f("absent claudication", present=False), 2.0),
                                                    Evidence(_f("leg pain"), 0.0), Evidence(_f("calf claudication"), 1.0)])
    values = cards._placeholders(pa, variant)
    assert values["finding"] == "Calf claudication"
    unweighted = cards._placeholders(PatternAssessment(pattern="p", supporting=[Evidence(_f("leg pain"), 0.0)]), variant)
    assert unweighted["finding"] == "Finding"
    assert unweighted["abi"] == "not on file" and unweighted["dvt"] == "" and unweighted["pe"] == ""


def test_rule_a_versioned_practitioner_reference_is_still_the_requester():
    import uuid
    card_uuid = uuid.uuid5(cards.CARD_NAMESPACE, "hook-1:arterial-claudication")
    s = cards._suggestion(_order(), _ctx("Practitioner/dr-1/_history/2"), card_uuid, "Claudication")
    assert s["actions"][0]["resource"]["requester"] == {"reference": "Practitioner/dr-1/_history/2"}


def test_rule_a_cut_summary_keeps_its_beginning_and_drops_trailing_space_only():
    cut = cards._summary("  indented " + "word " * 40)
    assert cut.startswith("  indented word") and cut.endswith("…") and not cut[:-1].endswith(" ")
    assert cards._summary("x" * 137 + "   " + "y" * 5) == "x" * 137 + "…"  # the space before the cut goes


def test_rule_when_no_variant_holds_the_last_one_is_the_default(knowledge):
    from dataclasses import replace
    from cds_service.assessment import Assessment, PatternAssessment
    template = knowledge.templates["arterial-claudication"]
    never = tuple(replace(v, when={"signs_any": ["no-such-sign"]}) for v in template.variants[:3])
    few = replace(template, variants=never)
    whole = Assessment(patterns={}, signs_present=frozenset(), exertional=False, done={}, ordered=frozenset())
    assert cards._variant(few, PatternAssessment(pattern="arterial-claudication"), whole) is never[-1]
