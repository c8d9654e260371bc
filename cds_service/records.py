"""Prefetched FHIR JSON -> validated fhir.resources models, for relevant resources only.

The cheap pre-filter runs first: a resource whose codes the terminology does not know is
dropped without building a model (most of a record is irrelevant here). Only the rest are
validated as R4B models; one that fails validation, or that belongs to another patient, is
skipped and counted, never fatal.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Iterable

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.servicerequest import ServiceRequest

from .terminology import Concept, Terminology

MODELS = {"Condition": Condition, "Observation": Observation, "Procedure": Procedure, "ServiceRequest": ServiceRequest}


class Malformed(ValueError):
    """A resource's structure is broken where the service must read it."""


@dataclass(slots=True)
class Record:
    resource_type: str
    model: Any
    concept: Concept
    via: str  # "code", "component" or "value": where the known coding was found


@dataclass
class Intake:
    records: list[Record] = field(default_factory=list)
    seen: int = 0
    irrelevant: int = 0
    malformed: int = 0
    other_patient: int = 0
    duplicates: int = 0
    unknown_codes: int = 0  # Conditions coded in a leg-relevant block that no value set knows (families.Gaps)


def _known(concept: Any, index: dict) -> Concept | None:
    """The first coding of a CodeableConcept that the index knows (the hot loop: no allocations)."""
    if concept is None:
        return None
    if not isinstance(concept, dict):
        raise Malformed("CodeableConcept is not an object")
    codings = concept.get("coding")
    if codings is None:
        return None
    if not isinstance(codings, list):
        raise Malformed("coding is not a list")
    for coding in codings:
        if not isinstance(coding, dict):
            raise Malformed("coding entry is not an object")
        system, code = coding.get("system"), coding.get("code")
        if isinstance(system, str) and isinstance(code, str):
            found = index.get((system, code))
            if found is not None:
                return found
    return None


def match(resource: dict, terminology: Terminology) -> tuple[Concept, str] | None:
    """The first known coding in code, component codes or (Observation) valueCodeableConcept."""
    index = terminology.concepts
    found = _known(resource.get("code"), index)
    if found is not None:
        return found, "code"
    if resource.get("resourceType") != "Observation":
        return None
    components = resource.get("component")
    if components is not None:
        if not isinstance(components, list):
            raise Malformed("component is not a list")
        for component in components:
            if not isinstance(component, dict):
                raise Malformed("component entry is not an object")
            found = _known(component.get("code"), index)
            if found is not None:
                return found, "component"
    found = _known(resource.get("valueCodeableConcept"), index)
    return (found, "value") if found is not None else None


def _belongs_to(resource: dict, patient_id: str) -> bool:
    """False only when the resource names a different patient: prefetch must never mix patients."""
    subject = resource.get("subject") if "subject" in resource else resource.get("patient")
    if subject is None:
        return True
    if not isinstance(subject, dict):
        raise Malformed("subject is not a Reference")
    reference = subject.get("reference")
    if reference is None:
        return True
    if not isinstance(reference, str):
        raise Malformed("subject.reference is not a string")
    return reference in (f"Patient/{patient_id}", f"urn:uuid:{patient_id}") or reference.endswith(f"/Patient/{patient_id}")


def _gap(resource: dict, gaps) -> bool:
    """A Condition whose code is a coding gap (never fatal: a broken code is simply not one)."""
    code = resource.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    if not isinstance(codings, list):
        return False
    return any(isinstance(c, dict) and isinstance(c.get("system"), str) and isinstance(c.get("code"), str)
               and gaps.is_gap(c["system"], c["code"]) for c in codings)


def select(resources: Iterable[dict], terminology: Terminology, patient_id: str, gaps=None) -> Intake:
    """The relevant resources as models. ``gaps`` (families.Gaps), when given, counts the
    Conditions dropped as irrelevant whose code is in a leg-relevant block no value set knows."""
    intake = Intake()
    seen_ids: set[tuple[str, str]] = set()
    for resource in resources:
        intake.seen += 1
        if not isinstance(resource, dict):
            intake.malformed += 1
            continue
        model_cls = MODELS.get(resource.get("resourceType"))
        if model_cls is None:
            intake.irrelevant += 1
            continue
        try:
            found = match(resource, terminology)
            if found is None:
                intake.irrelevant += 1
                if gaps is not None and resource["resourceType"] == "Condition" and _gap(resource, gaps):
                    intake.unknown_codes += 1
                continue
            if not _belongs_to(resource, patient_id):
                intake.other_patient += 1
                continue
        except Malformed:
            intake.malformed += 1
            continue
        rid = resource.get("id")
        if isinstance(rid, str):
            key = (resource["resourceType"], rid)
            if key in seen_ids:
                intake.duplicates += 1
                continue
            seen_ids.add(key)
        try:
            model = model_cls.model_validate(resource)
        except Exception:  # pydantic ValidationError and the odd TypeError from a broken primitive
            intake.malformed += 1
            continue
        concept, via = found
        intake.records.append(Record(resource_type=resource["resourceType"], model=model, concept=concept, via=via))
    return intake


@functools.cache  # once per process: the models' validators are class-level state
def warm_up() -> None:
    """Validate one resource of each type with the parts the service reads (codings, statuses, body
    sites, quantities, components): fhir.resources prepares each nested model's validator lazily."""
    cc = {"coding": [{"system": "http://snomed.info/sct", "code": "0", "display": "x"}], "text": "x"}
    ref = {"reference": "Patient/x"}
    quantity = {"value": 1.0, "unit": "1", "system": "http://unitsofmeasure.org", "code": "1"}
    examples = {
        "Condition": {"clinicalStatus": cc, "verificationStatus": cc, "code": cc, "bodySite": [cc], "subject": ref,
                      "onsetPeriod": {"start": "2020"}, "abatementDateTime": "2021-01-01",
                      "recordedDate": "2020-01-01"},
        "Observation": {"status": "final", "code": cc, "subject": ref, "effectiveDateTime": "2020-01-01T00:00:00Z",
                        "issued": "2020-01-01T00:00:00Z", "valueQuantity": quantity, "bodySite": cc, "interpretation": [cc],
                        "dataAbsentReason": cc, "component": [{"code": cc, "valueQuantity": quantity}]},
        "Procedure": {"status": "completed", "code": cc, "subject": ref, "performedDateTime": "2020-01-01"},
        "ServiceRequest": {"status": "active", "intent": "order", "code": cc, "subject": ref, "authoredOn": "2020-01-01"},
    }
    for rtype, body in examples.items():
        MODELS[rtype].model_validate({"resourceType": rtype, "id": "warm-up", **body})
