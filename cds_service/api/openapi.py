"""GET /openapi.json: the OpenAPI 3.1 document of every endpoint, a file kept in the package.

tools/make_openapi.py writes it from our JSON Schemas; tests/test_openapi.py checks it against the
real routes and runs Schemathesis against a served instance. Open, like /healthz: no patient data.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

from flask import Blueprint, Response

bp = Blueprint("openapi", __name__)


@lru_cache(maxsize=1)
def document() -> bytes:
    return resources.files("cds_service").joinpath("openapi.json").read_bytes()


@bp.get("/openapi.json")
def openapi():
    return Response(document(), mimetype="application/json")
