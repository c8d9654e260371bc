"""Card rendering: summaries under 140 characters in every variant, uuids, no empty fields."""
from __future__ import annotations

import string

from cds_service import cards


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
