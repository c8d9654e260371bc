"""Value set loading and the code index: ``system|code`` -> the sign it stands for.

The index is built once at start. Looking a coding up is one dict access, which is what
lets the records stage skip irrelevant resources before any model is built.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from . import documents
from .documents import Problem
from .errors import TerminologyError

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
Side = Literal["left", "right", "bilateral"]
SIDES: frozenset[Side] = frozenset({"left", "right", "bilateral"})


@dataclass(frozen=True, slots=True)
class Concept:
    sign: str
    system: str
    code: str
    display: str
    side: Side | None = None
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


# SNOMED CT editions the value sets draw on: the International release (short-format ids) and the
# US Edition (namespace 1000119), the codes EHRs outside the UK send. The public UK code lists also
# hold UK-extension concepts (namespace 1000000 ...): a site using the International or US Edition
# can never send them, and the clinical reference drops them, so a value set listing one is refused.
SNOMED_NAMESPACES = frozenset({"1000119"})


def snomed_edition_problem(code: str) -> str | None:
    """Why a SNOMED CT id is not one we accept, or None. An id's last digit is its check digit and
    the two before are its partition; a partition starting with 1 is the long format, whose seven
    digits before the partition are the namespace of the extension that issued it."""
    if not code.isdigit() or not 6 <= len(code) <= 18:
        return "is not a SNOMED CT identifier (6 to 18 digits)"
    if code[-3] == "1" and code[-10:-3] not in SNOMED_NAMESPACES:
        return (f"comes from the extension with namespace {code[-10:-3]} (e.g. the UK extension), not the "
                "International or US Edition: an EHR on those editions never sends it")
    return None


def _extension(concept: dict[str, Any], url: str) -> str | None:
    for ext in concept.get("extension", ()):
        if ext.get("url") == url:
            return ext.get("valueCode") or ext.get("valueString")
    return None


def load(directory: Path) -> Terminology:
    """Load every ``*.json`` ValueSet in ``directory``; raise TerminologyError on any problem.

    The shape of each file is ``valueset.schema.json``'s; Python checks only that a value set's
    id is its file name and that no code means two signs."""
    if not directory.is_dir():
        raise TerminologyError("broken value sets:", [Problem(str(directory), None, "", "value set folder does not exist")])
    concepts: dict[tuple[str, str], Concept] = {}
    body_sites: dict[tuple[str, str], Concept] = {}
    non_leg_sites: dict[tuple[str, str], Concept] = {}
    valuesets: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for path in sorted(directory.glob("*.json")):
        name = path.stem
        doc = documents.read_named(path, f"{directory.name}/{path.name}", "valueset")
        if isinstance(doc, list):
            problems.extend(doc)
            continue
        valuesets[name] = doc.data
        target = {BODY_SITE_VALUESET: body_sites, NON_LEG_SITE_VALUESET: non_leg_sites}.get(name, concepts)
        for i, include in enumerate(doc.data["compose"]["include"]):
            for j, raw in enumerate(include["concept"]):
                edition = snomed_edition_problem(raw["code"]) if include["system"] == SNOMED else None
                if edition:
                    problems.append(doc.problem(("compose", "include", i, "concept", j, "code"), f"{raw['code']} {edition}"))
                    continue
                concept = Concept(
                    sign=name, system=include["system"], code=raw["code"], display=raw["display"],
                    side=cast("Side | None", _extension(raw, EXT_LATERALITY)),  # the schema allows only the three
                    site_label=_extension(raw, EXT_SITE_LABEL),
                    source=_extension(raw, EXT_SOURCE),
                )
                key = (concept.system, concept.code)
                other = target.get(key)
                if other is not None and other.sign != concept.sign:
                    problems.append(doc.problem(("compose", "include", i, "concept", j, "code"),
                                                f"{concept.system}|{concept.code} already means {other.sign!r}; "
                                                "a code may have one meaning only"))
                    continue
                target[key] = concept
    if not valuesets and not problems:
        problems.append(Problem(directory.name, None, "", "no value sets found"))
    if problems:
        raise TerminologyError("broken value sets:", problems)
    return Terminology(concepts=concepts, body_sites=body_sites, valuesets=valuesets, non_leg_sites=non_leg_sites)
