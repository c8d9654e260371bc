"""The knowledge files cannot be mistyped: each schema rule and each cross-reference, broken once.

Each case edits one shipped file in a copy of the knowledge folder and expects `check` (or the
loader) to name the file, the line and the key. The line is that of the edited text.
"""
from __future__ import annotations

import json
import re
import shutil

import pytest

from cds_service import cli, knowledge as knowledge_mod, rules
from cds_service.config import REPO_ROOT
from cds_service.documents import SCHEMA_DIR

PT = "knowledge/patterns.yaml"
ART, VEN, NEU, COMMON = "cards/arterial-claudication.yaml", "cards/venous-claudication.yaml", \
    "cards/neurogenic-claudication.yaml", "cards/_common.yaml"
PALLOR = "valuesets/pallor.json"
COMBO = "combinations:\n  unilateral-symptoms:\n    all_of: [absent-pedal-pulse]\n    any_of: [pallor]\n    within_days: 14\n"


@pytest.fixture
def base(tmp_path):
    for name in ("valuesets", "knowledge", "cards"):
        shutil.copytree(REPO_ROOT / name, tmp_path / name)
    return tmp_path


def edit(base, file, old, new):
    path = base / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(base, file, marker, last=False):
    if isinstance(marker, tuple):  # (marker, offset): a line near a unique marker
        return line_of(base, file, marker[0], last) + marker[1]
    lines = [n for n, line in enumerate((base / file).read_text(encoding="utf-8").splitlines(), 1) if marker in line]
    assert lines, f"{marker!r} not in {file}"
    return lines[-1] if last else lines[0]


def failure(base) -> str:
    with pytest.raises(knowledge_mod.KnowledgeError) as caught:
        knowledge_mod.load(base)
    return str(caught.value)


# ----------------------------------------------------------------- the five named in issue #12

@pytest.mark.parametrize("file,old,new,at,key,message", [
    (PT, "{sign: abi-normal, max: 1.40", "{sign: abi-normal, maxx: 1.40", "maxx: 1.40",
     "measurements.ankle-brachial-index.bands[2].maxx", "unknown key"),
    (PT, "  min_score: 3", "  min_scor: 3", "  min_scor:", "scoring.min_scor", "unknown key"),
    (PT, "  strong_score: 6\n", "  strong_score: 6\n  strong_score: 7\n", "strong_score: 7",
     "scoring.strong_score", "given twice"),
    (PT, "  pallor:\n", '  pallor:\n    discriminating: "false"\n', 'discriminating: "false"',
     "signs.pallor.discriminating", "'false' is a string; expected boolean"),
    (VEN, "red_flags_any: [phlegmasia]", "red_flags_any: [phlegmasa]", "phlegmasa",
     "variants[0].when.red_flags_any[0]", "unknown sign 'phlegmasa'"),
])
def test_check_names_file_line_and_key(base, capsys, file, old, new, at, key, message):
    edit(base, file, old, new)
    assert cli.main(["check", "--dir", str(base)]) == 1
    err = capsys.readouterr().err
    assert f"{file}:{line_of(base, file, at)}: {key}: " in err, err
    assert message in err


# ----------------------------------------------------------------- pattern table schema rules

