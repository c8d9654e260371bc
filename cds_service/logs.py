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
    handler.setFormatter(JsonFormatter(_FORMAT, rename_fields=_RENAME))
    handler._cds = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = True


_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_RENAME = {"asctime": "time", "levelname": "level", "name": "logger"}


def gunicorn_logconfig(level: str = "INFO") -> dict:
    """gunicorn's own loggers (start, worker exits, errors) in the same JSON lines as ours, so one
    log pipeline reads everything. The access log stays off: the app's request line replaces it and
    never carries a query string."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "fmt": _FORMAT, "rename_fields": _RENAME}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
                     "none": {"class": "logging.NullHandler"}},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "CRITICAL", "handlers": ["none"], "propagate": False},
        },
        "root": {"level": "WARNING", "handlers": []},
    }
