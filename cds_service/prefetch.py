"""Prefetch templates, and what each key of a request's prefetch holds.

Every template, and every fallback URL built from one, stays under ``MAX_URL`` characters: many
servers and proxies refuse longer URLs (about 8 KB), and the code families (knowledge/icd10cm-families.yaml)
would make a Condition search that lists every code about 11 KB long. So Conditions are read by
patient alone and filtered here (records.select drops a code no value set knows before building any
model); a clinical-status filter would also drop Conditions recorded without a status (allowed for
encounter diagnoses), which the service reads as current. Observations, Procedures and orders stay
code-filtered searches built once from the value sets, so a client that passes on only the first
page still sends what matters. Per key a request may carry a
resource or searchset Bundle (present), ``null`` (the client has no data), an
OperationOutcome or a Bundle carrying an error (failed), or nothing (absent). A key whose
paging ended before its last page (a next link to another host, a loop, the page cap, an error
or the deadline) is ``partial``: its resources are used, and every card says the read was incomplete.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict
from urllib.parse import quote, urljoin

import msgspec
import orjson
from msgspec import UNSET, Raw, Struct, UnsetType

from .errors import BadRequest
from .knowledge import Knowledge
from .records import READERS, Probe, Unread

MAX_URL = 2000  # characters, for any prefetch or fallback URL the service can produce

@dataclass(frozen=True)
class PrefetchKey:
    key: str
    resource_type: str
    params: str
    required: bool
    by_id: bool = False  # the patient's own resource: searched by _id, not by patient

    @property
    def query(self) -> str:
        """The relative FHIR search, with the context tokens still in it. The Patient is searched
        (``Patient?_id=``), not read (``Patient/{id}``): the public sandbox POSTs every template as a
        ``_search``, which a read path does not take, and a search answers with a Bundle like the rest."""
        if self.by_id:
            return f"{self.resource_type}?_id={{{{context.patientId}}}}"
        return f"{self.resource_type}?patient={{{{context.patientId}}}}&{self.params}"


KeyState = Literal["present", "partial", "null", "failed", "absent"]  # partial: usable, but pages are missing


@dataclass
class KeyResult:
    state: KeyState
    resources: list = field(default_factory=list)
    next_url: str | None = None
    reason: str | None = None


def _codes(knowledge: Knowledge, resource_type: str, only: tuple[str, ...] | None = None) -> str:
    """The codes of the signs read from this resource type: those named in ``only``, or else those
    without an extra prefetch key of their own."""
    extra = {s for k in knowledge.rules.prefetch_keys.values() if k.resource_type == resource_type for s in k.signs}
    signs = {s.id for s in knowledge.rules.signs.values() if resource_type in s.read_from
             and (s.id in only if only is not None else s.id not in extra)}
    codes = sorted({c.code for c in knowledge.terminology.codes_for(frozenset(signs))})
    return ",".join(codes)


QUESTIONNAIRE_RESPONSES = "questionnaireResponses"


def keys(knowledge: Knowledge) -> tuple[PrefetchKey, ...]:
    """The four prefetch keys: evidence (Conditions, Observations) is required, work done is optional;
    then the optional extra keys of the pattern table (``prefetch_keys``), which keep each search short;
    then the patient's answers to the seed's questions (optional, when the knowledge has them), then
    the optional therapy keys (issue 18)."""
    return base_keys(knowledge) + tuple(
        PrefetchKey(k.key, k.resource_type, f"code={_codes(knowledge, k.resource_type, k.signs)}&_count=200", False)
        for k in knowledge.rules.prefetch_keys.values()) + answer_keys(knowledge) \
        + therapy_keys(knowledge)


MEDICATION_KEYS = ("medicationRequests", "medicationStatements")
SMOKING_KEY = "smokingStatus"
PATIENT_KEY = "patient"


def therapy_keys(knowledge: Knowledge) -> tuple[PrefetchKey, ...]:
    """Optional keys for the therapy lines and the screening card. Medications are searched by status,
    not by code: the RxNorm lists would make the URL far longer than 2,000 characters, and an active
    medication list is short. Of the Patient only the birth date is read (the screening card's age; the
    under-50 line of the exercise-ABI advice)."""
    if knowledge.therapy is None:
        return ()
    loinc = knowledge.therapy.smoking.loinc
    return (
        PrefetchKey("medicationRequests", "MedicationRequest", "status=active&_count=200", False),
        PrefetchKey("medicationStatements", "MedicationStatement", "status=active&_count=200", False),
        PrefetchKey(SMOKING_KEY, "Observation", f"code=http://loinc.org|{loinc}&_sort=-date&_count=10", False),
        PrefetchKey(PATIENT_KEY, "Patient", "", False, by_id=True),
    )


def answer_keys(knowledge: Knowledge) -> tuple[PrefetchKey, ...]:
    """The QuestionnaireResponses to our Questionnaire. The standard R4 search parameters; the reader
    checks subject, questionnaire, status and date again, because a server that does not index them
    (sekmet-fhir 0.1.1) ignores them."""
    if knowledge.questions is None:
        return ()
    return (PrefetchKey(QUESTIONNAIRE_RESPONSES, "QuestionnaireResponse",
                        f"questionnaire={knowledge.questions.canonical}&status=completed,amended"
                        "&_sort=-authored&_count=20", False),)


def base_keys(knowledge: Knowledge) -> tuple[PrefetchKey, ...]:
    return (
        PrefetchKey("conditions", "Condition", "_count=200", True),  # by patient; filtered locally (module docstring)
        PrefetchKey("observations", "Observation", f"code={_codes(knowledge, 'Observation')}&_sort=-date&_count=200", True),
        PrefetchKey("procedures", "Procedure", f"code={_codes(knowledge, 'Procedure')}&_sort=-date&_count=50", False),
        PrefetchKey("serviceRequests", "ServiceRequest",
                    f"status=draft,active,on-hold&code={_codes(knowledge, 'ServiceRequest')}&_count=50", False),
    )


def templates(prefetch_keys: tuple[PrefetchKey, ...]) -> dict[str, str]:
    return {k.key: k.query for k in prefetch_keys}


def search_url(fhir_server: str, key: PrefetchKey, context: dict[str, Any]) -> str:
    """The fallback search the service sends itself for one key (no longer than its template plus the base)."""
    return urljoin(fhir_server.rstrip("/") + "/", fill(key.query, context))


def fill(template: str, context: dict) -> str:
    """Substitute context tokens, URL-encoded (ids were validated, this is defence in depth)."""
    out = template
    for name in ("patientId", "userId", "encounterId"):
        token = "{{context.%s}}" % name
        if token in out:
            value = context.get(name)
            if value is None:
                raise BadRequest(f"prefetch template needs context.{name}")
            out = out.replace(token, quote(str(value), safe="/"))
    return out


def _error_outcome(resource: dict) -> str | None:
    issues = resource.get("issue")
    if not isinstance(issues, list):
        return "OperationOutcome"
    for issue in issues:
        if isinstance(issue, dict) and issue.get("severity") in ("error", "fatal"):
            return f"OperationOutcome ({issue.get('code', 'error')})"
    return None


def classify(key: str, value: Any, provided: bool) -> KeyResult:
    """What one prefetch key holds. Raises BadRequest when it is not FHIR at all."""
    if not provided:
        return KeyResult("absent")
    if value is None:
        return KeyResult("null")
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise BadRequest(f"prefetch.{key} must be a FHIR resource, a Bundle or null", expression=f"prefetch.{key}")
    rtype = value["resourceType"]
    if rtype == "OperationOutcome":
        return KeyResult("failed", reason=_error_outcome(value) or "OperationOutcome")
    if rtype != "Bundle":
        return KeyResult("present", resources=[value])
    if type(value) is Searchset:  # decode's typed pass unwrapped the entries already
        if not value.decoded:  # only probes: no OperationOutcome among them
            return KeyResult("present", resources=value.resources, next_url=_next(value.get("link")))
        found = value.resources
    else:
        entries = value.get("entry") or []
        if not isinstance(entries, list):
            raise BadRequest(f"prefetch.{key}.entry must be a list", expression=f"prefetch.{key}.entry")
        found = [entry.get("resource") if isinstance(entry, dict) else None for entry in entries]
    resources = []
    for resource in found:
        if isinstance(resource, dict) and resource.get("resourceType") == "OperationOutcome":
            reason = _error_outcome(resource)
            if reason:
                return KeyResult("failed", reason=reason)
            continue  # a warning or information outcome from the server's search
        resources.append(resource)
    return KeyResult("present", resources=resources, next_url=_next(value.get("link")))


def _next(links: Any) -> str | None:
    next_url = None
    if isinstance(links, list):
        for link in links:
            if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
                next_url = link["url"]
    return next_url


# -- Decoding a hook request: only what the service reads (issue 23) -------------------------------------


class _Probe(TypedDict, total=False):  # decoded by msgspec straight into a dict of these keys only
    resourceType: Any
    id: Any
    code: Any
    component: Any
    valueCodeableConcept: Any
    subject: Any
    patient: Any
    status: Any
    effectiveDateTime: Any
    issued: Any


class _Entry(TypedDict, total=False):
    resource: _Probe


class _Bundle(Struct):
    resourceType: Any = UNSET
    entry: list[Raw] | None = None
    link: Any = UNSET


class _Entries(Struct):
    entry: list[_Entry]  # every entry and its resource an object: the common case, probed in one call


class _EnvelopeFields(Struct):
    """The request's fields besides prefetch, decoded as they are (the envelope check reads them)."""
    hook: Any = UNSET
    hookInstance: Any = UNSET
    context: Any = UNSET
    fhirServer: Any = UNSET
    fhirAuthorization: Any = UNSET
    extension: Any = UNSET


