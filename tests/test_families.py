"""ICD-10-CM families (cds_service/families.py, knowledge/icd10cm-families.yaml): matched whole, checked
against the pinned CDC tabular, and each named exclusion kept out."""
from __future__ import annotations

import json
import shutil

import pytest

from builders import ICD, SCT, condition, hook_request
from cases import LEFT_CALF
from cds_service import cli, families
from cds_service.config import REPO_ROOT

icd = families.tabular()
pytestmark = pytest.mark.skipif(icd is None, reason="needs simple-icd-10-cm (pip install -e '.[test]')")
DATA = families.load(REPO_ROOT)

# What must accompany a code of each value set for its card to be raised (the sign alone may be too
# weak by design), and the card it raises. A code excluded by name must leave the result as without it.
COMPANIONS = {
    "foot-or-leg-ulcer": [condition(ICD, "I73.9", onset_days=400)],  # an ulcer with proven PAD: CLTI
    "diabetic-foot-ulcer": [condition(ICD, "I73.9", onset_days=400)],
    "history-of-dvt": [condition(SCT, "72866009")],  # varicose veins + a previous DVT
    "varicose-veins": [condition(ICD, "Z86.718")],
    "lumbar-radiculopathy": [condition(SCT, "44077006")],  # with numbness
    "spinal-degeneration": [condition(ICD, "M54.16")],  # supports, never raises alone (issue 14): with radiculopathy
    "superficial-thrombophlebitis": [condition(ICD, "I82.401")],  # a mimic: listed as an alternative explanation
    "knee-osteoarthritis": [condition(ICD, "S86.111A")],  # mimics support the card they belong to
    "hip-osteoarthritis": [condition(ICD, "S86.111A")],
    "bakers-cyst": [condition(ICD, "S86.111A")],
    "aorto-iliac-disease": [condition(SCT, "63491006")],  # with claudication
}
CARD = {
    "ischaemic-ulcer": ("arterial-claudication", None), "arterial-gangrene": ("arterial-claudication", "critical"),
    "ischaemic-rest-pain": ("arterial-claudication", "critical"),
    "atherosclerotic-claudication": ("arterial-claudication", None),
    "foot-or-leg-ulcer": ("arterial-claudication", "critical"),
    "diabetic-foot-ulcer": ("arterial-claudication", "critical"),
    "pulmonary-embolism": ("venous-claudication", None),
    "compartment-syndrome": ("musculoskeletal-leg-pain", "critical"),
    "acute-limb-ischaemia": ("arterial-claudication", "critical"),
    "peripheral-arterial-disease": ("arterial-claudication", None),
    "diabetic-peripheral-angiopathy": ("arterial-claudication", None),
    "deep-vein-thrombosis": ("venous-claudication", None), "history-of-dvt": ("venous-claudication", None),
    "varicose-veins": ("venous-claudication", None), "venous-ulcer": ("venous-claudication", None),
    "superficial-thrombophlebitis": ("venous-claudication", None),
    "diabetic-neuropathy": ("neurogenic-claudication", None), "lumbar-spinal-stenosis": ("neurogenic-claudication", None),
    "neurogenic-claudication": ("neurogenic-claudication", None),
    "spinal-degeneration": ("neurogenic-claudication", None),
    "lumbar-radiculopathy": ("neurogenic-claudication", None),
    "muscle-strain": ("musculoskeletal-leg-pain", None), "achilles-tendinitis": ("musculoskeletal-leg-pain", None),
    "knee-osteoarthritis": ("musculoskeletal-leg-pain", None), "hip-osteoarthritis": ("musculoskeletal-leg-pain", None),
    "bakers-cyst": ("musculoskeletal-leg-pain", None), "aorto-iliac-disease": ("arterial-claudication", None),
}
# Context only (weight 0, knowledge/patterns.yaml): they explain why a normal ABI is not reassuring and
# raise no card of their own.
CONTEXT = {"diabetes", "chronic-kidney-disease"}


