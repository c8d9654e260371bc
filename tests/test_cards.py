"""Card rendering: summaries under 140 characters in every variant, uuids, no empty fields."""
from __future__ import annotations

import string

from builders import ICD, SCT, condition, hook_request, observation
from cds_service import cards
from helpers import by_topic


def test_every_summary_template_fits_with_long_values(knowledge):
    long_values = {"where": "Bilateral posterior tibial", "where_lower": "bilateral posterior tibial", "abi": "0.72",
                   "abi_leg": "right leg", "red_flag": "Acute deep vein thrombosis of lower limb with phlegmasia",
                   "finding": "Polyneuropathy due to type 2 diabetes mellitus", "dvt": "2026-11-27, both legs",
                   "suspected_leg": "both legs", "pe": "2026-11-27",
                   "flag_where": "Bilateral posterior tibial", "flag_where_lower": "bilateral posterior tibial"}
    for template in knowledge.templates.values():
        for variant in template.variants:
            used = {n for _, n, _, _ in string.Formatter().parse(variant.summary) if n}
            text = variant.summary.format(**{k: long_values[k] for k in used})
            assert len(text) < 140, (template.pattern, variant.id, len(text))


def test_overlong_summaries_are_cut_below_140():
    assert len(cards._summary("x" * 300)) == 139


def test_every_card_has_override_reasons_with_display(knowledge):
    assert all(r["display"] for r in knowledge.common.override_reasons)
    assert {r["code"] for r in knowledge.common.override_reasons} == {"already-assessed", "not-clinically-relevant",
                                                                      "patient-declined", "incorrect"}


def test_card_wording_is_advisory(knowledge):
    for template in knowledge.templates.values():
        for variant in template.variants:
            text = " ".join([variant.summary, variant.lead, *(c.text for c in variant.consider)]).lower()
            assert "diagnosis of" not in text and "diagnosed with" not in text
            assert any(word in text for word in ("consistent with", "consider", "possible", "recorded", "on record"))


def test_no_retired_links(knowledge):
    urls = [link["url"] for t in knowledge.templates.values() for link in t.links]
    urls += [t.source.get("url", "") for t in knowledge.templates.values()]
    assert not [u for u in urls if "pubmedhealth" in u]


def test_every_variant_cites_a_link_of_its_own_template(knowledge):
    for template in knowledge.templates.values():
        ids = {link["id"] for link in template.links}
        for variant in template.variants:
            assert variant.sources and set(variant.sources) <= ids, (template.pattern, variant.id)


def test_a_suggestion_reason_must_be_text(tmp_path):
    """Loader test: a blank reason breaks the card-template schema; flag_where is a known placeholder."""
    import yaml

    from cds_service import documents, templates
    from cds_service.config import REPO_ROOT
    raw = yaml.safe_load((REPO_ROOT / "cards" / "arterial-claudication.yaml").read_text(encoding="utf-8"))
    sid = next(s for s, v in raw["suggestions"].items() if "reason" in v)
    path = tmp_path / "arterial-claudication.yaml"
    raw["suggestions"][sid]["reason"] = " "
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    doc = documents.read(path, "t.yaml")
    assert [p.key for p in documents.validate(doc, "card-template")] == [f"suggestions.{sid}.reason"]
    raw["suggestions"][sid]["reason"] = "Suspected acute limb ischaemia (decision support)"
    raw["variants"][0]["summary"] = "{flag_where}"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    doc = documents.read(path, "t.yaml")
    assert documents.validate(doc, "card-template") == [] and templates.cross_check(doc) == []


# ---------------------------------------------------------------- issue 17, item 4: summaries name the leg

RIGHT_LIMB = {"coding": [{"system": SCT, "code": "62175007", "display": "Structure of right lower limb"}]}
RIGHT_FEMORAL = {"coding": [{"system": SCT, "code": "69833005"}, {"system": SCT, "code": "24028007"}]}
RIGHT_POPLITEAL = {"coding": [{"system": SCT, "code": "43899006"}, {"system": SCT, "code": "24028007"}]}
ABSENT = {"valueCodeableConcept": {"coding": [{"system": SCT, "code": "2667000", "display": "Absent"}]}}


def _arterial(evaluate, resources):
    return by_topic(evaluate(hook_request(resources)))["arterial-claudication"]


def test_an_absent_femoral_pulse_card_names_the_right_leg_not_the_femoral_site(evaluate):
    pulse = observation(SCT, "414617007", days=1, body_site=RIGHT_FEMORAL)
    card = _arterial(evaluate, [pulse, observation(SCT, "300954003", days=1, body_site=RIGHT_LIMB)])
    assert card["summary"] == "Right leg signs consistent with arterial claudication: check pedal pulses and ABI"
    assert "Loss of distal pulse, right femoral (Observation)" in card["detail"]  # the site stays on its line


def test_ali_from_a_popliteal_pulse_names_the_leg(evaluate):
    before = observation(SCT, "414617007", days=20, body_site=RIGHT_POPLITEAL, value=ABSENT)  # felt 20 days ago
    now = observation(SCT, "414617007", days=1, body_site=RIGHT_POPLITEAL)
    pallor = observation(SCT, "398979000", days=1, body_site=RIGHT_LIMB)
    card = _arterial(evaluate, [before, now, pallor])
    assert card["summary"].startswith("Possible acute limb ischaemia (right leg):")
    assert "popliteal" not in card["summary"]


def test_buttock_pain_is_never_called_a_leg_on_its_line(evaluate):
    buttock = observation(SCT, "279043006", days=1, body_site=RIGHT_LIMB)
    card = _arterial(evaluate, [condition(ICD, "I70.0", onset_days=300), buttock])
    assert "Pain in buttock, right side (Observation)" in card["detail"]
    assert "Pain in buttock, right leg" not in card["detail"]


def test_clti_detail_lists_the_ulcer_and_the_arterial_code_on_separate_lines(evaluate):
    card = _arterial(evaluate, [condition(ICD, "L97.519", onset_days=20), condition(ICD, "E11.51", onset_days=300)])
    assert card["indicator"] == "critical"
    ulcer = [line for line in card["detail"].splitlines() if "ulcer of other part of right foot" in line]
    assert ulcer and all("diabet" not in line.lower() for line in ulcer)
    assert any(line.startswith("- ") and line.endswith("diabetic peripheral angiopathy without gangrene (Condition)")
               for line in card["detail"].splitlines())


def test_pain_at_rest_line_only_when_rest_pain_is_on_record(evaluate):
    ulcer_only = _arterial(evaluate, [condition(ICD, "L97.519", onset_days=20), condition(ICD, "E11.51", onset_days=300)])
    assert "Pain at rest differs from claudication" not in ulcer_only["detail"]
    rest_pain = _arterial(evaluate, [condition(ICD, "I70.221", onset_days=5)])  # rest pain, right leg
    assert rest_pain["indicator"] == "critical" and "Pain at rest differs from claudication" in rest_pain["detail"]
