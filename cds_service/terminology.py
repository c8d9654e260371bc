"""Value set loading and the code index: ``system|code`` -> the sign it stands for.

The index is built once at start. Looking a coding up is one dict access, which is what
lets the records stage skip irrelevant resources before any model is built.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
ALLOWED_SYSTEMS = frozenset({SNOMED, ICD10CM, LOINC})
BODY_SITE_VALUESET = "leg-body-sites"
NON_LEG_SITE_VALUESET = "non-leg-body-sites"  # arm, hand ...: a finding there is not a leg finding
_EXT_BASE = "https://claudication-cds.example.org/fhir/StructureDefinition/"
EXT_LATERALITY = _EXT_BASE + "concept-laterality"
EXT_SITE_LABEL = _EXT_BASE + "concept-site-label"
EXT_SOURCE = _EXT_BASE + "concept-source"
SIDES = frozenset({"left", "right", "bilateral"})


class TerminologyError(ValueError):
    """A value set file is broken; the service refuses to start with it."""


@dataclass(frozen=True, slots=True)
class Concept:
    sign: str
    system: str
    code: str
    display: str
    side: str | None = None
    site_label: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Terminology:
    """Signs by coding, plus the leg body sites used to read side and site, and the non-leg sites."""

    concepts: dict[tuple[str, str], Concept]
    body_sites: dict[tuple[str, str], Concept]
    valuesets: dict[str, dict]
    non_leg_sites: dict[tuple[str, str], Concept] = field(default_factory=dict)

    def lookup(self, system: str | None, code: str | None) -> Concept | None:
        if not system or not code:
            return None
        return self.concepts.get((system, code))

    def codes_for(self, signs: set[str] | frozenset[str]) -> list[Concept]:
        return [c for c in self.concepts.values() if c.sign in signs]

    @property
    def signs(self) -> set[str]:
        return {c.sign for c in self.concepts.values()}


def _extension(concept: dict, url: str) -> str | None:
    for ext in concept.get("extension", ()):
        if ext.get("url") == url:
            return ext.get("valueCode") or ext.get("valueString")
    return None


def check_valueset(name: str, vs: dict) -> list[str]:
    """Problems with one ValueSet resource, as human-readable lines (empty when sound)."""
    problems = []
    if vs.get("resourceType") != "ValueSet":
        return [f"{name}: resourceType must be ValueSet"]
    if vs.get("id") != name:
        problems.append(f"{name}: id {vs.get('id')!r} must match the file name")
    if not vs.get("description"):
        problems.append(f"{name}: description (the seed sign it stands for) is missing")
    includes = vs.get("compose", {}).get("include")
    if not includes:
        problems.append(f"{name}: compose.include is empty")
        return problems
    for include in includes:
        system = include.get("system")
        if system not in ALLOWED_SYSTEMS:
            problems.append(f"{name}: system {system!r} is not SNOMED CT, ICD-10-CM or LOINC")
        concepts = include.get("concept") or []
        if not concepts:
            problems.append(f"{name}: include for {system} lists no concept")
        for concept in concepts:
            code = concept.get("code")
            if not code or not isinstance(code, str):
                problems.append(f"{name}: a concept in {system} has no code")
                continue
            if not concept.get("display"):
                problems.append(f"{name}: {system}|{code} has no display")
            if not _extension(concept, EXT_SOURCE):
                problems.append(f"{name}: {system}|{code} does not cite its source")
            side = _extension(concept, EXT_LATERALITY)
            if side is not None and side not in SIDES:
                problems.append(f"{name}: {system}|{code} laterality {side!r} is not left, right or bilateral")
    return problems


def load(directory: Path) -> Terminology:
    """Load every ``*.json`` ValueSet in ``directory``; raise TerminologyError on any problem."""
    if not directory.is_dir():
        raise TerminologyError(f"value set folder {directory} does not exist")
    concepts: dict[tuple[str, str], Concept] = {}
    body_sites: dict[tuple[str, str], Concept] = {}
    non_leg_sites: dict[tuple[str, str], Concept] = {}
    valuesets: dict[str, dict] = {}
    problems: list[str] = []
    for path in sorted(directory.glob("*.json")):
        name = path.stem
        try:
            vs = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problems.append(f"{name}: not readable JSON ({exc})")
            continue
        found = check_valueset(name, vs)
        if found:
            problems.extend(found)
            continue
        if vs.get("resourceType") == "ValueSet":
            valuesets[name] = vs
        target = {BODY_SITE_VALUESET: body_sites, NON_LEG_SITE_VALUESET: non_leg_sites}.get(name, concepts)
        for include in vs["compose"]["include"]:
            for raw in include["concept"]:
                concept = Concept(
                    sign=name, system=include["system"], code=raw["code"], display=raw["display"],
                    side=_extension(raw, EXT_LATERALITY), site_label=_extension(raw, EXT_SITE_LABEL),
                    source=_extension(raw, EXT_SOURCE),
                )
                key = (concept.system, concept.code)
                other = target.get(key)
                if other is not None and other.sign != concept.sign:
                    problems.append(
                        f"{name}: {concept.system}|{concept.code} already means {other.sign!r}; a code may have one meaning only")
                    continue
                target[key] = concept
    if not valuesets:
        problems.append(f"{directory}: no value sets found")
    if problems:
        raise TerminologyError("broken value sets:\n  " + "\n  ".join(problems))
    return Terminology(concepts=concepts, body_sites=body_sites, valuesets=valuesets, non_leg_sites=non_leg_sites)
