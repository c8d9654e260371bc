"""The seed's questions: the Questionnaire, its answer code system, and how answers become signs.

Loaded and cross-checked at start with the other knowledge files, so that a question without its
seed sentence, an answer code the code system does not define, or a mapping to a sign the pattern
table does not know stops the service before any request (never a wrong card at request time).

Files: ``questionnaires/leg-pain-on-walking.json`` (FHIR R4, checked by our JSON Schema
``schemas/questionnaire.schema.json`` and by fhir.resources), ``questionnaires/codesystem-leg-pain-answers.json``,
``knowledge/questionnaire.yaml`` (answer -> sign, lookback, trigger codes) and
``cards/_questionnaire.yaml`` (wording).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.questionnaire import Questionnaire
from pydantic import ValidationError

from . import documents
from .rules import Rules
from .terminology import LOINC, SNOMED, Terminology
from .validation import validator

EXT_BASE = "https://claudication-cds.example.org/fhir/StructureDefinition/"
EXT_SEED = EXT_BASE + "seed-sentence"
EXT_ORIGIN = EXT_BASE + "answer-origin"
KNOWLEDGE_FILE = Path("knowledge") / "questionnaire.yaml"
WORDING_FILE = Path("cards") / "_questionnaire.yaml"
READ_FROM = "QuestionnaireResponse"
ORIGINS = ("reported", "examined")


class QuestionnaireError(ValueError):
    """The questionnaire files are broken or disagree; the service refuses to start with them."""


@dataclass(frozen=True)
class Item:
    key: str  # the linkId after "<group>."
    type: str  # boolean | choice
    origin: str  # reported (by the patient) | examined (by the clinician)
    seeds: tuple[str, ...]
    text: str
    options: dict[tuple[str, str], str]  # (system, code) -> display


@dataclass(frozen=True)
class Wording:
    link_label: str
    offer: dict
    reported_only: dict
    advice: dict[str, str]
    answers_card: dict


@dataclass(frozen=True)
class Questions:
    canonical: str
    version: str
    resource: dict  # the Questionnaire as shipped (served by GET /questionnaires/<id>)
    codesystem: dict
    lookback_days: int
    sides: dict[str, str]  # group linkId -> left | right
    items: dict[str, Item]
    answers: dict[str, dict[str, str]]  # item key -> answer code -> sign
    booleans: dict[str, str]  # item key -> sign (true: present, false: recorded absent)
    distribution: dict[str, str]  # item, both, one
    trigger_codes: frozenset[tuple[str, str]]
    trigger_recent_days: int
    wording: Wording
    resource_json: bytes = b""  # serialised once for GET /questionnaires/<id>

    @property
    def id(self) -> str:
        return self.resource["id"]

    def matches(self, reference: str | None) -> bool:
        """A QuestionnaireResponse.questionnaire naming this Questionnaire, with or without |version."""
        if not isinstance(reference, str):
            return False
        url, _, version = reference.partition("|")
        return url == self.canonical and (not version or version == self.version)

    def signs(self) -> set[str]:
        mapped = {s for table in self.answers.values() for s in table.values()} | set(self.booleans.values())
        return mapped | {self.distribution["both"], self.distribution["one"]}


def _read(path: Path, kind: str) -> dict:
    """The strict reader of every knowledge file: a key given twice is an error naming its line,
    not a silent overwrite (a second ``answers`` table would replace the first one unseen)."""
    doc = documents.read(path, str(path))
    if isinstance(doc, documents.Problem):
        raise QuestionnaireError(f"{doc} ({kind})")
    if not isinstance(doc.data, dict):
        raise QuestionnaireError(f"{path} must hold a {'JSON object' if kind == 'JSON' else 'mapping'}")
    return doc.data


def _read_json(path: Path) -> dict:
    return _read(path, "JSON")


def _read_yaml(path: Path) -> dict:
    return _read(path, "YAML")


def _message(error: Any) -> str:
    if error.validator in ("contains", "minContains", "maxContains"):  # the only arrays with 'contains': extensions
        return ("every question needs a seed-sentence extension (the seed sentence it comes from) and exactly one "
                "answer-origin extension (reported or examined)")
    return error.message


def _schema_problems(schema: str, document: dict, path: Path) -> list[str]:
    """Problems naming the file and the key (never quoting long values)."""
    out = []
    for e in validator(schema).iter_errors(document):
        where = ".".join(str(p) for p in e.absolute_path) or "(top level)"
        if e.validator == "required":
            missing = [k for k in e.validator_value if isinstance(e.instance, dict) and k not in e.instance]
            out.append(f"{path}: {where}: {', '.join(missing)} is required")
        elif e.validator == "additionalProperties":
            out.append(f"{path}: {where}: unknown key ({e.message})")
        else:
            out.append(f"{path}: {where}: {e.message[:200]}")
    return out


def check_resource(resource: dict, name: str) -> list[str]:
    """Problems with a Questionnaire: our profile's JSON Schema first, then the FHIR R4 model."""
    problems = [f"{name}: {'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {_message(e)}"
                for e in validator("questionnaire").iter_errors(resource)]
    try:
        Questionnaire.model_validate(resource)
    except ValidationError as exc:
        problems.append(f"{name}: not a valid FHIR Questionnaire: {exc.errors()[0]['msg']}")
    return problems


