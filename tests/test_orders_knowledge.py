"""knowledge/order-rules.yaml and cards/orders/: loaded, expanded and refused when broken."""
from __future__ import annotations

import re
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
    for name in ("valuesets", "knowledge", "cards", "questionnaires"):  # everything knowledge_mod.load reads
        shutil.copytree(REPO_ROOT / name, tmp_path / name)
    return tmp_path


def _edit(base, change):
    path = base / "knowledge" / "order-rules.yaml"
    raw = yaml.safe_load(path.read_text())
    change(raw)
    path.write_text(yaml.safe_dump(raw))


@pytest.mark.parametrize("change,message", [
    (lambda r: r["code_sets"]["cilostazol"]["concepts"][0].pop("source"), r"order-rules.yaml:\d+: code_sets.cilostazol.concepts\[0\].source: source is required here"),
    (lambda r: r["code_sets"]["heart-failure"]["families"][0].update(code="I49"), "is not expanded"),
    (lambda r: r["signs"].update(clti=["no-such-sign"]), "signs.clti"),
    (lambda r: r["abi"].pop("window_days"), "abi.window_days: window_days is required here"),
    (lambda r: r["code_sets"]["acute-heart-failure"].pop("window_days"), r"code_sets.acute-heart-failure.window_days"),
    (lambda r: r["code_sets"]["acute-heart-failure"].update(window_days=0), r"code_sets.acute-heart-failure.window_days"),
    (lambda r: r["rules"]["compression-ischaemia"]["parts"]["clti"].update(needs=["nope"]), "must name prefetch keys"),
    (lambda r: r["rules"]["cilostazol-heart-failure"].pop("sources"), "rules.cilostazol-heart-failure.sources: sources is required here"),
    (lambda r: r["prefetch"]["abi"].update(resource="Patient"), "prefetch.abi.resource: 'Patient' is not one of Condition, Observation"),
    (lambda r: r.pop("disclaimer"), "disclaimer: disclaimer is required here"),
    (lambda r: r.update(reuse_prefetch=["nothing"]), "no patient-view prefetch key"),
])
def test_broken_order_rules_stop_the_start(tmp_path, knowledge, change, message):
    base = _copy(tmp_path)
    _edit(base, change)
    with pytest.raises(OrderKnowledgeError, match=message):
        load(base, knowledge)