def _sample(name: str) -> list[tuple[str, str | None]]:
    """For each side the value set's codes name (and none), its first and last code."""
    rows = families.expected(DATA, icd)[name]
    out = []
    for side in {s for _, _, s in rows}:
        codes = [c for c, _, s in rows if s == side]
        out += [(codes[0], side), (codes[-1], side)]
    return sorted(set(out), key=str)


def _topics(cards) -> dict[str, str]:
    return {c["source"]["topic"]["code"]: c["indicator"] for c in cards}


def _request(code: str, name: str):
    onset = 20 if name in ("foot-or-leg-ulcer", "ischaemic-ulcer", "diabetic-foot-ulcer") else 3  # an ulcer counts from 14 days; ALI for 14
    return hook_request([condition(ICD, code, onset_days=onset), *COMPANIONS.get(name, [])])


def test_every_family_value_set_has_a_card_expectation():
    assert set(DATA["valuesets"]) == set(CARD) | CONTEXT and not set(CARD) & CONTEXT


@pytest.mark.parametrize("name", sorted(CONTEXT))
def test_sampled_context_codes_raise_no_card_alone(evaluate, name):
    for code, _ in _sample(name):
        assert evaluate(_request(code, name)) == [], f"{name}: {code} raised a card alone"


# Codes that read two ways (issue 17, item 2): I74.4 names no leg; M79.A2- is acute or chronic exertional.
WARNING_ONLY = {"I74.4": "warning", "M79.A21": "warning", "M79.A22": "warning", "M79.A29": "warning"}


@pytest.mark.parametrize("name", sorted(CARD))
def test_sampled_descendants_of_every_side_raise_the_card(evaluate, name):
    topic, indicator = CARD[name]
    sample = _sample(name)
    assert sample
    displays = {c: d for c, d, _ in families.expected(DATA, icd)[name]}
    for code, side in sample:
        cards = evaluate(_request(code, name))
        got = _topics(cards)
        assert topic in got, f"{name}: {code} ({side}) raised {got}"
        expected = WARNING_ONLY.get(code, indicator)
        assert expected is None or got[topic] == expected, f"{name}: {code} gave {got[topic]}"
        detail = next(c["detail"] for c in cards if c["source"]["topic"]["code"] == topic)
        assert displays[code] in detail, f"{name}: {code} is not listed on the card"


def test_each_side_of_a_lateral_family_is_read_as_that_side():
    rows = {c: s for c, _, s in families.expected(DATA, icd)["deep-vein-thrombosis"]}
    assert rows["I82.4Z1"] == "right" and rows["I82.4Z2"] == "left" and rows["I82.4Z3"] == "bilateral"
    assert rows["I82.4Z9"] is None
    strain = {c: s for c, _, s in families.expected(DATA, icd)["muscle-strain"]}
    assert strain["S76.311A"] == "right" and strain["S86.912D"] == "left"


def _named_exclusions() -> list[tuple[str, str, str]]:
    """(value set, code, reason) for every descendant a family excludes that no value set lists."""
    from cds_service import terminology
    listed = {code for (system, code) in terminology.load(REPO_ROOT / "valuesets").concepts if system == ICD}
    never = DATA.get("never") or {}
    out = []
    for name, spec in DATA["valuesets"].items():
        for family in spec["families"]:
            _, excluded = families.expand(family, never, icd)
            out += [(name, code, why) for code, why in excluded.items() if code not in listed]
    return out


def test_the_named_exclusions_of_the_clinical_reference_are_excluded():
    excluded = {code for _, code, _ in _named_exclusions()}
    assert {"I70.25", "I70.208", "I70.298"} <= excluded  # the arm
    assert {f"M54.1{d}" for d in "12345"} <= excluded and {"M51.14", "M51.15"} <= excluded  # cervical, thoracic
    neuro = {c for f in DATA["valuesets"]["diabetic-neuropathy"]["families"] for c in families.expand(f, {}, icd)[1]}
    diabetes = {c for c, _, _ in families.expected(DATA, icd)["diabetes"]}
    for kind in ("41", "43"):  # mononeuropathy, autonomic neuropathy: not the leg neuropathy, but still diabetes
        codes = {f"E{t}.{kind}" for t in ("08", "09", "10", "11", "13")}
        assert codes <= neuro and codes <= diabetes
    assert {"S86.121A", "S86.922D", "S76.322A"} <= excluded  # lacerations
    assert {"S86.111S", "S76.312S"} <= excluded  # sequela: history
    assert all(reason.strip() for _, _, reason in _named_exclusions())


