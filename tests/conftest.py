"""Shared fixtures. Every service response the tests see is checked against our schemas."""
from __future__ import annotations

import pytest

from cds_service import knowledge as knowledge_mod
from cds_service.app import create_app
from cds_service.config import REPO_ROOT, Settings
from cds_service.engine import Engine

from builders import NOW
from helpers import CheckingClient


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
    """Evaluate a request body at the tests' 'now' and return the cards."""
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
