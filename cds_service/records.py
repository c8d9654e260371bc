"""Prefetched FHIR JSON -> records holding the validated fields findings read, for relevant resources only.

The cheap pre-filter runs first: a resource whose codes the terminology does not know is
dropped without reading anything else (most of a record is irrelevant here). Only the rest are
read, and only the fields findings use (status, dates, codes, body sites, quantities, components,
interpretation, the choice elements): each is checked against its FHIR R4 type as fhir.resources
would check it (the same patterns for code, id, dateTime, instant and decimal, the same required
elements and one-of-many choices), straight from the decoded JSON. Why not a fhir.resources model
per resource: it validated every element of the resource, read or not, and cost about 0.1 ms per
resource, most of a small request (issue 23); the cards rely only on these fields. A resource whose
read fields are broken, or that belongs to another patient, is skipped and counted, never fatal.
Elements the service does not read are not checked (an unknown element no longer makes a resource
malformed). tests/test_records.py checks the reader against the fhir.resources models.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

import msgspec
import orjson

from .errors import INVALID_JSON, BadRequest
from .terminology import Concept, Terminology

if TYPE_CHECKING:
    from .families import Gaps

class Malformed(ValueError):
    """A resource's structure is broken where the service must read it."""


class Unread(dict):
    """A prefetch resource read only as far as the pre-filter (and the smoking-status reader) look:
    those fields (prefetch.PROBED_FIELDS), with the bytes of its Bundle entry kept so that ``whole()``
    decodes all of it once a value set knows its code (prefetch.decode)."""

    __slots__ = ("raw",)

    def __init__(self, raw: Any):
        super().__init__()
        self.raw = raw

    def whole(self) -> dict[str, Any]:
        """The whole resource. The entry's bytes passed msgspec's scan but never orjson: a number out
        of range or a lone surrogate there is the same 400 the whole body would have got before."""
        try:
            resource: dict[str, Any] = orjson.loads(memoryview(self.raw))["resource"]
        except orjson.JSONDecodeError:
            raise BadRequest(INVALID_JSON) from None
        return resource


class _Coding(msgspec.Struct, gc=False):
    system: str | None = None
    code: str | None = None


class _Concept(msgspec.Struct, gc=False):
    coding: list[_Coding] | None = None


class _Component(msgspec.Struct, gc=False):
    code: _Concept | None = None


class Probe(msgspec.Struct, gc=False, rename={"source": "_cds_source", "at": "_cds_at"}):
    """A resource of a READERS type as prefetch.decode's one typed pass leaves it: only what ``match``
    reads (the codings of code, of component codes and of valueCodeableConcept), every other field
    skipped inside msgspec, so an irrelevant resource costs a dict lookup per coding and no Python
    object per field. A field of another type than declared makes msgspec refuse the whole body,
    and prefetch.decode then takes its per-entry path (``Unread``): these types need no checks here.
    ``source`` and ``at`` are set by prefetch.decode (whatever the JSON put there is overwritten):
    where the entry's bytes are, decoded whole only when a value set knows a code (``whole``).
    gc=False: a probe never refers back to what holds it, so it cannot be part of a cycle."""

    resourceType: str | None = None
    code: _Concept | None = None
    component: list[_Component] | None = None
    valueCodeableConcept: _Concept | None = None
    source: Any = None  # prefetch._EntryBytes: the Bundle entries' bytes, split on demand
    at: Any = None  # this resource's entry index in that Bundle

    def whole(self) -> dict[str, Any]:
        """The whole resource, from its entry's bytes: met by orjson like the whole body before."""
        try:
            resource: dict[str, Any] = orjson.loads(memoryview(self.source.entry(self.at)))["resource"]
        except orjson.JSONDecodeError:
            raise BadRequest(INVALID_JSON) from None
        return resource

    def has_coding(self, system: str, code: str) -> bool:
        return self.code is not None and self.code.coding is not None and \
            any(c.system == system and c.code == code for c in self.code.coding)


def _probe_known(concept: _Concept | None, index: dict) -> Concept | None:
    if concept is None or concept.coding is None:
        return None
    for coding in concept.coding:
        found = index.get((coding.system, coding.code))  # a key with None is never in the index
        if found is not None:
            return found
    return None


def _probe_matches(probe: Probe, index: dict) -> bool:
    """``match`` on a probe: the same codings in the same order (the typed decode checked the types)."""
    if _probe_known(probe.code, index) is not None:
        return True
    if probe.resourceType != "Observation":
        return False
    if probe.component is not None and any(_probe_known(c.code, index) is not None for c in probe.component):
        return True
    return _probe_known(probe.valueCodeableConcept, index) is not None


def _probe_gap(probe: Probe, gaps: Gaps) -> bool:
    return probe.code is not None and probe.code.coding is not None and any(
        c.system is not None and c.code is not None and gaps.is_gap(c.system, c.code) for c in probe.code.coding)


