"""Structured JSON logs: one line per request, and nothing that identifies a patient.

Only fields the code chooses are logged (hookInstance, service id, status, card count,
stage timings, counts). Request bodies, tokens and resource contents never reach a logger.
"""
from __future__ import annotations

import logging
import re
import sys
from typing import Any, TextIO

import orjson

REQUEST_LOGGER = "cds_service.request"
AUTH_LOGGER = "cds_service.auth"
AUDIT_LOGGER = "cds_service.audit"  # opt-in (CDS_AUDIT_LOG): card and feedback ids and codes only


def configure(level: str = "INFO") -> None:
    root = logging.getLogger("cds_service")
    if any(getattr(h, "_cds", False) for h in root.handlers):
        root.setLevel(level)
        return
    handler = _StderrHandler()
    handler.setFormatter(JsonLines())
    handler._cds = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = True


_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the record's ``extra`` fields.

    The lines python-json-logger wrote, built once per record and serialised with orjson (issue 23:
    the stdlib-json formatter was 5 to 10 % of a small request). A value orjson cannot serialise is
    written as its ``str``, as before."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                                "message": record.getMessage()}
        for key, value in record.__dict__.items():
            if key not in _RESERVED:
                line[key] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record, never to a stream kept from
    the first ``configure`` (a test's capture, closed since), and reports its own failure without
    the traceback: logging's default prints the exception being handled with it, and that message
    (a FHIR search URL) can name the patient."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:  # a property standing in for the attribute StreamHandler sets
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.__init__ and setStream assign it: the current stderr wins
        pass

    def handleError(self, record: logging.LogRecord) -> None:
        if logging.raiseExceptions:
            console = sys.__stderr__  # None without a console: nowhere left to report to
            try:
                if console is not None:
                    console.write(f"logging failed for a {record.levelname} record of {record.name}\n")
            except Exception:  # noqa: BLE001 - a console that fails too: nowhere left to report to
                pass


_QUERY = re.compile(r"\?[^\s'\"]*")


class DropQueryStrings(logging.Filter):
    """gunicorn quotes a malformed request line in its warning, query string and all (a patient id,
    a token): the query string is cut from every message that passes this filter."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = _QUERY.sub("?…", message), ()
        return True


def gunicorn_logconfig(level: str = "INFO") -> dict:
    """gunicorn's own loggers (start, worker exits, errors) in the same JSON lines as ours, so one
    log pipeline reads everything. The access log stays off: the app's request line replaces it and
    never carries a query string."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonLines}},
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


def gunicorn_logger_class() -> type:
    """gunicorn's logger without its access log. Why: with a ``logconfig_dict`` gunicorn builds the
    access line's atoms (a dict of every header and field) for each request before its logger drops
    the line (``gunicorn.access`` is CRITICAL-only): about 2 % of a worker's CPU on a small request
    (issue 23). The app's own request line replaces the access log."""
    from gunicorn.glogging import Logger

    class NoAccessLog(Logger):
        def access(self, resp: object, req: object, environ: object, request_time: object) -> None:
            return None

    return NoAccessLog