class _Envelope(_EnvelopeFields):
    prefetch: dict[str, Raw] | None | UnsetType = UNSET


PROBED_FIELDS = tuple(_Probe.__annotations__)  # what records.select and therapy.smoking_status read first
_ENVELOPE_FIELDS = _EnvelopeFields.__struct_fields__
_DECODE_ENVELOPE = msgspec.json.Decoder(_Envelope)
_DECODE_BUNDLE = msgspec.json.Decoder(_Bundle)
_DECODE_ENTRY = msgspec.json.Decoder(_Entry)
_DECODE_ENTRIES = msgspec.json.Decoder(_Entries)
_PROBED_TYPES = frozenset(READERS)  # every other resource type is decoded whole
_REFUSED = (msgspec.MsgspecError, RecursionError)  # msgspec's depth limit is a RecursionError: orjson decides


class _ProbedEntry(Struct, gc=False):
    resource: Probe | None = None


class _Key(Struct, gc=False):
    resourceType: Any = None
    entry: list[_ProbedEntry] | None = None
    link: Any = UNSET


class _Request(_EnvelopeFields):
    prefetch: dict[str, _Key | None] | None | UnsetType = UNSET


class _RawPrefetch(Struct):
    prefetch: dict[str, Raw] | None = None


class _RawEntries(Struct):
    entry: list[Raw] | None = None


