"""A lenient reader for draft orders: only the fields the order rules use.

``records`` validates the patient's record against FHIR R4 and skips what fails; that is
right for evidence, and wrong for a draft order, which is the thing being judged: a
contraindicated order must be caught even when the EHR builds it carelessly. The public
CDS Hooks sandbox, for one, sends a ``draftOrders`` Bundle without ``type`` and a
MedicationRequest ``request-123`` whose ``category`` is one object instead of a list and
which has no ``intent`` until dispensing details are filled in; fhir.resources rejects it.

So this module reads the code (medication or procedure), the subject and the body site,
counts every deviation from R4 by name for the log line, never drops an order whose code is
readable, and counts an order with nothing readable instead of failing.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# The request resources whose codes the rules read, and where each keeps its code in R4.
CODE_FIELDS = {
    "MedicationRequest": "medicationCodeableConcept",
    "ServiceRequest": "code",
    "DeviceRequest": "codeCodeableConcept",
}
BODY_SITE_FIELDS = {"ServiceRequest": "bodySite"}  # R4 DeviceRequest and MedicationRequest carry none
_LIST_FIELDS = {"MedicationRequest": ("category",), "ServiceRequest": ("category", "bodySite"), "DeviceRequest": ()}
_REQUIRED = {"MedicationRequest": ("status", "intent", "subject"), "ServiceRequest": ("status", "intent", "subject"),
             "DeviceRequest": ("status", "intent", "subject")}


@dataclass(frozen=True)
class Coding:
    system: str | None
    code: str
    display: str | None = None


@dataclass(frozen=True)
class DraftOrder:
    """One draft order as the rules see it."""

    resource_type: str
    id: str | None
    codings: tuple[Coding, ...]
    text: str | None
    subject: str | None
    site_codings: tuple[tuple[str | None, str | None], ...] = ()
    site_texts: tuple[str, ...] = ()

    @property
    def reference(self) -> str | None:
        return f"{self.resource_type}/{self.id}" if self.id else None

    @property
    def label(self) -> str:
        for coding in self.codings:
            if coding.display:
                return coding.display
        return self.text or (self.codings[0].code if self.codings else self.resource_type)


@dataclass
class DraftIntake:
    orders: list[DraftOrder] = field(default_factory=list)
    seen: int = 0
    unreadable: int = 0
    other_types: int = 0
    deviations: Counter = field(default_factory=Counter)


def _as_list(value: Any, name: str, deviations: Counter) -> list:
    """A list field; one object where a list belongs is read as a list of one, and counted."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    deviations[f"{name}-not-a-list"] += 1
    return [value]


def _codings(concept: Any, name: str, deviations: Counter) -> tuple[list[Coding], str | None]:
    if concept is None:
        return [], None
    if not isinstance(concept, dict):
        deviations[f"{name}-not-an-object"] += 1
        return [], concept if isinstance(concept, str) and concept.strip() else None
    out = []
    for coding in _as_list(concept.get("coding"), f"{name}.coding", deviations):
        if not isinstance(coding, dict):
            deviations[f"{name}.coding-entry-not-an-object"] += 1
            continue
        code, system, display = coding.get("code"), coding.get("system"), coding.get("display")
        if not isinstance(code, str) or not code.strip():
            deviations[f"{name}.coding-without-code"] += 1
            continue
        if not isinstance(system, str) or not system:
            deviations[f"{name}.coding-without-system"] += 1
            system = None
        out.append(Coding(system, code.strip(), display if isinstance(display, str) and display else None))
    text = concept.get("text")
    return out, text if isinstance(text, str) and text.strip() else None


def _contained_code(resource: dict, reference: Any, deviations: Counter) -> Any:
    """medicationReference to a contained Medication: its code (the only place the code can be)."""
    ref = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(ref, str) or not ref.startswith("#"):
        deviations["medicationReference-not-contained"] += 1
        return None
    for item in _as_list(resource.get("contained"), "contained", deviations):
        if isinstance(item, dict) and item.get("id") == ref[1:]:
            return item.get("code")
    deviations["medicationReference-unresolved"] += 1
    return None