Check = Callable[[Any], Any]  # a JSON value -> the value findings read; raises Malformed

# The FHIR R4 primitive patterns fhir.resources (fhir_core) validates with.
_CODE = re.compile(r"[^\s]+(\s[^\s]+)*").fullmatch
_ID = re.compile(r"[A-Za-z0-9\-.]+").fullmatch
_DATE_TIME = re.compile(
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?").fullmatch
_INSTANT = re.compile(
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))").fullmatch
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?").fullmatch
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})  # pydantic's lax booleans, as fhir.resources accepts them
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise Malformed("not a non-empty string")
    return value


def _uri(value: Any) -> str:
    if not isinstance(value, str):
        raise Malformed("not a string")
    return value


def _pattern(match: Callable[[str], Any], what: str) -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str) or match(value) is None:
            raise Malformed(f"not a FHIR {what}")
        return value
    return check


_code, _id, _date_time, _instant = (_pattern(_CODE, "code"), _pattern(_ID, "id"), _pattern(_DATE_TIME, "dateTime"),
                                    _pattern(_INSTANT, "instant"))


def _decimal(value: Any) -> float:
    """A JSON number (or a string holding a FHIR decimal, which fhir.resources accepts too) as a float."""
    if isinstance(value, bool):
        raise Malformed("a boolean is not a decimal")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise Malformed("not a finite decimal")
        return float(value)
    if isinstance(value, str) and _DECIMAL(value):
        return float(value)
    raise Malformed("not a FHIR decimal")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise Malformed("not a boolean")


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed("not an integer")
    return value


def _present(value: Any) -> Any:
    """An element the service only tests for presence (a Range, a Timing): an object."""
    if not isinstance(value, dict):
        raise Malformed("not an object")
    return value


