"""The Questionnaire, its code system and the answer mapping (cds_service/questionnaire.py)."""
from __future__ import annotations

import json
import shutil

import pytest
import yaml

from cds_service import knowledge as knowledge_mod, questionnaire
from cds_service.config import REPO_ROOT

REPORTED = {"pain-on-walking", "walking-distance", "relief", "character", "severity"}
EXAMINED = {"colour", "temperature", "swelling", "pedal-pulses-absent"}


def test_the_shipped_questionnaire_passes_our_schema_and_fhir_r4(knowledge):
    resource = knowledge.questions.resource
    assert questionnaire.check_resource(resource, "shipped") == []
    assert resource["status"] == "active" and resource["version"] and resource["url"].startswith("https://")


def test_each_leg_is_asked_the_same_questions(knowledge):
    groups = {g["linkId"]: [i["linkId"].partition(".")[2] for i in g["item"]] for g in knowledge.questions.resource["item"]}
    assert set(groups) == {"left-leg", "right-leg"}
    assert groups["left-leg"] == groups["right-leg"]
    assert knowledge.questions.sides == {"left-leg": "left", "right-leg": "right"}


def test_who_answers_each_item(knowledge):
    items = knowledge.questions.items
    assert {k for k, i in items.items() if i.origin == "reported"} == REPORTED
    assert {k for k, i in items.items() if i.origin == "examined"} == EXAMINED
    for item in items.values():
        assert item.seeds and all(len(s) > 10 for s in item.seeds)


def test_coded_answers_are_snomed_from_our_value_sets_or_the_project_code_system(knowledge):
    q = knowledge.questions
    project = {c["code"] for c in q.codesystem["concept"]}
    for item in q.items.values():
        for system, code in item.options:
            if system == q.codesystem["url"]:
                assert code in project
            else:
                assert knowledge.terminology.lookup(system, code) is not None, code


def test_every_answer_sign_carries_its_seed_sentence(knowledge):
    for sign in knowledge.questions.signs():
        assert knowledge.rules.signs[sign].seed


def _copy(tmp_path):
    for name in ("valuesets", "knowledge", "cards", "questionnaires"):
        shutil.copytree(REPO_ROOT / name, tmp_path / name)
    return tmp_path


def _edit_json(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _edit_yaml(path, change):
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))


def _first_question(q):
    return q["item"][0]["item"][1]  # left-leg.walking-distance


QUESTIONNAIRE = "questionnaires/leg-pain-on-walking.json"
CODESYSTEM = "questionnaires/codesystem-leg-pain-answers.json"
MAPPING = "knowledge/questionnaire.yaml"
WORDING = "cards/_questionnaire.yaml"