def test_each_named_exclusion_raises_nothing_its_family_would(evaluate):
    seen = {}
    for name, code, _ in _named_exclusions():
        key = (name, code[:5])  # every kind of exclusion of every family, not every side and 7th character
        if key in seen:
            continue
        seen[key] = code
        without = _topics(evaluate(hook_request(COMPANIONS.get(name, []))))
        assert _topics(evaluate(_request(code, name))) == without, f"{name}: excluded {code} changed the cards"
    assert len(seen) > 20


def test_chronic_dvt_is_history_not_an_acute_dvt(evaluate):
    assert "venous-claudication" in _topics(evaluate(hook_request([condition(ICD, "I82.411", onset_days=5)])))
    assert evaluate(hook_request([condition(ICD, "I82.511", onset_days=5)])) == []



# ---------------------------------------------------------------- SNOMED CT children (public expansions)
def _snomed(name: str) -> list[tuple[str, str, str | None]]:
    vs = json.loads((REPO_ROOT / "valuesets" / f"{name}.json").read_text(encoding="utf-8"))
    side = "https://claudication-cds.example.org/fhir/StructureDefinition/concept-laterality"
    return [(c["code"], c["display"], next((e["valueCode"] for e in c["extension"] if e["url"] == side), None))
            for include in vs["compose"]["include"] if include["system"] == SCT for c in include["concept"]]


# A code that names no limb (compartment syndrome of any limb) raises its red flag only with a leg body site.
NEEDS_A_LEG_SITE = {"111245009", "792843009"}  # compartment syndrome, gangrene of limb: any limb (issue 17, item 2)


@pytest.mark.parametrize("name", sorted(n for n in CARD if _snomed(n)))
def test_every_snomed_code_of_a_family_value_set_raises_its_card(evaluate, name):
    """Each SNOMED CT concept (the children taken from public expansions with the parents) raises the
    card its value set's ICD-10-CM family raises, with the same companions."""
    topic, indicator = CARD[name]
    onset = 20 if name in ("foot-or-leg-ulcer", "ischaemic-ulcer", "diabetic-foot-ulcer") else 3
    for code, display, _side in _snomed(name):
        site = {"body_site": LEFT_CALF} if code in NEEDS_A_LEG_SITE else {}
        cards = evaluate(hook_request([condition(SCT, code, onset_days=onset, **site), *COMPANIONS.get(name, [])]))
        got = _topics(cards)
        assert topic in got, f"{name}: SNOMED {code} ({display}) raised {got}"
        assert indicator is None or got[topic] == indicator, f"{name}: SNOMED {code} gave {got[topic]}"


# Red-flag value sets with no ICD-10-CM family (so not in CARD): their SNOMED CT children, like the
# listed parents, raise the critical card alone while recent.
RED_FLAG_SNOMED = {"cauda-equina": "neurogenic-claudication", "phlegmasia": "venous-claudication"}


@pytest.mark.parametrize("name", sorted(RED_FLAG_SNOMED))
def test_every_snomed_code_of_a_red_flag_value_set_without_a_family_raises_the_critical_card(evaluate, name):
    assert name not in DATA["valuesets"] and _snomed(name)
    for code, display, _side in _snomed(name):
        got = _topics(evaluate(hook_request([condition(SCT, code, onset_days=2)])))
        assert got.get(RED_FLAG_SNOMED[name]) == "critical", f"{name}: SNOMED {code} ({display}) raised {got}"


