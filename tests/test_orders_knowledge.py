"""knowledge/order-rules.yaml and cards/orders/: loaded, expanded and refused when broken."""
from __future__ import annotations

import shutil
import sys

import pytest
import yaml

from cds_service.config import REPO_ROOT
from cds_service.orders.knowledge import OrderKnowledgeError, load

sys.path.insert(0, str(REPO_ROOT / "tools"))

ICD = "http://hl7.org/fhir/sid/icd-10-cm"


def test_icd_families_are_expanded_whole_and_nothing_else(order_knowledge):
    hf = {code for (system, code), entries in order_knowledge.codes.items()
          if system == ICD and any(e.code_set == "heart-failure" for e in entries)}
    assert {"I50", "I50.1", "I50.9", "I50.84", "I50.814", "I11.0", "I13.0", "I13.2", "I09.81",
            "I97.13", "I97.130", "I97.131"} <= hf
    assert not {c for c in hf if not c.startswith(("I50", "I11.0", "I13.0", "I13.2", "I09.81", "I97.13"))}
    assert "I11.9" not in hf and "I13.10" not in hf and "I97.1" not in hf and "I97.19" not in hf


def test_every_listed_code_names_its_source(order_knowledge):
    for entries in order_knowledge.codes.values():
        for entry in entries:
            assert entry.source and entry.display


def test_prefetch_keys_are_optional_and_code_filtered_or_read_by_patient(order_knowledge):
    keys = {k.key: k for k in order_knowledge.prefetch_keys}
    assert set(keys) == {"heartFailure", "arterialConditions", "abi", "procedures"}
    assert not any(k.required for k in keys.values())
    assert "77194-9" in keys["abi"].params
    # read by patient and filtered locally: the code lists would be 1.2 to 4 KB (issue 17, tests/test_prefetch.py)
    assert keys["arterialConditions"].params == "_count=200"
    assert keys["heartFailure"].params == "_count=200"


def test_the_expanded_families_match_the_rules_and_the_pinned_tabular():
    from expand_icd_families import TARGET, render
    assert TARGET.read_text() == render(), "run tools/expand_icd_families.py"


@pytest.mark.parametrize("change,message", [
    (lambda r: r["code_sets"]["heart-failure"]["concepts"].append(
        {"system": "icd10cm", "code": "I50.99", "display": "made up", "source": "x"}), "I50.99 is not an ICD-10-CM code"),
    (lambda r: r["code_sets"]["heart-failure"]["families"][0].update(code="Q99.99.9"), "family Q99.99.9 is not in"),
])
def test_the_expansion_refuses_codes_not_in_the_tabular(change, message):
    from expand_icd_families import RULES, ExpansionError, expand
    raw = yaml.safe_load(RULES.read_text())
    change(raw)
    with pytest.raises(ExpansionError, match=message):
        expand(raw)


def _copy(tmp_path):
    for name in ("valuesets", "knowledge", "cards", "questionnaires"):
        shutil.copytree(REPO_ROOT / name, tmp_path / name)
    return tmp_path


def _edit(base, change):
    path = base / "knowledge" / "order-rules.yaml"
    raw = yaml.safe_load(path.read_text())
    change(raw)
    path.write_text(yaml.safe_dump(raw))


@pytest.mark.parametrize("change,message", [
    (lambda r: r["code_sets"]["cilostazol"]["concepts"][0].pop("source"), "needs a display and its source"),
    (lambda r: r["code_sets"]["heart-failure"]["families"][0].update(code="I49"), "is not expanded"),
    (lambda r: r["signs"].update(clti=["no-such-sign"]), "signs.clti"),
    (lambda r: r["abi"].pop("window_days"), "abi needs window_days"),
    (lambda r: r["code_sets"]["acute-heart-failure"].pop("window_days"), "acute-heart-failure needs window_days"),
    (lambda r: r["code_sets"]["acute-heart-failure"].update(window_days=0), "acute-heart-failure needs window_days"),
    (lambda r: r["rules"]["compression-ischaemia"]["parts"]["clti"].update(needs=["nope"]), "must name prefetch keys"),
    (lambda r: r["rules"]["cilostazol-heart-failure"].pop("sources"), "needs its sources"),
    (lambda r: r["prefetch"]["abi"].update(resource="Patient"), "resource must be Condition or Observation"),
    (lambda r: r.pop("disclaimer"), "disclaimer is required"),
    (lambda r: r.update(reuse_prefetch=["nothing"]), "no patient-view prefetch key"),
])
def test_broken_order_rules_stop_the_start(tmp_path, knowledge, change, message):
    base = _copy(tmp_path)
    _edit(base, change)
    with pytest.raises(OrderKnowledgeError, match=message):
        load(base, knowledge)


@pytest.mark.parametrize("old,new,message", [
    ("indicator: critical", "indicator: urgent", "needs an indicator"),
    ("{condition}", "{patient_name}", "unknown placeholders"),
    ("suggest: [delete]", "suggest: [nowhere]", "needs a label and a description"),
    ("  - {code: heart-failure-excluded, display: Heart failure excluded on current assessment}\n",
     "  - {code: heart-failure-excluded}\n", "override_reasons need code and display"),
])
def test_broken_order_card_templates_stop_the_start(tmp_path, knowledge, old, new, message):
    base = _copy(tmp_path)
    path = base / "cards" / "orders" / "cilostazol-heart-failure.yaml"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(OrderKnowledgeError, match=message):
        load(base, knowledge)


def test_a_missing_order_card_template_stops_the_start(tmp_path, knowledge):
    base = _copy(tmp_path)
    (base / "cards" / "orders" / "compression-heart-failure.yaml").unlink()
    with pytest.raises(OrderKnowledgeError, match="no template for compression-heart-failure"):
        load(base, knowledge)


def test_by_patient_is_for_conditions_only(tmp_path):
    from cds_service import knowledge as knowledge_mod
    for name in ("valuesets", "knowledge", "cards", "questionnaires"):
        shutil.copytree(REPO_ROOT / name, tmp_path / name)
    path = tmp_path / "knowledge" / "order-rules.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "abi: {resource: Observation, signs: [abi]", "abi: {resource: Observation, by_patient: true, signs: [abi]"),
        encoding="utf-8")
    with pytest.raises(OrderKnowledgeError, match="by_patient is for Conditions only"):
        load(tmp_path, knowledge_mod.load(tmp_path))