@pytest.mark.parametrize(("path", "change", "message"), [
    (QUESTIONNAIRE, lambda q: q.update(status="draft"), "status"),
    (QUESTIONNAIRE, lambda q: q.pop("version"), "version"),
    (QUESTIONNAIRE, lambda q: q.update(url="not a url"), "url"),
    (QUESTIONNAIRE, lambda q: _first_question(q).update(extension=[e for e in _first_question(q)["extension"]
                                                                    if not e["url"].endswith("seed-sentence")]),
     "seed-sentence"),
    (QUESTIONNAIRE, lambda q: _first_question(q).update(extension=[e for e in _first_question(q)["extension"]
                                                                    if not e["url"].endswith("answer-origin")]),
     "answer-origin"),
    (QUESTIONNAIRE, lambda q: _first_question(q)["answerOption"][0]["valueCoding"].update(system="http://example.org/x"),
     "system"),
    (QUESTIONNAIRE, lambda q: _first_question(q).update(type="decimal"), "type"),
    (QUESTIONNAIRE, lambda q: _first_question(q).update(enableWhen="yes"), "FHIR Questionnaire"),
    (QUESTIONNAIRE, lambda q: q["item"][1]["item"][1]["answerOption"].pop(), "same question"),
    (CODESYSTEM, lambda cs: cs["concept"].pop(0), "not in"),
    (CODESYSTEM, lambda cs: cs.update(concept="none"), "not a valid FHIR CodeSystem"),
    (CODESYSTEM, lambda cs: cs.update(url="https://example.org/CodeSystem/other"), "is not the code system"),
    (MAPPING, lambda m: m.update(canonical="https://example.org/Questionnaire/x"), "canonical"),
    (MAPPING, lambda m: m["answers"]["relief"].update({"standing-still": "no-such-sign"}), "unknown sign"),
    (MAPPING, lambda m: m["answers"]["relief"].update({"made-up": "pallor"}), "not an answer"),
    (MAPPING, lambda m: m["answers"]["colour"].update({"398979000": "skin-discolouration"}), "value set says"),
    (MAPPING, lambda m: m["booleans"].update({"swelling": "pallor"}), "value set says"),
    (MAPPING, lambda m: m["booleans"].update({"relief": "pallor"}), "no boolean item"),
    (MAPPING, lambda m: m["answers"].update({"swelling": {"x": "pallor"}}), "no choice item"),
    (MAPPING, lambda m: m["answers"]["relief"].pop("elevating-legs"), "no answer maps"),
    (MAPPING, lambda m: m.update(sides={"left-leg": "left"}), "sides"),
    (MAPPING, lambda m: m.update(lookback_days=0), "lookback_days"),
    (MAPPING, lambda m: m.pop("trigger_codes"), "trigger_codes is required"),
    (MAPPING, lambda m: m["trigger_codes"].append({"system": "http://snomed.info/sct", "code": "22298006"}), "never read"),
    (MAPPING, lambda m: m["distribution"].update(item="relief"), "distribution.item"),
    (WORDING, lambda w: w["offer"].update(indicator="warning"), "offer.indicator"),
    (WORDING, lambda w: w["answers_card"].update(indicator="critical"), "answers_card.indicator"),
    (WORDING, lambda w: w["offer"].pop("summary"), "offer: summary is required"),
    (WORDING, lambda w: w["offer"].update(summary="x" * 140), "offer.summary"),
    (WORDING, lambda w: w["offer"].update(snooze=True), "unknown key"),
    (MAPPING, lambda m: m.update(lookback=90), "unknown key"),
    (MAPPING, lambda m: m["trigger_codes"].append({"system": "http://example.org", "code": "1"}), "trigger_codes.10.system"),
    (WORDING, lambda w: w.pop("link_label"), "link_label"),
    (WORDING, lambda w: w["advice"].update({"no-such-sign": "x"}), "unknown sign"),
])
def test_a_broken_questionnaire_file_stops_the_start(tmp_path, path, change, message):
    base = _copy(tmp_path)
    (_edit_json if path.endswith(".json") else _edit_yaml)(base / path, change)
    with pytest.raises(knowledge_mod.KnowledgeError) as caught:
        knowledge_mod.load(base)
    assert message in str(caught.value)


@pytest.mark.parametrize(("path", "first", "twice"), [
    (MAPPING, "lookback_days:", "lookback_days: 1\nlookback_days:"),
    (WORDING, "link_label:", "link_label: x\nlink_label:"),
    (QUESTIONNAIRE, '"status":', '"status": "draft", "status":'),
    (CODESYSTEM, '"url":', '"url": "https://example.org/x", "url":'),
])
def test_a_key_given_twice_in_a_questionnaire_file_is_refused_with_its_line(tmp_path, path, first, twice):
    """The strict reader: json.loads and yaml.safe_load keep the last of two equal keys silently (each test < 2 s)."""
    base = _copy(tmp_path)
    text = (base / path).read_text()
    assert first in text
    (base / path).write_text(text.replace(first, twice, 1))
    with pytest.raises(knowledge_mod.KnowledgeError) as caught:
        knowledge_mod.load(base)
    assert path in str(caught.value) and "given twice" in str(caught.value)


def test_an_unreadable_questionnaire_file_is_refused(tmp_path):
    base = _copy(tmp_path)
    (base / QUESTIONNAIRE).write_text("{not json")
    with pytest.raises(knowledge_mod.KnowledgeError, match="leg-pain-on-walking.json"):
        knowledge_mod.load(base)
    (base / QUESTIONNAIRE).write_text("[1, 2]")
    with pytest.raises(knowledge_mod.KnowledgeError, match="must hold a JSON object"):
        knowledge_mod.load(base)


def test_without_the_mapping_file_there_are_no_questions(tmp_path):
    base = _copy(tmp_path)
    (base / MAPPING).unlink()
    (base / "knowledge" / "patterns.yaml").write_text(
        (REPO_ROOT / "knowledge" / "patterns.yaml").read_text())
    assert knowledge_mod.load(base).questions is None


def test_matches_the_canonical_with_or_without_its_version(knowledge):
    q = knowledge.questions
    assert q.matches(q.canonical) and q.matches(f"{q.canonical}|{q.version}")
    assert not q.matches(f"{q.canonical}|9.9.9") and not q.matches(q.canonical + "-x") and not q.matches(None)