# The named exclusions hold on the SNOMED CT side too: no code of these value sets names them.
SNOMED_EXCLUDED = {
    "deep-vein-thrombosis": r"chronic|history|upper (limb|extremity)|arm|axillary|subclavian|jugular",
    "diabetic-neuropathy": r"mononeuropathy|autonomic|amyotrophy|proximal motor|radiculoplexus|arthropathy",
    "lumbar-radiculopathy": r"cervical|thoracic",
    "lumbar-spinal-stenosis": r"cervical|thoracic",
    "muscle-strain": r"laceration",
    "superficial-thrombophlebitis": r"deep|upper (limb|extremity)|\barm\b",
    "peripheral-arterial-disease": r"upper limb|upper extremity|\barm\b",
    "ischaemic-rest-pain": r"upper limb|upper extremity|\barm\b",
    "ischaemic-ulcer": r"upper limb|upper extremity|\barm\b",
    "arterial-gangrene": r"upper limb|upper extremity|\barm\b",
}


@pytest.mark.parametrize("name", sorted(SNOMED_EXCLUDED))
def test_no_snomed_code_names_an_excluded_kind(name):
    import re
    bad = [(c, d) for c, d, _ in _snomed(name) if re.search(SNOMED_EXCLUDED[name], d, re.IGNORECASE)]
    assert bad == [], f"{name}: {bad}"


def test_a_side_named_snomed_code_carries_its_side():
    """A display naming the left, right or both legs carries the laterality extension that says so."""
    for name in sorted(CARD):
        for code, display, side in _snomed(name):
            words = display.lower()
            named = "bilateral" if "bilateral" in words else "left" if " left " in f" {words} " else \
                "right" if " right " in f" {words} " else None
            assert side == named, f"{name}: SNOMED {code} {display!r} has side {side!r}"


# ---------------------------------------------------------------- cds-service check
def _tree(tmp_path):
    for folder in ("valuesets", "knowledge", "cards", "questionnaires"):
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder)
    return tmp_path


def _edit(path, change):
    vs = json.loads(path.read_text(encoding="utf-8"))
    change(vs)
    path.write_text(json.dumps(vs), encoding="utf-8")


def _icd_include(vs):
    return next(i for i in vs["compose"]["include"] if i["system"] == ICD)


def test_check_passes_on_the_shipped_families():
    from cds_service import terminology
    assert families.check(REPO_ROOT, terminology.load(REPO_ROOT / "valuesets").valuesets, icd) == []


def test_check_fails_on_a_code_the_tabular_does_not_hold(tmp_path, capsys):
    base = _tree(tmp_path)
    fake = {"code": "M79.667", "display": "Pain in lower leg, invented",
            "extension": [{"url": "https://claudication-cds.example.org/fhir/StructureDefinition/concept-source",
                           "valueString": "invented"}]}
    _edit(base / "valuesets" / "leg-pain.json", lambda vs: _icd_include(vs)["concept"].append(fake))
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "M79.667 is not in the pinned tabular" in capsys.readouterr().err


def test_check_fails_on_a_descendant_neither_included_nor_excluded(tmp_path, capsys):
    base = _tree(tmp_path)
    _edit(base / "valuesets" / "deep-vein-thrombosis.json",
          lambda vs: _icd_include(vs).update(concept=[c for c in _icd_include(vs)["concept"] if c["code"] != "I82.442"]))
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "I82.442, a descendant of its families, is neither included nor excluded" in capsys.readouterr().err


def test_check_fails_on_a_listed_code_its_family_excludes(tmp_path, capsys):
    base = _tree(tmp_path)
    laceration = {"code": "S86.121A", "display": "Laceration",
                  "extension": [{"url": "https://claudication-cds.example.org/fhir/StructureDefinition/concept-source",
                                 "valueString": "x"}]}
    _edit(base / "valuesets" / "muscle-strain.json", lambda vs: _icd_include(vs)["concept"].append(laceration))
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "S86.121A is listed but its family S86.1 excludes it (laceration" in capsys.readouterr().err


def test_check_fails_on_a_snomed_code_without_a_source(tmp_path, capsys):
    base = _tree(tmp_path)
    _edit(base / "valuesets" / "deep-vein-thrombosis.json",
          lambda vs: next(i for i in vs["compose"]["include"] if i["system"] == SCT)["concept"][0].pop("extension"))
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "deep-vein-thrombosis.json:1: compose.include[0].concept[0].extension: extension is required here" in capsys.readouterr().err