def _items(resource: dict, problems: list[str]) -> tuple[dict[str, list[str]], dict[str, Item]]:
    groups: dict[str, list[str]] = {}
    items: dict[str, Item] = {}
    for group in resource.get("item") or ():
        gid = group.get("linkId", "")
        groups[gid] = []
        for raw in group.get("item") or ():
            prefix, _, key = str(raw.get("linkId", "")).partition(".")
            if prefix != gid:
                problems.append(f"item {raw.get('linkId')!r} must start with its group's linkId {gid!r}")
            groups[gid].append(key)
            ext = raw.get("extension") or ()
            origin = next((e.get("valueCode") for e in ext if e.get("url") == EXT_ORIGIN), "")
            item = Item(key=key, type=raw.get("type", ""), origin=origin, text=raw.get("text", ""),
                        seeds=tuple(e.get("valueString", "") for e in ext if e.get("url") == EXT_SEED),
                        options={(o["valueCoding"]["system"], o["valueCoding"]["code"]): o["valueCoding"].get("display", "")
                                 for o in raw.get("answerOption") or () if "valueCoding" in o})
            if key in items and (items[key].type, items[key].origin, items[key].options) != (item.type, item.origin, item.options):
                problems.append(f"item {key!r} must ask the same question with the same answers on every leg")
            items[key] = item
    return groups, items