@pytest.mark.parametrize("old,new,at,key,message", [
    ("version: 1", "version: 2", "version: 2", "version", "must be 1"),
    ("  strong_score: 6", "  strong_score: six", "strong_score: six", "scoring.strong_score", "expected number"),
    ("    seed: \"Venous claudication is", "    display: Venous\n    seed: \"Venous claudication is", "display: Venous",
     "patterns.venous-claudication.display", "unknown key"),
    ("  musculoskeletal-leg-pain:\n    seed", "  musculoskeletal-leg-pains:\n    seed", "musculoskeletal-leg-pains:",
     "patterns.musculoskeletal-leg-pains", "unknown key"),
    ("    bands:\n", "    recent_days: 0\n    bands:\n", "recent_days: 0", "measurements.ankle-brachial-index.recent_days",
     "less than the minimum of 1"),
    ("{sign: abi-borderline, below: 1.00,", "{sign: abi-borderline, below: 1.00, max: 0.99,", "abi-borderline, below",
     "measurements.ankle-brachial-index.bands[1]", "does not follow the rule (a band has max or below, not both)"),
    ("{sign: abi-abnormal, max: 0.90,", "{sign: abi-abnormal, max: \"0.90\",", "sign: abi-abnormal",
     "measurements.ankle-brachial-index.bands[0].max", "expected number"),
    ("  pallor:\n    seed", "  pallor:\n    disciminating: true\n    seed", "disciminating", "signs.pallor.disciminating",
     "unknown key"),
    ("    present: {supports: {arterial-claudication: 1}, against: {neurogenic-claudication: 1}}",
     "    present: {supports: {arterial-claudication: -1}, against: {neurogenic-claudication: 1}}", "arterial-claudication: -1",
     "signs.pallor.present.supports.arterial-claudication", "minimum"),
    ("    present: {supports: {arterial-claudication: 1}, against: {neurogenic-claudication: 1}}",
     "    present: {supports: {arterial-claudicaton: 1}, against: {neurogenic-claudication: 1}}", "arterial-claudicaton",
     "signs.pallor.present.supports.arterial-claudicaton", "unknown key"),
    ("    present: {supports: {arterial-claudication: 1}, against: {neurogenic-claudication: 1}}",
     "    presnt: {supports: {arterial-claudication: 1}, against: {neurogenic-claudication: 1}}", "presnt",
     "signs.pallor.presnt", "unknown key"),
    ("    present: {supports: {arterial-claudication: 1}, against: {neurogenic-claudication: 1}}",
     "    present: {support: {arterial-claudication: 1}, against: {neurogenic-claudication: 1}}", "support:",
     "signs.pallor.present.support", "unknown key"),
    ("    read_from: [Condition, Observation]\n    lookback_days: 180\n    present: {supports: {arterial-claudication: 1}",
     "    read_from: [Condition, Observations]\n    lookback_days: 180\n    present: {supports: {arterial-claudication: 1}",
     "Observations", "signs.pallor.read_from[1]", "is not one of"),
    ("    read_from: [Condition, Observation]\n    lookback_days: 180\n    present: {supports: {arterial-claudication: 1}",
     "    lookback_days: 180\n    present: {supports: {arterial-claudication: 1}", "  pallor:", "signs.pallor.read_from",
     "is required here"),
    ("  abi-normal:\n    derived: true\n", "  abi-normal:\n    derived: true\n    read_from: [Observation]\n",
     "  abi-normal:", "signs.abi-normal", "no read_from"),
    ("  pallor:\n    seed", "  pallor:\n    derived: yes please\n    seed", "yes please", "signs.pallor.derived",
     "expected boolean"),
    ("    lookback_days: 180\n    present: {supports: {arterial-claudication: 1}",
     "    lookback_days: 0\n    present: {supports: {arterial-claudication: 1}", "lookback_days: 0",
     "signs.pallor.lookback_days", "minimum"),
    ("    lookback_days: 180\n    present: {supports: {arterial-claudication: 1}",
     "    lookback_days: \"180\"\n    present: {supports: {arterial-claudication: 1}", "lookback_days: \"180\"",
     "signs.pallor.lookback_days", "expected integer or null"),
    ("    red_flag: musculoskeletal-leg-pain", "    red_flag: musculoskeletal", "red_flag: musculoskeletal",
     "signs.compartment-syndrome.red_flag", "is not one of"),
    ("  pallor:\n", "  Pallor:\n", "Pallor:", "signs.Pallor", "lower-case words joined by '-'"),
    ("combinations: {}", COMBO.replace("within_days: 14", "within_days: two weeks"), "within_days: two weeks",
     "combinations.unilateral-symptoms.within_days", "expected integer"),
    ("combinations: {}", COMBO.replace("within_days: 14", "within_day: 14"), "within_day: 14",
     "combinations.unilateral-symptoms.within_day", "unknown key"),
    ("    seed: \"Venous claudication is leg pain", "    sed: \"Venous claudication is leg pain", "    sed:",
     "patterns.venous-claudication.sed", "unknown key"),
    ("    source: \"G1 (2016 AHA/ACC)", "    sourc: \"G1 (2016 AHA/ACC)", ("sourc:", -1), "measurements.ankle-brachial-index.source",
     "is required here"),
    ("{sign: abi-borderline, below: 1.00, label: \"borderline (0.91-0.99)\"}", "{sign: abi-borderline, below: 1.00, label: \"\"}",
     "abi-borderline", "measurements.ankle-brachial-index.bands[1].label", "non-empty"),
    ("laterality_signs: [intermittent-claudication,", "laterality_signs: [intermittent-claudication, intermittent-claudication,",
     "laterality_signs:", "laterality_signs", "lists an item twice"),
])
def test_pattern_table_schema(base, old, new, at, key, message):
    edit(base, PT, old, new)
    text = failure(base)
    assert f"{PT}:{line_of(base, PT, at)}: {key}: " in text, text
    assert message in text, text