def test_check_fails_on_an_exclusion_without_a_reason(tmp_path, capsys):
    base = _tree(tmp_path)
    path = base / "knowledge" / families.FAMILIES_FILE
    path.write_text(path.read_text(encoding="utf-8").replace(
        '"laceration, not a strain (reference 2.6)"', '""'), encoding="utf-8")
    assert cli.main(["check", "--dir", str(base)]) == 1
    import re
    assert re.search(r"icd10cm-families.yaml:\d+: valuesets.muscle-strain.families\[0\].exclude.S", capsys.readouterr().err)


def test_unknown_family_code_is_refused():
    with pytest.raises(families.FamiliesError, match="not in the ICD-10-CM tabular"):
        families.expand({"code": "I70.99"}, {}, icd)


def test_gaps_are_leg_block_codes_in_no_value_set_and_not_excluded_by_name():
    from cds_service import knowledge
    gaps = knowledge.load(REPO_ROOT).gaps
    assert gaps.is_gap(ICD, "I87.1")  # compression of vein: in a leg block, in no value set
    assert not gaps.is_gap(ICD, "I70.25")  # the arm, excluded by name
    assert not gaps.is_gap(ICD, "S86.121A")  # a laceration, excluded by name
    assert not gaps.is_gap(ICD, "J45.909") and not gaps.is_gap(SCT, "I87.1")


def test_snomed_gaps_are_the_listed_leg_codes_each_with_source_and_reason():
    from cds_service import knowledge
    gaps = knowledge.load(REPO_ROOT).gaps
    assert gaps.is_gap(SCT, "307406004")  # trash foot: listed, in no value set
    assert not gaps.is_gap(SCT, "40198004")  # deep-vein thrombophlebitis of the leg: a DVT now, not a gap
    assert gaps.is_gap(SCT, "1290770000")  # medial tibial stress syndrome
    assert not gaps.is_gap(SCT, "230577008")  # diabetic mononeuropathy: excluded by name, not a gap
    assert not gaps.is_gap(SCT, "102557007")  # arm claudication: the arm, not a gap
    assert not gaps.is_gap(ICD, "40198004")
    listed = DATA["unknown_snomed_codes"]
    assert len(listed) >= 30
    sources = set(DATA["snomed_sources"].values())
    assert all(entry["source"] in sources and entry["reason"].strip() for entry in listed.values())


@pytest.mark.parametrize("code, display, expected", [
    # a code a value set lists would be both known and a gap
    ("128053003", "Deep venous thrombosis (disorder)", r"unknown_snomed_codes.128053003: a value set lists this code"),
    # reference 1.1: only International and US Edition ids; a UK-extension code can never arrive
    ("768521000000102", "History of foot ulcer (situation)", r"unknown_snomed_codes.768521000000102: .*namespace 1000000"),
])
def test_an_unknown_snomed_code_that_cannot_be_a_gap_is_refused(tmp_path, code, display, expected):
    """Each test < 2 s."""
    from cds_service import knowledge as knowledge_mod
    base = _tree(tmp_path)
    path = base / "knowledge" / families.FAMILIES_FILE
    path.write_text(path.read_text(encoding="utf-8") + f'  "{code}": {{display: "{display}", '
                    'source: *vte, reason: "listed by mistake"}\n', encoding="utf-8")
    with pytest.raises(knowledge_mod.KnowledgeError, match=expected):
        knowledge_mod.load(base)


