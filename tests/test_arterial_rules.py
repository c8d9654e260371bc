"""The arterial red-flag file (knowledge/arterial-red-flags.yaml) and the extra prefetch keys are checked at start: one refusal per broken key."""
from __future__ import annotations

import copy

import pytest
import yaml

from cds_service import arterial_red_flags
from cds_service.config import REPO_ROOT

SHIPPED = yaml.safe_load((REPO_ROOT / "knowledge" / "arterial-red-flags.yaml").read_text(encoding="utf-8"))


def broken(change) -> dict:
    data = copy.deepcopy(SHIPPED)
    change(data)
    return data


def test_shipped_rules_load(knowledge):
    r = knowledge.rules.arterial
    assert (r.chronic_ulcer_days, r.critical_days, r.ali_acute_days, r.signs_window_days) == (14, 30, 14, 14)


@pytest.mark.parametrize("change,message", [
    (lambda d: d.pop("clti"), "must hold the mappings clti and ali"),
    (lambda d: d["clti"].pop("source"), "clti.source is required"),
    (lambda d: d["clti"].update(critical_days=0), "clti.critical_days must be a positive whole number"),
    (lambda d: d["clti"].pop("critical_reason"), "needs its reason (critical_reason)"),
    (lambda d: d["clti"].pop("chronic_ulcer_reason"), "needs its reason (chronic_ulcer_reason)"),
    (lambda d: d["ali"].pop("acute_reason"), "needs its reason (acute_reason)"),
    (lambda d: d["ali"]["signs"].pop("window_reason"), "needs its reason (window_reason)"),
    (lambda d: d["clti"].update(tissue_loss=[]), "clti.tissue_loss is empty"),
    (lambda d: d["clti"]["tissue_loss"].append({"sign": "no-such-sign"}), "unknown sign 'no-such-sign'"),
    (lambda d: d["clti"].update(pad_diagnosis=["nope"]), "unknown sign 'nope'"),
    (lambda d: d["clti"].update(follow_up=["nope"]), "unknown sign 'nope'"),
    (lambda d: d["ali"]["signs"].update(with_any=["nope"]), "unknown sign 'nope'"),
    (lambda d: d["ali"]["signs"].update(chronic_explanations=["pallor"]), "chronic_explanations is no longer read"),
    (lambda d: d["clti"]["derived"].pop("known"), "clti.derived must name"),
    (lambda d: d["ali"]["derived"].update(possible="pallor"), "derived sign 'pallor' must be a derived arterial red flag"),
    (lambda d: d["ali"].update(acute_days=30), "must be acute with lookback_days 30"),
    (lambda d: d["clti"]["tissue_loss"].append({"sign": "cauda-equina"}), "must not be a red flag itself"),
])
def test_broken_rules_are_refused(knowledge, change, message):
    with pytest.raises(arterial_red_flags.ArterialRulesError) as err:
        arterial_red_flags.parse(broken(change), knowledge.rules)
    assert message in str(err.value)


def test_unreadable_file_is_refused(tmp_path, knowledge):
    path = tmp_path / "arterial-red-flags.yaml"
    path.write_text("clti: [", encoding="utf-8")
    with pytest.raises(arterial_red_flags.ArterialRulesError, match="not readable YAML"):
        arterial_red_flags.load(path, knowledge.rules)


def test_vascular_procedures_ride_on_the_optional_procedures_key(engine):
    key = next(k for k in engine.prefetch_keys if k.key == "procedures")
    assert not key.required
    assert "112828007" in engine.prefetch_templates["procedures"] and "397117006" in key.params and "276861004" not in key.params


def test_ulcer_codes_ride_on_the_conditions_key_and_still_count(engine, evaluate):
    from builders import ICD, condition, hook_request
    assert {k.key for k in engine.prefetch_keys} == {"conditions", "observations", "procedures", "serviceRequests",
                                                         "questionnaireResponses", "medicationRequests",
                                                         "medicationStatements", "smokingStatus", "patient"}
    body = hook_request([condition(ICD, "I73.9", onset_days=400), condition(ICD, "L97.529", onset_days=20)])
    body["prefetch"]["ulcerConditions"] = None  # the retired key of issue 13 is ignored, not refused
    (card,) = evaluate(body)
    assert card["indicator"] == "critical"


PATTERNS = yaml.safe_load((REPO_ROOT / "knowledge" / "patterns.yaml").read_text(encoding="utf-8"))
PATTERNS["prefetch_keys"] = {"ulcerConditions": {"resource_type": "Condition", "signs": ["foot-or-leg-ulcer"],
                                                 "reason": "an extra key as issue 13 had one"}}


@pytest.mark.parametrize("change,message", [
    (lambda d: d["prefetch_keys"]["ulcerConditions"].pop("reason"), "prefetch_keys.ulcerConditions.reason: reason is required"),
    (lambda d: d["prefetch_keys"]["ulcerConditions"].update(resource_type="Encounter"), "is not one of"),
    (lambda d: d["prefetch_keys"]["ulcerConditions"].update(signs=[]), "prefetch_keys.ulcerConditions.signs: [] should be non-empty"),
    (lambda d: d["prefetch_keys"]["ulcerConditions"].update(signs=["abi-abnormal"]), "is not a sign read from Condition"),
    (lambda d: d["prefetch_keys"].update(conditions=d["prefetch_keys"]["ulcerConditions"]), "a new key name"),
    (lambda d: d["prefetch_keys"].update(more=dict(d["prefetch_keys"]["ulcerConditions"])), "already has the prefetch key"),
    (lambda d: d.update(prefetch_keys=["x"]), "prefetch_keys: ['x'] is an array; expected mapping"),
])
def test_broken_prefetch_keys_are_refused(tmp_path, change, message):
    """Loader test: the pattern table is checked by its schema and cross-references (rules.load)."""
    from cds_service import rules
    data = copy.deepcopy(PATTERNS)
    change(data)
    path = tmp_path / "patterns.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(rules.RulesError) as err:
        rules.load(path)
    assert message in str(err.value)


def test_red_flag_needs_leg_only_on_a_red_flag():
    from cds_service import documents, rules
    path = REPO_ROOT / "knowledge" / "patterns.yaml"
    doc = documents.read(path, "knowledge/patterns.yaml")
    assert isinstance(doc, documents.Document)
    doc.data["signs"]["pallor"]["red_flag_needs_leg"] = True
    assert any(p.message == "only a red flag can need a leg" for p in rules.cross_check(doc))