# ----------------------------------------------------------------- pattern table references (Python)

@pytest.mark.parametrize("old,new,at,key,message", [
    ("{sign: abi-noncompressible, label:", "{sign: abi-noncompressible, max: 9, label:", "abi-noncompressible, max",
     "measurements.ankle-brachial-index.bands[3]", "open-ended"),
    ("{sign: abi-abnormal, max", "{sign: pallor, max", "sign: pallor, max", "measurements.ankle-brachial-index.bands[0].sign",
     "must be a derived sign"),
    ("    history_sign: history-of-dvt", "    history_sign: history-of-dvd", "history-of-dvd",
     "signs.deep-vein-thrombosis.history_sign", "unknown sign or measurement"),
    ("  pallor:\n", "  pallor:\n    red_flag_requires_any: [peripheral-arterial-diseases]\n", "red_flag_requires_any",
     "signs.pallor.red_flag_requires_any[0]", "unknown sign"),
    ("combinations: {}", COMBO.replace("any_of: [pallor]", "any_of: [pallor, numbness]"), "any_of:",
     "combinations.unilateral-symptoms.any_of[1]", "unknown sign 'numbness'"),
    ("laterality_signs: [intermittent-claudication,", "laterality_signs: [intermittent-claudicatio,", "laterality_signs:",
     "laterality_signs[0]", "unknown sign"),
    ("  muscle-tenderness:\n", "  muscle-tendernes:\n", "muscle-tendernes:", "signs.muscle-tendernes", "has no value set"),
])
def test_pattern_table_references(base, old, new, at, key, message):
    edit(base, PT, old, new)
    text = failure(base)
    assert f"{PT}:{line_of(base, PT, at)}: {key}: " in text, text
    assert message in text, text


def test_a_combination_must_be_a_derived_sign(base):
    edit(base, PT, "combinations: {}", COMBO.replace("unilateral-symptoms", "pallor"))
    assert f"{PT}:{line_of(base, PT, '  pallor:', last=True)}: combinations.pallor: 'pallor' must be a derived sign" in failure(base)


# ----------------------------------------------------------------- card template schema rules