@pytest.mark.parametrize("old,new,expected", [
    ("version: 1\n", "version: 1\nversions: 2\n", r"icd10cm-families.yaml:\d+: versions: unknown key"),
    ("{code: I70.23, side: right}", "{code: I70.23, side: rigth}",
     r"icd10cm-families.yaml:\d+: valuesets.ischaemic-ulcer.families\[0\].side: 'rigth' is not one of"),
    ("{code: I70.23, side: right}", "{code: I70.23, sides: right}",
     r"icd10cm-families.yaml:\d+: valuesets.ischaemic-ulcer.families\[0\].sides: unknown key"),
    ("{code: M79.A2, side_char: {index: 6, values: {\"1\": right, \"2\": left}}, site_label: leg}",
     "{code: M79.A2, side_char: {index: 6, values: {\"1\": right, \"2\": left}}, site_label: \" \"}",
     r"icd10cm-families.yaml:\d+: valuesets.compartment-syndrome.families\[0\].site_label: ' ' does not match"),
    ("{code: M79.A2, side_char: {index: 6, values: {\"1\": right, \"2\": left}}, site_label: leg}",
     "{code: M79.A2, side_char: {index: 6, values: {\"1\": right, \"2\": left}}, site_label: [leg]}",
     r"icd10cm-families.yaml:\d+: valuesets.compartment-syndrome.families\[0\].site_label: \['leg'\] is an array; expected string"),
    ('"307406004": {display:', '"307406004x": {display:',
     r"icd10cm-families.yaml:\d+: unknown_snomed_codes.307406004x: '307406004x' does not match"),
    ('"307406004": {display: "Trash foot (disorder)", source: *pad, ',
     '"307406004": {display: "Trash foot (disorder)", ',
     r"icd10cm-families.yaml:\d+: unknown_snomed_codes.307406004.source: source is required here"),
    ('"307406004": {display:', '"307406004": {shown:',
     r"icd10cm-families.yaml:\d+: unknown_snomed_codes.307406004.shown: unknown key"),
    ("snomed_sources:\n  vte:", "snomed_sources:\n  vte: 1\n  vte2:",
     r"icd10cm-families.yaml:\d+: snomed_sources.vte: 1 is an integer; expected string"),
])
def test_the_service_refuses_a_families_file_off_its_schema(tmp_path, old, new, expected):
    """The service reads the families file (unknown_codes): it is schema-checked at start, with file, line and key."""
    import re
    from cds_service import knowledge as knowledge_mod
    base = _tree(tmp_path)
    path = base / "knowledge" / families.FAMILIES_FILE
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(knowledge_mod.KnowledgeError) as refused:
        knowledge_mod.load(base)
    assert re.search(expected, str(refused.value)), str(refused.value)


def test_site_label_marks_the_unsided_compartment_codes_as_leg_codes():
    from cds_service import terminology
    vs = json.loads((REPO_ROOT / "valuesets" / "compartment-syndrome.json").read_text(encoding="utf-8"))
    sites = {c["code"]: next((e["valueString"] for e in c.get("extension", ()) if e["url"] == terminology.EXT_SITE_LABEL), None)
             for include in vs["compose"]["include"] if include["system"] == ICD for c in include["concept"]}
    assert sites["M79.A29"] == "leg" and sites["T79.A29A"] == "leg"


def test_an_empty_site_label_is_refused():
    data = json.loads(json.dumps(DATA))
    data["valuesets"]["compartment-syndrome"]["families"][0]["site_label"] = " "
    assert any("site_label must name a site" in p for p in families.structure_problems(data))


@pytest.mark.parametrize("code, side", [("I80.11", "right"), ("I80.12", "left"), ("I80.13", "bilateral"),
                                        ("I80.221", "right"), ("I80.232", "left"), ("I80.293", "bilateral")])
def test_deep_vein_thrombophlebitis_of_the_leg_is_a_dvt_on_its_side(knowledge, code, side):
    """Vascular review: a thrombosed deep vein is a DVT (VSAC VTE counts I80.1-I80.2); each side digit read."""
    concept = knowledge.terminology.lookup(ICD, code)
    assert concept is not None and (concept.sign, concept.side) == ("deep-vein-thrombosis", side)


def test_superficial_thrombophlebitis_stays_a_mimic_not_a_dvt(knowledge):
    assert knowledge.terminology.lookup(ICD, "I80.01").sign == "superficial-thrombophlebitis"
    assert knowledge.terminology.lookup(SCT, "16011951000119104").sign == "deep-vein-thrombosis"
