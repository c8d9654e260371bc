"""Structured JSON logs: one line per request, and nothing that identifies a patient.

Only fields the code chooses are logged (hookInstance, service id, status, card count,
stage timings, counts). Request bodies, tokens and resource contents never reach a logger.
"""
from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

REQUEST_LOGGER = "cds_service.request"
AUTH_LOGGER = "cds_service.auth"
AUDIT_LOGGER = "cds_service.audit"  # opt-in (CDS_AUDIT_LOG): card and feedback ids and codes only


def configure(level: str = "INFO") -> None:
    root = logging.getLogger("cds_service")
    if any(getattr(h, "_cds", False) for h in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                       rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    handler._cds = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = True