@pytest.mark.parametrize("file,old,new,at,key,message", [
    (VEN, "title: Venous claudication", "titel: Venous claudication", "titel:", "titel", "unknown key"),
    (VEN, "pattern: venous-claudication", "pattern: venous", "pattern: venous", "pattern", "is not one of"),
    (VEN, "  url: https://doi.org/10.1056", "  url: doi.org/10.1056", "  url: doi.org", "source.url", "does not match"),
    (VEN, "    url: https://doi.org/10.1056", "    url: /10.1056", "url: /10.1056", "links[0].url", "does not match"),
    (VEN, "    indicator: critical", "    indicator: urgent", "indicator: urgent", "variants[0].indicator", "is not one of"),
    (VEN, "    indicator: {moderate: info, strong: warning}", "    indicator: {moderate: info, strongest: warning}",
     "strongest", "variants[6].indicator.strongest", "unknown key"),
    (VEN, "    when: {red_flags_any:", "    when: {red_flag_any:", "red_flag_any", "variants[0].when.red_flag_any",
     "unknown key"),
    (ART, "    when: {situations_any: [abi-abnormal], exertional: true}",
     "    when: {situations_any: [abi-abnormal], exertional: \"true\"}",
     "exertional: \"true\"", "variants[9].when.exertional", "expected boolean"),
    (VEN, "    lead: \"**Red flag**", "    laed: \"**Red flag**", "laed:", "variants[0].laed", "unknown key"),
    (VEN, "    summary: \"{red_flag} recorded", "    summary: \"\"\n    x: \"{red_flag} recorded", "summary: \"\"",
     "variants[0].summary", "non-empty"),
    (NEU, "    drop_when_no_suggestion: true", "    drop_when_no_suggestion: 1", "drop_when_no_suggestion",
     "variants[2].drop_when_no_suggestion", "expected boolean"),
    (VEN, "    label: Order a venous duplex", "    labl: Order a venous duplex", "labl:", "suggestions.venous-duplex.labl",
     "unknown key"),
    (VEN, "    skip_if: {ordered: [order-venous-duplex]}", "    skip_if: {order: [order-venous-duplex]}", "skip_if: {order:",
     "suggestions.venous-duplex.skip_if.order", "unknown key"),
    (VEN, "      resourceType: ServiceRequest", "      resourceType: MedicationRequest", "MedicationRequest",
     "suggestions.emergent-vascular-referral-phlegmasia.resource.resourceType", "must be 'ServiceRequest'"),
    (VEN, "      intent: proposal", "      intent: order", "intent: order", "suggestions.emergent-vascular-referral-phlegmasia.resource.intent",
     "must be 'proposal'"),
    (VEN, "\n  venous-duplex:\n", "\n  venous-duplex:\n    label: twice\n", "label: Order a venous",
     "suggestions.venous-duplex.label", "given twice"),
    (ART, "    label: 2016 AHA/ACC guideline", "    labels: 2016 AHA/ACC guideline", "labels:", "links[1].labels", "unknown key"),
    (ART, "  toe-brachial-index:\n", "  toe_brachial_index:\n", "toe_brachial_index:", "suggestions.toe_brachial_index",
     "lower-case words joined by '-'"),
    (ART, "      status: draft\n", "      status: active\n", "status: active", "suggestions.abi.resource.status", "must be 'draft'"),
    (VEN, "      - \"Watch for new breathlessness, chest pain or leg swelling.\"", "      - 3", "      - 3",
     "variants[1].consider[1]", "is an integer; expected mapping"),
    (VEN, "      code:\n        coding:", "      cod:\n        coding:", ("      cod:", -4), "suggestions.venous-duplex.resource.code",
     "is required here"),
    (COMMON, "disclaimer: >-", "disclaimr: >-", "disclaimr", "disclaimr", "unknown key"),
    (COMMON, "  - {code: patient-declined, display: Patient declined}", "  - {code: patient-declined}",
     "{code: patient-declined}", "override_reasons[2].display", "display is required here"),
    (COMMON, "incomplete_record: \"Note:", "incomplete_recrd: \"Note:", "incomplete_recrd", "incomplete_recrd", "unknown key"),
    (COMMON, "topic_system: https://", "topic_system: //", "topic_system", "topic_system", "does not match"),
])
def test_card_template_schema(base, file, old, new, at, key, message):
    edit(base, file, old, new)
    text = failure(base)
    assert f"{file}:{line_of(base, file, at)}: {key}: " in text, text
    assert message in text, text


# ----------------------------------------------------------------- card template references (Python)

@pytest.mark.parametrize("file,old,new,at,key,message", [
    (VEN, "summary: \"{red_flag} recorded", "summary: \"{redflag} recorded", "{redflag}", "variants[0].summary",
     "unknown placeholders ['redflag']"),
    (VEN, "    suggestions: [venous-duplex]\n", "    suggestions: [venous-duplx]\n",
     "venous-duplx", "variants[2].suggestions[0]", "not defined"),
    (VEN, "    when: {}\n", "    when: {signs_any: [leg-swelling]}\n", "signs_any: [leg-swelling]", "variants[6].when",
     "must have an empty `when`"),
    (VEN, "    skip_if: {ordered: [order-venous-duplex]}", "    skip_if: {ordered: [order-venous-duplx]}", "order-venous-duplx",
     "suggestions.venous-duplex.skip_if.ordered[0]", "unknown sign"),
    (NEU, "    when_signs_any: [diabetic-neuropathy,", "    when_signs_any: [diabetic-neuropath,", "when_signs_any",
     "suggestions.foot-exam.when_signs_any[0]", "unknown sign"),
    (ART, "red_flags_any: [clti]}", "red_flags_any: [clti, clti-acute]}", "clti-acute",
     "variants[1].when.red_flags_any[1]", "unknown sign"),
])
def test_card_template_references(base, file, old, new, at, key, message):
    edit(base, file, old, new)
    text = failure(base)
    assert f"{file}:{line_of(base, file, at)}: {key}: " in text, text
    assert message in text, text


