"""Our JSON Schemas (written from the CDS Hooks 2.0.1 tables), compiled once at import.

Only the envelope is validated with jsonschema; prefetch payloads are checked per key by
the prefetch and records stages, so a large record is never walked by a schema validator.
The hook request's envelope is checked first by ``request_envelope_ok``, a direct reading of
the same schema (its patterns are taken from the schema file) that costs a few microseconds
instead of about 60; jsonschema runs only when that check refuses, to word the 400. A property
test (tests/test_validation.py) shows both accept and refuse the same envelopes.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from .errors import BadRequest


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    text = resources.files("cds_service.schemas").joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@lru_cache(maxsize=1)
def _request_patterns() -> tuple[Any, ...]:
    """The request schema's patterns, compiled for ``re.search`` as jsonschema applies them."""
    schema: Any = validator("request").schema
    properties = schema["properties"]
    auth, context = properties["fhirAuthorization"]["properties"], properties["context"]["properties"]
    return tuple(re.compile(p["pattern"]).search for p in (
        properties["hookInstance"], properties["fhirServer"], auth["patient"], context["userId"], context["patientId"],
        context["encounterId"]))


def _string(value: Any, low: int, high: int | None = None) -> bool:
    return isinstance(value, str) and low <= len(value) and (high is None or len(value) <= high)


def request_envelope_ok(body: Any) -> bool:
    """True exactly when schemas/request.schema.json accepts ``body`` (kept in step with it by the
    property test); False says only "ask jsonschema what is wrong"."""
    hook_instance, fhir_server, auth_patient, user_id, patient_id, encounter_id = _request_patterns()
    if not isinstance(body, dict) or "hook" not in body or "hookInstance" not in body or "context" not in body:
        return False
    if not _string(body["hook"], 1, 128):
        return False
    value = body["hookInstance"]
    if not isinstance(value, str) or not hook_instance(value):
        return False
    if "fhirServer" in body:
        value = body["fhirServer"]
        if not _string(value, 0, 2048) or not fhir_server(value):
            return False
    if "fhirAuthorization" in body:
        auth = body["fhirAuthorization"]
        if "fhirServer" not in body or not isinstance(auth, dict):
            return False
        if any(k not in auth for k in ("access_token", "token_type", "expires_in", "scope", "subject")):
            return False
        expires = auth["expires_in"]
        if isinstance(expires, bool) or not (isinstance(expires, int) or isinstance(expires, float) and expires.is_integer()):
            return False
        if not (_string(auth["access_token"], 1, 16384) and auth["token_type"] == "Bearer" and type(auth["token_type"]) is str
                and expires >= 0 and _string(auth["scope"], 1, 4096) and _string(auth["subject"], 1, 1024)):
            return False
        if "patient" in auth and not (isinstance(auth["patient"], str) and auth_patient(auth["patient"])):
            return False
    context = body["context"]
    if not isinstance(context, dict) or "userId" not in context or "patientId" not in context:
        return False
    for name, search in (("userId", user_id), ("patientId", patient_id), ("encounterId", encounter_id)):
        if name in context and not (isinstance(context[name], str) and search(context[name])):
            return False
    if "prefetch" in body:
        prefetch = body["prefetch"]
        if not isinstance(prefetch, dict) or any(v is not None and not isinstance(v, dict) for v in prefetch.values()):
            return False
    return "extension" not in body or isinstance(body["extension"], dict)


def _where(error: ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(body)"


def require_valid(name: str, document: Any) -> None:
    """Raise BadRequest naming the first problem (by path, never echoing values)."""
    if name == "request" and request_envelope_ok(document):
        return
    error = next(iter(sorted(validator(name).iter_errors(document), key=lambda e: list(e.absolute_path))), None)
    if error is None:
        return
    where = _where(error)
    if error.validator == "required":
        missing = [name for name in error.validator_value if isinstance(error.instance, dict) and name not in error.instance]
        field = missing[0] if missing else "a field"
        path = f"{where}.{field}" if where != "(body)" else field
        raise BadRequest(f"{path} is required", expression=path)
    reason = {"pattern": "has an invalid format", "type": "has the wrong type", "const": "has an unexpected value",
              "enum": "has an unexpected value", "maxLength": "is too long", "minLength": "is too short",
              "dependentRequired": "needs a companion field"}.get(error.validator, "is invalid")
    detail = f": {error.message}" if error.validator == "dependentRequired" else ""
    raise BadRequest(f"{where} {reason}{detail}", expression=where)