class _RawBundles(Struct):
    prefetch: dict[str, _RawEntries | None] | None = None


_DECODE_REQUEST = msgspec.json.Decoder(_Request)
_DECODE_RAW_PREFETCH = msgspec.json.Decoder(_RawPrefetch)
_DECODE_RAW_BUNDLES = msgspec.json.Decoder(_RawBundles)


class Searchset(dict):
    """A prefetch Bundle as decode's typed pass leaves it: the dict holds its resourceType and link
    (what the envelope check and ``classify`` look at), ``resources`` its entries' resources in
    order (a ``records.Probe`` for a READERS type, the resource decoded whole for any other type,
    None for an entry without one); ``decoded`` says whether any was decoded whole."""

    __slots__ = ("resources", "decoded")

    def __init__(self, link: Any, resources: list, decoded: bool):
        super().__init__(resourceType="Bundle")
        if link is not UNSET:
            self["link"] = link
        self.resources, self.decoded = resources, decoded


class _Body:
    """The request's bytes, split into Bundle entries when the first entry is wanted whole (one
    skip-only msgspec scan for every key). This scan must accept every body the typed pass accepted:
    its types accept every value the typed pass's types accept for the fields both declare (prefetch
    and a key may be null, entry may be null), because a key given twice is checked each time it
    appears, and only the last one counts (as in orjson): ``"prefetch": null, "prefetch": {...}``."""

    __slots__ = ("raw", "bundles")

    def __init__(self, raw: bytes):
        self.raw = raw
        self.bundles: dict[str, _RawEntries | None] | None = None

    def entries(self, name: str) -> list[Raw]:
        if self.bundles is None:
            keys = _DECODE_RAW_BUNDLES.decode(self.raw).prefetch
            assert keys is not None  # the same last value the typed pass kept: an object
            self.bundles = keys
        bundle = self.bundles[name]  # the same last value the typed pass kept: a Bundle with entries
        assert bundle is not None and bundle.entry is not None
        return bundle.entry

    def key(self, name: str) -> Any:
        """A key that is not a Bundle with entries (an OperationOutcome, a Patient: rare), decoded whole."""
        keys = _DECODE_RAW_PREFETCH.decode(self.raw).prefetch
        assert keys is not None  # the same last value the typed pass kept: an object
        return orjson.loads(memoryview(keys[name]))