def test_two_templates_for_one_pattern_are_refused(base):
    shutil.copy(base / VEN, base / "cards" / "venous-copy.yaml")
    line = line_of(base, "cards/venous-copy.yaml", "pattern: venous-claudication")
    assert f"cards/venous-copy.yaml:{line}: pattern: cards/venous-claudication.yaml is already the template" in failure(base)


# ----------------------------------------------------------------- value set schema rules and references

def _pallor(base, change):
    path = base / PALLOR
    vs = json.loads(path.read_text())
    change(vs)
    path.write_text(json.dumps(vs, indent=2))


@pytest.mark.parametrize("change,at,key,message", [
    (lambda vs: vs.update(desciption="x"), '"desciption"', "desciption", "unknown key"),
    (lambda vs: vs.update(resourceType="CodeSystem"), '"CodeSystem"', "resourceType", "must be 'ValueSet'"),
    (lambda vs: vs["compose"]["include"][0].update(system="http://example.org/x"), "example.org/x",
     "compose.include[0].system", "is not SNOMED CT, ICD-10-CM or LOINC"),
    (lambda vs: vs["compose"]["include"][0]["concept"][0].update(dispaly="x"), '"dispaly"',
     "compose.include[0].concept[0].dispaly", "unknown key"),
    (lambda vs: vs["compose"]["include"][0]["concept"][0].update(extension=[]), '"extension": []',
     "compose.include[0].concept[0].extension", "cites the public source"),
    (lambda vs: vs["compose"]["include"][0]["concept"][0]["extension"].append(
        {"url": "https://claudication-cds.example.org/fhir/StructureDefinition/concept-laterality", "valueCode": "up"}),
     '"up"', "compose.include[0].concept[0].extension[1].valueCode", "is not one of"),
    (lambda vs: vs.update(experimental="no"), '"experimental"', "experimental", "expected boolean"),
    (lambda vs: vs["compose"].update(include=[]), '"include"', "compose.include", "should be non-empty"),
    (lambda vs: vs["compose"]["include"][0]["concept"][0].pop("display"), ('"concept"', 1), "compose.include[0].concept[0].display",
     "is required here"),
    (lambda vs: vs["compose"]["include"][0]["concept"][0]["extension"].append(
        {"url": "https://claudication-cds.example.org/fhir/StructureDefinition/concept-site-label", "valueCode": "leg"}),
     ('"valueCode": "leg"', -2), "compose.include[0].concept[0].extension[1]", "does not follow the rule (source and site-label"),
    (lambda vs: vs.update(id="pallor2"), '"id"', "id", "must match the file name"),
])
def test_value_set_schema(base, change, at, key, message):
    _pallor(base, change)
    text = failure(base)
    assert f"{PALLOR}:{line_of(base, PALLOR, at)}: {key}: " in text, text
    assert message in text, text


def test_value_set_with_a_duplicated_key_is_refused(base):
    path = base / PALLOR
    path.write_text(path.read_text().replace('"id": "pallor",', '"id": "pallor",\n  "id": "pallor",', 1))
    assert f"{PALLOR}:4: id: key 'id' given twice (first on line 3)" in failure(base)


def test_a_value_set_without_a_sign_is_refused(base):
    shutil.copy(base / PALLOR, base / "valuesets" / "pallid.json")
    _vs_path = base / "valuesets" / "pallid.json"
    _vs_path.write_text(_vs_path.read_text().replace('"id": "pallor"', '"id": "pallid"').replace('"code": "', '"code": "9'))
    assert "valuesets/pallid.json: id: value set 'pallid' has no entry in the pattern table" in failure(base)


