"""Answer our own prefetch templates from a patient Bundle held in memory.

Used to build example requests, test fixtures and benchmark bodies exactly as a FHIR
server would answer the templates (patient, code and status filters, ``_sort=-date``,
``_count``). It is a test and tooling aid, not a FHIR server.
"""
from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

from cds_service import dates

_DATE_FIELDS = ("effectiveDateTime", "performedDateTime", "onsetDateTime", "authoredOn", "recordedDate", "issued")


def _date_key(resource: dict) -> float:
    for name in _DATE_FIELDS:
        parsed = dates.parse(resource.get(name))
        if parsed:
            return parsed.timestamp()
    return float("-inf")


def _codes(resource: dict) -> set[str]:
    return {c.get("code") for c in (resource.get("code") or {}).get("coding", ()) if isinstance(c, dict)}


def search(resources: list[dict], query: str, patient_id: str) -> dict:
    """A searchset Bundle for one filled template such as ``Condition?patient=1&code=a,b``."""
    parts = urlsplit(query)
    rtype = parts.path.rsplit("/", 1)[-1]
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    codes = set(params["code"].split(",")) if "code" in params else None
    statuses = set(params["status"].split(",")) if "status" in params else None
    refs = {f"Patient/{patient_id}", f"urn:uuid:{patient_id}"}
    matches = []
    for r in resources:
        if r.get("resourceType") != rtype:
            continue
        subject = (r.get("subject") or r.get("patient") or {}).get("reference")
        if subject not in refs:
            continue
        if codes is not None and not _codes(r) & codes:
            continue
        if statuses is not None and r.get("status") not in statuses:
            continue
        matches.append(r)
    if params.get("_sort") == "-date":
        matches.sort(key=_date_key, reverse=True)
    count = int(params.get("_count", len(matches) or 1))
    page = matches[:count]
    bundle = {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "searchset", "total": len(matches),
              "entry": [{"fullUrl": f"{rtype}/{r.get('id')}", "resource": r, "search": {"mode": "match"}} for r in page]}
    return bundle


def patient_resources(bundle: dict) -> tuple[str, list[dict]]:
    """The patient id and the resources of a Synthea-style transaction Bundle, with
    ``urn:uuid:`` references rewritten to ``Patient/{id}`` as a FHIR server would store them."""
    resources = [e["resource"] for e in bundle.get("entry", ()) if isinstance(e, dict) and "resource" in e]
    patient = next(r for r in resources if r.get("resourceType") == "Patient")
    pid = patient["id"]
    for r in resources:
        for field in ("subject", "patient"):
            ref = r.get(field)
            if isinstance(ref, dict) and ref.get("reference") == f"urn:uuid:{pid}":
                r[field] = {**ref, "reference": f"Patient/{pid}"}
    return pid, resources


def prefetch_for(resources: list[dict], templates: dict[str, str], patient_id: str) -> dict:
    from cds_service.prefetch import fill
    return {key: search(resources, fill(t, {"patientId": patient_id}), patient_id) for key, t in templates.items()}
