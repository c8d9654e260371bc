"""Our JSON Schemas (written from the CDS Hooks 2.0.1 tables), compiled once at import.

Only the envelope is validated with jsonschema; prefetch payloads are checked per key by
the prefetch and records stages, so a large record is never walked by a schema validator.
"""
from __future__ import annotations

import json
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


def _where(error: ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(body)"


def require_valid(name: str, document: Any) -> None:
    """Raise BadRequest naming the first problem (by path, never echoing values)."""
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