# ----------------------------------------------------------------- the schemas themselves

def test_every_schema_names_the_four_patterns_of_the_code():
    """PATTERNS is also in Python (the engine iterates it): the schemas must agree with it."""
    for name in ("patterns", "card-template"):
        text = (SCHEMA_DIR / f"{name}.schema.json").read_text()
        for enum in re.findall(r'"enum": \[("arterial[^\]]*)\]', text):
            assert tuple(json.loads(f"[{enum}]")) == rules.PATTERNS


def test_every_key_of_a_sign_is_read_by_the_loader():
    """A key the schema allows but no code reads is the `recent_days` defect again."""
    sign_keys = set(json.loads((SCHEMA_DIR / "patterns.schema.json").read_text())["$defs"]["sign"]["properties"])
    assert sign_keys == {f for f in rules.Sign.__dataclass_fields__ if f != "id"}


# ----------------------------------------------------------------- keys that landed from the clinical work

RF = "knowledge/arterial-red-flags.yaml"
TH = "knowledge/therapy.yaml"


def _ulcer_key(name: str = "ulcerConditions", type_key: str = "resource_type", sign: str = "foot-or-leg-ulcer",
               reason: str = '"its own key"') -> str:
    """A prefetch key of the pattern table's own, as the landed (now retired) ulcerConditions was."""
    return f"prefetch_keys:\n  {name}:\n    {type_key}: Condition\n    signs: [{sign}]\n    reason: {reason}\n"


