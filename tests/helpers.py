"""Helpers shared by the tests (kept out of conftest so that any test module can import them)."""
from __future__ import annotations

from flask.testing import FlaskClient

from cds_service.validation import validator


def check_body(body: dict) -> None:
    """A hook response must match our response schema (no empty fields, uuids, summaries < 140...)."""
    errors = list(validator("response").iter_errors(body))
    assert not errors, [e.message for e in errors]


def check_response(response) -> None:
    """Service answers must match the response schema; errors must be OperationOutcomes."""
    if response.mimetype != "application/json":
        return
    body = response.get_json()
    if response.status_code == 200 and isinstance(body, dict) and "cards" in body:
        check_body(body)
    elif response.status_code >= 400 and response.request.path not in ("/healthz", "/readyz"):
        assert body["resourceType"] == "OperationOutcome"
        assert body["issue"] and body["issue"][0]["diagnostics"]


class CheckingClient(FlaskClient):
    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        check_response(response)
        return response


def by_topic(cards: list[dict]) -> dict[str, dict]:
    return {c["source"]["topic"]["code"]: c for c in cards}


def checked(result):
    """Check an engine Result's response against the schema and hand the Result back."""
    check_body(result.response)
    return result