class Fields:
    """The validated fields of one JSON object, read as attributes: a field the object lacks reads
    None; a name the type does not declare raises AttributeError (a typo in findings is not None)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__dict__!r})"


def _object(name: str, spec: dict[str, Check], required: tuple[str, ...] = (),
            choices: tuple[tuple[str, ...], ...] = ()) -> Callable[[Any], Fields]:
    """A check for one complex type: an object whose declared fields pass their checks, whose
    required fields are there and which holds at most one element of each choice ``[x]``."""
    cls = type(name, (Fields,), dict.fromkeys(spec))
    declared = spec.get

    def check(value: Any) -> Fields:
        if not isinstance(value, dict):
            raise Malformed(f"{name} is not an object")
        out = cls()
        values = out.__dict__
        for key, raw in value.items():  # the object's few keys, not the type's many declared ones
            inner = declared(key)
            if inner is not None and raw is not None:
                values[key] = inner(raw)
        for key in required:
            if key not in values:
                raise Malformed(f"{name}.{key} is required")
        for group in choices:
            if sum(1 for key in group if key in values) > 1:
                raise Malformed(f"{name} holds more than one of {group[0]}[x]")
        return out
    return check


def _list(inner: Check) -> Check:
    def check(value: Any) -> list:
        if not isinstance(value, list):
            raise Malformed("not a list")
        if any(v is None for v in value):
            raise Malformed("null in a list")
        return [inner(v) for v in value]
    return check


_coding = _object("Coding", {"system": _uri, "code": _code, "display": _string})
_concept = _object("CodeableConcept", {"coding": _list(_coding), "text": _string})
_concepts = _list(_concept)
_period = _object("Period", {"start": _date_time, "end": _date_time})
_quantity = _object("Quantity", {"value": _decimal, "unit": _string, "code": _code, "system": _uri})
_reference = _object("Reference", {"reference": _string})
_VALUE = {"valueQuantity": _quantity, "valueCodeableConcept": _concept, "valueString": _string, "valueBoolean": _boolean,
          "valueInteger": _integer, "valueRange": _present, "valueRatio": _present, "valueSampledData": _present,
          "valueTime": _string, "valueDateTime": _date_time, "valuePeriod": _period}
_component = _object("ObservationComponent", {"code": _concept, **_VALUE, "dataAbsentReason": _concept,
                                              "interpretation": _concepts}, required=("code",), choices=(tuple(_VALUE),))
_ONSET = {"onsetDateTime": _date_time, "onsetAge": _quantity, "onsetPeriod": _period, "onsetRange": _present,
          "onsetString": _string}
_ABATEMENT = {"abatementDateTime": _date_time, "abatementAge": _quantity, "abatementPeriod": _period,
              "abatementRange": _present, "abatementString": _string}
_EFFECTIVE = {"effectiveDateTime": _date_time, "effectivePeriod": _period, "effectiveTiming": _present,
              "effectiveInstant": _instant}
_PERFORMED = {"performedDateTime": _date_time, "performedPeriod": _period, "performedString": _string,
              "performedAge": _quantity, "performedRange": _present}

# Per resource type, the fields findings read (cds_service/findings.py), checked as fhir.resources checks them.
READERS: dict[str, Callable[[Any], Fields]] = {
    "Condition": _object("Condition", {
        "id": _id, "clinicalStatus": _concept, "verificationStatus": _concept, "code": _concept, "bodySite": _concepts,
        "subject": _reference, **_ONSET, **_ABATEMENT, "recordedDate": _date_time},
        required=("subject",), choices=(tuple(_ONSET), tuple(_ABATEMENT))),
    "Observation": _object("Observation", {
        "id": _id, "status": _code, "code": _concept, "subject": _reference, "bodySite": _concept,
        "dataAbsentReason": _concept, **_EFFECTIVE, "issued": _instant, **_VALUE, "interpretation": _concepts,
        "component": _list(_component)},
        required=("status", "code"), choices=(tuple(_EFFECTIVE), tuple(_VALUE))),
    "Procedure": _object("Procedure", {
        "id": _id, "status": _code, "subject": _reference, "code": _concept, "bodySite": _concepts, **_PERFORMED},
        required=("status", "subject"), choices=(tuple(_PERFORMED),)),
    "ServiceRequest": _object("ServiceRequest", {
        "id": _id, "status": _code, "intent": _code, "subject": _reference, "code": _concept, "authoredOn": _date_time},
        required=("status", "intent", "subject")),
}


# A QuestionnaireResponse to our Questionnaire: the fields answers.py reads (its groups, their
# answered items and the first answer's valueBoolean or valueCoding), checked as fhir.resources checks
# them; everything else in the response is not read, so not checked (issue 23: no fhir.resources model
# per request). The other value[x] of an answer are only counted, so that an answer holding two values
# is refused as fhir.resources refuses it; their contents are not checked (an integer answer written
# 200.0 to a question we do not ask does not hide the answers we read).
def _unchecked(value: Any) -> Any:
    return value


_ANSWER_VALUE = {"valueBoolean": _boolean, "valueCoding": _coding, **dict.fromkeys((
    "valueDecimal", "valueInteger", "valueDate", "valueDateTime", "valueTime", "valueString", "valueUri",
    "valueAttachment", "valueQuantity", "valueReference"), _unchecked)}
_answer = _object("QuestionnaireResponseAnswer", _ANSWER_VALUE, choices=(tuple(_ANSWER_VALUE),))
_answered = _object("QuestionnaireResponseItem", {"linkId": _string, "answer": _list(_answer)}, required=("linkId",))
_group = _object("QuestionnaireResponseItem", {"linkId": _string, "item": _list(_answered)}, required=("linkId",))
QUESTIONNAIRE_RESPONSE: Callable[[Any], Any] = _object(  # Any: read by attribute, like a model
    "QuestionnaireResponse", {"id": _id, "subject": _reference, "authored": _date_time, "item": _list(_group)})


@dataclass(slots=True)
class Record:
    resource_type: str
    model: Any  # the resource's validated fields (READERS), read like a fhir.resources model
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


def _gap(resource: dict[str, Any], gaps: Gaps) -> bool:
    """A Condition whose code is a coding gap (never fatal: a broken code is simply not one)."""
    code = resource.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    if not isinstance(codings, list):
        return False
    return any(isinstance(c, dict) and isinstance(c.get("system"), str) and isinstance(c.get("code"), str)
               and gaps.is_gap(c["system"], c["code"]) for c in codings)


def select(resources: Iterable[dict[str, Any]], terminology: Terminology, patient_id: str,
           gaps: Gaps | None = None) -> Intake:
    """Stage 3: keep the patient's resources whose codes a value set knows, their read fields
    validated (READERS); returns them with what was seen, malformed, another patient's or duplicated.
    ``gaps`` (families.Gaps), when given, counts the Conditions dropped as irrelevant whose code
    is in a leg-relevant block no value set knows."""
    intake = Intake()
    seen_ids: set[tuple[str, str]] = set()
    index = terminology.concepts
    for resource in resources:
        intake.seen += 1
        if type(resource) is Probe:  # prefetch.decode's typed pass: most are dropped here, unread
            if not _probe_matches(resource, index):
                intake.irrelevant += 1
                if gaps is not None and resource.resourceType == "Condition" and _probe_gap(resource, gaps):
                    intake.unknown_codes += 1
                continue
            resource = resource.whole()  # then read as any decoded resource (the match below agrees)
        if not isinstance(resource, dict):
            intake.malformed += 1
            continue
        reader = READERS.get(str(resource.get("resourceType")))
        if reader is None:
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
        if type(resource) is Unread:
            resource = resource.whole()
        try:
            model = reader(resource)
        except Malformed:
            intake.malformed += 1
            continue
        concept, via = found
        intake.records.append(Record(resource_type=resource["resourceType"], model=model, concept=concept, via=via))
    return intake
