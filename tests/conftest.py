"""Shared fixtures. Every service response the tests see is checked against our schemas."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cds_service import knowledge as knowledge_mod
from cds_service.app import create_app
from cds_service.config import REPO_ROOT, Settings
from cds_service.engine import Engine
from cds_service.validation import validator

from builders import NOW

SHARED = REPO_ROOT.parent / "shared"
SYNTHETIC = SHARED / "data" / "synthea-r4-diabetic-neuropathy"


def check_response(response) -> None:
    """Service answers must match the response schema; errors must be OperationOutcomes."""
    if response.mimetype != "application/json":
        return
    body = response.get_json()
    if response.status_code == 200 and isinstance(body, dict) and "cards" in body:
        errors = list(validator("response").iter_errors(body))
        assert not errors, [e.message for e in errors]
    elif response.status_code >= 400 and response.request.path != "/healthz":
        assert body["resourceType"] == "OperationOutcome"
        assert body["issue"] and body["issue"][0]["diagnostics"]


class CheckingClient(FlaskClient):
    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        check_response(response)
        return response


@pytest.fixture(scope="session")
def knowledge():
    return knowledge_mod.load(REPO_ROOT)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path}/test.db", knowledge_dir=REPO_ROOT)


@pytest.fixture
def engine(knowledge, settings) -> Engine:
    return Engine(knowledge, settings)


@pytest.fixture
def evaluate(engine):
    """Evaluate a request body at the tests' fixed 'now' and return the cards."""
    def run(body, now=NOW):
        return engine.evaluate(body, now=now).response["cards"]
    return run


@pytest.fixture
def app(settings, knowledge):
    app = create_app(settings, knowledge=knowledge)
    app.test_client_class = CheckingClient
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def by_topic(cards: list[dict]) -> dict[str, dict]:
    return {c["source"]["topic"]["code"]: c for c in cards}
