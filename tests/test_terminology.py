"""Value sets: allowed systems, displays, sources, one meaning per code, laterality annotations."""
from __future__ import annotations

import json
import re

import pytest

from cds_service import terminology
from cds_service.errors import TerminologyError
from cds_service.config import REPO_ROOT


def test_every_code_is_snomed_icd_or_loinc_with_display_and_source(knowledge):
    for concept in [*knowledge.terminology.concepts.values(), *knowledge.terminology.body_sites.values()]:
        assert concept.system in terminology.ALLOWED_SYSTEMS
        assert concept.display and concept.source


def test_code_shapes_match_their_systems(knowledge):
    shapes = {terminology.SNOMED: r"^\d{6,18}$", terminology.ICD10CM: r"^[A-Z]\d{2}(\.[0-9A-Z]{1,4})?$",
              terminology.LOINC: r"^\d{1,7}-\d$"}
    for (system, code) in knowledge.terminology.concepts:
        assert re.match(shapes[system], code), (system, code)


def test_icd10cm_laterality_annotations_follow_the_code(knowledge):
    """I70.21x, I82.40x, I83.81x, R22.4x and kin: 6th character 1 right, 2 left, 3 bilateral."""
    families = {"I70.21": 6, "I70.22": 6, "I70.26": 6, "I70.20": 6, "I82.40": 6, "I82.41": 6, "I82.43": 6, "I82.44": 6,
                "I83.81": 6, "I83.9": 5, "I87.00": 6, "R22.4": 5, "G57.9": 5}
    meaning = {"1": "right", "2": "left", "3": "bilateral"}
    checked = 0
    for (system, code), concept in knowledge.terminology.concepts.items():
        if system != terminology.ICD10CM:
            continue
        for prefix, position in families.items():
            if code.startswith(prefix) and len(code) > position:
                assert concept.side == meaning.get(code[position]), code
                checked += 1
    assert checked >= 25
    pain = {"M79.604": "right", "M79.605": "left", "M79.606": None, "M79.661": "right", "M79.662": "left"}
    for code, side in pain.items():
        assert knowledge.terminology.concepts[(terminology.ICD10CM, code)].side == side


def test_side_specific_snomed_codes_are_annotated(knowledge):
    c = knowledge.terminology.concepts
    assert c[(terminology.SNOMED, "12237071000119100")].side == "left"
    assert c[(terminology.SNOMED, "163109009")].side == "right"
    assert knowledge.terminology.body_sites[(terminology.SNOMED, "32153003")].side == "left"


def _write(tmp_path, name, vs):
    (tmp_path / f"{name}.json").write_text(json.dumps(vs))


def _vs(name, system, code, display="X", **extra):
    concept = {"code": code, "display": display,
               "extension": [{"url": terminology.EXT_SOURCE, "valueString": "test"}]}
    concept.update(extra)
    return {"resourceType": "ValueSet", "id": name, "description": "d",
            "compose": {"include": [{"system": system, "concept": [concept]}]}}


def test_loader_accepts_a_sound_folder(tmp_path):
    _write(tmp_path, "a", _vs("a", terminology.SNOMED, "123456"))
    assert terminology.load(tmp_path).lookup(terminology.SNOMED, "123456").sign == "a"


@pytest.mark.parametrize("vs,message", [
    (_vs("a", "http://example.org/local", "1"), "is not SNOMED CT, ICD-10-CM or LOINC"),
    (_vs("a", terminology.SNOMED, "123456", display=""), r"concept\[0\]\.display: .* should be non-empty"),
    ({**_vs("a", terminology.SNOMED, "123456"), "id": "b"}, "must match the file name"),
    ({**_vs("a", terminology.SNOMED, "123456"), "description": ""}, "description"),
])
def test_loader_refuses_broken_value_sets(tmp_path, vs, message):
    _write(tmp_path, "a", vs)
    with pytest.raises(terminology.TerminologyError, match=message):
        terminology.load(tmp_path)


def test_one_code_with_two_meanings_is_refused(tmp_path):
    _write(tmp_path, "a", _vs("a", terminology.SNOMED, "123456"))
    _write(tmp_path, "b", _vs("b", terminology.SNOMED, "123456"))
    with pytest.raises(terminology.TerminologyError, match="one meaning only"):
        terminology.load(tmp_path)


def test_shipped_value_sets_cover_the_seed_signs():
    names = {p.stem for p in (REPO_ROOT / "valuesets").glob("*.json")}
    for sign in ["intermittent-claudication", "peripheral-arterial-disease", "absent-pedal-pulse", "pallor",
                 "ankle-brachial-index", "venous-claudication", "deep-vein-thrombosis", "varicose-veins", "leg-swelling",
                 "skin-discolouration", "lumbar-spinal-stenosis", "neurogenic-claudication", "lumbar-radiculopathy",
                 "diabetic-neuropathy", "peripheral-neuropathy", "numbness-paresthesia", "neuropathic-ulcer",
                 "muscle-strain", "achilles-tendinitis", "cramp-spasm", "muscle-tenderness", "reduced-range-of-motion",
                 "acute-limb-ischaemia", "ischaemic-rest-pain", "ischaemic-ulcer", "gangrene", "phlegmasia",
                 "cauda-equina", "compartment-syndrome"]:
        assert sign in names


@pytest.mark.parametrize("code, accepted", [
    ("128053003", True),  # International release, short format
    ("132281000119108", True),  # US Edition (namespace 1000119)
    ("836711000000108", False),  # UK extension (namespace 1000000): dropped by the clinical reference
    ("978441000000108", False),
    ("12345", False),  # too short to be an SCTID
    ("12a4567", False),
])
def test_snomed_ids_come_from_the_international_or_us_edition(code, accepted):
    assert (terminology.snomed_edition_problem(code) is None) is accepted


def test_a_value_set_listing_a_uk_extension_code_stops_the_start(tmp_path):
    """A UK-extension id is never sent by an EHR on the International or US Edition (each test < 1 s)."""
    vs = {"resourceType": "ValueSet", "id": "pallor", "description": "d", "compose": {"include": [
        {"system": "http://snomed.info/sct", "concept": [
            {"code": "836711000000108", "display": "Ischaemic lower limb pain at rest (finding)",
             "extension": [{"url": terminology.EXT_SOURCE, "valueString": "gm-sde list"}]}]}]}}
    (tmp_path / "pallor.json").write_text(json.dumps(vs))
    with pytest.raises(TerminologyError, match=r"pallor.json.*836711000000108 comes from the extension with namespace 1000000"):
        terminology.load(tmp_path)