@pytest.mark.parametrize("old,new,message", [
    ("indicator: critical", "indicator: urgent",
     r"cilostazol-heart-failure.yaml:\d+: variants.current.indicator: 'urgent' is not one of info, warning, critical"),
    ("{condition}", "{patient_name}", "unknown placeholders"),
    ("suggest: [delete]", "suggest: [nowhere]", "needs a label and a description"),
    ("  - {code: heart-failure-excluded, display: Heart failure excluded on current assessment}\n",
     "  - {code: heart-failure-excluded}\n", r"override_reasons\[0\].display: display is required here"),
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


# Issue 12: each order-time file is read strictly and checked against its schema
# (cds_service/schemas/order-rules, order-card, order-icd10cm); a refusal names file, line and key.

def _replace(base, name, old, new):
    path = base / name
    assert old in path.read_text(encoding="utf-8"), old
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")


def _refusal(base, knowledge) -> str:
    with pytest.raises(OrderKnowledgeError) as refused:
        load(base, knowledge)
    return str(refused.value)


@pytest.mark.parametrize("old,new,expected", [
    # unknown key (a misspelt threshold would otherwise be ignored)
    ("  critical_below: 0.6", "  critical_belo: 0.6",
     r"knowledge/order-rules.yaml:\d+: abi.critical_belo: unknown key \(allowed here: critical_below"),
    # string for a number
    ("  window_days: 365", "  window_days: \"365\"",
     r"knowledge/order-rules.yaml:\d+: abi.window_days: '365' is a string; expected integer"),
    # wrong type: a list where a mapping belongs
    ("  abi: {resource: Observation, signs: [abi], sort: -date, count: 50}", "  abi: [Observation]",
     r"knowledge/order-rules.yaml:\d+: prefetch.abi: .* is an array; expected mapping"),
    # a count that is no whole number
    ("code_sets: [heart-failure, acute-heart-failure], count: 200}", "code_sets: [heart-failure, acute-heart-failure], count: 1.5}",
     r"prefetch.heartFailure.count: 1.5 is a number; expected integer"),
    # a prefetch key naming an unknown code set (cross-reference declared in the schema)
    ("code_sets: [heart-failure, acute-heart-failure], count: 200}", "code_sets: [heart-failur, acute-heart-failure], count: 200}",
     r"prefetch.heartFailure.code_sets\[0\]: 'heart-failur' is not one of"),
    # an unknown system on a code
    ('{system: rxnorm, code: "21107"', '{system: rxnorms, code: "21107"',
     r"code_sets.cilostazol.concepts\[0\].system: 'rxnorms' is not a key of systems"),
    # a code written as a number
    ('{system: rxnorm, code: "21107"', "{system: rxnorm, code: 21107",
     r"code_sets.cilostazol.concepts\[0\].code: 21107 is an integer; expected string"),
    # by_patient (#17) is a yes/no
    ("heartFailure: {resource: Condition, by_patient: true", "heartFailure: {resource: Condition, by_patient: 1",
     r"prefetch.heartFailure.by_patient: 1 is an integer; expected boolean"),
    # a concept's reason (why a code outside the cited set belongs) is text
    ('reason: "rheumatic heart failure', 'reason: 7, note: "rheumatic heart failure',
     r"code_sets.heart-failure.concepts\[0\].reason: 7 is an integer; expected string"),
    # a key given twice (YAML would keep the last)
    ("  window_days: 365\n", "  window_days: 365\n  window_days: 30\n",
     r"knowledge/order-rules.yaml:\d+: abi.window_days: key 'window_days' given twice \(first on line \d+\)"),
    # an unknown top-level key
    ("disclaimer: >-", "disclaimers: x\ndisclaimer: >-", r"knowledge/order-rules.yaml:\d+: disclaimers: unknown key"),
    # broken cross-reference: a part needs a prefetch key that does not exist
    ("parts: {heart-failure: {needs: [heartFailure]}}", "parts: {heart-failure: {needs: [heartFailures]}}",
     r"rules.cilostazol-heart-failure.parts.heart-failure.needs must name prefetch keys"),
])
def test_order_rules_schema_refuses(tmp_path, knowledge, old, new, expected):
    base = _copy(tmp_path)
    _replace(base, "knowledge/order-rules.yaml", old, new)
    message = _refusal(base, knowledge)
    assert message.startswith("broken order rules:\n  ")
    assert re.search(expected, message), message


@pytest.mark.parametrize("old,new,expected", [
    ("title: ", "titel: x\ntitle: ", r"cards/orders/cilostazol-heart-failure.yaml:\d+: titel: unknown key"),
    ("    indicator: critical", "    indicator: critical\n    indicator: warning",
     r"cards/orders/cilostazol-heart-failure.yaml:\d+: variants.current.indicator: key 'indicator' given twice"),
    ("    indicator: critical", "    indicator: [critical]",
     r"variants.current.indicator: \['critical'\] is not one of info, warning, critical"),
    ("    suggest: [delete]", "    suggest: delete", r"variants.current.suggest: 'delete' is a string; expected array"),
    ("  - {code: heart-failure-excluded, display: Heart failure excluded on current assessment}",
     "  - {code: heart-failure-excluded, display: Heart failure excluded on current assessment, default: true}",
     r"override_reasons\[0\].default: unknown key"),
    ("url: https://dailymed", "url: dailymed", r"source.url: 'dailymed.* does not match"),
    # broken cross-reference: a variant suggests a suggestion the card does not define
    ("    suggest: [delete]", "    suggest: [nowhere]", r"variant current suggests 'nowhere', which needs a label"),
])
def test_order_card_schema_refuses(tmp_path, knowledge, old, new, expected):
    base = _copy(tmp_path)
    _replace(base, "cards/orders/cilostazol-heart-failure.yaml", old, new)
    message = _refusal(base, knowledge)
    assert re.search(expected, message), message
    assert "no template for cilostazol-heart-failure" not in message  # the file is there, only broken


@pytest.mark.parametrize("old,new,expected", [
    ('"tabular":', '"tabullar": "x",\n "tabular":', r"knowledge/order-icd10cm.json:\d+: tabullar: unknown key"),
    ('"tabular":', '"tabular": "x",\n "tabular":', r"knowledge/order-icd10cm.json:\d+: tabular: key 'tabular' given twice"),
    ('"code": "E10",', '"code": 10,', r"families.E10\[0\].code: 10 is an integer; expected string"),
    ('"code": "E10",', '"code": "E10", "billable": "true",', r"families.E10\[0\].billable: unknown key"),
])
def test_order_icd10cm_schema_refuses(tmp_path, knowledge, old, new, expected):
    base = _copy(tmp_path)
    _replace(base, "knowledge/order-icd10cm.json", old, new)
    message = _refusal(base, knowledge)
    assert re.search(expected, message), message
    assert "run tools/expand_icd_families.py" in message or "regenerate it with tools/expand_icd_families.py" in message


def test_the_schema_and_the_loader_name_the_same_code_sets_sign_groups_and_rules():
    """One declaration: the names the loader iterates are the names the schema requires."""
    import json

    from cds_service.orders.knowledge import CODE_SETS, RULE_PARTS, SIGN_GROUPS
    schema = json.loads((REPO_ROOT / "cds_service" / "schemas" / "order-rules.schema.json").read_text())
    props = schema["properties"]
    assert set(props["code_sets"]["required"]) == set(CODE_SETS)
    assert set(props["signs"]["required"]) == set(SIGN_GROUPS)
    assert set(props["rules"]["required"]) == set(RULE_PARTS)


def test_cds_service_check_refuses_a_broken_order_file(tmp_path, capsys):
    from cds_service import cli
    base = _copy(tmp_path)
    _replace(base, "knowledge/order-rules.yaml", "  critical_below: 0.6", "  critical_below: \"0.6\"")
    assert cli.main(["check", "--dir", str(base)]) == 1
    assert "knowledge/order-rules.yaml:" in capsys.readouterr().err
    assert "abi.critical_below: '0.6' is a string; expected number" in _refusal(base, _knowledge(base))


def _knowledge(base):
    from cds_service.knowledge import load as load_knowledge
    return load_knowledge(base)
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