@pytest.mark.parametrize("file,old,new,at,key,message", [
    # prefetch_keys is empty since ulcerConditions was retired (#17): each case adds a key of its own
    (PT, "prefetch_keys: {}\n", _ulcer_key(type_key="resource_typ"),
     "resource_typ:", "prefetch_keys.ulcerConditions.resource_typ", "unknown key"),
    (PT, "prefetch_keys: {}\n", _ulcer_key(name="conditions"), ("resource_type: Condition", -1), "prefetch_keys.conditions",
     "not one of conditions, observations"),
    (PT, "prefetch_keys: {}\n", _ulcer_key(reason='" "'), "reason: \" \"", "prefetch_keys.ulcerConditions.reason",
     "non-blank"),
    (PT, "prefetch_keys: {}\n", _ulcer_key(sign="pallor-sign"), "signs: [pallor-sign]",
     "prefetch_keys.ulcerConditions.signs[0]", "is not a sign read from Condition"),
    (ART, '    reason: "Suspected acute limb ischaemia (decision support)"', '    reason: "  "', 'reason: "  "',
     "suggestions.emergent-vascular-referral.reason", "non-blank"),
    (RF, "  chronic_ulcer_days: 14", "  chronic_ulcer_days: 14\n  chronic_ulcer_dys: 14", "chronic_ulcer_dys",
     "clti.chronic_ulcer_dys", "unknown key"),
    (RF, "  critical_days: 30", "  critical_days: \"30\"", "critical_days: \"30\"", "clti.critical_days", "expected integer"),
    (RF, "  acute_days: 14", "  acute_days: 14\n  acute_days: 15", "acute_days: 15", "ali.acute_days", "given twice"),
    (RF, "    - {sign: gangrene}", "    - {sign: gangrene, proves_pad: \"no\"}", "sign: gangrene",
     "clti.tissue_loss[5].proves_pad", "expected boolean"),
    # questionnaire (#21): answer signs are read from QuestionnaireResponse; rest pain is no wound
    (PT, "  reported-pain-after-few-steps:\n    seed: \"Leg pain after walking even a few steps generally indicates a more severe conditions.\"\n    read_from: [QuestionnaireResponse]",
     "  reported-pain-after-few-steps:\n    seed: \"Leg pain after walking even a few steps generally indicates a more severe conditions.\"\n    read_from: [QuestionnaireRespons]",
     "[QuestionnaireRespons]", "signs.reported-pain-after-few-steps.read_from[0]", "'QuestionnaireRespons' is not one of"),
    (PT, "  reported-pain-after-few-steps:\n    seed: \"Leg pain after walking even a few steps generally indicates a more severe conditions.\"\n    read_from: [QuestionnaireResponse]",
     "  reported-pain-after-few-steps:\n    seed: \"Leg pain after walking even a few steps generally indicates a more severe conditions.\"\n    read_from: [QuestionnaireResponse, Condition]",
     "  reported-pain-after-few-steps:", "signs.reported-pain-after-few-steps", "has no value set"),
    (RF, "    - {sign: reported-rest-pain, rest_pain: true}", "    - {sign: reported-rest-pain, rest_pain: \"true\"}",
     "sign: reported-rest-pain", "clti.tissue_loss[6].rest_pain", "expected boolean"),
    (RF, "    - {sign: reported-rest-pain, rest_pain: true}", "    - {sign: reported-rest-pain, rest_pan: true}",
     "sign: reported-rest-pain", "clti.tissue_loss[6].rest_pan", "unknown key"),
    # governance (#19), clinical fixes and medications (#18): the keys main added, each broken once
    (VEN, "    snoozable: false", "    snoozable: \"no\"", "snoozable: \"no\"", "variants[0].snoozable", "expected boolean"),
    (VEN, "    snoozable: false", "    snoozable: true", "snoozable: true", "variants[0].snoozable",
     "a red-flag or critical variant may not be snoozable"),
    (RF, "  perfusion_data_same_leg:", "  perfusion_data_same_lg:", "perfusion_data_same_lg", "clti.perfusion_data_same_lg",
     "unknown key"),
    (RF, "    newness_reason:", "    newnes_reason:", "newnes_reason:", "ali.signs.newnes_reason", "unknown key"),
    (PT, "    red_flag_needs_leg: true", "    red_flag_needs_leg: \"yes\"", "red_flag_needs_leg: \"yes\"",
     "signs.compartment-syndrome.red_flag_needs_leg", "expected boolean"),
    # limb_not_stated (issue 17, item 2): every key declared, each broken once
    (RF, "  leg_signs_same_side:", "  leg_signs_same_sid:", "leg_signs_same_sid:", "limb_not_stated.leg_signs_same_sid",
     "unknown key"),
    (RF, '  codes: ["I74.4",', '  codes: [74,', "codes: [74,", "limb_not_stated.codes[0]", "expected string"),
    (PT, "      codes: [M79.A21, M79.A22, M79.A29]", "      codes: [M79.A21, M79.A22, M79.A29]\n      cods: []",
     "cods: []", "signs.compartment-syndrome.red_flag_warning_codes.cods", "unknown key"),
    (TH, "  abi_interval_days: 1826", "  abi_interval_day: 1826", "abi_interval_day:", "screening.abi_interval_day",
     "unknown key"),
    (TH, "  limb_threat_signs:", "  limb_threat_sign:", "limb_threat_sign:", "therapy.limb_threat_sign", "unknown key"),
])
def test_landed_keys_are_declared(base, file, old, new, at, key, message):
    edit(base, file, old, new)
    text = failure(base)
    assert f"{file}:{line_of(base, file, at)}: {key}: " in text, text
    assert message in text, text



@pytest.mark.parametrize("old,new,message", [
    ('"I74.4", "13954005"', '"I74.4", "I74.9X"', "limb_not_stated.codes: not in any value set: I74.9X"),
    ("  derived: arterial-limb-not-stated", "  derived: pallor",
     "derived sign 'pallor' must be a derived arterial red flag"),
    ("  leg_signs_same_side: [absent-pedal-pulse,", "  leg_signs_same_side: [no-such-sign,", "unknown sign 'no-such-sign'"),
])
def test_limb_not_stated_refuses_unknown_codes_and_signs(base, old, new, message):
    edit(base, RF, old, new)
    assert message in failure(base)


@pytest.mark.parametrize("old,new,message", [
    ("      codes: [M79.A21, M79.A22, M79.A29]", "      codes: [M79.A21, T79.A22A, I74.3]",
     "not codes of compartment-syndrome: I74.3"),
    ("      sign: compartment-syndrome-acute-or-chronic", "      sign: pallor",
     "'pallor' must be a derived red flag of musculoskeletal-leg-pain"),
])
def test_red_flag_warning_codes_refuse_foreign_codes_and_signs(base, old, new, message):
    edit(base, PT, old, new)
    assert message in failure(base)