def load(base: Path, rules: Rules, terminology: Terminology) -> Questions | None:
    """The questions under ``base``, or None when ``knowledge/questionnaire.yaml`` is not there."""
    if not (base / KNOWLEDGE_FILE).exists():
        return None
    config = _read_yaml(base / KNOWLEDGE_FILE)
    wording_raw = _read_yaml(base / WORDING_FILE)
    problems = _schema_problems("questionnaire-knowledge", config, KNOWLEDGE_FILE)
    problems += _schema_problems("card-questionnaire", wording_raw, WORDING_FILE)
    if problems:
        raise QuestionnaireError("broken questionnaire files:\n  " + "\n  ".join(problems))
    resource = _read_json(base / config["questionnaire"])
    codesystem = _read_json(base / config["codesystem"])
    problems += check_resource(resource, config["questionnaire"])
    try:
        CodeSystem.model_validate(codesystem)
    except ValidationError as exc:
        problems.append(f"{config['codesystem']}: not a valid FHIR CodeSystem: {exc.errors()[0]['msg']}")
    if problems:
        raise QuestionnaireError("broken questionnaire files:\n  " + "\n  ".join(problems))
    if resource["url"] != config["canonical"]:
        problems.append(f"{KNOWLEDGE_FILE}: canonical {config['canonical']!r} is not the Questionnaire's url")
    project_codes = {c.get("code") for c in codesystem.get("concept") or ()}
    groups, items = _items(resource, problems)
    for item in items.values():
        for system, code in item.options:
            if system in (SNOMED, LOINC):
                continue
            if system != codesystem.get("url"):
                problems.append(f"item {item.key!r}: answer system {system!r} is not the code system {config['codesystem']}")
            elif code not in project_codes:
                problems.append(f"item {item.key!r}: answer {code!r} is not in {config['codesystem']}")
    sides = dict(config["sides"] or {})
    if set(sides) != set(groups) or set(sides.values()) - {"left", "right"}:
        problems.append(f"{KNOWLEDGE_FILE}: sides must name each leg group ({sorted(groups)}) as left or right")

    def known_sign(sign: str, where: str) -> None:
        if sign not in rules.signs:
            problems.append(f"{KNOWLEDGE_FILE}: {where}: unknown sign {sign!r}")

    answers = {k: {str(code): sign for code, sign in (v or {}).items()} for k, v in (config["answers"] or {}).items()}
    for key, table in answers.items():
        choice = items.get(key)
        if choice is None or choice.type != "choice":
            problems.append(f"{KNOWLEDGE_FILE}: answers.{key}: no choice item {key!r} in the Questionnaire")
            continue
        by_code = {code: system for system, code in choice.options}
        for code, sign in table.items():
            known_sign(sign, f"answers.{key}.{code}")
            if code not in by_code:
                problems.append(f"{KNOWLEDGE_FILE}: answers.{key}.{code}: not an answer of item {key!r}")
                continue
            concept = terminology.lookup(by_code[code], code)
            if concept is not None and concept.sign != sign:
                problems.append(f"{KNOWLEDGE_FILE}: answers.{key}.{code}: its value set says {concept.sign!r}, not {sign!r}")
    booleans = dict(config["booleans"] or {})
    for key, sign in booleans.items():
        known_sign(sign, f"booleans.{key}")
        flag = items.get(key)
        if flag is None or flag.type != "boolean":
            problems.append(f"{KNOWLEDGE_FILE}: booleans.{key}: no boolean item {key!r} in the Questionnaire")
    for raw in (g for group in resource["item"] for g in group["item"]):
        for coding in raw.get("code") or ():
            concept = terminology.lookup(coding["system"], coding["code"])
            key = raw["linkId"].partition(".")[2]
            if concept is not None and booleans.get(key) not in (None, concept.sign):
                problems.append(f"item {key!r}: its code's value set says {concept.sign!r}, not {booleans[key]!r}")
    distribution = dict(config["distribution"])
    known_sign(distribution["both"], "distribution.both")
    known_sign(distribution["one"], "distribution.one")
    if getattr(items.get(distribution["item"]), "type", None) != "boolean":
        problems.append(f"{KNOWLEDGE_FILE}: distribution.item must be a boolean item")
    triggers = set()
    for entry in config["trigger_codes"] or ():
        pair = (entry.get("system"), str(entry.get("code")))
        if terminology.lookup(*pair) is None:
            problems.append(f"{KNOWLEDGE_FILE}: trigger code {pair[1]!r} is in no value set, so it is never read")
        triggers.add(pair)
    wording = Wording(link_label=str(wording_raw.get("link_label", "")), offer=dict(wording_raw.get("offer") or {}),
                      reported_only=dict(wording_raw.get("reported_only") or {}),
                      advice=dict(wording_raw.get("advice") or {}), answers_card=dict(wording_raw.get("answers_card") or {}))
    for sign in wording.advice:
        known_sign(sign, f"{WORDING_FILE} advice")
    questions = Questions(canonical=resource["url"], version=resource["version"], resource=resource,
                          codesystem=codesystem, lookback_days=config["lookback_days"], sides=sides, items=items,
                          answers=answers, booleans=booleans, distribution=distribution,
                          trigger_codes=frozenset(triggers), trigger_recent_days=config["trigger_recent_days"],
                          wording=wording, resource_json=orjson.dumps(resource))
    if not problems:
        read = {s.id for s in rules.signs.values() if READ_FROM in s.read_from}
        for sign in sorted(read - questions.signs()):
            problems.append(f"pattern table sign {sign!r} is read from QuestionnaireResponse but no answer maps to it")
    if problems:
        raise QuestionnaireError("broken questionnaire files:\n  " + "\n  ".join(problems))
    return questions