def _code_concept(resource: dict, rtype: str, deviations: Counter) -> Any:
    name = CODE_FIELDS[rtype]
    concept = resource.get(name)
    if concept is not None:
        return concept
    if rtype == "MedicationRequest" and resource.get("medicationReference") is not None:
        return _contained_code(resource, resource["medicationReference"], deviations)
    if rtype == "DeviceRequest" and isinstance(resource.get("code"), dict):
        deviations["DeviceRequest.code-not-R4"] += 1  # R5 CodeableReference: code.concept
        code = resource["code"]
        return code.get("concept", code)
    if rtype == "MedicationRequest" and isinstance(resource.get("medication"), dict):
        deviations["MedicationRequest.medication-not-R4"] += 1  # R5 CodeableReference
        medication = resource["medication"]
        return medication.get("concept", medication)
    return None


def _subject(resource: dict, deviations: Counter) -> str | None:
    subject = resource.get("subject")
    if subject is None and isinstance(resource.get("patient"), dict):
        deviations["patient-instead-of-subject"] += 1  # DSTU2 MedicationOrder habit
        subject = resource["patient"]
    if not isinstance(subject, dict):
        return None
    ref = subject.get("reference")
    return ref if isinstance(ref, str) and ref else None


def read_order(resource: dict, deviations: Counter) -> DraftOrder | None:
    """One request resource as a DraftOrder, or None when no code can be read from it."""
    rtype = resource["resourceType"]
    for name in _REQUIRED[rtype]:
        if resource.get(name) in (None, "", [], {}):
            deviations[f"{rtype}.{name}-missing"] += 1
    for name in _LIST_FIELDS[rtype]:
        if resource.get(name) is not None and not isinstance(resource[name], list):
            deviations[f"{rtype}.{name}-not-a-list"] += 1
    rid = resource.get("id")
    if not isinstance(rid, str) or not rid:
        deviations[f"{rtype}.id-missing"] += 1
        rid = None
    codings, text = _codings(_code_concept(resource, rtype, deviations), f"{rtype}.{CODE_FIELDS[rtype]}", deviations)
    if not codings and not text:
        return None
    site_codings, site_texts = [], []
    site_field = BODY_SITE_FIELDS.get(rtype, "bodySite")
    sites = resource.get(site_field)
    if sites is not None and rtype not in BODY_SITE_FIELDS:
        deviations[f"{rtype}.bodySite-not-R4"] += 1  # read anyway: a side is worth having
    for site in _as_list(sites, f"{rtype}.bodySite", Counter()):
        found, site_text = _codings(site, f"{rtype}.bodySite", deviations)
        site_codings.extend((c.system, c.code) for c in found)
        if site_text:
            site_texts.append(site_text)
    return DraftOrder(resource_type=rtype, id=rid, codings=tuple(codings), text=text,
                      subject=_subject(resource, deviations), site_codings=tuple(site_codings),
                      site_texts=tuple(site_texts))


def read(draft_orders: Any) -> DraftIntake:
    """Every judgeable order in ``context.draftOrders``; the caller checked it is an object."""
    intake = DraftIntake()
    deviations = intake.deviations
    if draft_orders.get("resourceType") != "Bundle":
        if draft_orders.get("resourceType") in CODE_FIELDS:
            deviations["draftOrders-not-a-Bundle"] += 1
            entries: list = [{"resource": draft_orders}]
        else:
            deviations["draftOrders-not-a-Bundle"] += 1
            entries = []
    else:
        if not draft_orders.get("type"):
            deviations["Bundle.type-missing"] += 1
        entries = _as_list(draft_orders.get("entry"), "Bundle.entry", deviations)
    for entry in entries:
        intake.seen += 1
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            deviations["Bundle.entry-without-resource"] += 1
            intake.unreadable += 1
            continue
        if resource["resourceType"] not in CODE_FIELDS:
            intake.other_types += 1  # NutritionOrder, VisionPrescription...: no rule reads them
            continue
        order = read_order(resource, deviations)
        if order is None:
            deviations[f"{resource['resourceType']}.code-unreadable"] += 1
            intake.unreadable += 1
            continue
        intake.orders.append(order)
    return intake
