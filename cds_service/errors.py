"""The service's two families of errors.

Request errors are raised by any stage and rendered by the app's error handler as a FHIR
OperationOutcome with their status. Start-up errors stop the service before it serves
(``cds-service`` prints one line and exits non-zero). Messages are written for the
integration engineer or reviewer reading them and never carry patient data or tokens::

    Exception
    +-- CDSError                  a request fails: status + OperationOutcome issue code
    |   +-- BadRequest            400 invalid
    |   +-- Unauthorized          401 login (the reason goes to the log only)
    |   +-- NotFound              404 not-found
    |   +-- MethodNotAllowed      405 not-supported
    |   +-- PreconditionFailed    412 incomplete
    |   +-- PayloadTooLarge       413 too-costly
    |   +-- ServiceUnavailable    503 transient
    +-- ValueError
        +-- StartupError          the service cannot start
            +-- ConfigError       a CDS_* setting (config.py)
            +-- KnowledgeError    the knowledge files (knowledge.py), naming file, line and key
                +-- TerminologyError   valuesets/
                +-- RulesError         knowledge/patterns.yaml
                +-- TemplateError      cards/
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .documents import Problem


class StartupError(ValueError):
    """The service cannot start: a setting or a knowledge file is wrong. Raised before serving."""


class ConfigError(StartupError):
    """A setting has a value the service cannot start with."""


class KnowledgeError(StartupError):
    """A knowledge file is broken, or the files disagree; ``problems`` name file, line and key."""

    def __init__(self, heading: str, problems: "list[Problem] | None" = None):
        self.problems = list(problems or [])
        lines = [heading, *(str(p) for p in self.problems)]
        super().__init__("\n  ".join(lines))


class TerminologyError(KnowledgeError):
    """A value set file is broken; the service refuses to start with it."""


class RulesError(KnowledgeError):
    """The pattern table is broken; the service refuses to start with it."""


class TemplateError(KnowledgeError):
    """A card template is broken; the service refuses to start with it."""


class CDSError(Exception):
    """Base class: an error with an HTTP status and an OperationOutcome issue code."""

    status = 500
    issue_code = "exception"
    severity = "error"

    def __init__(self, message: str, *, expression: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.expression = expression
        self.headers = headers or {}

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.message, self.issue_code, self.severity, self.expression)


class BadRequest(CDSError):
    status = 400
    issue_code = "invalid"


INVALID_JSON = "the request body is not valid JSON (or is nested too deeply)"


class Unauthorized(CDSError):
    """401. The body says no more than 'unauthorized': the reason goes to the log only."""

    status = 401
    issue_code = "login"

    def __init__(self, reason: str):
        super().__init__("Unauthorized", headers={"WWW-Authenticate": 'Bearer realm="cds-services"'})
        self.reason = reason


class NotFound(CDSError):
    status = 404
    issue_code = "not-found"


class MethodNotAllowed(CDSError):
    status = 405
    issue_code = "not-supported"


class PreconditionFailed(CDSError):
    """412: data the service needs could not be had (no prefetch and no usable FHIR server)."""

    status = 412
    issue_code = "incomplete"


class PayloadTooLarge(CDSError):
    status = 413
    issue_code = "too-costly"


class UnsupportedMediaType(CDSError):
    status = 415
    issue_code = "not-supported"


class ServiceUnavailable(CDSError):
    status = 503
    issue_code = "transient"


class DatabaseUnavailable(ServiceUnavailable):
    """503 where the database is needed to decide (a token's replay check, storing feedback)."""

    def __init__(self, message: str, use: str):
        super().__init__(message, headers={"Retry-After": "5"})
        self.use = use


def operation_outcome(message: str, code: str = "exception", severity: str = "error",
                      expression: str | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": message}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}
