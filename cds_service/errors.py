"""Typed HTTP errors, each rendered as a FHIR OperationOutcome.

Any stage may raise one of these; the app's error handler turns it into the JSON body and
status code. Messages are written for the integration engineer reading them and never
carry patient data or tokens.
"""
from __future__ import annotations


class CDSError(Exception):
    """Base class: an error with an HTTP status and an OperationOutcome issue code."""

    status = 500
    issue_code = "exception"
    severity = "error"

    def __init__(self, message: str, *, expression: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.expression = expression
        self.headers = headers or {}

    def outcome(self) -> dict:
        return operation_outcome(self.message, self.issue_code, self.severity, self.expression)


class BadRequest(CDSError):
    status = 400
    issue_code = "invalid"


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
                      expression: str | None = None) -> dict:
    issue = {"severity": severity, "code": code, "diagnostics": message}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}