class _EntryBytes:
    """Where a Probe's bytes are: one key's Bundle entries of the request."""

    __slots__ = ("body", "name")

    def __init__(self, body: _Body, name: str):
        self.body, self.name = body, name

    def entry(self, at: int) -> Raw:
        return self.body.entries(self.name)[at]


def _utf8(raw: bytes) -> bool:
    """Whether the bytes are UTF-8, as orjson requires of a whole body (msgspec checks only the strings
    it decodes). In 64 KiB pieces: decoding 8 MiB at once builds a 16 MiB string once a character
    beyond Latin-1 appears, about 3 to 9 ms; the incremental decoder carries a character cut between
    pieces over to the next."""
    if raw.isascii():
        return True
    check, view = _UTF8(), memoryview(raw)
    try:
        for start in range(0, len(raw), 65536):
            check.decode(view[start:start + 65536])
        check.decode(b"", True)
    except UnicodeDecodeError:
        return False
    return True


_UTF8 = codecs.getincrementaldecoder("utf-8")


def decode(raw: bytes) -> Any:
    """The patient-view request body, decoded only as far as the service reads it.

    Why: decoding a 10,000-resource body into dicts, walking them and freeing them cost more than
    the rest of the request; most of those resources are dropped by the pre-filter unread. One typed
    msgspec pass (``_Request``) reads the envelope and, of each Bundle entry's resource, only what
    the pre-filter reads (``records.Probe``), skipping everything else inside msgspec. A resource of
    a type only the records stage reads stays a Probe, its entry's bytes split out and decoded whole
    only when a value set knows a code; any other resource (and a key that is not a Bundle) is
    decoded whole with orjson from its bytes. msgspec refuses a whole document for one field of an
    unexpected type: then ``_decode_entries`` (entry by entry, as before this pass) answers, and it
    keeps every behaviour. Errors and answers are those of a whole decode (tests/test_prefetch.py),
    with the one difference ``_decode_entries`` names."""
    if not _utf8(raw):
        return orjson.loads(raw)  # raises the JSONDecodeError that the caller words as a 400
    try:
        request = _DECODE_REQUEST.decode(raw)
    except _REFUSED:
        return _decode_entries(raw)
    body = {name: value for name in _ENVELOPE_FIELDS if (value := getattr(request, name)) is not UNSET}
    if request.prefetch is None or isinstance(request.prefetch, UnsetType):
        if request.prefetch is None:
            body["prefetch"] = None
        return body
    source = _Body(raw)
    body["prefetch"] = {key: None if value is None else _searchset(source, key, value)
                        for key, value in request.prefetch.items()}
    return body


