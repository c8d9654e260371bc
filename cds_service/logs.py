"""Structured JSON logs: one line per request, and nothing that identifies a patient.

Only fields the code chooses are logged (hookInstance, service id, status, card count,
stage timings, counts). Request bodies, tokens and resource contents never reach a logger.
"""
from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

REQUEST_LOGGER = "cds_service.request"
AUTH_LOGGER = "cds_service.auth"
AUDIT_LOGGER = "cds_service.audit"  # opt-in (CDS_AUDIT_LOG): card and feedback ids and codes only


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is logged, not the stream it was at start:
    the handler is added once per process, and a stream replaced since (a test's capture, closed
    when the test ends) would turn every later line into a "Logging error" whose traceback quotes
    the exception being handled, URLs with patient ids included."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.setStream assigns; the current stderr always wins
        pass


def configure(level: str = "INFO") -> None:
    root = logging.getLogger("cds_service")
    if any(getattr(h, "_cds", False) for h in root.handlers):
        root.setLevel(level)
        return
    handler = _CurrentStderr()
    handler.setFormatter(JsonFormatter(_FORMAT, rename_fields=_RENAME))
    handler._cds = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = True


_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_QUERY = re.compile(r"\?[^\s'\"]*")


class DropQueryStrings(logging.Filter):
    """gunicorn quotes a malformed request line in its warning, query string and all (a patient id,
    a token): the query string is cut from every message that passes this filter."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = _QUERY.sub("?…", message), ()
        return True
_RENAME = {"asctime": "time", "levelname": "level", "name": "logger"}


def gunicorn_logconfig(level: str = "INFO") -> dict:
    """gunicorn's own loggers (start, worker exits, errors) in the same JSON lines as ours, so one
    log pipeline reads everything. The access log stays off: the app's request line replaces it and
    never carries a query string."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "fmt": _FORMAT, "rename_fields": _RENAME}},
        "filters": {"no_query": {"()": DropQueryStrings}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr",
                                "filters": ["no_query"]},
                     "none": {"class": "logging.NullHandler"}},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "CRITICAL", "handlers": ["none"], "propagate": False},
        },
        "root": {"level": "WARNING", "handlers": []},
    }
