"""Active medications on record, by class (antiplatelet, statin, anticoagulant ...), from RxNorm codes.

The classes are the value sets in ``valuesets/medications/`` (RxNorm ingredient and clinical-drug
codes, each citing its public source). They are kept apart from the sign value sets: a medication
is never evidence for a pattern, it only decides whether a therapy line is needed. A request, an
order or a statement that is not active, or one for another patient, is not "on record".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import documents
from .documents import Problem
from .errors import TerminologyError

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ACTIVE_REQUEST = frozenset({"active"})
ACTIVE_STATEMENT = frozenset({"active"})
# A proposal or a plan is not yet a prescription; orders of every kind are.
ORDER_INTENTS = frozenset({"order", "original-order", "reflex-order", "filler-order", "instance-order"})
RESOURCE_TYPES = ("MedicationRequest", "MedicationStatement")


@dataclass(frozen=True)
class MedicationClasses:
    """``system|code`` -> the class (value set name) it belongs to; one class per code."""

    codes: dict[tuple[str, str], str]
    displays: dict[tuple[str, str], str]

    @property
    def names(self) -> set[str]:
        return set(self.codes.values())


@dataclass(frozen=True)
class OnRecord:
    medication_class: str
    display: str
    resource_type: str


@dataclass
class Medications:
    """What the medication keys showed: the classes on record, and whether absence can be trusted."""

    found: list[OnRecord] = field(default_factory=list)
    readable: bool = False  # at least one medication key was read
    complete: bool = False  # every medication key was read whole: "not on record" can be said

    def has(self, classes: set[str] | frozenset[str] | list[str]) -> OnRecord | None:
        return next((m for m in self.found if m.medication_class in classes), None)


def load(directory: Path) -> MedicationClasses:
    """Load ``valuesets/medications/*.json``; raise TerminologyError on any problem.

    Each file is read by the strict reader (a key written twice is an error, not a silent
    overwrite) and checked against ``medication-valueset.schema.json`` (RxNorm only, numeric
    RXCUIs, a display and a source for every code). Python checks only what a schema cannot:
    the id is the file name, and a code belongs to one class only, because a drug counted in two
    classes would satisfy two therapy lines at once."""
    codes: dict[tuple[str, str], str] = {}
    displays: dict[tuple[str, str], str] = {}
    problems: list[Problem] = []
    if not directory.is_dir():
        raise TerminologyError("broken medication value sets:",
                               [Problem(str(directory), None, "", "medication value set folder does not exist")])
    for path in sorted(directory.glob("*.json")):
        name = path.stem
        doc = documents.read_named(path, f"medications/{path.name}", "medication-valueset")
        if isinstance(doc, list):
            problems.extend(doc)
            continue
        for i, include in enumerate(doc.data["compose"]["include"]):
            for j, concept in enumerate(include["concept"]):
                key = (RXNORM, concept["code"])
                if key in codes and codes[key] != name:
                    problems.append(doc.problem(("compose", "include", i, "concept", j, "code"),
                                                f"{concept['code']} already belongs to {codes[key]!r}; a drug has one class"))
                    continue
                codes[key], displays[key] = name, concept["display"]
    if not codes and not problems:
        problems.append(Problem(directory.name, None, "", "no medication value sets found"))
    if problems:
        raise TerminologyError("broken medication value sets:", problems)
    return MedicationClasses(codes=codes, displays=displays)


def _belongs_to(resource: dict, patient_id: str) -> bool:
    subject = resource.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    if reference is None:
        return subject is None
    return isinstance(reference, str) and (reference == f"Patient/{patient_id}" or reference.endswith(f"/Patient/{patient_id}"))


def _medication_concept(resource: dict) -> dict | None:
    """medicationCodeableConcept, or the code of a contained Medication it references."""
    concept = resource.get("medicationCodeableConcept")
    if isinstance(concept, dict):
        return concept
    reference = resource.get("medicationReference")
    ref = reference.get("reference") if isinstance(reference, dict) else None
    if isinstance(ref, str) and ref.startswith("#"):
        for contained in resource.get("contained") or ():
            if isinstance(contained, dict) and contained.get("resourceType") == "Medication" \
                    and contained.get("id") == ref[1:] and isinstance(contained.get("code"), dict):
                return contained["code"]
    return None  # a reference to a Medication elsewhere is not followed (one more read per drug)


def _active(resource: dict) -> bool:
    if resource.get("resourceType") == "MedicationRequest":
        return resource.get("status") in ACTIVE_REQUEST and resource.get("intent") in ORDER_INTENTS
    return resource.get("status") in ACTIVE_STATEMENT


def on_record(resources: list, classes: MedicationClasses, patient_id: str) -> list[OnRecord]:
    """The active medications of a known class among the resources, one entry per class and drug."""
    out: dict[tuple[str, str], OnRecord] = {}
    for resource in resources:
        if not isinstance(resource, dict) or resource.get("resourceType") not in RESOURCE_TYPES:
            continue
        if not _active(resource) or not _belongs_to(resource, patient_id):
            continue
        concept = _medication_concept(resource)
        codings = concept.get("coding") if concept else None
        if not isinstance(codings, list):
            continue
        for coding in codings:
            if not isinstance(coding, dict):
                continue
            key = (coding.get("system"), coding.get("code"))
            name = classes.codes.get(key)  # type: ignore[arg-type]
            if name is not None:
                display = classes.displays[key]  # type: ignore[index]
                out.setdefault((name, display), OnRecord(name, display, resource["resourceType"]))
                break
    return list(out.values())


def read(resources: list, classes: MedicationClasses, patient_id: str, key_states: dict[str, str],
         keys: tuple[str, ...]) -> Medications:
    """Medications on record, and how far the medication keys can be trusted.

    A key refused by the EHR (an OperationOutcome, a missing scope: ``failed``) or never sent and
    not fetched (``absent``) removes the lines that need it; a key cut short (``partial``) still
    shows what is on record but cannot show that something is not."""
    states = [key_states.get(k, "absent-skipped") for k in keys]
    readable = any(s in ("present", "partial", "null") for s in states)
    complete = all(s in ("present", "null") for s in states)
    found = on_record(resources, classes, patient_id) if readable else []
    return Medications(found=found, readable=readable, complete=complete)