def _searchset(source: _Body, key: str, value: _Key) -> Any:
    if value.resourceType != "Bundle" or value.entry is None:
        return source.key(key)
    entries = _EntryBytes(source, key)
    resources: list[Any] = []
    decoded = False
    for at, entry in enumerate(value.entry):
        resource = entry.resource
        if resource is not None:
            if resource.resourceType in _PROBED_TYPES:
                resource.source, resource.at = entries, at
            else:
                resource, decoded = orjson.loads(memoryview(entries.entry(at))).get("resource"), True
        resources.append(resource)
    return Searchset(value.link, resources, decoded)


def _decode_entries(raw: bytes) -> Any:
    """The body decoded entry by entry (``decode`` when its typed pass is refused: the bytes are UTF-8).

    The envelope and each prefetch key are decoded (msgspec); each entry of a Bundle whose resource is of
    a type only the records stage reads (records.READERS) becomes a ``records.Unread``: the fields
    the pre-filter looks at, and the entry's bytes, decoded whole only when a value set knows the
    code. Anything else (a resource of another type, an entry or key that is not what a Bundle
    holds, a body msgspec refuses) is decoded whole with orjson, exactly as before, so the answers
    and the errors do not change: bytes that are not UTF-8 are refused as orjson refuses them, and an
    Unread resource's bytes meet orjson when they are read. One difference is left, on purpose: a
    number beyond a double's range or a lone surrogate escape inside a resource that is never read
    was a 400 (orjson refuses the whole body) and is now skipped with that resource (so in ``decode``)."""
    try:
        envelope = _DECODE_ENVELOPE.decode(raw)
    except _REFUSED:
        return orjson.loads(raw)
    body = {name: value for name in _ENVELOPE_FIELDS if (value := getattr(envelope, name)) is not UNSET}
    if envelope.prefetch is None or isinstance(envelope.prefetch, UnsetType):
        if envelope.prefetch is None:
            body["prefetch"] = None
        return body
    body["prefetch"] = {key: _key(value) for key, value in envelope.prefetch.items()}
    return body


def _key(raw: Raw) -> Any:
    try:
        bundle = _DECODE_BUNDLE.decode(raw)
    except _REFUSED:
        return orjson.loads(memoryview(raw))
    if bundle.resourceType != "Bundle" or bundle.entry is None:
        return orjson.loads(memoryview(raw))
    try:
        probes = _DECODE_ENTRIES.decode(raw).entry
    except _REFUSED:  # an entry or a resource that is not an object: entry by entry
        entries = [_entry(e) for e in bundle.entry]
    else:
        entries = [_probed(entry, e) for entry, e in zip(probes, bundle.entry, strict=True)]
    out: dict[str, Any] = {"resourceType": "Bundle", "entry": entries}
    if bundle.link is not UNSET:
        out["link"] = bundle.link
    return out


def _probed(entry: Any, raw: Raw) -> Any:
    """One entry: its probe (``_Entry``) made an ``Unread`` resource, or the entry decoded whole."""
    probe = entry.get("resource")
    rtype = probe.get("resourceType") if probe is not None else None
    if type(rtype) is not str or rtype not in _PROBED_TYPES:
        return orjson.loads(memoryview(raw))
    resource = Unread(raw)
    resource.update(probe)
    entry["resource"] = resource
    return entry


def _entry(raw: Raw) -> Any:
    try:
        entry = _DECODE_ENTRY.decode(raw)
    except _REFUSED:
        return orjson.loads(memoryview(raw))
    return _probed(entry, raw)
